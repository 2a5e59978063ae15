import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { InputError } from '../core/errors.js';
import { FleetBackend, type BrokerCounters } from './backend.js';
import { FleetBroker, machineBusySeconds, mosquittoVersion, threadCpuSeconds } from './broker.js';
import { raiseOpenFileLimit } from './open-files.js';
import type { DeviceThreadData, FromDeviceThread, LedgerKind, ThreadMemory, ToDeviceThread } from './protocol.js';

export interface FleetOptions {
  devices: number;
  /** Confirmations per second, spread over the devices in turn. */
  rate: number;
  seconds: number;
  /** An MQTT broker to use; without one a mosquitto is started for the run. */
  broker?: string | undefined;
  ledger: LedgerKind;
  workers: number;
  /** The command line as typed, for the results file. */
  command: string;
  /** Where the results go as JSON. */
  out: string;
  /** One progress line, updated in place on a terminal. */
  progress: (line: string) => void;
}

export const DEFAULT_SECONDS = 30;
/**
 * Devices per thread at most, by default. A thread's devices share one
 * JavaScript heap (about 35 KB each), and a full collection of the heap of
 * 5,000 stops all of them for 70–140 ms (--trace-gc, 500 sales a second):
 * at 10,000 devices and 300 a second on two cores, two threads gave a p99
 * of 206, 332 and 510 ms in three runs (49 ms in an earlier one), four
 * threads 34 and 47 ms, six 130 ms.
 */
export const DEVICES_PER_THREAD = 2_500;

/** The threads a run uses unless told: one per CPU, more when that would put over DEVICES_PER_THREAD on one. */
export function defaultWorkers(devices: number, cpus: number): number {
  return Math.max(cpus, Math.ceil(devices / DEVICES_PER_THREAD));
}
export const PREFIX = 'dakbox/v1';
const BACKEND_CONNECTIONS = 4;
/** Targets a run is held to; `rate` and `devices` are the sizes asked for. */
export const TARGET_P99_MS = 50;
/** The confirmations per second a run must sustain, as a share of the rate asked. */
const SUSTAINED_SHARE = 0.95;
/**
 * V8 optimises a function once it has run a set amount of bytecode (its
 * interrupt budget, 67,584 bytes by default), counted per function, not per
 * device. A thread of a thousand devices runs each small hot function
 * (handleCollect, checkConfirmation, mqtt.js's publish) a few hundred times
 * a second in all, and with the default, at 2,000 devices and 300 sales a
 * second, handleCollect was first optimised 24 s into the sales and
 * checkConfirmation 26 s (--trace-opt): a run of 20 to 30 s measured the
 * compiler's warm-up as much as the devices. With a quarter of it both were
 * optimised within 4 s. Set for the whole process before the threads start:
 * what the devices do is unchanged, only how soon V8 compiles it.
 */
const INTERRUPT_BUDGET = 16_384;
/** After the last sale is rung up, the run waits for receipts still to come until none has come for this long… */
const DRAIN_STALLED_MS = 15_000;
/** … or this long in all. */
const DRAIN_MAX_MS = 120_000;
/** How long the connected fleet is watched doing nothing, for its idle CPU. */
const IDLE_MS = 3_000;

