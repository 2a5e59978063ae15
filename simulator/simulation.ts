import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { formatIst, systemClock, type Clock } from '../core/clock.js';
import { parseSettings, saveSecrets, type DeviceSettingsInput } from '../core/config.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import { InputError, describeError } from '../core/errors.js';
import { isLanguage, LANGUAGES, type Language } from '../core/language.js';
import type { Logger } from '../core/log.js';
import { formatWireAmount, parseAmountInput, type Paise } from '../core/money.js';
import type { ButtonName } from '../core/ports/controls.js';
import type { DeviceTopics } from '../core/link/topics.js';
import type { PanelSize } from '../core/ports/display.js';
import { BillingSerialPort } from '../adapters/serial/billing-serial-port.js';
import { EmbeddedBroker } from './broker.js';
import { panelSize } from './lcd-glass.js';
import { plugSerialCable, unplugSerialCable, type SerialCable } from './serial-cable.js';
import { PaymentsBackend, generateNotifierKeys, type NotifierKeys } from './backend.js';
import { SimulatedCounter, type CounterEvents } from './simulated-counter.js';

export * from './simulated-counter.js';
export { panelSize } from './lcd-glass.js';

export interface SimulationOptions {
  /** Folder for the simulation: one sub-folder per device (config, ledger, frames, sounds) and the simulator's keys. */
  dir: string;
  /** Embedded broker port; 0 picks a free one. Ignored with `brokerUrl`. */
  port?: number;
  /** Use this broker (mqtt://host:port) instead of starting the embedded one. */
  brokerUrl?: string;
  log: Logger;
  /** The clock under every device's own offset clock; the system clock by default. */
  clock?: Clock;
  /** How many counters share the broker: SIM01, SIM02, ... (default 1, at most 32). */
  devices?: number;
  /** en, hi, bn or kn; anything else is refused with an InputError. */
  language?: string;
  /** The LCD panel: 480x320 (default), 320x240, 320x480, 240x240 or 800x480. */
  size?: PanelSize | string;
  /** Give the billing PC a serial port too: a socat pty pair per device, the PC's end at `{device dir}/billing-pc`. */
  billingPty?: boolean;
  /** How long a QR stays payable, in seconds (30 to 3600; default 300). */
  expirySeconds?: number;
  /** How long a paid/failed result stays on screen, in seconds (default 8). */
  resultSeconds?: number;
  /** Level of the device log lines kept and echoed (default info). */
  logLevel?: string;
}

export interface ReceiptEvent {
  deviceId: string;
  message: DeviceTopics['receipt'];
  /** Simulation wall-clock time it arrived. */
  at: number;
}

/** A confirmation the stand-in backend sent, as published. */
export interface SentConfirmation {
  deviceId: string;
  tr: string;
  utr: string;
  payload: string;
  kind: 'pay' | 'fail' | 'forged' | 'replay';
}

export interface BrokerEvent {
  up: boolean;
}

export type SimulationEvents = CounterEvents & {
  receipt: [ReceiptEvent];
  confirmation: [SentConfirmation];
  broker: [BrokerEvent];
  qr: [{ deviceId: string; message: DeviceTopics['qr'] }];
};

/** The public half of the key the simulated payee signs its mode-16 QRs with, for a phone to verify `sign`. */
export interface QrPublicKey {
  /** SPKI, PEM. */
  pem: string;
  jwk: JsonWebKey;
  /** The payee's NPCI org id carried in the QR's `orgid`. */
  orgId: string;
}

const MAX_DEVICES = 32;
const SIMULATED_ORG_ID = '000000';
const CUSTOMER_VPA = 'customer@okaxis';

/**
 * The whole counter without hardware: a broker (embedded aedes, or one the
 * caller names), N devices each on its own network cable, billing cable,
 * LCD, speaker and buttons (see SimulatedCounter), and a stand-in payments
 * backend that plays the bank. Everything a device does is an event here;
 * every fault is a method.
 */
