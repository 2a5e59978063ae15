import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { FrameReader, type Frame } from '../core/billing/frame-reader.js';
import {
  EVENT_NAMES,
  isOutcome,
  type ErrorReply,
  type NumberedEvent,
  type OutcomeEvent,
  type Reply,
  type WireEvent,
  type WireSale,
} from '../core/billing/protocol.js';

/** A request as the billing PC writes it, before the client gives it an id. */
export type ClientRequest =
  | { op: 'sale'; amount: string; ref?: string; note?: string; expiresIn?: number }
  | { op: 'cancel'; tr?: string }
  | { op: 'status'; tr?: string; ref?: string }
  | { op: 'ping' }
  | { op: 'events'; after: number; limit?: number };

/** Replies and events can be long (a signed UPI URI); the client's limit is only a guard against a runaway line. */
const CLIENT_MAX_LINE_BYTES = 64 * 1024;

/**
 * The billing PC's end of the link, over any duplex stream: sends requests,
 * matches replies by id, and hands events to whoever listens. Lines from
 * before this client started (a stale reply, an old event) simply match
 * nothing.
 */
export class BillingClient {
  private readonly reader = new FrameReader({ maxLineBytes: CLIENT_MAX_LINE_BYTES });
  private readonly pending = new Map<string, (reply: Reply) => void>();
  private readonly eventListeners = new Set<(event: WireEvent) => void>();
  private readonly goneListeners = new Set<(reason: string) => void>();
  private goneReason: string | undefined;
  private readonly prefix = randomUUID().slice(0, 8);
  private nextId = 1;

  constructor(
    private readonly stream: Duplex,
    private readonly clock: Clock = systemClock,
  ) {
    this.reader.on('data', (frame: Frame) => this.onFrame(frame));
    stream.on('error', (err) => this.gone(`link failed: ${describeError(err)}`));
    stream.once('close', () => this.gone('the port closed'));
    stream.once('end', () => this.gone('the port closed'));
    stream.pipe(this.reader);
    // A lone newline first ends whatever half line is sitting in the
    // device's reader (noise from plugging in, a client killed mid-write),
    // so the first request starts on a clean line. The device ignores blank lines.
    stream.write('\n');
  }

