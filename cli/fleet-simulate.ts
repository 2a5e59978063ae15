import { availableParallelism } from 'node:os';
import { InputError } from '../core/errors.js';
import { DEFAULT_SECONDS, DEVICES_PER_THREAD, defaultWorkers, simulateFleet, type FleetReport } from '../fleet/simulate.js';
import { integer, parse } from './args.js';
import type { CommandIo } from './main.js';

export const FLEET_SIMULATE_USAGE = `dakbox fleet simulate --devices N --rate R [--seconds ${DEFAULT_SECONDS}] [--broker URL] [--ledger memory|disk] [--workers W] [--out bench/results/fleet.json]
  N headless devices (the real device program: counter, ledger, confirmation
  check, MQTT link, telemetry; no screen, a silent speaker) spread over W
  threads (default: one per CPU, or one per ${DEVICES_PER_THREAD.toLocaleString('en-US')} devices if
  that is more), each with its own broker connection, and
  a payments backend that rings up and pays R sales a second spread over
  them. Prints the connect-storm time, memory per device, confirmations per
  second, end-to-end p50/p99/max and lost or doubled payments, and writes
  them as JSON. Without --broker a mosquitto is started on a free loopback port.`;

/** Each device gets a sale at most this often, so one is paid before its next is rung up. */
const MAX_SALES_PER_DEVICE_PER_SECOND = 5;

export async function fleetSimulateCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    devices: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    broker: { type: 'string' },
    ledger: { type: 'string' },
    workers: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.devices === undefined) throw new InputError('--devices', 'is required (how many devices to run)');
  if (values.rate === undefined) throw new InputError('--rate', 'is required (confirmations per second)');
  const devices = integer(values.devices, '--devices', 1, 100_000) ?? 0;
  const rate = integer(values.rate, '--rate', 1, 100_000) ?? 0;
  if (rate > devices * MAX_SALES_PER_DEVICE_PER_SECOND) {
    throw new InputError('--rate', `${rate}/s is more than ${MAX_SALES_PER_DEVICE_PER_SECOND} sales a second per device for ${devices} devices; use more devices or a lower rate`);
  }
  const seconds = integer(values.seconds, '--seconds', 1, 3600) ?? DEFAULT_SECONDS;
  const workers = integer(values.workers, '--workers', 1, 256) ?? defaultWorkers(devices, availableParallelism());
  const ledger = values.ledger ?? 'memory';
  if (ledger !== 'memory' && ledger !== 'disk') throw new InputError('--ledger', 'must be memory or disk');
  const broker = values.broker;
  if (broker !== undefined && !/^(mqtts?|wss?):\/\/[^\s]+$/.test(broker)) throw new InputError('--broker', 'must be a broker URL like mqtt://127.0.0.1:1883');
  const stderr = io.stderr as NodeJS.WriteStream;
  const tty = stderr.isTTY === true;
  let lastPlain = 0;
  const progress = (line: string) => {
    if (tty) {
      stderr.write(`\r\x1b[2K${line.slice(0, Math.max(20, (stderr.columns || 120) - 1))}`);
    } else if (Date.now() - lastPlain >= 2000 || !line.startsWith('sales ')) {
      lastPlain = Date.now();
      stderr.write(`${line}\n`);
    }
  };
  const report = await simulateFleet({
    devices,
    rate,
    seconds,
    broker,
    ledger,
    workers,
    out: values.out ?? 'bench/results/fleet.json',
    command: ['npx dakbox fleet simulate', ...argv].join(' '),
    progress,
  });
  if (tty) stderr.write('\r\x1b[2K');
  io.stdout.write(`${formatFleetReport(report, values.out ?? 'bench/results/fleet.json')}\n`);
  return 0;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const yes = (held: boolean) => (held ? 'held' : 'MISSED');

