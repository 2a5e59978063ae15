import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { formatIst, systemClock } from '../core/clock.js';
import { loadConfig, type DeviceSettingsInput } from '../core/config.js';
import { sendWithoutDelay } from '../core/link/no-delay.js';
import { deviceTopic } from '../core/link/topics.js';
import { silentLogger } from '../core/log.js';
import { formatWireAmount, paise } from '../core/money.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import type { Speaker } from '../core/ports/speaker.js';
import { Device } from '../device/device.js';
import { generateNotifierKeys } from '../simulator/backend.js';
import { Mosquitto } from '../simulator/mosquitto.js';
import { spread, type BenchResult } from './results.js';

/**
 * From the backend publishing a signed confirmation to the device starting
 * to say it (the announcer's call to the speaker), through a real mosquitto
 * on loopback (`set_tcp_nodelay true`), over the whole device: MQTT link,
 * signature check, the ledger's commit on a file on disk, counter,
 * announcer. The broker's own round trip (publish to receive between two
 * mqtt.js clients, the same size of message, QoS 1) is measured in the same
 * run, one sample before each payment, so both see the same machine load;
 * the device's overhead is what it adds above that floor, percentile by
 * percentile.
 */
export interface LatencyBenchOptions {
  readonly payments?: number;
}

type Spread = ReturnType<typeof spread>;

export interface LatencyBenchReport {
  readonly payments: number;
  readonly broker: Spread;
  readonly device: Spread;
  readonly overhead: Spread;
  readonly targetOverheadP99Ms: number;
  readonly met: boolean;
}

export const OVERHEAD_P99_TARGET_MS = 3;
const FLOOR_TOPIC = 'bench/floor';

