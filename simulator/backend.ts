import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from '../core/backoff.js';
import { formatIst, systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import { readDeviceTopic, type DeviceTopics } from '../core/link/topics.js';
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

/** A confirmation published and not yet answered by a receipt, as a store keeps it. */
export interface PendingConfirmation {
  deviceId: string;
  utr: string;
  /** The exact bytes published, so that every republish is the same message. */
  payload: string;
  /** Times published so far, the first included. */
  published: number;
  /** When, by the backend's clock, it is to be published again. */
  dueAt: number;
}

/**
 * Where the confirmations still waiting for a receipt are kept. One instance
 * keeps them in memory; several notifier instances share one store, so that
 * whichever receives the receipt ends the republishing, and a surviving
 * instance takes over what a dead one was republishing.
 */
export interface PendingStore {
  /** Keeps `entry` and returns it, unless a confirmation with its device and utr is pending: then returns that one. */
  add(entry: PendingConfirmation): PendingConfirmation;
  has(deviceId: string, utr: string): boolean;
  /** Ends the wait for a receipt; false if it was not pending. */
  remove(deviceId: string, utr: string): boolean;
  /** Records a republish and when the next is due. */
  republished(deviceId: string, utr: string, published: number, dueAt: number): void;
  /**
   * Claims the confirmations whose republish is overdue by more than
   * `graceMs` at `now`, whose instance has therefore stopped, by moving
   * their due time to `now`; a claim is atomic, so only one instance takes
   * each.
   */
  claimOverdue(now: number, graceMs: number): PendingConfirmation[];
  count(): number;
  clear(): void;
}

/** The store of a backend that runs as one instance. */
export class MemoryPendingStore implements PendingStore {
  private readonly entries = new Map<string, PendingConfirmation>();

  add(entry: PendingConfirmation): PendingConfirmation {
    const pending = this.entries.get(key(entry.deviceId, entry.utr));
    if (pending) return pending;
    this.entries.set(key(entry.deviceId, entry.utr), { ...entry });
    return entry;
  }

  has(deviceId: string, utr: string): boolean {
    return this.entries.has(key(deviceId, utr));
  }

  remove(deviceId: string, utr: string): boolean {
    return this.entries.delete(key(deviceId, utr));
  }

  republished(deviceId: string, utr: string, published: number, dueAt: number): void {
    const entry = this.entries.get(key(deviceId, utr));
    if (entry) Object.assign(entry, { published, dueAt });
  }

  claimOverdue(now: number, graceMs: number): PendingConfirmation[] {
    const overdue = [...this.entries.values()].filter((e) => e.dueAt < now - graceMs);
    for (const entry of overdue) entry.dueAt = now;
    return overdue.map((e) => ({ ...e }));
  }

  count(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * How an instance sharing its store with others takes over their work: every
 * `everyMs` it claims the confirmations overdue by more than `graceMs` (an
 * instance that is alive republishes on time) and republishes them itself.
 */
export interface AdoptionPolicy {
  everyMs: number;
  graceMs: number;
}

/** A pending confirmation this instance republishes. */
interface Republishing {
  deviceId: string;
  utr: string;
  payload: string;
  backoff: Backoff;
  timer?: TimerHandle | undefined;
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
  /**
   * On the central broker of a fleet (docs/fleet.md), each device's circle:
   * its topics are then `circles/{circle}/{prefix}/{deviceId}/…`, and the
   * backend reads every circle's. Without it, `{prefix}/{deviceId}/…`.
   */
  circleOf?: (deviceId: string) => string;
  /** Subscribe as a member of this shared-subscription group (`$share/{group}/…`), one of several instances. */
  share?: string;
  protocolVersion?: 4 | 5;
  keys: NotifierKeys;
  clock?: Clock;
  clientId?: string;
  username?: string;
  password?: string;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** When to publish an unanswered confirmation again (default DEFAULT_REPUBLISH); `false` publishes once. */
  republish?: RepublishPolicy | false;
  /** The confirmations waiting for a receipt, shared with other instances; by default this instance's own, in memory. */
  store?: PendingStore;
  /** With a shared store: how this instance takes over the republishing of an instance that stopped. */
  adopt?: AdoptionPolicy;
}

/**
 * A stand-in for the payments backend: it sees every QR the devices show,
 * plays the bank by publishing signed confirmations, and reads receipts.
 * It signs with a notifier key exactly as the real notifier must, so a
 * device cannot tell it from the real thing — which is the point.
 *
 * Like the real notifier (docs/contracts.md, "Exactly-once announcement"), it
 * publishes each confirmation again, the same bytes, until a receipt with its
 * `utr` comes back with any outcome. Several instances can share the work:
 * shared subscriptions, and one store of the confirmations still waiting.
 */
export class PaymentsBackend extends EventEmitter<BackendEvents> {
  private client?: MqttClient;
  private utrSeq = 0;
  private readonly store: PendingStore;
  /** Pending confirmations this instance republishes, by device and utr. */
  private readonly republishing = new Map<string, Republishing>();
  private adoption?: TimerHandle | undefined;
  private stopped = false;
  readonly shown = new Map<string, ShownQr>();
  /** Confirmations published again for want of a receipt, since start. */
  republished = 0;

  constructor(private readonly options: PaymentsBackendOptions) {
    super();
    this.store = options.store ?? new MemoryPendingStore();
  }

  private get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  private get prefix(): string {
    return this.options.prefix ?? 'dakbox/v1';
  }

  /** The topic root of one device's topics. */
  private root(deviceId: string): string {
    const circleOf = this.options.circleOf;
    return circleOf ? `circles/${circleOf(deviceId)}/${this.prefix}/${deviceId}` : `${this.prefix}/${deviceId}`;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const client = await mqtt.connectAsync(this.options.url, {
      clientId: this.options.clientId ?? `backend-${process.pid}-${Date.now()}`,
      protocolVersion: this.options.protocolVersion ?? 4,
      // A clean session: an instance that is gone must not stay a member of
      // the shared subscription, or its share of the receipts would queue
      // for it. What it owed is in the shared store.
      clean: true,
      reconnectPeriod: 1000,
      ...(this.options.username ? { username: this.options.username } : {}),
      ...(this.options.password ? { password: this.options.password } : {}),
      ...(this.options.tls ? { ...this.options.tls, rejectUnauthorized: true } : {}),
    });
    this.client = client;
    sendWithoutDelay(client);
    client.on('message', (topic, payload) => this.route(topic, payload));
    const devices = this.options.circleOf ? `circles/+/${this.prefix}/+` : `${this.prefix}/+`;
    const share = this.options.share ? `$share/${this.options.share}/` : '';
    await client.subscribeAsync([`${share}${devices}/qr`, `${share}${devices}/receipt`, `${share}${devices}/status`], { qos: 1 });
    const adopt = this.options.adopt;
    if (adopt && (this.options.republish ?? DEFAULT_REPUBLISH) !== false) this.adoptEvery(adopt);
  }

  private route(topic: string, payload: Buffer): void {
    // circles/{circle}/ comes first on a fleet's central broker.
    const levels = this.options.circleOf ? topic.split('/').slice(2).join('/') : topic;
    const device = readDeviceTopic(this.prefix, levels);
    if (!device) return;
    const { deviceId, name: kind } = device;
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
    await this.requireClient().publishAsync(`${this.root(deviceId)}/collect`, JSON.stringify(request), { qos: 1 });
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
    await this.requireClient().publishAsync(`${this.root(deviceId)}/payment`, payload, { qos: 1 });
  }

  /**
   * Pays a QR: publishes a signed confirmation, and publishes it again while
   * no receipt for its `utr` has come back (see RepublishPolicy). Resolves
   * when the broker has acknowledged the first publish.
   */
  async pay(deviceId: string, tr: string, fields: { amount: string; status?: 'SUCCESS' | 'FAILED'; utr?: string; payer?: string; paidAt?: string }): Promise<Record<string, unknown>> {
    const message = this.confirmation(deviceId, tr, fields);
    let payload = JSON.stringify(message);
    const utr = String(message.utr);
    const policy = this.options.republish ?? DEFAULT_REPUBLISH;
    // Tracked before the first publish: the receipt can come back before
    // the broker's acknowledgement does.
    if (policy !== false && !this.stopped && !this.republishing.has(key(deviceId, utr))) {
      const backoff = new Backoff(policy.firstMs, policy.maxMs, policy.random);
      const waitMs = backoff.next();
      const candidate = { deviceId, utr, payload, published: 1, dueAt: this.clock.now() + waitMs };
      const pending = this.store.add(candidate);
      // Asked again to pay a utr another instance already published (the
      // bank retrying its callback): the same bytes again, and the instance
      // that published them, or whichever adopts them, republishes.
      if (pending !== candidate) {
        payload = pending.payload;
        await this.publishPayment(deviceId, payload);
        return JSON.parse(payload) as Record<string, unknown>;
      }
      this.follow({ deviceId, utr, payload, backoff, published: 1 }, waitMs);
    }
    await this.publishPayment(deviceId, payload);
    return message;
  }

  /** Confirmations published and not yet answered by a receipt (by every instance sharing the store). */
  get awaitingReceipt(): number {
    return this.store.count();
  }

  /** Republishes `entry` after `waitMs`, and again on its backoff, while the store says it is pending. */
  private follow(entry: Republishing, waitMs: number): void {
    this.republishing.set(key(entry.deviceId, entry.utr), entry);
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      if (this.republishing.get(key(entry.deviceId, entry.utr)) !== entry) return;
      // Another instance may have had the receipt.
      if (!this.store.has(entry.deviceId, entry.utr)) {
        this.republishing.delete(key(entry.deviceId, entry.utr));
        return;
      }
      entry.published++;
      this.republished++;
      const next = entry.backoff.next();
      this.store.republished(entry.deviceId, entry.utr, entry.published, this.clock.now() + next);
      this.emit('republish', { deviceId: entry.deviceId, utr: entry.utr, attempt: entry.published });
      // Not awaited: with the broker away the client holds the publish until
      // it is back, and the next wait runs meanwhile.
      this.publishPayment(entry.deviceId, entry.payload).catch(() => undefined);
      this.follow(entry, next);
    }, waitMs);
  }

  /** Takes over, on a timer, the confirmations an instance that stopped was republishing. */
  private adoptEvery(adopt: AdoptionPolicy): void {
    const policy = this.options.republish ?? DEFAULT_REPUBLISH;
    if (policy === false) return;
    this.adoption = this.clock.setTimeout(() => {
      if (this.stopped) return;
      for (const claimed of this.store.claimOverdue(this.clock.now(), adopt.graceMs)) {
        if (this.republishing.has(key(claimed.deviceId, claimed.utr))) continue;
        this.follow({ ...claimed, backoff: new Backoff(policy.firstMs, policy.maxMs, policy.random) }, 0);
      }
      this.adoptEvery(adopt);
    }, adopt.everyMs);
  }

  private answered(deviceId: string, utr: string): void {
    this.store.remove(deviceId, utr);
    const entry = this.republishing.get(key(deviceId, utr));
    if (!entry) return;
    this.clock.clearTimeout(entry.timer);
    this.republishing.delete(key(deviceId, utr));
  }

  private requireClient(): MqttClient {
    if (!this.client) throw new Error('the payments backend is not started');
    return this.client;
  }

  /** Stops this instance; a shared store keeps what it was republishing for the others to adopt. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.adoption);
    for (const entry of this.republishing.values()) this.clock.clearTimeout(entry.timer);
    this.republishing.clear();
    if (!this.options.store) this.store.clear();
    await this.client?.endAsync();
  }
}

function key(deviceId: string, utr: string): string {
  return `${deviceId}/${utr}`;
}
