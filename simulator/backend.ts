import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from '../core/backoff.js';
import { formatIst, systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import type { DeviceTopics } from '../core/link/topics.js';
import { sendWithoutDelay } from '../core/link/no-delay.js';

export interface NotifierKeys {
  privateKey: KeyObject;
  /** Base64 of the raw 32-byte public key: the form a device's notifierKeys takes. */
  publicKeyBase64: string;
}

export function generateNotifierKeys(): NotifierKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKeyBase64: Buffer.from(jwk.x ?? '', 'base64url').toString('base64') };
}

export interface ShownQr {
  deviceId: string;
  message: DeviceTopics['qr'];
}

/**
 * How long to wait for a receipt before publishing a confirmation again: the
 * wait starts at `firstMs` and doubles up to `maxMs`, each wait shortened by
 * up to 20 % at random, and there is no last attempt. A broker that crashes
 * loses the last seconds of what it had queued, and a session can expire while
 * a device is away; only a receipt proves the device holds the payment.
 */
export interface RepublishPolicy {
  firstMs: number;
  maxMs: number;
  /** Source of the jitter; a test passes `() => 0` for exact waits. */
  random?: () => number;
}

export const DEFAULT_REPUBLISH: RepublishPolicy = { firstMs: 5_000, maxMs: 60_000 };

/** A confirmation published and not yet answered by a receipt. */
interface Outstanding {
  deviceId: string;
  utr: string;
  payload: string;
  backoff: Backoff;
  timer?: TimerHandle | undefined;
  /** Times published so far, the first included. */
  published: number;
}

interface BackendEvents {
  qr: [ShownQr];
  receipt: [{ deviceId: string; message: DeviceTopics['receipt'] }];
  status: [{ deviceId: string; message: DeviceTopics['status'] }];
  /** The same confirmation published again, no receipt having come for it. */
  republish: [{ deviceId: string; utr: string; attempt: number }];
}

export interface PaymentsBackendOptions {
  url: string;
  prefix?: string;
  keys: NotifierKeys;
  clock?: Clock;
  clientId?: string;
  username?: string;
  password?: string;
  /** When to publish an unanswered confirmation again (default DEFAULT_REPUBLISH); `false` publishes once. */
  republish?: RepublishPolicy | false;
}

/**
 * A stand-in for the payments backend: it sees every QR the devices show,
 * plays the bank by publishing signed confirmations, and reads receipts.
 * It signs with a notifier key exactly as the real notifier must, so a
 * device cannot tell it from the real thing — which is the point.
 *
 * Like the real notifier (docs/contracts.md, "Exactly-once announcement"), it
 * publishes each confirmation again, the same bytes, until a receipt with its
 * `utr` comes back with any outcome.
 */
export class PaymentsBackend extends EventEmitter<BackendEvents> {
  private client?: MqttClient;
  private utrSeq = 0;
  private readonly outstanding = new Map<string, Outstanding>();
  private stopped = false;
  readonly shown = new Map<string, ShownQr>();
  /** Confirmations published again for want of a receipt, since start. */
  republished = 0;

  constructor(private readonly options: PaymentsBackendOptions) {
    super();
  }

  private get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  private get prefix(): string {
    return this.options.prefix ?? 'dakbox/v1';
  }

  async start(): Promise<void> {
    this.stopped = false;
    const client = await mqtt.connectAsync(this.options.url, {
      clientId: this.options.clientId ?? `backend-${process.pid}-${Date.now()}`,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      ...(this.options.username ? { username: this.options.username } : {}),
      ...(this.options.password ? { password: this.options.password } : {}),
    });
    this.client = client;
    sendWithoutDelay(client);
    client.on('message', (topic, payload) => this.route(topic, payload));
    await client.subscribeAsync([`${this.prefix}/+/qr`, `${this.prefix}/+/receipt`, `${this.prefix}/+/status`], { qos: 1 });
  }

  private route(topic: string, payload: Buffer): void {
    const rest = topic.slice(this.prefix.length + 1);
    const slash = rest.indexOf('/');
    const deviceId = rest.slice(0, slash);
    const kind = rest.slice(slash + 1);
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (kind === 'qr') {
      const shown = { deviceId, message: body as DeviceTopics['qr'] };
      this.shown.set(shown.message.tr, shown);
      this.emit('qr', shown);
    } else if (kind === 'receipt') {
      const message = body as DeviceTopics['receipt'];
      // Any outcome ends the republishing: announced and duplicate mean the
      // device holds the payment; a rejection cannot change for the same bytes.
      if (typeof message.utr === 'string') this.answered(deviceId, message.utr);
      this.emit('receipt', { deviceId, message });
    } else if (kind === 'status') {
      this.emit('status', { deviceId, message: body as DeviceTopics['status'] });
    }
  }

