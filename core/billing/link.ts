import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../clock.js';
import type { CounterPort } from '../sale/counter-port.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LoggedEvent } from '../payment/ledger.js';
import { RequestDispatcher } from './dispatcher.js';
import { DEFAULT_MAX_LINE_BYTES, FrameReader, checkMaxLineBytes, type Frame } from './frame-reader.js';
import { PROTOCOL_VERSION, encodeLine, toWireEvent, type BillingRequest, type ErrorCode, type ErrorReply, type Reply, type WireEvents } from './protocol.js';
import type { BillingRecords } from './records.js';
import { parseRequestLine } from './requests.js';

export interface BillingLinkOptions {
  counter: CounterPort;
  /** The numbered billing events and the sale records: the ledger. */
  records: BillingRecords;
  clock: Clock;
  log: Logger;
  /** Names this run of the device in `hello`; a new random one unless given. */
  bootId?: string;
  /** Longest request line, in bytes. */
  maxLineBytes?: number;
  /** Requests that may wait behind the one being carried out before new ones are refused with BUSY. */
  maxWaitingRequests?: number;
  /**
   * Missed events sent unasked to a newly attached stream: the newest this
   * many. The billing PC asks for older ones (`events`); they stay in the ledger.
   */
  backlogLimit?: number;
  /** How long a request may take inside the counter before the billing PC is told TIMEOUT. */
  requestTimeoutMs?: number;
}

export const DEFAULT_MAX_WAITING_REQUESTS = 8;
export const DEFAULT_BACKLOG_LIMIT = 100;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/**
 * Bytes waiting to go to the billing PC at which the link stops reading new
 * requests, until the stream has drained. Refusals of unreadable lines are
 * not sent at all while the stream is backed up, and events wait in the
 * ledger, so past the stream's own high-water mark (64 KiB on a serial port)
 * only replies to real requests add to this, one request's worth at a time.
 */
export const MAX_QUEUED_BYTES = 256 * 1024;
/** Events read from the ledger at a time while catching a stream up. */
const SEND_BATCH = 50;

/** The stream the link is talking over, until it closes or another takes its place. */
export interface BillingSession {
  readonly stream: Duplex;
  readonly attached: boolean;
  detach(): void;
}

/**
 * The billing PC link: reads requests from a byte stream (a serial port, a
 * pty, a socket, a test's PassThrough), carries them out on the counter one
 * at a time, and writes the replies and the billing events back as lines.
 *
 * Events come from one place, the ledger, where the counter records each
 * with the change it reports. The link sends a stream every event after the
 * last one a stream took, and records how far that is; so events raised
 * while no stream is attached (the USB adapter pulled, the device booting)
 * or not yet sent when the device stopped are sent when a stream is next
 * attached, after `hello`.
 */
export class BillingLink {
  readonly bootId: string;
  private readonly counter: CounterPort;
  private readonly records: BillingRecords;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly dispatcher: RequestDispatcher;
  private readonly maxLineBytes: number;
  private readonly maxWaitingRequests: number;
  private readonly backlogLimit: number;
  private readonly requestTimeoutMs: number;

  private unsubscribe: (() => void) | undefined;
  private session: Session | undefined;
  /** The seq of the last event handed to a stream; read from the ledger when first needed. */
  private sent: number | undefined;
  /** The highest seq recorded as taken by the port. */
  private recorded = 0;
  private waiting: BillingRequest[] = [];
  private running = false;
  private timeout: TimerHandle | undefined;