export interface Percentiles {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface FleetReport {
  command: string;
  at: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    broker: string;
    /** 1-minute load average when the run started and when it ended: other work on the machine. */
    loadAverage: { start: number; end: number };
  };
  setup: {
    devices: number;
    rate: number;
    seconds: number;
    workers: number;
    ledger: LedgerKind;
    broker: string;
    backendConnections: number;
    deviceParts: string;
    openFileLimit: number | null;
    brokerOpenFileLimit: number | null;
  };
  connectStorm: { complete: boolean; online: number; ms: number | null; buildMs: number; /** How long the devices took to stop; null if some were ended unfinished. */ stopMs: number | null;
    /** CPU seconds the storm took, and connections the devices made again within it (a CONNACK later than the link's connect timeout). */
    fleetCpuSeconds: number; brokerCpuSeconds: number | null; reconnects: number };
  memory: {
    /** (process RSS when all are online − RSS before the devices were built) / devices. */
    rssPerDeviceBytes: number;
    /** Live heap after a full collection, all device threads, per device. */
    heapPerDeviceBytes: number;
    /** Off-heap memory V8 knows of (buffers), per device. */
    externalPerDeviceBytes: number;
    /** The same RSS figure after the sales, ledgers holding them. */
    rssPerDeviceAfterSalesBytes: number | null;
    processRssBytes: number;
    /** The broker's RSS growth per connected device, when the run started it. */
    brokerRssPerDeviceBytes: number | null;
  };
  confirmations: {
    offeredPerSecond: number;
    sustainedPerSecond: number;
    collects: number;
    payments: number;
    announced: number;
    /** Payments no receipt answered when the run ended (receipts stopped coming, or DRAIN_MAX_MS passed): no device is known to hold them. */
    lost: number;
    /**
     * Payments a device holds (it answered 'duplicate' to the confirmation
     * published again) whose 'announced' receipt never reached the backend:
     * the broker dropped it from a full queue (see brokerDropped).
     */
    announcedReceiptMissing: number;
    /** QoS 1 messages the broker dropped from full client queues over the run (its $SYS counter), when it publishes one. */
    brokerDropped: number | null;
    /** Payments with more than one 'announced' receipt: said twice. */
    duplicated: number;
    collectsWithoutQr: number;
    duplicateReceipts: number;
    rejected: number;
    republished: number;
    strayQrs: number;
    strayReceipts: number;
    /** Payments the devices' own counters reported paid; null when the devices could not be asked in time. */
    paidEventsOnDevices: number | null;
    /** How long after the last sale the run waited for the receipts still to come. */
    drainMs: number;
  };
  latencyMs: { endToEnd: Percentiles; collectToQr: Percentiles; paymentToReceipt: Percentiles };
  traffic: {
    /** PUBLISH messages through the broker (in + out) per sale during the sales, all topics. */
    brokerMessagesPerSale: number | null;
    brokerBytesPerSale: number | null;
    /** Reconnections the devices made during the run (0 when the broker kept up). */
    deviceReconnects: number | null;
  };
  cpuSeconds: {
    window: number;
    fleetProcess: number;
    /** Of fleetProcess: the device threads' own time, and the main thread's (the backend and the run's bookkeeping); the rest is the process's helper threads (V8's garbage collection, libuv). Null where Linux's per-thread figures are missing. */
    deviceThreads: number | null;
    mainThread: number | null;
    broker: number | null;
    wholeMachine: number | null;
    others: number | null;
  };
  /**
   * CPU time, which depends far less on other work on the machine than
   * wall-clock figures do: per sale over the sales (devices and backend,
   * idle work included), and per device per second while connected and idle.
   */
  cpuMs: {
    fleetPerSale: number;
    brokerPerSale: number | null;
    /** Of fleetPerSale: the device threads, and the main thread (backend); see cpuSeconds. */
    devicesPerSale: number | null;
    backendPerSale: number | null;
    fleetIdlePerDeviceSecond: number;
    brokerIdlePerDeviceSecond: number | null;
  };
  targets: { stormComplete: boolean; sustained: boolean; p99: boolean; noneLost: boolean; noneDuplicated: boolean; held: boolean };
}

/** A device thread, with what it said last. */
class DeviceThread {
  readonly worker: Worker;
  private waiters: { type: FromDeviceThread['type']; resolve: (m: FromDeviceThread) => void }[] = [];
  failure: string | undefined;

  constructor(data: DeviceThreadData, onLinks: (online: number, offline: number) => void) {
    this.worker = new Worker(new URL('./device-thread.js', import.meta.url), { workerData: data });
    this.worker.on('message', (message: FromDeviceThread) => {
      if (message.type === 'links') onLinks(message.online, message.offline);
      if (message.type === 'failed') this.failure = message.message;
      this.waiters = this.waiters.filter((w) => {
        if (w.type !== message.type && message.type !== 'failed') return true;
        w.resolve(message);
        return false;
      });
    });
    this.worker.on('error', (err) => {
      this.failure = err.message;
      for (const w of this.waiters) w.resolve({ type: 'failed', message: err.message });
      this.waiters = [];
    });
  }

  send(message: ToDeviceThread): void {
    this.worker.postMessage(message);
  }

  next<T extends FromDeviceThread['type']>(type: T, timeoutMs: number): Promise<Extract<FromDeviceThread, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a device thread did not answer "${type}" within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          if (m.type === 'failed') reject(new Error(`a device thread failed: ${m.message}`));
          else resolve(m as Extract<FromDeviceThread, { type: T }>);
        },
      });
    });
  }
}

