/**
 * One whole device in-process for hostile-input runs: the real Device (real
 * Counter, real Ledger on a SQLite file, real Announcer, real billing link)
 * with a recording speaker and a manual clock. Inputs go in through the very
 * handlers the MQTT link calls, or over a real broker, or over an in-memory
 * serial cable; what each input caused is collected for the test to check.
 */
import Database from 'better-sqlite3';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Duplex, PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { ManualClock } from '../../core/clock.js';
import { loadConfig, type DeviceSettingsInput } from '../../core/config.js';
import type { InboundHandler } from '../../core/link/mqtt-link.js';
import type { InboundTopic } from '../../core/link/topics.js';
import { silentLogger } from '../../core/log.js';
import type { RejectionRecord } from '../../core/payment/ledger.js';
import type { BillingLine, BillingLineTarget } from '../../core/ports/billing-line.js';
import type { CounterEvent } from '../../core/sale/counter-port.js';
import { Device } from '../../device/device.js';
import type { NotifierKeys } from '../../simulator/backend.js';
import { cable } from '../billing/wire-tap.js';
import { deviceFixture, type DeviceFixture } from './fixtures.js';
import { RecordingSpeaker, type Heard } from './stand-ins.js';

/** The DER header of a PKCS#8 Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 key pair made from a run's seed, so a replayed run signs byte for byte the same. */
export function seededNotifierKeys(seed: number, label: string): NotifierKeys {
  const secret = createHash('sha256').update(`${label}:${seed}`).digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_HEADER, secret]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicKeyBase64: Buffer.from(jwk.x ?? '', 'base64url').toString('base64') };
}

/** The seed of a run: from `DAKBOX_FUZZ_SEED` to replay one, otherwise fresh. */
export function runSeed(): number {
  const given = process.env.DAKBOX_FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`DAKBOX_FUZZ_SEED must be a whole number, got ${given}`);
    return seed;
  }
  return (Date.now() ^ (process.pid << 16)) | 0;
}

/** How many inputs a run sends: `DAKBOX_FUZZ_RUNS`, else `full`. */
export function runCount(full: number): number {
  const given = process.env.DAKBOX_FUZZ_RUNS;
  if (given === undefined || given === '') return full;
  const runs = Number(given);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`DAKBOX_FUZZ_RUNS must be a whole number of at least 1, got ${given}`);
  return runs;
}