  constructor(options: BillingLinkOptions) {
    this.counter = options.counter;
    this.records = options.records;
    this.bootId = options.bootId ?? randomBytes(8).toString('hex');
    this.clock = options.clock;
    this.log = options.log;
    this.maxLineBytes = checkMaxLineBytes(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.maxWaitingRequests = positiveInteger(options.maxWaitingRequests ?? DEFAULT_MAX_WAITING_REQUESTS, 'maxWaitingRequests');
    this.backlogLimit = positiveInteger(options.backlogLimit ?? DEFAULT_BACKLOG_LIMIT, 'backlogLimit');
    this.requestTimeoutMs = positiveInteger(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs');
    this.dispatcher = new RequestDispatcher(this.counter, this.records, this.clock, this.log);
  }

  /** Starts listening to the counter: each of its events sends the stream what the ledger holds for it. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.counter.subscribe(() => this.onCounterEvent());
  }

  /** Stops listening and lets go of the stream; the stream itself belongs to whoever attached it. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.session?.detach();
    this.waiting = [];
    this.clock.clearTimeout(this.timeout);
    this.timeout = undefined;
  }

  get attached(): boolean {
    return this.session?.attached ?? false;
  }

  /**
   * Talks over this stream from now on, replacing any stream attached before.
   * The link never closes or ends the stream; it lets go of it when the
   * stream closes, fails, or `detach` is called. Whoever opened the stream
   * keeps an `error` listener on it: the link's goes when it detaches.
   */
  attach(stream: Duplex): BillingSession {
    this.session?.detach();
    const session = new Session(stream, new FrameReader({ maxLineBytes: this.maxLineBytes }), this.log, {
      onFrame: (frame) => this.onFrame(frame),
      onDetach: (ended) => {
        if (this.session === ended) this.session = undefined;
      },
      onDrain: (drained) => {
        if (this.session === drained && !this.running) this.sendMissed();
      },
    });
    this.session = session;
    const hello = this.hello();
    this.log.info({ bootId: hello.bootId, lastSeq: hello.lastSeq }, 'billing PC stream attached');
    session.write(encodeLine({ event: 'hello', ...hello }));
    this.skipOldMissed(hello.lastSeq);
    this.sendMissed();
    return session;
  }

  private hello(): WireEvents['hello'] {
    let firmware = 'unknown';
    let deviceId = 'unknown';
    try {
      ({ firmware, deviceId } = this.counter.status());
    } catch (err) {
      this.log.error({ err }, 'counter status failed while greeting the billing PC');
    }
    let lastSeq: number;
    try {
      lastSeq = this.records.lastEventSeq();
    } catch (err) {
      this.log.error({ err }, 'could not read the last billing event while greeting the billing PC');
      lastSeq = this.sent ?? 0;
    }
    return { protocol: PROTOCOL_VERSION, firmware, deviceId, maxLine: this.maxLineBytes, bootId: this.bootId, lastSeq };
  }

  private onCounterEvent(): void {
    // Events raised while a request runs go after its reply, so a reply
    // always comes before the events it caused.
    if (!this.running) this.sendMissed();
  }

  /** The seq of the last event a stream took: from the ledger at first, after a restart. */
  private cursor(): number {
    this.sent ??= this.records.deliveredEventSeq();
    return this.sent;
  }

  /** A stream back after a long time gets the newest `backlogLimit` events unasked; it asks for the rest. */
  private skipOldMissed(lastSeq: number): void {
    try {
      const missed = lastSeq - this.cursor();
      if (missed <= this.backlogLimit) return;
      this.log.warn({ missed, sending: this.backlogLimit }, 'billing PC away too long; it can ask for the older events it missed');
      this.sent = lastSeq - this.backlogLimit;
    } catch (err) {
      this.log.error({ err }, 'could not read which billing events the billing PC has');
    }
  }

  /**
   * Writes every recorded event the attached stream has not been given,
   * oldest first, until the stream is backed up; the rest wait in the ledger
   * and go when it drains. Never throws.
   */
  private sendMissed(): void {
    const session = this.session;
    if (!session?.attached) return;
    try {
      for (;;) {
        if (session.backedUp) return;
        const batch = this.records.eventsAfter(this.cursor(), SEND_BATCH);
        for (const logged of batch) {
          if (session.backedUp || !this.send(session, logged)) return;
        }
        if (batch.length < SEND_BATCH) return;
      }
    } catch (err) {
      this.log.error({ err }, 'could not read billing events to send to the billing PC');
    }
  }

  private send(session: Session, { seq, event }: LoggedEvent): boolean {
    const written = session.write(encodeLine(toWireEvent(event, seq)), (err) => {
      if (err) {
        // The next stream attached gets it again.
        this.sent = Math.min(this.sent ?? 0, seq - 1);
        return;
      }
      this.taken(seq);
    });
    if (written) this.sent = seq;
    return written;
  }

  /** Records that the port has taken events up to `seq`, so a restart does not send them again. */
  private taken(seq: number): void {
    if (seq <= this.recorded) return;
    this.recorded = seq;
    try {
      this.records.markEventsDelivered(seq);
    } catch (err) {
      this.log.warn({ err, seq }, 'could not record which billing events the port has taken; they may be sent again');
    }
  }

  private reply(reply: Reply): void {
    if (!reply.ok) this.log.debug({ id: reply.id, code: reply.code, message: reply.message }, 'billing request refused');
    // A reply with nowhere to go is dropped: it answered a stream that has gone.
    this.session?.write(encodeLine(reply));
  }

  /** Refuses a line that is not a request; while the stream is backed up the refusal is only counted. */
  private refuseLine(reply: ErrorReply): void {
    const session = this.session;
    if (session?.backedUp) {
      session.unanswered(reply.code);
      return;
    }
    this.reply(reply);
  }

  private onFrame(frame: Frame): void {
    if (frame.kind === 'bad') {
      this.log.warn({ code: frame.code }, frame.message);
      this.refuseLine({ id: null, ok: false, code: frame.code, message: frame.message });
      return;
    }
    const parsed = parseRequestLine(frame.text);
    if (!parsed.ok) {
      this.refuseLine(parsed.reply);
      return;
    }
    const { request } = parsed;
    if (this.waiting.length >= this.maxWaitingRequests) {
      this.reply({
        id: request.id,
        ok: false,
        op: request.op,
        code: 'BUSY',
        message: `${this.waiting.length} requests are already waiting; wait for their replies`,
      });
      return;
    }
    this.waiting.push(request);
    if (!this.running) void this.drain();
  }

  /** Carries out waiting requests one at a time, in the order they came. */
  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let request = this.waiting.shift(); request; request = this.waiting.shift()) {
        this.log.debug({ id: request.id, op: request.op }, 'billing request');
        const reply = await this.executeInTime(request);
        this.reply(reply);
        this.sendMissed();
      }
    } catch (err) {
      this.log.error({ err }, 'billing request loop failed');
    } finally {
      this.running = false;
      this.sendMissed();
    }
  }

  private executeInTime(request: BillingRequest): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      let settled = false;
      this.timeout = this.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        this.timeout = undefined;
        this.log.error({ id: request.id, op: request.op }, 'counter did not answer a billing request in time');
        resolve({
          id: request.id,
          ok: false,
          op: request.op,
          code: 'TIMEOUT',
          message: `the device did not finish ${request.op} within ${this.requestTimeoutMs / 1000} s; ask status to see where it stands`,
        });
      }, this.requestTimeoutMs);
      this.dispatcher.execute(request).then(
        (reply) => {
          if (settled) {
            this.log.warn({ id: request.id, ok: reply.ok }, 'billing request finished after its TIMEOUT reply');
            return;
          }
          settled = true;
          this.clock.clearTimeout(this.timeout);
          this.timeout = undefined;
          resolve(reply);
        },
        (err: unknown) => {
          // execute() turns every failure into a reply; this is a defect, still answered.
          if (settled) return;
          settled = true;
          this.clock.clearTimeout(this.timeout);
          this.timeout = undefined;
          resolve({ id: request.id, ok: false, op: request.op, code: 'INTERNAL', message: describeError(err) });
        },
      );
    });
  }
}

