import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { formatIst, systemClock } from '../core/clock.js';
import { loadConfig, type DeviceSettingsInput } from '../core/config.js';
import type { OutboundTopic } from '../core/link/topics.js';
import { silentLogger } from '../core/log.js';
import { formatWireAmount, paise } from '../core/money.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import { Ledger } from '../core/payment/ledger.js';
import { Outbox, type Publisher } from '../core/payment/outbox.js';
import { Counter } from '../core/sale/counter.js';
import { Lcd } from '../core/sale/lcd.js';
import { generateNotifierKeys } from '../simulator/backend.js';
import { percentile, type BenchResult } from './results.js';

/**
 * What one sale costs the device: from the billing PC's request to the
 * receipt struck off, over the real Counter, Ledger and Outbox on a ledger
 * file on disk. The broker is a stand-in that acknowledges every message on
 * the next turn of the event loop, the soundbox one that has spoken at once,
 * and there is no display: what is left is the ledger and the rules around it.
 *
 * Two measures:
 * - fsync and fdatasync calls per sale, counted by strace on a child process
 *   that runs the same sales (a run of `warmup` sales subtracted from a run
 *   of `warmup + sales`, so opening the ledger is not counted);
 * - the main thread's busy time per sale (event-loop utilisation, which
 *   includes the time it waits in a synchronous fsync), measured in this
 *   process without strace.
 */
export interface SaleBenchOptions {
  readonly sales?: number;
  /** A folder on the storage to measure (the system's temp folder by default). */
  readonly dir?: string;
  /** Pause between sales, as at a real counter; 0 runs them back to back. */
  readonly gapMs?: number;
}

export interface SaleBenchReport {
  readonly sales: number;
  readonly gapMs: number;
  readonly dir: string;
  /** undefined when strace is not installed. */
  readonly fsyncsPerSale: number | undefined;
  readonly busyMsPerSale: { readonly mean: number; readonly p50: number; readonly p99: number };
  readonly cpuMsPerSale: number;
}

const WARMUP = 20;
const DEFAULT_SALES = 500;

export async function saleBench(options: SaleBenchOptions = {}): Promise<SaleBenchReport> {
  const sales = options.sales ?? DEFAULT_SALES;
  const gapMs = options.gapMs ?? 0;
  const dir = options.dir ?? tmpdir();
  const timing = await runSales({ sales, warmup: WARMUP, gapMs, dir });
  const fsyncs = countFsyncs(Math.min(sales, 200), gapMs, dir);
  return { sales, gapMs, dir, fsyncsPerSale: fsyncs, busyMsPerSale: timing.busy, cpuMsPerSale: timing.cpuMs };
}

interface SalesTiming {
  busy: { mean: number; p50: number; p99: number };
  cpuMs: number;
}

