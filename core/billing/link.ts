import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../clock.js';
import type { CounterEvent, CounterPort } from '../sale/counter-port.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { RequestDispatcher } from './dispatcher.js';
import { DEFAULT_MAX_LINE_BYTES, FrameReader, checkMaxLineBytes, type Frame } from './frame-reader.js';
import { PROTOCOL_VERSION, encodeLine, toWireEvent, type BillingRequest, type Reply, type WireEvent } from './protocol.js';
import { parseRequestLine } from './requests.js';

export interface BillingLinkOptions {
  counter: CounterPort;
  clock: Clock;
  log: Logger;
  /** Longest request line, in bytes. */
  maxLineBytes?: number;
  /** Requests that may wait behind the one being carried out before new ones are refused with BUSY. */
  maxWaitingRequests?: number;
  /** Events kept while no billing PC stream is attached (the USB adapter is out); the oldest go first. */
  backlogLimit?: number;
  /** How long a request may take inside the counter before the billing PC is told TIMEOUT. */
  requestTimeoutMs?: number;
}

export const DEFAULT_MAX_WAITING_REQUESTS = 8;
export const DEFAULT_BACKLOG_LIMIT = 100;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** The stream the link is talking over, until it closes or another takes its place. */
export interface BillingSession {
  readonly stream: Duplex;
  readonly attached: boolean;
  detach(): void;
}

/**
 * The billing PC link: reads requests from a byte stream (a serial port, a
 * pty, a socket, a test's PassThrough), carries them out on the counter one
 * at a time, and writes the replies and the counter's events back as lines.
 *
 * The link outlives the streams it talks over: when the USB serial adapter is
 * pulled, the adapter detaches the port, events are kept, and the next
 * stream attached hears `hello` and then what it missed.
 */
export class BillingLink {
  private readonly counter: CounterPort;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly dispatcher: RequestDispatcher;
  private readonly maxLineBytes: number;
  private readonly maxWaitingRequests: number;
  private readonly backlogLimit: number;
  private readonly requestTimeoutMs: number;

  private unsubscribe: (() => void) | undefined;
  private session: Session | undefined;
  private seq = 0;
  private backlog: WireEvent[] = [];
  /** Events raised while a request runs, written after its reply so a reply always comes before the events it caused. */
  private deferred: WireEvent[] = [];
  private waiting: BillingRequest[] = [];
  private running = false;
  private timeout: TimerHandle | undefined;

  constructor(options: BillingLinkOptions) {
    this.counter = options.counter;
    this.clock = options.clock;
    this.log = options.log;
    this.maxLineBytes = checkMaxLineBytes(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.maxWaitingRequests = positiveInteger(options.maxWaitingRequests ?? DEFAULT_MAX_WAITING_REQUESTS, 'maxWaitingRequests');
    this.backlogLimit = positiveInteger(options.backlogLimit ?? DEFAULT_BACKLOG_LIMIT, 'backlogLimit');
    this.requestTimeoutMs = positiveInteger(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs');
    this.dispatcher = new RequestDispatcher(this.counter, this.clock, this.log);
  }

  /** Starts listening to the counter; events from here on reach the billing PC. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.counter.subscribe((event) => this.onCounterEvent(event));
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
    });
    this.session = session;
    this.log.info('billing PC stream attached');
    session.write(encodeLine({ event: 'hello', ...this.hello() }));
    const missed = this.backlog;
    this.backlog = [];
    for (const event of missed) this.emit(event);
    return session;
  }

  private hello(): { protocol: number; firmware: string; deviceId: string; maxLine: number } {
    try {
      const { firmware, deviceId } = this.counter.status();
      return { protocol: PROTOCOL_VERSION, firmware, deviceId, maxLine: this.maxLineBytes };
    } catch (err) {
      this.log.error({ err }, 'counter status failed while greeting the billing PC');
      return { protocol: PROTOCOL_VERSION, firmware: 'unknown', deviceId: 'unknown', maxLine: this.maxLineBytes };
    }
  }

  private onCounterEvent(event: CounterEvent): void {
    // This runs inside the counter's emit: nothing may escape from here.
    try {
      const wire = toWireEvent(event, ++this.seq);
      if (this.running) this.deferred.push(wire);
      else this.emit(wire);
    } catch (err) {
      this.log.error({ err, type: event.type }, 'could not pass a counter event to the billing PC');
    }
  }

  private emit(event: WireEvent): void {
    if (this.session?.attached) {
      this.session.write(encodeLine(event));
      return;
    }
    this.backlog.push(event);
    if (this.backlog.length > this.backlogLimit) {
      const dropped = this.backlog.shift();
      this.log.warn({ seq: dropped && 'seq' in dropped ? dropped.seq : undefined }, 'billing PC away too long; oldest event dropped');
    }
  }

  private reply(reply: Reply): void {
    if (!reply.ok) this.log.debug({ id: reply.id, code: reply.code, message: reply.message }, 'billing request refused');
    // A reply with nowhere to go is dropped: it answered a stream that has gone.
    this.session?.write(encodeLine(reply));
  }

  private onFrame(frame: Frame): void {
    if (frame.kind === 'bad') {
      this.log.warn({ code: frame.code }, frame.message);
      this.reply({ id: null, ok: false, code: frame.code, message: frame.message });
      return;
    }
    const parsed = parseRequestLine(frame.text);
    if (!parsed.ok) {
      this.reply(parsed.reply);
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
        this.flushDeferred();
      }
    } catch (err) {
      this.log.error({ err }, 'billing request loop failed');
    } finally {
      this.running = false;
      this.flushDeferred();
    }
  }

  private flushDeferred(): void {
    const events = this.deferred;
    this.deferred = [];
    for (const event of events) this.emit(event);
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
}

class Session implements BillingSession {
  private live = true;
  private readonly onData = (frame: Frame): void => this.hooks.onFrame(frame);
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
    stream.once('close', this.onGone);
    stream.once('end', this.onGone);
    stream.pipe(reader);
  }

  get attached(): boolean {
    return this.live;
  }

  write(line: string): void {
    if (!this.live || this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.write(line, (err) => {
      if (err) this.log.warn({ err }, 'write to billing PC failed');
    });
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
    this.hooks.onDetach(this);
    this.log.info('billing PC stream detached');
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