function sumMemory(list: ThreadMemory[]): ThreadMemory {
  return list.reduce((a, m) => ({ heapUsedBytes: a.heapUsedBytes + m.heapUsedBytes, externalBytes: a.externalBytes + m.externalBytes }), { heapUsedBytes: 0, externalBytes: 0 });
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: round(sorted[sorted.length - 1] ?? 0) };
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every device thread's heap after a full collection, and its counts, added up. */
async function measure(threads: DeviceThread[], timeoutMs = 60_000): Promise<ThreadMemory & { paidEvents: number; reconnects: number }> {
  for (const t of threads) t.send({ type: 'measure' });
  const measured = await Promise.all(threads.map((t) => t.next('measured', timeoutMs)));
  return {
    ...sumMemory(measured.map((m) => m.memory)),
    paidEvents: measured.reduce((n, m) => n + m.paidEvents, 0),
    reconnects: measured.reduce((n, m) => n + m.reconnects, 0),
  };
}

/** Every device thread's own CPU time so far, added up, in seconds; undefined if a thread cannot tell. */
async function deviceThreadsCpu(threads: DeviceThread[]): Promise<number | undefined> {
  for (const t of threads) t.send({ type: 'cpu' });
  const answers = await Promise.all(threads.map((t) => t.next('cpu', 60_000)));
  let sum = 0;
  for (const a of answers) {
    if (a.seconds === null) return undefined;
    sum += a.seconds;
  }
  return sum;
}

/** How much the broker's counters grew per sale between two readings; null where the broker did not publish them. */
function trafficPerSale(start: BrokerCounters, end: BrokerCounters, sales: number, keys: (keyof BrokerCounters)[]): number | null {
  let sum = 0;
  for (const key of keys) {
    const a = start[key];
    const b = end[key];
    if (a === undefined || b === undefined) return null;
    sum += b - a;
  }
  return round(sum / sales);
}

/**
 * Runs a fleet of headless devices against one broker and a backend that
 * rings up and pays sales at a steady rate, and measures the connect
 * storm, memory per device, confirmations per second, latency and losses.
 */