/** A folder in memory when the machine has one: the runs test input handling, not the disk's fsync. */
function scratchParent(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/** A serial cable that is always plugged in: the billing link attaches its device end at start. */
class MemoryBillingLine implements BillingLine {
  private session: { detach(): void } | undefined;
  constructor(private readonly end: Duplex) {}
  start(target: BillingLineTarget): void {
    this.session = target.attach(this.end);
  }
  stop(): Promise<void> {
    this.session?.detach();
    return Promise.resolve();
  }
}

/** What one input caused on the device. */
export interface Effects {
  posted: { topic: string; payload: Record<string, unknown> }[];
  rejections: RejectionRecord[];
  events: CounterEvent[];
  heard: Heard[];
}

export interface FuzzDeviceOptions {
  seed: number;
  settings?: Partial<DeviceSettingsInput>;
  /** Attach a billing PC over an in-memory cable. */
  billing?: boolean;
  /**
   * No broker: the link stays in-process, reports itself online and every
   * publish is acknowledged at once, as a healthy broker would, so the
   * outbox drains as it does in the field. Without it the device connects
   * to `settings.mqtt.url`.
   */
  brokerless?: boolean;
}

/** Something a handler threw: a crash the link would have had to catch. */
export class HandlerCrash extends Error {
  override readonly name = 'HandlerCrash';
}

export class FuzzDevice {
  readonly speaker = new RecordingSpeaker();
  readonly clock = new ManualClock();
  readonly keys: NotifierKeys;
  readonly fixture: DeviceFixture;
  readonly device: Device;
  /** The billing PC's end of the cable, with `billing`. */
  readonly pc?: { write(bytes: Buffer | string): void; output: PassThrough };
  private readonly handlers = new Map<InboundTopic, InboundHandler>();
  private readonly db: Database.Database;
  private effects: Effects = { posted: [], rejections: [], events: [], heard: [] };
  private heardSeen = 0;
  /** Called with each payload the device's handlers receive, after the handler has run. */
  private arrivals: ((topic: InboundTopic, payload: Buffer, crash?: unknown) => void) | undefined;

  constructor(options: FuzzDeviceOptions) {
    this.keys = seededNotifierKeys(options.seed, 'notifier');
    // Every rejection is kept for the whole run, so the ledger can be checked against what was sent.
    this.fixture = deviceFixture(
      { announce: { prompts: false }, retention: { rejectionDays: 3650, maxRejections: 1_000_000, sentDays: 3650, maxSent: 1_000_000 }, ...options.settings },
      this.keys,
      scratchParent(),
    );
    const config = loadConfig(this.fixture.configPath);
    let line: BillingLine | undefined;
    if (options.billing) {
      const { device, pc } = cable();
      line = new MemoryBillingLine(device);
      this.pc = pc;
    }
    // The manual clock starts in January, before this build; whether to trust it is not what is fuzzed.
    this.device = new Device({ config, parts: { speaker: this.speaker, billingLine: line }, log: silentLogger(), clock: this.clock, clockTrust: { check: () => Promise.resolve({ trusted: true }) } });
    // The handlers Device.start registers on its link are the ones kept here.
    const register = this.device.link.handle.bind(this.device.link);
    this.device.link.handle = (topic, handler) => {
      const observed: InboundHandler = (payload) => {
        let crash: unknown;
        try {
          const result = handler(payload);
          if (result instanceof Promise) throw new HandlerCrash(`the ${topic} handler returned a promise; this harness expects it to finish before it returns`);
        } catch (err) {
          crash = err;
          throw err;
        } finally {
          this.arrivals?.(topic, payload, crash);
        }
      };
      this.handlers.set(topic, handler);
      return register(topic, observed);
    };
    if (options.brokerless) {
      const link = this.device.link;
      Object.defineProperty(link, 'state', { get: () => 'online' });
      link.start = () => undefined;
      link.publish = () => Promise.resolve();
    }
    // Every message owed to the backend is queued through the outbox, sent at once (post) or after its transaction commits (queue).
    const queue = this.device.outbox.queue.bind(this.device.outbox);
    this.device.outbox.queue = (topic, payload) => {
      this.effects.posted.push({ topic, payload: payload as Record<string, unknown> });
      queue(topic, payload);
    };
    const record = this.device.ledger.recordRejection.bind(this.device.ledger);
    this.device.ledger.recordRejection = (rejection, receipt) => {
      this.effects.rejections.push(rejection);
      if (receipt) this.effects.posted.push({ topic: receipt.topic, payload: JSON.parse(receipt.payload) as Record<string, unknown> });
      record(rejection, receipt);
    };
    this.device.counter.subscribe((event) => this.effects.events.push(event));
    this.device.start();
    this.db = new Database(config.ledgerPath, { readonly: true, fileMustExist: true });
  }

  handler(topic: InboundTopic): InboundHandler {
    const handler = this.handlers.get(topic);
    if (!handler) throw new Error(`the device registered no ${topic} handler`);
    return handler;
  }

  /** Hands a payload to the device's own handler for `topic`, as the MQTT link does, and lets what it started finish. */
  async deliver(topic: InboundTopic, payload: Buffer): Promise<void> {
    const result = this.handler(topic)(payload);
    if (result instanceof Promise) throw new HandlerCrash(`the ${topic} handler returned a promise`);
    await this.settled();
  }

  /**
   * Lets what an input started run to its end: the counter's promise chains
   * (speaking, then marking announced and queuing the receipt) and stream
   * callbacks all finish before the event loop's next turn.
   */
  async settled(): Promise<void> {
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Runs `send` (a publish to the broker) and resolves once the device's handler has run on that payload. */
  async arrival(send: () => Promise<void>, timeoutMs = 10_000): Promise<{ topic: InboundTopic; payload: Buffer }> {
    const arrived = new Promise<{ topic: InboundTopic; payload: Buffer }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing reached the device within ${timeoutMs} ms`)), timeoutMs);
      this.arrivals = (topic, payload, crash) => {
        clearTimeout(timer);
        this.arrivals = undefined;
        if (crash !== undefined) reject(crash instanceof Error ? crash : new HandlerCrash(inspect(crash)));
        else resolve({ topic, payload });
      };
    });
    await send();
    const got = await arrived;
    await this.settled();
    return got;
  }

  /** What happened since the last call. */
  take(): Effects {
    const taken = this.effects;
    taken.heard = this.speaker.heard.slice(this.heardSeen);
    this.heardSeen = this.speaker.heard.length;
    this.effects = { posted: [], rejections: [], events: [], heard: [] };
    return taken;
  }

  /** One number from the ledger, read as a field engineer's tool reads it. */
  count(sql: string, ...params: unknown[]): number {
    return (this.db.prepare(sql).get(...params) as { n: number }).n;
  }

  /** The latest receipt for a utr among the last messages written to the outbox. */
  lastReceipt(utr: string, within = 20): Record<string, unknown> | undefined {
    const rows = this.db.prepare(`SELECT topic, payload FROM outbox ORDER BY id DESC LIMIT ?`).all(within) as { topic: string; payload: string }[];
    for (const row of rows) {
      if (row.topic !== 'receipt') continue;
      const receipt = JSON.parse(row.payload) as Record<string, unknown>;
      if (receipt.utr === utr) return receipt;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    this.db.close();
    await this.device.stop();
    this.fixture.cleanup();
  }
}