/** Runs `warmup` sales, then `sales` measured ones, each to its receipt struck off. */
export async function runSales(o: { sales: number; warmup: number; gapMs: number; dir: string }): Promise<SalesTiming> {
  const folder = mkdtempSync(join(o.dir, 'dakbox-sale-bench-'));
  const keys = generateNotifierKeys();
  const settings: DeviceSettingsInput = {
    deviceId: 'BENCH01',
    payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' },
    mqtt: { url: 'mqtt://127.0.0.1:1', protocolVersion: 5 },
    notifierKeys: [keys.publicKeyBase64],
    display: { kind: 'none' },
    announce: { prompts: false },
  };
  writeFileSync(join(folder, 'device.json'), JSON.stringify(settings), { mode: 0o600 });
  const config = loadConfig(join(folder, 'device.json'));
  const log = silentLogger();
  const ledger = new Ledger(config.ledgerPath, systemClock, { deviceId: config.settings.deviceId, retention: config.settings.retention });
  const broker = new AcknowledgingBroker();
  const outbox = new Outbox(ledger, broker, log);
  const lcd = new Lcd(undefined, systemClock, log, () => config.settings.language, { kind: 'boot', firmware: 'bench', deviceId: config.settings.deviceId });
  const counter = new Counter({ config, ledger, lcd, announcer: { announce: () => Promise.resolve(), busy: false }, outbox, clock: systemClock, log, firmware: 'bench' });
  counter.boot();
  const busy: number[] = [];
  let cpu = process.cpuUsage();
  try {
    for (let i = 0; i < o.warmup + o.sales; i++) {
      if (i === o.warmup) cpu = process.cpuUsage();
      const before = performance.eventLoopUtilization();
      const amount = paise(100 + ((i * 7919) % 1_000_000));
      const sale = await counter.startSale({ amount, source: 'serial', ref: `INV-${i}` });
      const body = signConfirmation(
        { deviceId: config.settings.deviceId, tr: sale.tr, utr: `UTR${i}`, amount: formatWireAmount(amount), status: 'SUCCESS', paidAt: formatIst(systemClock.now()) },
        keys.privateKey,
      );
      counter.handlePayment(Buffer.from(JSON.stringify(body)));
      await settled(ledger, `UTR${i}`);
      // A pause between sales lets anything the ledger does on a timer happen, and be counted with the sale.
      if (o.gapMs > 0 && i >= o.warmup) await new Promise((r) => setTimeout(r, o.gapMs));
      if (i >= o.warmup) busy.push(performance.eventLoopUtilization(before).active);
    }
    const used = process.cpuUsage(cpu);
    const sorted = [...busy].sort((a, b) => a - b);
    return {
      busy: { mean: busy.reduce((a, b) => a + b, 0) / busy.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) },
      cpuMs: (used.user + used.system) / 1000 / o.sales,
    };
  } finally {
    counter.stop();
    ledger.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Waits until the payment is marked announced and nothing is left to strike off. */
async function settled(ledger: Ledger, utr: string): Promise<void> {
  for (let turns = 0; turns < 10_000; turns++) {
    if (ledger.findPayment(utr)?.announced && ledger.unsentCount() === 0) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`payment ${utr} was not finished`);
}

/** A broker that is always up and acknowledges each message on the next turn of the event loop. */
class AcknowledgingBroker implements Publisher {
  readonly state = 'online' as const;
  publishQueued(_topic: OutboundTopic, _json: string): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * fsync and fdatasync calls per sale, from strace's count over two child
 * runs: `sales` more sales, minus the calls of the run without them.
 */
function countFsyncs(sales: number, gapMs: number, dir: string): number | undefined {
  if (spawnSync('strace', ['-V'], { stdio: 'ignore' }).status !== 0) return undefined;
  const base = fsyncCalls(0, gapMs, dir);
  const loaded = fsyncCalls(sales, gapMs, dir);
  return (loaded - base) / sales;
}

function fsyncCalls(sales: number, gapMs: number, dir: string): number {
  const out = mkdtempSync(join(tmpdir(), 'dakbox-strace-'));
  try {
    const counts = join(out, 'counts');
    const script = `import { runSales } from ${JSON.stringify(fileURLToPath(import.meta.url))}; await runSales({ sales: ${sales}, warmup: ${WARMUP}, gapMs: ${gapMs}, dir: ${JSON.stringify(dir)} });`;
    const run = spawnSync('strace', ['-f', '-c', '-o', counts, '-e', 'trace=fsync,fdatasync', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`the sales under strace failed: ${run.stderr.trim().split('\n').slice(-3).join(' ')}`);
    return straceCalls(readFileSync(counts, 'utf8'), ['fsync', 'fdatasync']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The calls column of `strace -c` for the named system calls. */
export function straceCalls(summary: string, names: readonly string[]): number {
  let total = 0;
  for (const line of summary.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const name = cols.at(-1);
    if (name === undefined || !names.includes(name)) continue;
    // % time, seconds, usecs/call, calls, [errors,] syscall
    const calls = Number(cols[3]);
    if (Number.isFinite(calls)) total += calls;
  }
  return total;
}

export function saleResult(report: SaleBenchReport, command: string): BenchResult {
  return {
    name: 'sale',
    command,
    runs: [
      { label: 'fsyncs per sale', value: report.fsyncsPerSale ?? null },
      { label: 'main-thread busy ms per sale (mean)', value: round(report.busyMsPerSale.mean) },
      { label: 'main-thread busy ms per sale (p50)', value: round(report.busyMsPerSale.p50) },
      { label: 'main-thread busy ms per sale (p99)', value: round(report.busyMsPerSale.p99) },
      { label: 'CPU ms per sale', value: round(report.cpuMsPerSale) },
    ],
    details: { sales: report.sales, gapMs: report.gapMs, ledgerFolder: report.dir },
  };
}

export function formatSaleBench(report: SaleBenchReport): string {
  return [
    `sale cost: ${report.sales} sales${report.gapMs ? ` ${report.gapMs} ms apart` : ' back to back'}, ledger in ${report.dir} (${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.versions.node})`,
    `  fsync + fdatasync per sale: ${report.fsyncsPerSale === undefined ? 'not counted (strace is not installed)' : report.fsyncsPerSale.toFixed(2)}`,
    `  main-thread busy per sale: mean ${report.busyMsPerSale.mean.toFixed(2)} ms, p50 ${report.busyMsPerSale.p50.toFixed(2)} ms, p99 ${report.busyMsPerSale.p99.toFixed(2)} ms`,
    `  CPU per sale: ${report.cpuMsPerSale.toFixed(2)} ms`,
  ].join('\n');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