/** The figures for a person, then the summary as one JSON document. */
export function formatFleetReport(r: FleetReport, out: string): string {
  const c = r.confirmations;
  const e = r.latencyMs.endToEnd;
  const lines = [
    `fleet: ${r.setup.devices} devices on ${r.setup.workers} threads, ledgers ${r.setup.ledger === 'memory' ? 'in memory (:memory: SQLite)' : 'on disk (SQLite files in a temp folder)'}, broker ${r.setup.broker}`,
    `  load average ${r.machine.loadAverage.start} at start, ${r.machine.loadAverage.end} at end (${r.machine.cpus} CPUs, shared); CPU over the sales: fleet ${r.cpuSeconds.fleetProcess} s, broker ${r.cpuSeconds.broker ?? '?'} s, others ${r.cpuSeconds.others ?? '?'} s in ${r.cpuSeconds.window} s`,
    `connect storm: ${r.connectStorm.complete ? `all ${r.setup.devices} online in ${((r.connectStorm.ms ?? 0) / 1000).toFixed(2)} s` : `INCOMPLETE, ${r.connectStorm.online} online`} (devices built in ${(r.connectStorm.buildMs / 1000).toFixed(2)} s); CPU fleet ${r.connectStorm.fleetCpuSeconds} s, broker ${r.connectStorm.brokerCpuSeconds ?? '?'} s; ${r.connectStorm.reconnects} connections made again`,
    `memory per device: ${kb(r.memory.rssPerDeviceBytes)} RSS, ${kb(r.memory.heapPerDeviceBytes)} heap, ${kb(r.memory.externalPerDeviceBytes)} external; ${r.memory.rssPerDeviceAfterSalesBytes === null ? '?' : kb(r.memory.rssPerDeviceAfterSalesBytes)} RSS after the sales; process ${mb(r.memory.processRssBytes)}${r.memory.brokerRssPerDeviceBytes !== null ? `; broker ${kb(r.memory.brokerRssPerDeviceBytes)} per connection` : ''}`,
    `confirmations: ${c.sustainedPerSecond}/s sustained of ${c.offeredPerSecond}/s offered; ${c.payments} paid, ${c.announced} announced, ${c.lost} lost, ${c.duplicated} duplicated, ${c.announcedReceiptMissing} held by the device but receipt missing, ${c.collectsWithoutQr} collects without a QR, ${c.brokerDropped ?? '?'} dropped by the broker, ${c.rejected} rejected, ${c.republished} republished (waited ${(c.drainMs / 1000).toFixed(1)} s after the last sale)`,
    `end to end (collect sent → receipt received): p50 ${e.p50 ?? '-'} ms, p99 ${e.p99 ?? '-'} ms, max ${e.max ?? '-'} ms; collect → QR p50 ${r.latencyMs.collectToQr.p50 ?? '-'} ms, payment → receipt p50 ${r.latencyMs.paymentToReceipt.p50 ?? '-'} ms`,
    `CPU: ${r.cpuMs.fleetPerSale} ms per sale in the fleet process (device threads ${r.cpuMs.devicesPerSale ?? '?'}, backend ${r.cpuMs.backendPerSale ?? '?'}, the rest its helper threads), ${r.cpuMs.brokerPerSale ?? '?'} ms in the broker; idle, ${r.cpuMs.fleetIdlePerDeviceSecond} ms per device per second`,
    `traffic: ${r.traffic.brokerMessagesPerSale ?? '?'} broker messages and ${r.traffic.brokerBytesPerSale ?? '?'} bytes per sale (in + out, all topics); ${r.traffic.deviceReconnects ?? '?'} device reconnections in all`,
    `targets: connect storm ${yes(r.targets.stormComplete)}, rate ${yes(r.targets.sustained)}, p99 ≤ 50 ms ${yes(r.targets.p99)}, none lost ${yes(r.targets.noneLost)}, none doubled ${yes(r.targets.noneDuplicated)}`,
    `results: ${out}`,
    JSON.stringify({
      devices: r.setup.devices,
      rate: r.setup.rate,
      ledger: r.setup.ledger,
      workers: r.setup.workers,
      stormMs: r.connectStorm.ms,
      rssPerDeviceBytes: r.memory.rssPerDeviceBytes,
      heapPerDeviceBytes: r.memory.heapPerDeviceBytes,
      sustainedPerSecond: c.sustainedPerSecond,
      cpuMsPerSale: r.cpuMs.fleetPerSale,
      p50Ms: e.p50,
      p99Ms: e.p99,
      maxMs: e.max,
      lost: c.lost,
      duplicated: c.duplicated,
      loadAverage: r.machine.loadAverage,
      held: r.targets.held,
      command: r.command,
    }),
  ];
  return lines.join('\n');
}