export class Simulation extends EventEmitter<SimulationEvents> {
  private readonly confirmations: SentConfirmation[] = [];
  private readonly receiptLog: ReceiptEvent[] = [];
  private brokerTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    /** The embedded broker; undefined when the devices use an outside one. */
    private readonly embedded: EmbeddedBroker | undefined,
    readonly brokerUrl: string,
    readonly backend: PaymentsBackend,
    readonly dir: string,
    private readonly counters: Map<string, SimulatedCounter>,
    private readonly cables: Map<string, SerialCable>,
    private readonly ports: BillingSerialPort[],
    readonly qrPublicKey: QrPublicKey,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    super();
    for (const counter of counters.values()) {
      for (const name of ['frame', 'leds', 'speech', 'billing', 'log', 'power'] as const) {
        // Each device's events are the simulation's, under the same names.
        (counter as EventEmitter).on(name, (event: unknown) => (this as EventEmitter).emit(name, event));
      }
    }
    backend.on('receipt', ({ deviceId, message }) => {
      const receipt = { deviceId, message, at: this.clock.now() };
      this.receiptLog.push(receipt);
      if (this.receiptLog.length > 500) this.receiptLog.shift();
      this.emit('receipt', receipt);
    });
    backend.on('qr', (shown) => this.emit('qr', shown));
  }

  static async start(options: SimulationOptions): Promise<Simulation> {
    const dir = resolve(options.dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const count = options.devices ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_DEVICES) throw new InputError('devices', `must be a whole number from 1 to ${MAX_DEVICES}`);
    const language = options.language ?? 'en';
    if (!isLanguage(language)) throw new InputError('language', `${JSON.stringify(language)} is not one of ${LANGUAGES.join(', ')}`);
    const size = panelSize(options.size ?? '480x320');
    const clock = options.clock ?? systemClock;
    const keys = notifierKeys(dir);
    const qrKey = qrSigningKey(dir);
    let broker: EmbeddedBroker | undefined;
    let brokerUrl: string;
    if (options.brokerUrl === undefined) {
      broker = await startBroker(options.port ?? 0);
      brokerUrl = broker.url;
    } else if (/^mqtt:\/\/[^\s/]+/.test(options.brokerUrl)) {
      brokerUrl = options.brokerUrl;
    } else if (/^mqtts:\/\//.test(options.brokerUrl)) {
      // Each device reaches the broker through its own relay (its network cable), which a TLS broker's certificate would not name.
      throw new InputError('broker', 'must be a plain mqtt:// broker; the simulator cannot relay TLS (mqtts://)');
    } else {
      throw new InputError('broker', `${JSON.stringify(options.brokerUrl)} is not a broker URL like mqtt://host:1883`);
    }
    const counters = new Map<string, SimulatedCounter>();
    const cables = new Map<string, SerialCable>();
    const ports: BillingSerialPort[] = [];
    let backend: PaymentsBackend | undefined;
    try {
      for (let n = 1; n <= count; n++) {
        const deviceId = `SIM${String(n).padStart(2, '0')}`;
        const deviceDir = join(dir, deviceId);
        mkdirSync(deviceDir, { recursive: true, mode: 0o700 });
        saveSecrets(deviceDir, { qrSigningKey: qrKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
        const settings = deviceSettings(deviceDir, deviceId, n, {
          ...options,
          language,
          size,
          brokerUrl,
          notifierKey: keys.publicKeyBase64,
        });
        const counter = await SimulatedCounter.start(deviceId, {
          dir: deviceDir,
          settings,
          brokerUrl,
          size,
          echo: options.log,
          ...(options.logLevel ? { logLevel: options.logLevel } : {}),
        });
        counters.set(deviceId, counter);
        if (options.billingPty) {
          const cable = await serialCable(deviceDir, options.log);
          if (cable) {
            cables.set(deviceId, cable);
            // The simulator opens the device's end of the pty, and joins it to the device's billing cable.
            const port = new BillingSerialPort({ path: cable.devicePath, baudRate: 115200, clock, log: options.log.child({ device: deviceId, feature: 'billing-pty' }) });
            port.start({ attach: (stream) => counter.wire.tee(stream) });
            ports.push(port);
          }
        }
      }
      backend = new PaymentsBackend({ url: brokerUrl, keys, clock, clientId: `simulated-backend-${process.pid}` });
      await backend.start();
    } catch (err) {
      await backend?.stop().catch(() => undefined);
      for (const counter of counters.values()) await counter.stop().catch(() => undefined);
      for (const port of ports) await port.stop().catch(() => undefined);
      for (const cable of cables.values()) await unplugSerialCable(cable);
      await broker?.stop();
      throw err;
    }
    const publicKey = createPublicKey(qrKey);
    const qrPublicKey: QrPublicKey = { pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), jwk: publicKey.export({ format: 'jwk' }), orgId: SIMULATED_ORG_ID };
    return new Simulation(broker, brokerUrl, backend, dir, counters, cables, ports, qrPublicKey, clock, options.log);
  }

  // --- the counters ---------------------------------------------------------

  get deviceIds(): string[] {
    return [...this.counters.keys()];
  }

  /** The first device's id: the only one in a one-device simulation. */
  get deviceId(): string {
    return this.deviceIds[0] as string;
  }

  /** A device by id; the first one when no id is given. */
  counter(deviceId?: string): SimulatedCounter {
    const id = deviceId ?? this.deviceId;
    const counter = this.counters.get(id);
    if (!counter) throw new InputError('device', `${JSON.stringify(id)} is not a simulated device (${this.deviceIds.join(', ')})`);
    return counter;
  }

  /** The broker the devices use; `embedded` when the simulation runs it (and can stop it). */
  get broker(): { url: string; embedded: boolean; down: boolean } {
    return { url: this.brokerUrl, embedded: this.embedded !== undefined, down: this.embedded?.isDown ?? false };
  }

  /** The first device's Device (the firmware object), as one-device callers use it. */
  get device(): SimulatedCounter['device'] {
    return this.counter().device;
  }

  /** The billing PC's end of the first device's serial port, when it has one (socat pty). */
  get billingPort(): string | undefined {
    return this.billingPortOf(this.deviceId);
  }

  /** The billing PC's end of a device's serial port, when it has one (socat pty). */
  billingPortOf(deviceId?: string): string | undefined {
    return this.cables.get(this.counter(deviceId).deviceId)?.pcPath;
  }

  /** Presses a button on a device (the first by default) for `holdMs`. */
  press(button: ButtonName, holdMs?: number, deviceId?: string): Promise<void> {
    return this.counter(deviceId).press(button, holdMs);
  }

  /** Receipts the backend got, oldest first; for one device when an id is given. */
  receipts(deviceId?: string): ReceiptEvent[] {
    const id = deviceId === undefined ? undefined : this.counter(deviceId).deviceId;
    return this.receiptLog.filter((r) => id === undefined || r.deviceId === id);
  }

  // --- the broker -----------------------------------------------------------

  /** Takes the embedded broker down for `seconds`, then back on the same port. Resolves once it is down. */
  async stopBroker(seconds: number): Promise<void> {
    const broker = this.embeddedBroker('stop the broker');
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new InputError('seconds', 'must be more than 0 and at most 3600');
    clearTimeout(this.brokerTimer);
    await broker.goDown();
    this.emit('broker', { up: false });
    this.brokerTimer = setTimeout(() => {
      this.startBroker().catch((err: unknown) => this.log.error({ err }, 'the embedded broker did not come back'));
    }, seconds * 1000);
  }

  /** Brings the embedded broker back now. */
  async startBroker(): Promise<void> {
    const broker = this.embeddedBroker('start the broker');
    clearTimeout(this.brokerTimer);
    this.brokerTimer = undefined;
    if (!broker.isDown) return;
    await broker.comeUp();
    this.emit('broker', { up: true });
  }

  // --- the bank -------------------------------------------------------------

  /** The customer pays the QR on a device's screen: its amount, or `amount` (rupees, "250.00") to test a mismatch. */
  async pay(deviceId?: string, options: { amount?: string; payer?: string } = {}): Promise<SentConfirmation> {
    const counter = this.counter(deviceId);
    const sale = this.onScreen(counter, 'pay');
    const amount = options.amount === undefined ? formatWireAmount(sale.amount) : formatWireAmount(parseAmountInput(options.amount));
    return this.confirm(counter.deviceId, sale.tr, { amount, status: 'SUCCESS', payer: options.payer ?? CUSTOMER_VPA }, 'pay');
  }

  /** The bank reports the payment of the QR on screen failed. */
  async fail(deviceId?: string): Promise<SentConfirmation> {
    const counter = this.counter(deviceId);
    const sale = this.onScreen(counter, 'fail');
    return this.confirm(counter.deviceId, sale.tr, { amount: formatWireAmount(sale.amount), status: 'FAILED', payer: CUSTOMER_VPA }, 'fail');
  }

  /** The customer pays a QR that has expired (the newest expired one): the device takes it as a late payment. */
  async payAfterExpiry(deviceId?: string, options: { amount?: string } = {}): Promise<SentConfirmation> {
    const counter = this.counter(deviceId);
    const expired = counter.recentSales(50).find((sale) => sale.state === 'expired');
    if (!expired) throw new InputError('pay after expiry', `no QR has expired on ${counter.deviceId}`);
    const amount = options.amount === undefined ? formatWireAmount(expired.amount) : formatWireAmount(parseAmountInput(options.amount));
    return this.confirm(counter.deviceId, expired.tr, { amount, status: 'SUCCESS', payer: CUSTOMER_VPA }, 'pay');
  }

  /** A confirmation for the QR on screen signed with a key that is not the notifier's: the device must refuse it. */
  async forgeConfirmation(deviceId?: string): Promise<SentConfirmation> {
    const counter = this.counter(deviceId);
    const sale = this.onScreen(counter, 'forge a confirmation');
    const forger = generateNotifierKeys();
    const message = signConfirmation(
      {
        deviceId: counter.deviceId,
        tr: sale.tr,
        utr: this.backend.nextUtr(),
        amount: formatWireAmount(sale.amount),
        status: 'SUCCESS',
        paidAt: formatIst(this.clock.now()),
        payer: CUSTOMER_VPA,
      },
      forger.privateKey,
    );
    const payload = JSON.stringify(message);
    await this.backend.publishPayment(counter.deviceId, payload);
    return this.sent({ deviceId: counter.deviceId, tr: sale.tr, utr: String(message.utr), payload, kind: 'forged' });
  }

  /** The device's last confirmation published again, byte for byte: the device must not count or say it twice. */
  async replayConfirmation(deviceId?: string): Promise<SentConfirmation> {
    const counter = this.counter(deviceId);
    const last = this.confirmations.findLast((c) => c.deviceId === counter.deviceId && (c.kind === 'pay' || c.kind === 'fail'));
    if (!last) throw new InputError('replay', `no confirmation has been sent to ${counter.deviceId} yet`);
    await this.backend.publishPayment(counter.deviceId, last.payload);
    return this.sent({ ...last, kind: 'replay' });
  }

  /** The backend asks a device to show a QR (an MQTT collect). */
  async collect(deviceId: string | undefined, amount: string): Promise<void> {
    const counter = this.counter(deviceId);
    await this.backend.collect(counter.deviceId, { v: 1, id: `sim-${Date.now()}`, amount: formatWireAmount(parseAmountInput(amount)) });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.brokerTimer);
    if (this.embedded?.isDown) await this.embedded.comeUp().catch(() => undefined);
    await this.backend.stop();
    for (const port of this.ports) await port.stop().catch(() => undefined);
    for (const counter of this.counters.values()) await counter.stop();
    await this.embedded?.stop();
    for (const cable of this.cables.values()) await unplugSerialCable(cable);
  }

  // --- helpers --------------------------------------------------------------

  private onScreen(counter: SimulatedCounter, what: string): { tr: string; amount: Paise } {
    const sale = counter.status().sale;
    if (!sale) throw new InputError(what, `no QR is on ${counter.deviceId}'s screen`);
    return sale;
  }

  private async confirm(
    deviceId: string,
    tr: string,
    fields: { amount: string; status: 'SUCCESS' | 'FAILED'; payer: string },
    kind: SentConfirmation['kind'],
  ): Promise<SentConfirmation> {
    const utr = this.backend.nextUtr();
    const message = this.backend.confirmation(deviceId, tr, { ...fields, utr });
    const confirmation = this.sent({ deviceId, tr, utr, payload: JSON.stringify(message), kind });
    const published = this.backend.pay(deviceId, tr, { ...fields, utr, paidAt: String(message.paidAt) });
    if (this.embedded?.isDown) {
      // The backend's client holds the publish until the broker is back; the caller need not wait for that.
      published.catch((err: unknown) => this.log.warn({ err: describeError(err), utr }, 'confirmation not published'));
    } else {
      await published;
    }
    return confirmation;
  }

  private sent(confirmation: SentConfirmation): SentConfirmation {
    this.confirmations.push(confirmation);
    if (this.confirmations.length > 500) this.confirmations.shift();
    this.emit('confirmation', confirmation);
    return confirmation;
  }

  private embeddedBroker(what: string): EmbeddedBroker {
    if (!this.embedded) throw new InputError('broker', `the devices use an outside broker (${this.brokerUrl}); the simulator cannot ${what}`);
    return this.embedded;
  }
}

