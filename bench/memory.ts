import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceSettingsInput } from '../core/config.js';
import { generateNotifierKeys, PaymentsBackend } from '../simulator/backend.js';
import { Mosquitto } from '../simulator/mosquitto.js';
import { PaymentDriver } from '../simulator/payment-driver.js';

/** Where the memory soak's figures are kept, in the project folder. */
export const MEMORY_RESULTS = fileURLToPath(new URL('../../bench/results/memory.json', import.meta.url));

const DAKBOX_BIN = fileURLToPath(new URL('../../bin/dakbox.js', import.meta.url));
const DEVICE_ID = 'MEM01';
/** The payment driver's amounts reach the sale limit at this many sales. */
export const MAX_SOAK_SALES = 100_000;

export interface MemoryBenchOptions {
  /** Sales driven end to end; default 100,000. */
  readonly sales?: number;
  /** Sales between two readings of the device's memory; default 1,000. */
  readonly sampleEvery?: number;
  /** Sales asked for at once, as the payment driver does (each new QR replaces the one on screen); default 1. */
  readonly inFlight?: number;
  /** Extra environment for the device process, e.g. allocator settings to compare. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Start the device as \`node bin/dakbox.js run\`, without the memory
   * settings bin/dakbox.js's first line gives node when it is run as a
   * program (as npx and a service do); to compare.
   */
  readonly withoutMemorySettings?: boolean;
  /** Write the report here after every reading (\`complete: false\` until the last), so a stopped soak keeps its figures. */
  readonly resultsPath?: string;
  /** Called after each reading, for a progress line. */
  readonly onSample?: (sample: MemorySample, devicePid: number) => void;
}

/**
 * One reading of the device's memory. Each is taken with no sale in flight
 * (the soak holds the next sales back until it has read) and after the
 * device has run a full garbage collection (its answer to the memory
 * probe), so that it is what the device holds rather than the buffers of
 * the sales under way or garbage (panel pixels, PNGs, recordings) that a
 * collection soon after would free; the figures from just before that
 * collection are kept beside it.
 */
export interface MemorySample {
  readonly sales: number;
  /** VmRSS of the device process, after the collection. */
  readonly rssBytes: number;
  /** The anonymous part (heaps, canvas surfaces, malloc arenas), after the collection. */
  readonly anonBytes: number;
  /** The file-backed part (code of node, cairo, pango, fonts, SQLite), after the collection. */
  readonly fileBytes: number;
  /** The device's JavaScript heap after the collection, as it reports it. */
  readonly heapUsedBytes: number;
  /** The heap's reserved pages, most of them resident: what the young generation's growth shows in. */
  readonly heapTotalBytes: number;
  /** Memory outside the heap that JavaScript objects hold (buffers), after the collection. */
  readonly externalBytes: number;
  /** The device's resident memory just before the collection, as it reports it. */
  readonly rssBeforeCollectionBytes: number;
  readonly heapUsedBeforeCollectionBytes: number;
  readonly externalBeforeCollectionBytes: number;
  readonly elapsedMs: number;
}

/** What the device's memory probe answers: its figures just before and just after a full garbage collection. */
export interface MemoryProbeAnswer {
  readonly before: NodeJS.MemoryUsage;
  readonly after: NodeJS.MemoryUsage;
}

/** How long the device has to answer the memory probe: a full collection takes tens of milliseconds, more on a busy machine. */
const PROBE_ANSWER_MS = 10_000;
/** From the held sale's receipt to the reading: its announcement written and its panel drawn. */
const SETTLE_MS = 300;

/** The probe's answer in one line of the device's stderr, or undefined if the line is something else. */
export function parseProbeAnswer(line: string): MemoryProbeAnswer | undefined {
  const match = /^dakbox-memory (.*)$/.exec(line);
  if (!match?.[1]) return undefined;
  const answer = JSON.parse(match[1]) as Partial<MemoryProbeAnswer>;
  if (typeof answer.before?.rss !== 'number' || typeof answer.after?.rss !== 'number') {
    throw new Error(`the memory probe's answer has no figures from before and after its collection: ${line}`);
  }
  return answer as MemoryProbeAnswer;
}