interface SessionHooks {
  onFrame(frame: Frame): void;
  onDetach(session: Session): void;
  /** The stream has taken what was waiting; events held back can go. */
  onDrain(session: Session): void;
}

/**
 * One attached stream. Writes go straight to the stream; the stream's own
 * buffer is the only output queue. When the stream says it is full (write
 * returns false) the session is backed up until 'drain': refusals of
 * unreadable lines are counted instead of sent, and one refusal saying how
 * many went unanswered is sent on drain; events are not written (the link
 * leaves them in the ledger); and once MAX_QUEUED_BYTES are waiting, reading
 * stops, so a billing PC that writes but never reads cannot make the device
 * queue replies without end.
 */
class Session implements BillingSession {
  private live = true;
  private full = false;
  private readingPaused = false;
  private dropped = 0;
  private droppedCode: ErrorCode = 'BAD_FRAME';
  private readonly onData = (frame: Frame): void => this.hooks.onFrame(frame);
  private readonly onDrained = (): void => this.drained();
  private readonly onGone = (): void => this.detach();
  private readonly onError = (err: Error): void => {
    this.log.warn({ err }, 'billing PC stream failed');
    this.detach();
  };

  constructor(
    readonly stream: Duplex,
    private readonly reader: FrameReader,
    private readonly log: Logger,
    private readonly hooks: SessionHooks,
  ) {
    reader.on('data', this.onData);
    stream.on('error', this.onError);
    stream.on('drain', this.onDrained);
    stream.once('close', this.onGone);
    stream.once('end', this.onGone);
    stream.pipe(reader);
  }