/**
 * A simulated device's settings: those it kept from its last run (volume,
 * settings the backend changed) when its folder has a device.json, with what
 * the simulation decides laid over them; otherwise the simulator's defaults.
 */
function deviceSettings(
  deviceDir: string,
  deviceId: string,
  n: number,
  options: Pick<SimulationOptions, 'expirySeconds' | 'resultSeconds'> & { language: Language; size: PanelSize; brokerUrl: string; notifierKey: string },
): DeviceSettingsInput {
  const path = join(deviceDir, 'device.json');
  const saved: DeviceSettingsInput | undefined = existsSync(path) ? parseSettings(JSON.parse(readFileSync(path, 'utf8')) as unknown, path) : undefined;
  // The billing cable is the simulator's, never a serial port named in the file.
  const { serial: _serial, ...kept }: Partial<DeviceSettingsInput> = saved ?? {};
  const sale = kept.sale ?? { limit: '100000.00', expirySeconds: 300, resultSeconds: 8, chimeOnQr: true };
  return {
    ...kept,
    deviceId,
    language: options.language,
    payee: { vpa: `simcounter${String(n).padStart(2, '0')}@postbank`, name: 'Simulated Post Office', mcc: '9402', orgId: SIMULATED_ORG_ID },
    sale: {
      ...sale,
      ...(options.expirySeconds !== undefined ? { expirySeconds: options.expirySeconds } : {}),
      ...(options.resultSeconds !== undefined ? { resultSeconds: options.resultSeconds } : {}),
    },
    // The broker may be on another port than last time, and the simulator's key is the one it signs with.
    mqtt: { url: options.brokerUrl, protocolVersion: 4 },
    notifierKeys: [options.notifierKey],
    display: { kind: 'png', dir: 'frames', width: options.size.width, height: options.size.height },
    speaker: { kind: 'wav', dir: 'sounds', realtime: true },
    controls: { kind: 'virtual' },
  };
}

