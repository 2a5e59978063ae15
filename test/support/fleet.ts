import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../core/clock.js';
import { loadConfig, saveSecrets } from '../../core/config.js';
import { Device } from '../../device/device.js';
import type { NotifierKeys } from '../../simulator/backend.js';
import type { BankCallback, InstanceReport, NotifierInstanceConfig } from '../../simulator/notifier-instance.js';
import { deviceFixture, type DeviceFixture } from './fixtures.js';
import { LedgerReader } from './ledger-reader.js';
import { recordingLogger, type LogLine } from './log-lines.js';
import { MqttWatch, type Seen } from './mqtt-watch.js';
import { amountOf } from './payment-driver.js';
import { ShippedBroker } from './shipped-broker.js';
import { RecordingDisplay, RecordingSpeaker } from './stand-ins.js';

const INSTANCE_ENTRY = fileURLToPath(new URL('../../dist/simulator/notifier-instance.js', import.meta.url));

/** Listeners as numbered in deploy/mosquitto/edge.conf and central.conf. */
export const EDGE_DEVICES = 8883;
export const CENTRAL_BRIDGES = 8886;
export const CENTRAL_BACKEND = 8885;

/** The circle deploy/mosquitto/edge.conf is written for; each edge replaces it with its own. */
const TEMPLATE_CIRCLE = 'north';

export const deviceTopic = (circle: string, deviceId: string, suffix: string) => `circles/${circle}/dakbox/v1/${deviceId}/${suffix}`;

/**
 * The central broker exactly as deploy/mosquitto/central.conf configures it,
 * and one edge per circle as edge.conf does, with only the circle's name,
 * the bridge's address and the files' places filled in. Each edge's bridge
 * logs in with a certificate from the central broker's edge CA.
 */
export async function startBrokers(circles: Record<string, Record<string, string>>): Promise<{ central: ShippedBroker; edges: Map<string, ShippedBroker> }> {
  const central = await ShippedBroker.start({ conf: 'central.conf' });
  const edges = new Map<string, ShippedBroker>();
  for (const [circle, devices] of Object.entries(circles)) {
    const bridge = central.certificate(circle, 'edge-ca');
    const edge = await ShippedBroker.start({
      conf: 'edge.conf',
      devices,
      fill: (line) =>
        line
          .replace(new RegExp(`\\b${TEMPLATE_CIRCLE}\\b`, 'g'), circle)
          .replace(/^address \S+$/, `address 127.0.0.1:${central.port(CENTRAL_BRIDGES)}`),
      files: { 'certs/central-ca.crt': central.brokerCa, 'certs/edge.crt': bridge.cert, 'certs/edge.key': bridge.key },
    });
    edges.set(circle, edge);
  }
  return { central, edges };
}

/**
 * A counter device of one circle, in this process: the real Device (MqttLink,
 * Ledger, confirmation checks, Announcer), logging in to its edge with its
 * password, with a display and a speaker that keep what they were given.
 * Restartable on the same ledger and session.
 */
export class FleetDevice {
  readonly fixture: DeviceFixture;
  readonly speaker = new RecordingSpeaker();
  /** Warnings and errors logged, by each run of the device. */
  private readonly logs: LogLine[][] = [];
  device: Device;

  constructor(
    readonly deviceId: string,
    readonly circle: string,
    edge: ShippedBroker,
    password: string,
    keys: NotifierKeys,
  ) {
    this.fixture = deviceFixture(
      {
        deviceId,
        mqtt: { url: edge.url(EDGE_DEVICES), protocolVersion: 5, username: deviceId, tls: { ca: edge.brokerCa, rejectUnauthorized: true } },
        announce: { prompts: false },
        sale: { limit: '100000.00', expirySeconds: 3600, resultSeconds: 1, chimeOnQr: false },
        display: { kind: 'none' },
      },
      keys,
    );
    saveSecrets(this.fixture.dir, { mqttPassword: password });
    this.device = this.build();
  }

  private build(): Device {
    const { log, lines } = recordingLogger('warn');
    this.logs.push(lines);
    return new Device({ config: loadConfig(this.fixture.configPath), parts: { display: new RecordingDisplay(), speaker: this.speaker }, log, clock: systemClock });
  }

  /** Errors logged by any run of the device. */
  errors(): LogLine[] {
    return this.logs.flat().filter((l) => l.level >= 50);
  }

  start(): void {
    this.device.start();
  }