export async function simulateFleet(o: FleetOptions): Promise<FleetReport> {
  const runTag = randomBytes(3).toString('hex').toUpperCase();
  // A socket per device, a ledger file with its log and shared memory on disk, and room for the rest.
  const needed = o.devices * (o.ledger === 'disk' ? 4 : 1) + 1024;
  const limit = raiseOpenFileLimit(needed);
  if (limit && limit.soft < needed) {
    throw new InputError(
      '--devices',
      `${o.devices} devices${o.ledger === 'disk' ? ' with ledgers on disk (a socket and three files each)' : ''} need about ${needed} open files, and this process may open ${limit.soft} (hard limit ${limit.hard}); run fewer devices or raise the hard limit (ulimit -Hn, as root)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'dakbox-fleet-'));
  const startLoad = loadavg()[0] ?? 0;
  let broker: FleetBroker | undefined;
  let backend: FleetBackend | undefined;
  const threads: DeviceThread[] = [];
  try {
    broker = o.broker ? undefined : await FleetBroker.start();
    const url = o.broker ?? broker?.url ?? '';
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const notifierKey = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');
    const deviceIds = Array.from({ length: o.devices }, (_, i) => `F${runTag}-${String(i).padStart(6, '0')}`);

    let online = 0;
    let allOnlineAt: number | undefined;
    let stormStart = 0;
    const onLinks = (up: number, down: number) => {
      online += up - down;
      if (allOnlineAt === undefined && online >= o.devices) allOnlineAt = performance.now();
    };
    setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
    const workers = Math.min(o.workers, o.devices);
    for (let w = 0; w < workers; w++) {
      const slice = deviceIds.filter((_, i) => i % workers === w);
      threads.push(new DeviceThread({ deviceIds: slice, brokerUrl: url, prefix: PREFIX, notifierKey, ledger: o.ledger, dir }, onLinks));
    }
    const loaded = await Promise.all(threads.map((t) => t.next('loaded', 60_000)));
    const baselineRss = process.memoryUsage().rss;
    const baselineHeap = sumMemory(loaded.map((m) => m.memory));

    backend = new FleetBackend({ url, prefix: PREFIX, privateKey, connections: BACKEND_CONNECTIONS, runTag });
    await backend.start();

    o.progress(`building ${o.devices} devices on ${workers} threads (ledgers ${o.ledger === 'memory' ? 'in memory' : `on disk in ${dir}`})`);
    for (const t of threads) t.send({ type: 'build' });
    const built = await Promise.all(threads.map((t) => t.next('built', 60_000 + o.devices * 20)));
    const buildMs = Math.max(...built.map((b) => b.ms));
    const brokerRssBefore = broker?.rssBytes();

    // The connect storm: every device starts at once, as after a broker restart.
    stormStart = performance.now();
    const stormCpu = { fleet: process.cpuUsage(), broker: broker?.cpuSeconds() };
    for (const t of threads) t.send({ type: 'connect' });
    const stormDeadline = stormStart + 60_000 + o.devices * 5;
    while (allOnlineAt === undefined && performance.now() < stormDeadline) {
      const failed = threads.find((t) => t.failure);
      if (failed) throw new Error(`a device thread failed: ${failed.failure}`);
      o.progress(`connect storm: ${online}/${o.devices} online, ${((performance.now() - stormStart) / 1000).toFixed(1)} s`);
      await delay(250);
    }
    const stormMs = allOnlineAt === undefined ? null : allOnlineAt - stormStart;
    const onlineAfterStorm = online;
    const stormFleetCpu = process.cpuUsage(stormCpu.fleet);
    const stormBrokerCpu = broker?.cpuSeconds();
    const stormReconnects = (await measure(threads, 60_000 + o.devices * 10)).reconnects;
    const stormComplete = stormMs !== null;
    o.progress(stormComplete ? `connect storm: all ${o.devices} online in ${((stormMs ?? 0) / 1000).toFixed(2)} s` : `connect storm: only ${online}/${o.devices} online after ${Math.round((stormDeadline - stormStart) / 1000)} s`);
    // Let the status and config/state messages settle, then see what the fleet costs doing nothing.
    await delay(2_000);
    const idleFrom = { at: performance.now(), cpu: process.cpuUsage(), broker: broker?.cpuSeconds() };
    await delay(IDLE_MS);
    const idleCpu = process.cpuUsage(idleFrom.cpu);
    const idleSeconds = (performance.now() - idleFrom.at) / 1000;
    const idleBroker = broker?.cpuSeconds();
    const afterStorm = await measure(threads, 60_000 + o.devices * 10);
    const rssAfterStorm = process.memoryUsage().rss;
    const brokerRssAfter = broker?.rssBytes();

    // The sales: sale n goes to device n mod N, at `rate` per second, whatever came back so far.
    const sales = { sent: 0 };
    const devicesCpuStart = await deviceThreadsCpu(threads);
    const windowStart = {
      at: performance.now(),
      cpu: process.cpuUsage(),
      mainCpu: threadCpuSeconds(),
      brokerCpu: broker?.cpuSeconds(),
      machine: machineBusySeconds(),
      counters: { ...backend.counters },
    };
    const total = Math.round(o.rate * o.seconds);
    let lastShown = 0;
    let lastLatencies = 0;
    while (sales.sent < total) {
      const elapsed = (performance.now() - windowStart.at) / 1000;
      const due = Math.min(total, Math.floor(elapsed * o.rate));
      while (sales.sent < due) {
        backend.collect(deviceIds[sales.sent % o.devices] ?? '', sales.sent, windowStart.at + (sales.sent * 1000) / o.rate);
        sales.sent++;
      }
      if (performance.now() - lastShown >= 1000) {
        lastShown = performance.now();
        const recent = backend.latencies.slice(lastLatencies);
        lastLatencies = backend.latencies.length;
        const p = percentiles(recent);
        o.progress(
          `sales ${elapsed.toFixed(0)}/${o.seconds} s: ${backend.counts.collects} rung up, ${backend.counts.announced} announced, ${recent.length}/s, p99 ${p.p99 ?? '-'} ms, online ${online}/${o.devices}, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
        );
      }
      await delay(5);
    }
    const windowEnd = performance.now();
    const windowSeconds = (windowEnd - windowStart.at) / 1000;
    const announcedInWindow = backend.counts.announced;
    const countersAtEnd = { ...backend.counters };
    const cpuWindow = process.cpuUsage(windowStart.cpu);
    const mainCpuEnd = threadCpuSeconds();
    const brokerCpuEnd = broker?.cpuSeconds();
    const machineEnd = machineBusySeconds();
    const devicesCpuEnd = await deviceThreadsCpu(threads);
    // Receipts still on their way: waited for while they keep coming, so
    // that a payment counted lost is one that stopped moving, not one queued.
    const drainStart = performance.now();
    let lastMoved = drainStart;
    let moved = backend.counts.qrs + backend.counts.announced + backend.counts.duplicateReceipts;
    while (backend.unanswered > 0 || backend.awaitingQrCount > 0) {
      const now = performance.now();
      const progress = backend.counts.qrs + backend.counts.announced + backend.counts.duplicateReceipts;
      if (progress !== moved) {
        moved = progress;
        lastMoved = now;
      }
      if (now - lastMoved > DRAIN_STALLED_MS || now - drainStart > DRAIN_MAX_MS) break;
      o.progress(`waiting for ${backend.unanswered} receipts and ${backend.awaitingQrCount} QRs`);
      await delay(100);
    }
    const drainMs = performance.now() - drainStart;

    // The backend stops first, so that no confirmation is published again
    // while the devices are measured and say goodbye.
    const finished = backend;
    const finalCounters = { ...backend.counters };
    await backend.stop();
    backend = undefined;
    // An overloaded fleet may still be working through its backlog: its
    // figures after the sales are left out rather than the run failed.
    const afterSales = await measure(threads, 60_000 + o.devices * 10).catch(() => undefined);
    const rssAfterSales = process.memoryUsage().rss;
    o.progress(`stopping ${o.devices} devices`);
    for (const t of threads) t.send({ type: 'stop' });
    // The figures are in; devices that take too long to say goodbye are ended with their thread.
    const stopped = await Promise.all(threads.map((t) => t.next('stopped', 30_000 + o.devices * 2).then((s) => s.ms, () => null)));
    const stopMs = stopped.some((ms) => ms === null) ? null : Math.max(...stopped.map((ms) => ms ?? 0));

    const counts = o.broker ? undefined : countersAtEnd;
    const sold = announcedInWindow || 1;
    const messages = trafficPerSale(windowStart.counters, counts ?? {}, sold, ['messagesReceived', 'messagesSent']);
    const bytes = trafficPerSale(windowStart.counters, counts ?? {}, sold, ['bytesReceived', 'bytesSent']);
    const fleetCpu = (cpuWindow.user + cpuWindow.system) / 1e6;
    const brokerCpu = brokerCpuEnd !== undefined && windowStart.brokerCpu !== undefined ? brokerCpuEnd - windowStart.brokerCpu : null;
    const machineCpu = machineEnd !== undefined && windowStart.machine !== undefined ? machineEnd - windowStart.machine : null;
    const mainCpu = mainCpuEnd !== undefined && windowStart.mainCpu !== undefined ? mainCpuEnd - windowStart.mainCpu : null;
    const devicesCpu = devicesCpuEnd !== undefined && devicesCpuStart !== undefined ? devicesCpuEnd - devicesCpuStart : null;
    const report = buildReport();
    function buildReport(): FleetReport {
      const b = finished;
      const lost = b.unanswered;
      const endToEnd = percentiles(b.latencies);
      const sustained = round(announcedInWindow / windowSeconds);
      const targets = {
        stormComplete,
        sustained: sustained >= SUSTAINED_SHARE * o.rate,
        p99: endToEnd.p99 !== null && endToEnd.p99 <= TARGET_P99_MS,
        noneLost: lost === 0 && b.awaitingQrCount === 0 && b.announcedReceiptMissing === 0,
        noneDuplicated: b.counts.announcedTwice === 0,
        held: false,
      };
      targets.held = targets.stormComplete && targets.sustained && targets.p99 && targets.noneLost && targets.noneDuplicated;
      return {
        command: o.command,
        at: new Date().toISOString(),
        machine: {
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
          memoryBytes: totalmem(),
          node: process.version,
          broker: o.broker ? 'given' : (mosquittoVersion() ?? 'mosquitto'),
          loadAverage: { start: round(startLoad, 2), end: round(loadavg()[0] ?? 0, 2) },
        },
        setup: {
          devices: o.devices,
          rate: o.rate,
          seconds: o.seconds,
          workers,
          ledger: o.ledger,
          broker: o.broker ?? `mosquitto started for the run on ${url}`,
          backendConnections: BACKEND_CONNECTIONS,
          deviceParts: 'device/device.ts Device with every feature, no display, a speaker that finishes at once, no controls, no serial line',
          openFileLimit: limit && Number.isFinite(limit.soft) ? limit.soft : null,
          brokerOpenFileLimit: broker?.openFileLimit() ?? null,
        },
        connectStorm: { complete: stormComplete, online: onlineAfterStorm, ms: stormMs === null ? null : round(stormMs), buildMs: round(buildMs),
          stopMs: stopMs === null ? null : round(stopMs),
          fleetCpuSeconds: round((stormFleetCpu.user + stormFleetCpu.system) / 1e6),
          brokerCpuSeconds: stormBrokerCpu !== undefined && stormCpu.broker !== undefined ? round(stormBrokerCpu - stormCpu.broker) : null,
          reconnects: stormReconnects,
        },
        memory: {
          rssPerDeviceBytes: Math.round((rssAfterStorm - baselineRss) / o.devices),
          heapPerDeviceBytes: Math.round((afterStorm.heapUsedBytes - baselineHeap.heapUsedBytes) / o.devices),
          externalPerDeviceBytes: Math.round((afterStorm.externalBytes - baselineHeap.externalBytes) / o.devices),
          rssPerDeviceAfterSalesBytes: afterSales ? Math.round((rssAfterSales - baselineRss) / o.devices) : null,
          processRssBytes: rssAfterSales,
          brokerRssPerDeviceBytes: brokerRssBefore !== undefined && brokerRssAfter !== undefined ? Math.round((brokerRssAfter - brokerRssBefore) / o.devices) : null,
        },
        confirmations: {
          offeredPerSecond: round(total / windowSeconds),
          sustainedPerSecond: sustained,
          collects: b.counts.collects,
          payments: b.counts.payments,
          announced: b.counts.announced,
          lost,
          duplicated: b.counts.announcedTwice,
          announcedReceiptMissing: b.announcedReceiptMissing,
          brokerDropped: finalCounters.dropped ?? null,
          collectsWithoutQr: b.awaitingQrCount,
          duplicateReceipts: b.counts.duplicateReceipts,
          rejected: b.counts.rejected,
          republished: b.counts.republished,
          strayQrs: b.counts.strayQrs,
          strayReceipts: b.counts.strayReceipts,
          paidEventsOnDevices: afterSales?.paidEvents ?? null,
          drainMs: round(drainMs),
        },
        latencyMs: { endToEnd, collectToQr: percentiles(b.collectToQr), paymentToReceipt: percentiles(b.paymentToReceipt) },
        traffic: { brokerMessagesPerSale: messages, brokerBytesPerSale: bytes, deviceReconnects: afterSales?.reconnects ?? null },
        cpuSeconds: {
          window: round(windowSeconds),
          fleetProcess: round(fleetCpu),
          deviceThreads: devicesCpu === null ? null : round(devicesCpu),
          mainThread: mainCpu === null ? null : round(mainCpu),
          broker: brokerCpu === null ? null : round(brokerCpu),
          wholeMachine: machineCpu === null ? null : round(machineCpu),
          others: machineCpu === null || brokerCpu === null ? null : round(Math.max(0, machineCpu - fleetCpu - brokerCpu)),
        },
        cpuMs: {
          fleetPerSale: round((fleetCpu * 1000) / sold, 3),
          brokerPerSale: brokerCpu === null ? null : round((brokerCpu * 1000) / sold, 3),
          devicesPerSale: devicesCpu === null ? null : round((devicesCpu * 1000) / sold, 3),
          backendPerSale: mainCpu === null ? null : round((mainCpu * 1000) / sold, 3),
          fleetIdlePerDeviceSecond: round(((idleCpu.user + idleCpu.system) / 1000 / idleSeconds / o.devices), 4),
          brokerIdlePerDeviceSecond:
            idleBroker !== undefined && idleFrom.broker !== undefined ? round(((idleBroker - idleFrom.broker) * 1000) / idleSeconds / o.devices, 4) : null,
        },
        targets,
      };
    }
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await backend?.stop().catch(() => undefined);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