  /** Asks a device to show a QR, as a backend-initiated collect. */
  async collect(deviceId: string, request: DeviceTopics['collect']): Promise<void> {
    await this.requireClient().publishAsync(`${this.prefix}/${deviceId}/collect`, JSON.stringify(request), { qos: 1 });
  }

  nextUtr(): string {
    this.utrSeq++;
    const clock = this.clock;
    return `SIM${Math.floor(clock.now() / 1000) % 1_000_000_000}${String(this.utrSeq).padStart(4, '0')}`;
  }

  /** Builds a signed confirmation for a QR (by default, paying exactly what it asks). */
  confirmation(
    deviceId: string,
    tr: string,
    fields: { amount: string; status?: 'SUCCESS' | 'FAILED'; utr?: string; payer?: string; paidAt?: string },
  ): Record<string, unknown> {
    const clock = this.clock;
    return signConfirmation(
      {
        deviceId,
        tr,
        utr: fields.utr ?? this.nextUtr(),
        amount: fields.amount,
        status: fields.status ?? 'SUCCESS',
        paidAt: fields.paidAt ?? formatIst(clock.now()),
        ...(fields.payer !== undefined ? { payer: fields.payer } : {}),
      },
      this.options.keys.privateKey,
    );
  }

  /** Publishes raw bytes on a device's payment topic (tests use it for hostile input). */
  async publishPayment(deviceId: string, payload: string | Buffer): Promise<void> {
    await this.requireClient().publishAsync(`${this.prefix}/${deviceId}/payment`, payload, { qos: 1 });
  }

  /**
   * Pays a QR: publishes a signed confirmation, and publishes it again while
   * no receipt for its `utr` has come back (see RepublishPolicy). Resolves
   * when the broker has acknowledged the first publish.
   */
  async pay(deviceId: string, tr: string, fields: { amount: string; status?: 'SUCCESS' | 'FAILED'; utr?: string; payer?: string; paidAt?: string }): Promise<Record<string, unknown>> {
    const message = this.confirmation(deviceId, tr, fields);
    const payload = JSON.stringify(message);
    const utr = String(message.utr);
    const policy = this.options.republish ?? DEFAULT_REPUBLISH;
    // Tracked before the first publish: the receipt can come back before
    // the broker's acknowledgement does.
    if (policy !== false && !this.stopped && !this.outstanding.has(key(deviceId, utr))) {
      const entry: Outstanding = { deviceId, utr, payload, backoff: new Backoff(policy.firstMs, policy.maxMs, policy.random), published: 1 };
      this.outstanding.set(key(deviceId, utr), entry);
      this.schedule(entry);
    }
    await this.publishPayment(deviceId, payload);
    return message;
  }

  /** Confirmations published and not yet answered by a receipt. */
  get awaitingReceipt(): number {
    return this.outstanding.size;
  }

  private schedule(entry: Outstanding): void {
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      if (this.outstanding.get(key(entry.deviceId, entry.utr)) !== entry) return;
      entry.published++;
      this.republished++;
      this.emit('republish', { deviceId: entry.deviceId, utr: entry.utr, attempt: entry.published });
      // Not awaited: with the broker away the client holds the publish until
      // it is back, and the next wait runs meanwhile.
      this.publishPayment(entry.deviceId, entry.payload).catch(() => undefined);
      this.schedule(entry);
    }, entry.backoff.next());
  }

  private answered(deviceId: string, utr: string): void {
    const entry = this.outstanding.get(key(deviceId, utr));
    if (!entry) return;
    this.clock.clearTimeout(entry.timer);
    this.outstanding.delete(key(deviceId, utr));
  }

  private requireClient(): MqttClient {
    if (!this.client) throw new Error('the payments backend is not started');
    return this.client;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.outstanding.values()) this.clock.clearTimeout(entry.timer);
    this.outstanding.clear();
    await this.client?.endAsync();
  }
}

function key(deviceId: string, utr: string): string {
  return `${deviceId}/${utr}`;
}