  get online(): boolean {
    return this.device.link.state === 'online';
  }

  /** An orderly stop; its session stays on the edge. */
  async stop(): Promise<void> {
    await this.device.stop();
  }

  /** Starts it again on its ledger, as after a reboot. */
  restart(): void {
    this.device = this.build();
    this.device.start();
  }

  /** Its ledger, read from outside as a field engineer's tool would. */
  ledger<T>(read: (ledger: LedgerReader) => T): T {
    const reader = new LedgerReader(loadConfig(this.fixture.configPath).ledgerPath);
    try {
      return read(reader);
    } finally {
      reader.close();
    }
  }

  /** "Received …" sentences spoken. */
  get sentences(): number {
    return this.speaker.utterances.length;
  }

  /**
   * Stops the device and removes its folder. The stop is given 10 s: after a
   * broker was killed, mqtt.js can hold a QoS 1 publish that is neither
   * acknowledged nor sent again, and the link's orderly stop waits for it
   * for ever; that is said on stderr, and the teardown goes on.
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), 10_000)));
    if ((await Promise.race([this.device.stop(), stuck])) === 'stuck') {
      console.warn(`${this.deviceId}: the device's orderly stop did not finish within 10 s (a publish awaiting its acknowledgement); stopping the test without it`);
    }
    clearTimeout(timer);
    this.fixture.cleanup();
  }
}

/**
 * One notifier instance of the backend, as a process of its own
 * (simulator/notifier-instance.ts, run from the build). The bank's callbacks
 * go to it over IPC; SIGKILL ends it without a word to anyone.
 */
export class NotifierProcess {
  /** utrs this instance published again for want of a receipt. */
  readonly republished: { deviceId: string; utr: string; attempt: number }[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly exited: Promise<void>;
  readonly ready: Promise<void>;

  constructor(readonly config: NotifierInstanceConfig) {
    if (!existsSync(INSTANCE_ENTRY)) throw new Error(`${INSTANCE_ENTRY} is missing: run npm run build`);
    this.child = spawn(process.execPath, [INSTANCE_ENTRY, JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    let ready: () => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      ready = resolve;
      this.child.once('exit', () => reject(new Error(`notifier ${config.clientId} exited before it was ready: ${this.stderr}`)));
    });
    this.child.on('message', (message: InstanceReport) => {
      if (message.kind === 'ready') ready();
      else if (message.kind === 'republish') this.republished.push(message);
      else if (message.kind === 'paid') this.settle(message.id);
      else this.settle(message.id, new Error(message.error));
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        for (const w of this.waiting.values()) w.reject(new Error(`notifier ${config.clientId} is gone`));
        this.waiting.clear();
        resolve();
      }),
    );
  }