export async function latencyBench(options: LatencyBenchOptions = {}): Promise<LatencyBenchReport> {
  const payments = options.payments ?? 1000;
  const broker = await Mosquitto.start({ extra: ['set_tcp_nodelay true'] });
  const folder = mkdtempSync(join(tmpdir(), 'dakbox-latency-bench-'));
  const clients: MqttClient[] = [];
  let device: Device | undefined;
  try {
    const keys = generateNotifierKeys();
    const settings: DeviceSettingsInput = {
      deviceId: 'LAT01',
      payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' },
      mqtt: { url: broker.url, protocolVersion: 5 },
      notifierKeys: [keys.publicKeyBase64],
      display: { kind: 'none' },
      announce: { prompts: false },
      sale: { chimeOnQr: false },
    };
    writeFileSync(join(folder, 'device.json'), JSON.stringify(settings), { mode: 0o600 });
    const config = loadConfig(join(folder, 'device.json'));
    const speaker = new TimedSpeaker();
    device = new Device({ config, parts: { speaker }, log: silentLogger(), clockTrust: { check: () => Promise.resolve({ trusted: true, reason: 'benchmark' }) } });
    device.start();

    const connect = async (clientId: string): Promise<MqttClient> => {
      const client = await mqtt.connectAsync(broker.url, { clientId, protocolVersion: 5, reconnectPeriod: 0 });
      sendWithoutDelay(client);
      clients.push(client);
      return client;
    };
    const backend = await connect('latency-backend');
    const floorSender = await connect('latency-floor-sender');
    const floorReceiver = await connect('latency-floor-receiver');
    await floorReceiver.subscribeAsync(FLOOR_TOPIC, { qos: 1 });
    let floorArrived: (() => void) | undefined;
    floorReceiver.on('message', () => floorArrived?.());
    await until(() => device?.link.state === 'online', 'the device did not come online');

    const paymentTopic = deviceTopic(config.settings.mqtt.prefix, config.settings.deviceId, 'payment');
    const floor: number[] = [];
    const announced: number[] = [];
    for (let i = 0; i < payments + 20; i++) {
      const amount = paise(100 + ((i * 7919) % 10_000_000));
      const sale = await device.counter.startSale({ amount, source: 'serial' });
      const utr = `UTR${i}`;
      const message = JSON.stringify(
        signConfirmation({ deviceId: config.settings.deviceId, tr: sale.tr, utr, amount: formatWireAmount(amount), status: 'SUCCESS', paidAt: formatIst(systemClock.now()) }, keys.privateKey),
      );
      // The QR's message is published and struck off before the customer pays.
      await until(() => device?.outbox.depth() === 0, 'the qr message was not acknowledged');

      const floorDone = new Promise<void>((resolve) => (floorArrived = resolve));
      const floorAt = performance.now();
      await floorSender.publishAsync(FLOOR_TOPIC, message, { qos: 1 });
      await floorDone;
      const floorMs = performance.now() - floorAt;

      const spoken = speaker.next();
      const paidAt = performance.now();
      await backend.publishAsync(paymentTopic, message, { qos: 1 });
      const startedAt = await spoken;
      // The first payments warm the code paths and the disk; they are not counted.
      if (i >= 20) {
        floor.push(floorMs);
        announced.push(startedAt - paidAt);
      }
      await until(() => device?.ledger.findPayment(utr)?.announced === true && device.outbox.depth() === 0, 'the payment was not marked and receipted');
    }
    const b = spread(floor);
    const d = spread(announced);
    const overhead = { p50Ms: diff(d.p50Ms, b.p50Ms), p90Ms: diff(d.p90Ms, b.p90Ms), p99Ms: diff(d.p99Ms, b.p99Ms), maxMs: diff(d.maxMs, b.maxMs) };
    return { payments, broker: b, device: d, overhead, targetOverheadP99Ms: OVERHEAD_P99_TARGET_MS, met: overhead.p99Ms <= OVERHEAD_P99_TARGET_MS };
  } finally {
    await device?.stop();
    for (const c of clients) await c.endAsync();
    await broker.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

function diff(a: number, b: number): number {
  return Math.round((a - b) * 1000) / 1000;
}

/** A speaker that notes when each sentence is handed to it and has spoken it at once. */
class TimedSpeaker implements Speaker {
  private waiting: ((at: number) => void) | undefined;

  /** Resolves with the time the next sentence is handed over. */
  next(): Promise<number> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  speak(): Promise<void> {
    const at = performance.now();
    this.waiting?.(at);
    this.waiting = undefined;
    return Promise.resolve();
  }

  chime(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Waits, a turn of the event loop at a time, up to 10 s, for `done`. */
async function until(done: () => boolean, failure: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(failure);
    await new Promise((r) => setImmediate(r));
  }
}

export function latencyResult(report: LatencyBenchReport, command: string): BenchResult {
  return {
    name: 'latency',
    command,
    runs: [
      { label: 'broker round trip', ...report.broker },
      { label: 'confirmation → announcement start', ...report.device },
      { label: 'device overhead', ...report.overhead },
    ],
    details: {
      payments: report.payments,
      overhead: 'confirmation → announcement start minus broker round trip, percentile by percentile',
      targetOverheadP99Ms: report.targetOverheadP99Ms,
      met: report.met,
    },
  };
}

export function formatLatencyBench(report: LatencyBenchReport): string {
  const ms = (v: number) => `${v.toFixed(2)} ms`.padStart(10);
  const row = (label: string, s: Spread) => `  ${label.padEnd(36)} ${ms(s.p50Ms)} ${ms(s.p90Ms)} ${ms(s.p99Ms)} ${ms(s.maxMs)}`;
  return [
    `confirmation to announcement: ${report.payments} payments through mosquitto on loopback, Node ${process.versions.node}`,
    `  ${''.padEnd(36)} ${'p50'.padStart(10)} ${'p90'.padStart(10)} ${'p99'.padStart(10)} ${'max'.padStart(10)}`,
    row('broker round trip (floor)', report.broker),
    row('confirmation → announcement start', report.device),
    row('device overhead (difference)', report.overhead),
    `  overhead p99 <= ${report.targetOverheadP99Ms} ms: ${report.met ? 'met' : 'NOT met'}`,
  ].join('\n');
}