  /** Sends a request and resolves with its reply; rejects if none comes in time or the port goes. */
  request(request: ClientRequest, timeoutMs: number): Promise<Reply> {
    if (this.goneReason) return Promise.reject(new LinkError(this.goneReason));
    const id = `${this.prefix}-${this.nextId++}`;
    return new Promise<Reply>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        this.goneListeners.delete(onGone);
        reject(new LinkError(`no reply to ${request.op} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const onGone = (reason: string): void => {
        this.clock.clearTimeout(timer);
        this.pending.delete(id);
        reject(new LinkError(reason));
      };
      this.goneListeners.add(onGone);
      this.pending.set(id, (reply) => {
        this.clock.clearTimeout(timer);
        this.goneListeners.delete(onGone);
        resolve(reply);
      });
      this.stream.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  /** Calls the listener for every event the device sends; returns the unsubscribe function. */
  onEvent(listener: (event: WireEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Calls the listener once if the port closes or fails. */
  onGone(listener: (reason: string) => void): () => void {
    if (this.goneReason !== undefined) {
      listener(this.goneReason);
      return () => undefined;
    }
    this.goneListeners.add(listener);
    return () => this.goneListeners.delete(listener);
  }

  /** Stops reading; the stream belongs to whoever opened it. */
  close(): void {
    this.stream.unpipe(this.reader);
    this.reader.destroy();
  }

  private onFrame(frame: Frame): void {
    if (frame.kind !== 'line') return;
    let message: unknown;
    try {
      message = JSON.parse(frame.text);
    } catch {
      return;
    }
    if (isEvent(message)) {
      for (const listener of this.eventListeners) listener(message);
      return;
    }
    if (isReply(message) && typeof message.id === 'string') {
      this.pending.get(message.id)?.(message);
    }
  }

  private gone(reason: string): void {
    if (this.goneReason !== undefined) return;
    this.goneReason = reason;
    for (const listener of [...this.goneListeners]) listener(reason);
    this.goneListeners.clear();
  }
}

/** The link itself failed: no port, no reply, port gone. */
export class LinkError extends Error {
  override readonly name = 'LinkError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A line from the device that is one of its events. */
export function isEvent(message: unknown): message is WireEvent {
  return isRecord(message) && typeof message.event === 'string' && (EVENT_NAMES as readonly string[]).includes(message.event);
}

/** A line from the device that answers a request (a reply holds `ok` and the request's `id`). */
export function isReply(message: unknown): message is Reply {
  return isRecord(message) && typeof message.ok === 'boolean' && 'id' in message;
}

/** An open port as the client needs it. */
export interface ClientPort {
  stream: Duplex;
  close(): Promise<void>;
}

/** Opens the billing PC's serial port through the operating system. */
export async function openBillingPort(path: string, baudRate: number): Promise<ClientPort> {
  // Loaded only here, so the link and its tests never load the native serial binding.
  const serial = await import('../adapters/serial/serial-port.js');
  const port = await serial.openSerialPort({ path, baudRate });
  return { stream: port, close: () => serial.closeSerialPort(port) };
}

/** How a wait for an event ended. */
export type Waited<E extends WireEvent> =
  | { kind: 'event'; event: E }
  | { kind: 'timeout' }
  | { kind: 'gone'; reason: string }
  | { kind: 'aborted' };

/**
 * The device's events, kept from the moment the inbox is made: the device
 * may send a sale's `qr` event on the heels of the reply, before a wait
 * that starts after the reply is listening. Each event is taken at most
 * once. It keeps every event nobody takes, so make one for an exchange and
 * close it after.
 */
export class EventInbox {
  private readonly seen: WireEvent[] = [];
  private readonly stopKeeping: () => void;

  constructor(
    private readonly client: BillingClient,
    private readonly clock: Clock = systemClock,
  ) {
    this.stopKeeping = client.onEvent((event) => this.seen.push(event));
  }

  /**
   * The first event, already seen or still to come, that matches; it is taken
   * out of the inbox so the next wait does not find it again. Without a
   * timeout it waits until the port goes or the signal fires.
   */
  take<E extends WireEvent>(
    matches: ((event: WireEvent) => event is E) | ((event: WireEvent) => boolean),
    timeoutMs: number | undefined,
    signal?: AbortSignal,
  ): Promise<Waited<E>> {
    const { client, clock, seen } = this;
    const index = seen.findIndex(matches);
    if (index !== -1) {
      const [event] = seen.splice(index, 1);
      return Promise.resolve({ kind: 'event', event: event as E });
    }
    if (signal?.aborted) return Promise.resolve({ kind: 'aborted' });
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      let settled = false;
      const unsubscribe: (() => unknown)[] = [];
      const finish = (result: Waited<E>): void => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        for (const stop of unsubscribe) stop();
        resolve(result);
      };
      // Listened to first: a port already gone (closed on the heels of the
      // reply) calls back at once, and nothing else need be set up.
      unsubscribe.push(client.onGone((reason) => finish({ kind: 'gone', reason })));
      if (settled) return;
      unsubscribe.push(
        client.onEvent((event) => {
          if (!matches(event)) return;
          const at = seen.indexOf(event);
          if (at !== -1) seen.splice(at, 1);
          finish({ kind: 'event', event: event as E });
        }),
      );
      if (signal) {
        const onAbort = (): void => finish({ kind: 'aborted' });
        signal.addEventListener('abort', onAbort, { once: true });
        unsubscribe.push(() => signal.removeEventListener('abort', onAbort));
      }
      if (timeoutMs !== undefined) timer = clock.setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    });
  }

  /** Stops keeping events. */
  close(): void {
    this.stopKeeping();
  }
}

/** After a QR's own lifetime, how long to wait for its outcome before calling the link lost. */
export const OUTCOME_GRACE_MS = 60_000;

/**
 * The event that ends the sale (`paid`, `failed`, `expired` or `cancelled`),
 * or 'aborted' if the signal fired first. Rejects with LinkError if the port
 * goes, or if nothing comes within the QR's lifetime and OUTCOME_GRACE_MS.
 */
export async function awaitOutcome(inbox: EventInbox, sale: WireSale, signal?: AbortSignal): Promise<OutcomeEvent | 'aborted'> {
  // Measured on the device's clock, so a billing PC whose clock is off still waits the right time.
  const lifetimeMs = Date.parse(sale.expiresAt) - Date.parse(sale.shownAt);
  const outcome = await inbox.take((e): e is OutcomeEvent => isOutcome(e) && e.tr === sale.tr, Math.max(0, lifetimeMs) + OUTCOME_GRACE_MS, signal);
  switch (outcome.kind) {
    case 'event':
      return outcome.event;
    case 'timeout':
      throw new LinkError(`no outcome for ${sale.tr}: the QR should have expired by now`);
    case 'gone':
      throw new LinkError(`${outcome.reason} before sale ${sale.tr} ended`);
    case 'aborted':
      return 'aborted';
  }
}

/** What `missedEvents` found: the events, oldest first, and the newest seq the device has. */
export interface MissedEvents {
  ok: true;
  events: NumberedEvent[];
  lastSeq: number;
}

/**
 * Every event the device keeps with a seq above `after`, oldest first,
 * asked for a reply at a time until the device says there are no more: what
 * a billing application missed while it was not listening, or while the
 * device restarted (hello's `bootId` changed, or its `lastSeq` is above the
 * last seq handled). A refusal (a device too old to know `events`) is
 * returned as the device's error reply; a link failure rejects with LinkError.
 */
export async function missedEvents(client: BillingClient, after: number, timeoutMs: number): Promise<MissedEvents | ErrorReply> {
  const events: NumberedEvent[] = [];
  let cursor = after;
  for (;;) {
    const reply = await client.request({ op: 'events', after: cursor }, timeoutMs);
    if (!reply.ok) return reply;
    if (reply.op !== 'events') throw new LinkError(`the device answered events with ${reply.op}`);
    events.push(...reply.events);
    const last = reply.events.at(-1);
    // A reply without events ends the catching up, whatever it says about more.
    if (!reply.more || last === undefined) return { ok: true, events, lastSeq: reply.lastSeq };
    cursor = last.seq;
  }
}