/** The billing PC's cable; without socat the simulator runs without one. */
async function serialCable(dir: string, log: Logger): Promise<SerialCable | undefined> {
  try {
    return await plugSerialCable(dir, { device: 'billing-device', pc: 'billing-pc' });
  } catch (err) {
    log.warn({ err }, 'socat is not installed or failed; the simulator runs without a billing PC serial port');
    return undefined;
  }
}

async function startBroker(port: number): Promise<EmbeddedBroker> {
  try {
    return await EmbeddedBroker.start(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    // Another broker (a system mosquitto) holds the port: take any free one.
    return EmbeddedBroker.start(0);
  }
}

/** The simulated notifier's key pair, kept in the simulation folder so restarts verify old confirmations. */
function notifierKeys(dir: string): NotifierKeys {
  const path = join(dir, 'notifier-key.pem');
  if (!existsSync(path)) {
    const fresh = generateNotifierKeys();
    writeFileAtomic(path, fresh.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
    return fresh;
  }
  const privateKey: KeyObject = createPrivateKey(readFileSync(path, 'utf8'));
  const jwk = privateKey.export({ format: 'jwk' });
  return { privateKey, publicKeyBase64: Buffer.from(jwk.x ?? '', 'base64url').toString('base64') };
}

/** The simulated payee's ECDSA P-256 QR signing key, kept in the simulation folder. */
function qrSigningKey(dir: string): KeyObject {
  const path = join(dir, 'qr-signing-key.pem');
  if (existsSync(path)) return createPrivateKey(readFileSync(path, 'utf8'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileAtomic(path, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  return privateKey;
}