  private settle(id: number, err?: Error): void {
    const w = this.waiting.get(id);
    this.waiting.delete(id);
    if (err) w?.reject(err);
    else w?.resolve();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The bank's callback; resolves once the instance has stored and published the confirmation. */
  pay(callback: BankCallback, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(callback.id);
        reject(new Error(`notifier ${this.config.clientId} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(callback.id, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      // An instance killed a moment ago has a closed channel: the send
      // fails (EPIPE) and the bank tries another, as it would after a
      // refused callback.
      this.child.send(callback, (err) => {
        if (err) this.settle(callback.id, err);
      });
    });
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.alive) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * The bank: it calls a notifier instance back for each payment, in turn, and
 * calls another when one does not answer, as a bank retries a callback that
 * was not acknowledged.
 */
export class Bank {
  private nextId = 1;
  private turn = 0;
  /** Callbacks that had to go to a second instance. */
  retried = 0;

  constructor(private readonly instances: NotifierProcess[]) {}

  async pay(payment: Omit<BankCallback, 'id'>, via?: NotifierProcess): Promise<NotifierProcess> {
    const order = via ? [via] : this.instances.map((_, k) => this.instances[(this.turn + k) % this.instances.length]!);
    this.turn++;
    for (const [k, instance] of order.entries()) {
      if (!instance.alive) continue;
      try {
        await instance.pay({ ...payment, id: this.nextId++ }, 10_000);
        return instance;
      } catch {
        if (k < order.length - 1) this.retried++;
      }
    }
    throw new Error(`no notifier instance took the payment ${payment.utr}`);
  }
}

/** One payment as the sales side saw it. */
export interface FleetPayment {
  deviceId: string;
  utr: string;
  tr: string;
  amount: string;
}

/**
 * The sales side and an auditor on the central broker: the backend's
 * certificate, its own client id and plain (not shared) subscriptions, so it
 * sees every circle's reports while the notifier instances share them.
 */
export class SalesDesk {
  readonly paid: FleetPayment[] = [];
  /** Milliseconds from the bank's callback to the first receipt, per payment of a run. */
  readonly payToReceiptMs: number[] = [];
  completed = 0;
  private readonly progress = new Set<{ at: number; resolve: () => void }>();

  private constructor(readonly watch: MqttWatch) {}

  static async connect(central: ShippedBroker): Promise<SalesDesk> {
    const watch = await MqttWatch.connect(
      central.url(CENTRAL_BACKEND),
      ['circles/+/dakbox/v1/+/qr', 'circles/+/dakbox/v1/+/receipt', 'circles/+/dakbox/v1/+/status'],
      { clientId: 'sales-desk', protocolVersion: 5, ...central.tls(central.certificate('dakbox-backend', 'backend-ca')) },
    );
    return new SalesDesk(watch);
  }

  receipts(utr: string): Seen[] {
    return this.watch.seen.filter((m) => m.topic.endsWith('/receipt') && m.json<{ utr: string | null }>().utr === utr);
  }

  /** Waits until the device reports itself online on the central broker, through its edge. */
  async online(device: FleetDevice): Promise<void> {
    const status = deviceTopic(device.circle, device.deviceId, 'status');
    await this.watch.waitFor((m) => m.topic === status && m.json<{ online: boolean }>().online, 20_000, `${device.deviceId} online at the central broker`);
  }

  /** A sale on this device: collect until its QR is seen, asking again with the same id (the device repeats the qr of a sale still on screen). */
  async sale(device: FleetDevice, id: string, amount: string): Promise<string> {
    const qrTopic = deviceTopic(device.circle, device.deviceId, 'qr');
    const match = (m: Seen) => m.topic === qrTopic && new URLSearchParams(m.json<{ uri: string }>().uri.split('?')[1]).get('tn') === id;
    for (let ask = 0; ask < 10; ask++) {
      await this.watch.publish(deviceTopic(device.circle, device.deviceId, 'collect'), JSON.stringify({ v: 1, id, amount, note: id, expiresIn: 3600 }));
      try {
        return (await this.watch.waitFor(match, 3_000, `qr for ${id}`)).json<{ tr: string }>().tr;
      } catch {
        // Lost with a broker that went down: ask again.
      }
    }
    throw new Error(`no QR for ${id} after 10 requests`);
  }

  /** Resolves with the first receipt for `utr`. */
  async receipt(utr: string, timeoutMs = 30_000): Promise<string> {
    const seen = await this.watch.waitFor((m) => m.topic.endsWith('/receipt') && m.json<{ utr: string | null }>().utr === utr, timeoutMs, `receipt for ${utr}`);
    return seen.json<{ outcome: string }>().outcome;
  }

  /** Sells and has paid `count` sales on each device in turn, the devices in parallel, one sale at a time per device. */
  async run(devices: FleetDevice[], bank: Bank, label: string, total: number): Promise<void> {
    let next = 0;
    const perDevice = async (device: FleetDevice) => {
      for (;;) {
        const index = next++;
        if (index >= total) return;
        const amount = amountOf(index + 1);
        const id = `${label}-${device.deviceId}-${index}`;
        const tr = await this.sale(device, id, amount);
        const utr = `${label}${device.deviceId}${String(index).padStart(5, '0')}`;
        this.paid.push({ deviceId: device.deviceId, utr, tr, amount });
        const called = performance.now();
        await bank.pay({ deviceId: device.deviceId, tr, amount, utr });
        await this.receipt(utr);
        this.payToReceiptMs.push(performance.now() - called);
        this.completed++;
        for (const p of this.progress) {
          if (this.completed < p.at) continue;
          this.progress.delete(p);
          p.resolve();
        }
      }
    };
    await Promise.all(devices.map(perDevice));
  }

  /** Resolves once `count` payments have a receipt. */
  reached(count: number): Promise<void> {
    if (this.completed >= count) return Promise.resolve();
    return new Promise((resolve) => this.progress.add({ at: count, resolve }));
  }

  close(): Promise<void> {
    return this.watch.close();
  }
}

/** A folder for the notifier instances' shared store. */
export function storeFolder(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'dakbox-notifiers-'));
  return { path: join(dir, 'pending.sqlite'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
