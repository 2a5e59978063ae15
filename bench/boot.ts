import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DeviceSettingsInput } from '../core/config.js';
import { generateNotifierKeys } from '../simulator/backend.js';
import { Mosquitto } from '../simulator/mosquitto.js';
import { spread, type BenchResult } from './results.js';

/**
 * From starting `dakbox run` to the device subscribed at the broker (its
 * `subscribed` log line): what a counter waits after power comes back
 * before it can take a payment. Measured against a real mosquitto on
 * loopback, with a headless config (no display, no buttons, no serial port,
 * sounds to WAV files), alongside Node's own start (a process that prints
 * one line) and the time to load the modules `dakbox run` needs, each in the
 * same run so that the machine's load is the same for all three. The CPU
 * time the process had used by then (from /proc, in 10 ms ticks) is
 * reported too: on a busy machine it is what the start costs, where the
 * wall-clock time also holds the waits for other programs. The report says
 * which code the device ran (its `starting` log line): the bundle
 * `npm run build` makes of `dakbox run`, or the compiled modules when there
 * is none; the module load time is that of the same code.
 */
export interface BootBenchOptions {
  readonly runs?: number;
}

export interface BootBenchReport {
  readonly runs: number;
  /** The file `dakbox run` ran from, relative to the project folder. */
  readonly entry: string;
  readonly boot: Spread;
  readonly bootCpu: Spread;
  readonly bareNode: Spread;
  readonly bareNodeCpu: Spread;
  readonly modules: Spread;
  readonly targetMs: number;
  readonly met: boolean;
}

type Spread = ReturnType<typeof spread>;

export const BOOT_TARGET_MS = 400;
const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const DAKBOX_BIN = join(PROJECT, 'bin', 'dakbox.js');
const CLI_MAIN = new URL('../cli/main.js', import.meta.url).href;
const CLI_RUN = new URL('../cli/run.js', import.meta.url).href;

export async function bootBench(options: BootBenchOptions = {}): Promise<BootBenchReport> {
  const runs = options.runs ?? 15;
  const broker = await Mosquitto.start({ extra: ['set_tcp_nodelay true'] });
  const folder = mkdtempSync(join(tmpdir(), 'dakbox-boot-bench-'));
  try {
    const settings: DeviceSettingsInput = {
      deviceId: 'BOOT01',
      payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' },
      mqtt: { url: broker.url, protocolVersion: 5 },
      notifierKeys: [generateNotifierKeys().publicKeyBase64],
      display: { kind: 'none' },
      speaker: { kind: 'wav', dir: 'sounds', realtime: false },
      controls: { kind: 'none' },
    };
    const config = join(folder, 'device.json');
    writeFileSync(config, JSON.stringify(settings), { mode: 0o600 });
    const boot: Started[] = [];
    const bare: Started[] = [];
    const modules: number[] = [];
    // One start first, not counted: it makes the ledger, warms the disk
    // cache and says which code `dakbox run` runs.
    let code: string | undefined;
    await untilLine([DAKBOX_BIN, 'run', '--config', config], (line) => {
      const logged = logLine(line);
      if (logged?.msg === 'starting') code = String(logged.code);
      return logged?.msg === 'subscribed';
    });
    if (code === undefined) throw new Error('dakbox run did not say which code it runs (no "starting" log line)');
    // The bundle is one module with what it imports; the compiled modules are loaded as bin/dakbox.js loads them.
    const entries = code.endsWith(join('cli', 'run.js')) ? [CLI_MAIN, CLI_RUN] : [pathToFileURL(code).href];
    for (let i = 0; i < runs; i++) {
      bare.push(await untilLine(['-e', 'process.stdout.write("up\\n")'], (line) => line === 'up'));
      boot.push(await untilLine([DAKBOX_BIN, 'run', '--config', config], isSubscribed));
      modules.push(await moduleLoad(entries));
    }
    const b = spread(boot.map((s) => s.ms));
    return {
      runs,
      entry: relative(PROJECT, code),
      boot: b,
      bootCpu: spread(boot.map((s) => s.cpuMs)),
      bareNode: spread(bare.map((s) => s.ms)),
      bareNodeCpu: spread(bare.map((s) => s.cpuMs)),
      modules: spread(modules),
      targetMs: BOOT_TARGET_MS,
      met: b.p50Ms <= BOOT_TARGET_MS,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await broker.stop();
  }
}

function isSubscribed(line: string): boolean {
  return logLine(line)?.msg === 'subscribed';
}

function logLine(line: string): { msg?: unknown; code?: unknown } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as { msg?: unknown; code?: unknown };
  } catch {
    return undefined;
  }
}

interface Started {
  ms: number;
  cpuMs: number;
}

/**
 * Starts node with `args` and resolves with the milliseconds from the spawn
 * to the first stdout line that `done` accepts, and the CPU time the process
 * had used then; the process is then stopped (SIGTERM, as systemd stops the
 * service) and waited for.
 */
function untilLine(args: string[], done: (line: string) => boolean): Promise<Started> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DAKBOX_LOG: 'info' } });
    let stderr = '';
    let took: Started | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (took !== undefined || !done(line)) return;
      took = { ms: performance.now() - started, cpuMs: cpuMs(child.pid) };
      child.kill('SIGTERM');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      if (took === undefined) reject(new Error(`node ${args.join(' ')} ended without the line awaited: ${stderr.trim().slice(-300)}`));
      else resolve(took);
    });
  });
}

/** User and system CPU time of a process so far, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Milliseconds a fresh node takes to import these modules, one after the other, with everything they import. */
function moduleLoad(entries: readonly string[]): Promise<number> {
  const imports = entries.map((entry) => `await import(${JSON.stringify(entry)});`).join(' ');
  const script = `const t = performance.now(); ${imports} process.stdout.write(String(performance.now() - t) + '\\n');`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.once('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`loading the modules failed (exit ${code})`))));
  });
}

export function bootResult(report: BootBenchReport, command: string): BenchResult {
  return {
    name: 'boot',
    command,
    runs: [
      { label: 'node bare start', ...report.bareNode },
      { label: 'node bare start: CPU time', ...report.bareNodeCpu },
      { label: 'dakbox run: modules loaded', ...report.modules },
      { label: 'dakbox run: start to subscribed', ...report.boot },
      { label: 'dakbox run: CPU time to subscribed', ...report.bootCpu },
    ],
    details: { runs: report.runs, entry: report.entry, targetMs: report.targetMs, met: report.met, config: 'display none, controls none, no serial port, speaker wav; mosquitto on loopback' },
  };
}

export function formatBootBench(report: BootBenchReport): string {
  const row = (label: string, s: Spread) => `  ${label.padEnd(34)} p50 ${s.p50Ms.toFixed(0).padStart(5)} ms   p90 ${s.p90Ms.toFixed(0).padStart(5)} ms   max ${s.maxMs.toFixed(0).padStart(5)} ms`;
  return [
    `boot to subscribed: ${report.runs} starts of dakbox run against mosquitto on loopback (headless config), Node ${process.versions.node}`,
    `  dakbox run ran from ${report.entry}`,
    row('node bare start (prints a line)', report.bareNode),
    row('  its CPU time', report.bareNodeCpu),
    row('modules of dakbox run (import)', report.modules),
    row('dakbox run: start to subscribed', report.boot),
    row('  its CPU time', report.bootCpu),
    `  p50 <= ${report.targetMs} ms: ${report.met ? 'met' : 'NOT met'}`,
  ].join('\n');
}