  get attached(): boolean {
    return this.live;
  }

  /** True from a write the stream reported full until it drains. */
  get backedUp(): boolean {
    return this.full;
  }

  /** Bytes handed to the stream and not yet taken by it. */
  get queuedBytes(): number {
    return this.stream.writableLength;
  }

  /** Counts a refusal not sent because the stream is backed up. */
  unanswered(code: ErrorCode): void {
    this.dropped++;
    this.droppedCode = code;
  }

  /**
   * Hands a line to the stream; false if the stream can no longer take it.
   * `done` hears when the stream has taken it. Always writes a live stream's
   * line, full or not: what is not to be queued is decided by the caller.
   */
  write(line: string, done?: (err: Error | null | undefined) => void): boolean {
    if (!this.live || this.stream.destroyed || this.stream.writableEnded) return false;
    const room = this.stream.write(line, (err) => {
      if (err) this.log.warn({ err }, 'write to billing PC failed');
      done?.(err);
    });
    if (!room) this.full = true;
    if (this.full && !this.readingPaused && this.stream.writableLength >= MAX_QUEUED_BYTES) {
      this.readingPaused = true;
      this.reader.pause();
      this.log.warn({ queued: this.stream.writableLength }, 'billing PC is not reading; reading its requests paused until it does');
    }
    return true;
  }

  private drained(): void {
    if (!this.live) return;
    this.full = false;
    if (this.dropped > 0) {
      const count = this.dropped;
      this.dropped = 0;
      this.log.warn({ count }, 'billing PC was not reading; bad lines went unanswered');
      this.write(
        encodeLine({
          id: null,
          ok: false,
          code: this.droppedCode,
          message: `${count} more lines that were not requests went unanswered while the billing PC was not reading`,
        }),
      );
    }
    if (this.readingPaused && !this.full) {
      this.readingPaused = false;
      this.reader.resume();
      this.log.info('billing PC is reading again; reading its requests resumed');
    }
    if (!this.full) this.hooks.onDrain(this);
  }

  detach(): void {
    if (!this.live) return;
    this.live = false;
    this.stream.unpipe(this.reader);
    this.reader.off('data', this.onData);
    this.reader.destroy();
    this.stream.off('close', this.onGone);
    this.stream.off('end', this.onGone);
    this.stream.off('error', this.onError);
    this.stream.off('drain', this.onDrained);
    this.hooks.onDetach(this);
    this.log.info('billing PC stream detached');
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