export interface MemoryBenchReport {
  readonly name: 'memory';
  readonly date: string;
  readonly command: string;
  readonly machine: { readonly node: string; readonly cpu: string; readonly cores: number; readonly memBytes: number };
  readonly device: { readonly display: string; readonly speaker: string; readonly started: string; readonly folder: string; readonly env: Record<string, string> };
  readonly sales: number;
  /** False while the soak is still running (or was stopped): the samples so far. */
  readonly complete: boolean;
  readonly durationMs: number;
  /** RSS once online and idle, before the first sale (before any collection the probe runs, as a device starts). */
  readonly bootRssBytes: number;
  readonly samples: readonly MemorySample[];
  /** RSS after the last sale less RSS after the first reading (caches filled), both after a collection: what keeps growing. The target counts this. */
  readonly growthBytes: number;
  /** The same from the readings just before those collections, garbage included. */
  readonly growthBeforeCollectionBytes: number;
  /** RSS after the last sale less RSS at boot. */
  readonly bootToEndBytes: number;
  /**
   * How RSS moved over the second half of the sales: the least-squares
   * slope through those readings, in bytes per 10,000 sales. One reading
   * moves by a megabyte or so from the next; the slope through fifty of
   * them shows whether anything still grows.
   */
  readonly secondHalfTrendBytesPer10k: number;
  readonly targets: { readonly bootRssBytes: number; readonly growthBytes: number };
  readonly met: { readonly boot: boolean; readonly growth: boolean };
}

const TARGETS = { bootRssBytes: 90 * 1024 * 1024, growthBytes: 4 * 1024 * 1024 } as const;

/** The least-squares slope of RSS over sales through `samples`, in bytes per 10,000 sales; 0 for fewer than two. */
export function rssTrendPer10k(samples: readonly Pick<MemorySample, 'sales' | 'rssBytes'>[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const meanSales = samples.reduce((t, s) => t + s.sales, 0) / n;
  const meanRss = samples.reduce((t, s) => t + s.rssBytes, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.sales - meanSales) * (s.rssBytes - meanRss);
    variance += (s.sales - meanSales) ** 2;
  }
  return variance === 0 ? 0 : (covariance / variance) * 10_000;
}

/** The memory of process `pid` as the kernel counts it. */
export function processMemory(pid: number): { rssBytes: number; anonBytes: number; fileBytes: number } {
  const kib = (text: string, field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!match?.[1]) throw new Error(`no ${field} in the memory figures of process ${pid}`);
    return Number(match[1]) * 1024;
  };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const rssBytes = kib(status, 'VmRSS');
  const anonBytes = kib(rollup, 'Anonymous');
  return { rssBytes, anonBytes, fileBytes: Math.max(0, kib(rollup, 'Rss') - anonBytes) };
}

/**
 * `dakbox run` as its own process, exactly as on a device, that answers
 * SIGUSR2 with a full garbage collection and its memory figures from just
 * before and after it on stderr (bin/dakbox.js does this when
 * DAKBOX_MEMORY_PROBE is set).
 */
class DeviceUnderSoak {
  private readonly child: ChildProcess;
  private stderr = '';
  private tail: string[] = [];
  private probeWaiters: ((answer: MemoryProbeAnswer) => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(configPath: string, env: NodeJS.ProcessEnv, asProgram: boolean) {
    const [command, args] = asProgram ? [DAKBOX_BIN, []] : [process.execPath, [DAKBOX_BIN]];
    this.child = spawn(command, [...args, 'run', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DAKBOX_LOG: 'warn', DAKBOX_MEMORY_PROBE: '1', ...env },
    });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.tail.push(chunk.toString('utf8'));
      if (this.tail.length > 20) this.tail.shift();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
      let nl: number;
      while ((nl = this.stderr.indexOf('\n')) >= 0) {
        const line = this.stderr.slice(0, nl);
        this.stderr = this.stderr.slice(nl + 1);
        const answer = parseProbeAnswer(line);
        if (answer) {
          for (const waiter of this.probeWaiters.splice(0)) waiter(answer);
        } else {
          this.tail.push(line);
          if (this.tail.length > 20) this.tail.shift();
        }
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    if (this.child.pid === undefined || this.child.exitCode !== null) throw new Error(`the device process is not running; its last output:\n${this.tail.join('')}`);
    return this.child.pid;
  }

  /**
   * Has the device run a full garbage collection and answer with its
   * figures from before and after it; when this resolves the collection is
   * done, so /proc shows what the device holds.
   */
  async collect(): Promise<MemoryProbeAnswer> {
    const answered = new Promise<MemoryProbeAnswer>((resolve) => this.probeWaiters.push(resolve));
    this.child.kill('SIGUSR2');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`the device did not answer the memory probe within ${PROBE_ANSWER_MS / 1000} s; its last output:\n${this.lastOutput}`)), PROBE_ANSWER_MS)),
    );
    try {
      return await Promise.race([answered, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }

  get lastOutput(): string {
    return this.tail.join('\n');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Drops the announcements already written, so a long soak does not fill the disk; the device's memory does not depend on them. */
function clearSounds(folder: string): void {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) if (name.endsWith('.wav')) unlinkSync(join(folder, name));
}

/**
 * The memory soak: a real mosquitto, `dakbox run` as its own process on a
 * 480x320 PNG panel and the WAV speaker, and sales driven end to end over
 * MQTT (collect, QR, signed payment, receipt), reading the device's resident
 * memory every `sampleEvery` sales.
 */
export async function memoryBench(options: MemoryBenchOptions = {}): Promise<MemoryBenchReport> {
  const sales = options.sales ?? MAX_SOAK_SALES;
  const sampleEvery = Math.min(options.sampleEvery ?? 1000, sales);
  const inFlight = options.inFlight ?? 1;
  if (sales > MAX_SOAK_SALES) throw new RangeError(`at most ${MAX_SOAK_SALES} sales`);
  const env = Object.fromEntries(Object.entries(options.env ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
  const dir = mkdtempSync(join(tmpdir(), 'dakbox-memory-'));
  const keys = generateNotifierKeys();
  const broker = await Mosquitto.start({ extra: ['set_tcp_nodelay true'] });
  let device: DeviceUnderSoak | undefined;
  let backend: PaymentsBackend | undefined;
  const cleanUp = async (): Promise<void> => {
    await device?.stop();
    await backend?.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  // Stopped with Ctrl-C, the soak leaves no device or broker running; the figures so far are in resultsPath.
  const interrupted = (): void => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const settings: DeviceSettingsInput = {
      deviceId: DEVICE_ID,
      language: 'en',
      payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' },
      mqtt: { url: broker.url, protocolVersion: 5 },
      notifierKeys: [keys.publicKeyBase64],
      display: { kind: 'png', dir: 'frames', width: 480, height: 320 },
      speaker: { kind: 'wav', dir: 'sounds', realtime: false },
    };
    const configPath = join(dir, 'device.json');
    writeFileSync(configPath, JSON.stringify(settings, null, 2), { mode: 0o600 });

    backend = new PaymentsBackend({ url: broker.url, keys, clientId: 'memory-bench-backend' });
    await backend.start();
    const online = new Promise<void>((resolve) =>
      backend!.on('status', ({ deviceId, message }) => {
        if (deviceId === DEVICE_ID && message.online) resolve();
      }),
    );
    const started = Date.now();
    const asProgram = options.withoutMemorySettings !== true;
    device = new DeviceUnderSoak(configPath, env, asProgram);
    const running = device;
    await Promise.race([
      online,
      sleep(30_000).then(() => {
        throw new Error(`the device did not come online within 30 s; its last output:\n${running.lastOutput}`);
      }),
      device.exited.then((code) => {
        throw new Error(`the device exited (${code}) before coming online; its last output:\n${running.lastOutput}`);
      }),
    ]);
    // The boot reading: online, start-up announcements written, nothing else to do.
    await sleep(3000);
    const boot = processMemory(device.pid);

    const samples: MemorySample[] = [];
    let soakStart = Date.now();
    const report = (complete: boolean): MemoryBenchReport => {
      const first = samples.find((s) => s.sales > 0) ?? samples[0]!;
      const last = samples.at(-1)!;
      const growthBytes = last.rssBytes - first.rssBytes;
      const growthBeforeCollectionBytes = last.rssBeforeCollectionBytes - first.rssBeforeCollectionBytes;
      return {
        name: 'memory',
        date: new Date().toISOString(),
        command: `dakbox bench memory --sales ${sales} --sample-every ${sampleEvery}${inFlight === 1 ? '' : ` --in-flight ${inFlight}`}${asProgram ? '' : ' --without-memory-settings'}`,
        machine: { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memBytes: totalmem() },
        device: {
          display: 'png 480x320',
          speaker: 'wav (voice packs where present)',
          started: asProgram ? 'bin/dakbox.js run (its memory settings)' : 'node bin/dakbox.js run (node defaults)',
          folder: dirname(dir),
          env,
        },
        sales: last.sales,
        complete,
        durationMs: Date.now() - soakStart,
        bootRssBytes: boot.rssBytes,
        samples,
        growthBytes,
        growthBeforeCollectionBytes,
        bootToEndBytes: last.rssBytes - boot.rssBytes,
        secondHalfTrendBytesPer10k: rssTrendPer10k(samples.filter((x) => x.sales >= last.sales / 2)),
        targets: TARGETS,
        met: { boot: boot.rssBytes <= TARGETS.bootRssBytes, growth: complete && growthBytes <= TARGETS.growthBytes },
      };
    };
    const read = async (count: number): Promise<void> => {
      const { before, after } = await running.collect();
      const sample: MemorySample = {
        sales: count,
        ...processMemory(running.pid),
        heapUsedBytes: after.heapUsed,
        heapTotalBytes: after.heapTotal,
        externalBytes: after.external,
        rssBeforeCollectionBytes: before.rss,
        heapUsedBeforeCollectionBytes: before.heapUsed,
        externalBeforeCollectionBytes: before.external,
        elapsedMs: Date.now() - started,
      };
      samples.push(sample);
      options.onSample?.(sample, running.pid);
      if (options.resultsPath && count < sales) await writeMemoryResults(report(false), options.resultsPath);
    };
    await read(0);

    const driver = new PaymentDriver({ backend, deviceId: DEVICE_ID, label: 'M', payments: sales, inFlight });
    soakStart = Date.now();
    const run = driver.run();
    const failed = run.then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(`the sales failed: ${JSON.stringify(err)}`)),
    );
    for (let at = sampleEvery; at <= sales; at += sampleEvery) {
      driver.holdAfter(at);
      await Promise.race([driver.reached(at), failed]);
      if (driver.failed) break;
      // Every reading sees the device in one state: no sale in flight, the
      // last one's receipt sent, its announcement written and "paid" on the
      // panel. Read mid-sale, the in-flight sales' panel and sound buffers
      // made readings swing by ±1.5 MB.
      await sleep(SETTLE_MS);
      clearSounds(join(dir, 'sounds'));
      await read(at);
      driver.resume();
    }
    const failure = await failed;
    if (failure) throw failure;
    const final = report(true);
    if (options.resultsPath) await writeMemoryResults(final, options.resultsPath);
    return final;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await cleanUp();
  }
}

export async function writeMemoryResults(report: MemoryBenchReport, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/** The soak as a table: one row per reading, then boot, growth and the targets. */
export function formatMemoryBench(report: MemoryBenchReport): string {
  const rows = report.samples.map((s) =>
    [String(s.sales).padStart(7), ...[s.rssBytes, s.rssBeforeCollectionBytes, s.anonBytes, s.fileBytes, s.heapUsedBytes, s.heapTotalBytes, s.externalBytes].map((b) => mb(b).padStart(8))].join('  '),
  );
  const signed = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${mb(bytes)} MB`;
  return [
    `memory soak: ${report.sales} sales end to end${report.complete ? '' : ' (STOPPED before the end)'}, ${report.device.started} on ${report.device.display}, ${report.device.speaker} speaker; ${report.machine.cpu} x${report.machine.cores}, node ${report.machine.node}`,
    `each reading is taken with no sale in flight, after a full garbage collection in the device; "pre-GC" is its resident memory just before that collection`,
    `  sales    RSS MB    pre-GC   anon MB   file MB   heap MB  (of MB)    ext MB`,
    ...rows.map((r) => `${r}`),
    `boot RSS ${mb(report.bootRssBytes)} MB (target ≤ ${mb(report.targets.bootRssBytes)} MB): ${report.met.boot ? 'met' : 'MISSED'}`,
    `growth from ${report.samples.find((s) => s.sales > 0)?.sales ?? 0} to ${report.sales} sales ${signed(report.growthBytes)} after collection (target ≤ ${mb(report.targets.growthBytes)} MB): ${report.met.growth ? 'met' : 'MISSED'}; before collection ${signed(report.growthBeforeCollectionBytes)}; from boot ${signed(report.bootToEndBytes)}`,
    `trend over the second half of the sales (${report.sales / 2} to ${report.sales}): ${signed(report.secondHalfTrendBytesPer10k)} per 10,000 sales (least squares through the readings)`,
    `${(report.durationMs / 1000).toFixed(0)} s for the sales (${(report.durationMs / report.sales).toFixed(1)} ms a sale; a shared machine, so noisy)`,
  ].join('\n');
}
