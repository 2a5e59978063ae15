import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { InputError, describeError } from '../core/errors.js';
import { formatWireAmount, parseAmountInput } from '../core/money.js';
import { FrameReader, type Frame } from '../core/billing/frame-reader.js';
import {
  EVENT_NAMES,
  isOutcome,
  type EventName,
  type OutcomeEvent,
  type Reply,
  type WireEvent,
  type WireSale,
} from '../core/billing/protocol.js';
import { MAX_EXPIRES_IN, MIN_EXPIRES_IN } from '../core/billing/requests.js';

/** A request as the billing PC writes it, before the client gives it an id. */
export type ClientRequest =
  | { op: 'sale'; amount: string; ref?: string; note?: string; expiresIn?: number }
  | { op: 'cancel'; tr?: string }
  | { op: 'status' }
  | { op: 'ping' };

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

function isEvent(message: unknown): message is WireEvent {
  return isRecord(message) && typeof message.event === 'string' && (EVENT_NAMES as readonly string[]).includes(message.event);
}

function isReply(message: unknown): message is Reply {
  return isRecord(message) && typeof message.ok === 'boolean' && 'id' in message;
}

// ---------------------------------------------------------------------------
// The command line: `dakbox billing <command> ...`

/** What the exit code of `dakbox billing` means; a billing application branches on it. */
export const EXIT = {
  /** Done; with `--wait`, paid the amount asked. */
  ok: 0,
  /** The device refused the request (the error code is printed). */
  refused: 1,
  /** Bad command line. */
  usage: 2,
  /** No link: the port would not open, no reply came, or the port went away. */
  link: 3,
  /** `--wait`: paid, but not the amount asked; the clerk must check. */
  mismatch: 4,
  /** `--wait`: the bank reported the payment failed. */
  failed: 5,
  /** `--wait`: the QR expired unpaid. */
  expired: 6,
  /** `--wait`: the sale was cancelled at the counter or replaced by another. */
  cancelled: 7,
  /** Interrupted while waiting. */
  interrupted: 130,
} as const;

export interface TextSink {
  write(text: string): unknown;
}

/** An open port as the client needs it. */
export interface ClientPort {
  stream: Duplex;
  close(): Promise<void>;
}

export interface BillingClientIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Opens the serial port; by default the operating system's, through devices/serial. */
  openPort?: (path: string, baudRate: number) => Promise<ClientPort>;
  clock?: Clock;
  /** Ends `--wait` and `listen` early. */
  signal?: AbortSignal;
}

const USAGE = `usage: dakbox billing <command> --port <path> [--baud 115200] [--json] [--timeout 5]
  sale <amount> [--ref <text>] [--note <text>] [--expires <seconds>] [--wait]
  cancel [--tr <tr>]
  status
  ping
  listen [--count <n>]`;

const DEFAULT_REPLY_TIMEOUT_S = 5;
/** After a QR's own lifetime, how long `--wait` still waits for its outcome before calling the link lost. */
const OUTCOME_GRACE_MS = 60_000;

interface Options {
  port: string;
  baudRate: number;
  json: boolean;
  timeoutMs: number;
}

type Command =
  | { name: 'sale'; request: Extract<ClientRequest, { op: 'sale' }>; wait: boolean }
  | { name: 'cancel'; request: Extract<ClientRequest, { op: 'cancel' }> }
  | { name: 'status' }
  | { name: 'ping' }
  | { name: 'listen'; count: number | undefined };

const FLAGS = new Set(['wait', 'json', 'help']);
const COMMAND_OPTIONS: Record<Command['name'], readonly string[]> = {
  sale: ['ref', 'note', 'expires', 'wait'],
  cancel: ['tr'],
  status: [],
  ping: [],
  listen: ['count'],
};
const COMMON_OPTIONS = ['port', 'baud', 'json', 'timeout', 'help'];

/**
 * `dakbox billing ...`: lets a billing application use the link without
 * serial code. Prints one line per reply or event (`--json`: the wire objects
 * themselves) and returns the exit code; never throws.
 */
export async function runBillingClient(argv: string[], io: BillingClientIo): Promise<number> {
  let command: Command;
  let options: Options;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    ({ command, options } = parsed);
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr.write(`dakbox billing: ${err.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`dakbox billing: ${describeError(err)}\n`);
    return EXIT.usage;
  }

  const clock = io.clock ?? systemClock;
  const out = new Output(io.stdout, options.json);
  let port: ClientPort;
  try {
    port = await (io.openPort ?? openSystemPort)(options.port, options.baudRate);
  } catch (err) {
    io.stderr.write(`dakbox billing: ${describeError(err)}\n`);
    return EXIT.link;
  }
  const client = new BillingClient(port.stream, clock);
  try {
    return await carryOut(command, client, options, out, io, clock);
  } catch (err) {
    io.stderr.write(`dakbox billing: ${describeError(err)}\n`);
    return err instanceof LinkError ? EXIT.link : EXIT.refused;
  } finally {
    client.close();
    await port.close().catch(() => undefined);
  }
}

async function carryOut(
  command: Command,
  client: BillingClient,
  options: Options,
  out: Output,
  io: BillingClientIo,
  clock: Clock,
): Promise<number> {
  // Events are collected from before the request goes out: the device may
  // send a sale's qr event on the heels of the reply.
  const seen: WireEvent[] = [];
  const unsubscribe = client.onEvent((event) => seen.push(event));
  try {
    switch (command.name) {
      case 'sale': {
        const reply = await client.request(command.request, options.timeoutMs);
        if (!reply.ok) return refused(reply, out, io);
        if (reply.op !== 'sale') throw new LinkError(`the device answered sale with ${reply.op}`);
        const { sale } = reply;
        const qr = await waitForEvent(client, seen, (e) => e.event === 'qr' && e.tr === sale.tr, options.timeoutMs, clock, io.signal);
        if (qr.kind === 'event') out.event(qr.event);
        else out.sale('qr', sale);
        if (!command.wait) return EXIT.ok;
        return await awaitOutcome(client, seen, sale, out, clock, io.signal);
      }
      case 'cancel': {
        const reply = await client.request(command.request, options.timeoutMs);
        if (!reply.ok) return refused(reply, out, io);
        if (reply.op !== 'cancel') throw new LinkError(`the device answered cancel with ${reply.op}`);
        const { sale } = reply;
        const event = await waitForEvent(client, seen, (e) => e.event === 'cancelled' && e.tr === sale.tr, options.timeoutMs, clock, io.signal);
        if (event.kind === 'event') out.event(event.event);
        else out.sale('cancelled', sale);
        return EXIT.ok;
      }
      case 'status':
      case 'ping': {
        const reply = await client.request({ op: command.name }, options.timeoutMs);
        if (!reply.ok) return refused(reply, out, io);
        out.reply(reply);
        return EXIT.ok;
      }
      case 'listen': {
        let printed = 0;
        for (;;) {
          if (command.count !== undefined && printed >= command.count) return EXIT.ok;
          const next = await waitForEvent(client, seen, () => true, undefined, clock, io.signal);
          switch (next.kind) {
            case 'event':
              out.event(next.event);
              printed++;
              break;
            case 'gone':
              throw new LinkError(next.reason);
            case 'aborted':
            case 'timeout':
              return EXIT.ok;
          }
        }
      }
    }
  } finally {
    unsubscribe();
  }
}

/** `--wait`: the sale's outcome, printed, as the exit code. */
async function awaitOutcome(
  client: BillingClient,
  seen: WireEvent[],
  sale: WireSale,
  out: Output,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<number> {
  // Measured on the device's clock, so a billing PC whose clock is off still waits the right time.
  const lifetimeMs = Date.parse(sale.expiresAt) - Date.parse(sale.shownAt);
  const outcome = await waitForEvent(
    client,
    seen,
    (e): e is OutcomeEvent => isOutcome(e) && e.tr === sale.tr,
    Math.max(0, lifetimeMs) + OUTCOME_GRACE_MS,
    clock,
    signal,
  );
  switch (outcome.kind) {
    case 'event':
      out.event(outcome.event);
      return outcomeExit(outcome.event);
    case 'timeout':
      throw new LinkError(`no outcome for ${sale.tr}: the QR should have expired by now`);
    case 'gone':
      throw new LinkError(`${outcome.reason} before sale ${sale.tr} ended`);
    case 'aborted':
      return EXIT.interrupted;
  }
}

type Waited<E extends WireEvent> =
  | { kind: 'event'; event: E }
  | { kind: 'timeout' }
  | { kind: 'gone'; reason: string }
  | { kind: 'aborted' };

/**
 * The first event, already seen or still to come, that matches; it is taken
 * out of `seen` so the next wait does not find it again. Without a timeout
 * it waits until the port goes or the signal fires.
 */
function waitForEvent<E extends WireEvent>(
  client: BillingClient,
  seen: WireEvent[],
  matches: ((event: WireEvent) => event is E) | ((event: WireEvent) => boolean),
  timeoutMs: number | undefined,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<Waited<E>> {
  const index = seen.findIndex(matches);
  if (index !== -1) {
    const [event] = seen.splice(index, 1);
    return Promise.resolve({ kind: 'event', event: event as E });
  }
  if (signal?.aborted) return Promise.resolve({ kind: 'aborted' });
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    const finish = (result: Waited<E>): void => {
      clock.clearTimeout(timer);
      stopEvents();
      stopGone();
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const stopEvents = client.onEvent((event) => {
      if (!matches(event)) return;
      const at = seen.indexOf(event);
      if (at !== -1) seen.splice(at, 1);
      finish({ kind: 'event', event: event as E });
    });
    const stopGone = client.onGone((reason) => finish({ kind: 'gone', reason }));
    const onAbort = (): void => finish({ kind: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timer = clock.setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
  });
}

function outcomeExit(event: OutcomeEvent): number {
  switch (event.event) {
    case 'paid':
      return event.mismatch ? EXIT.mismatch : EXIT.ok;
    case 'failed':
      return EXIT.failed;
    case 'expired':
      return EXIT.expired;
    case 'cancelled':
      return EXIT.cancelled;
  }
}

function refused(reply: Extract<Reply, { ok: false }>, out: Output, io: BillingClientIo): number {
  if (out.json) out.reply(reply);
  else io.stderr.write(`dakbox billing: ${reply.message} (${reply.code})\n`);
  return EXIT.refused;
}

/** Human lines are `name key=value ...`, values quoted only when they hold a space or a quote. */
class Output {
  constructor(
    private readonly sink: TextSink,
    readonly json: boolean,
  ) {}

  event(event: WireEvent): void {
    if (this.json) return this.line(JSON.stringify(event));
    const { event: name, ...fields } = event;
    this.line(humanLine(name, fields));
  }

  reply(reply: Reply): void {
    if (this.json) return this.line(JSON.stringify(reply));
    if (!reply.ok) return this.line(humanLine('error', { code: reply.code, field: reply.field, message: reply.message }));
    switch (reply.op) {
      case 'ping':
        return this.line(humanLine('pong', { protocol: reply.protocol, firmware: reply.firmware, deviceId: reply.deviceId, time: reply.time }));
      case 'events':
        // This client does not ask for these; printed as they came.
        return this.line(JSON.stringify(reply));
      case 'status': {
        // This client asks only for the device's status; a sale looked up by tr or ref is printed as it came.
        if (!('status' in reply)) return this.line(JSON.stringify(reply));
        const { sale, ...status } = reply.status;
        this.line(humanLine('status', status));
        if (sale) this.line(humanLine('sale', { ...sale }));
        return;
      }
      case 'sale':
      case 'cancel':
        return this.line(humanLine(reply.op, { ...reply.sale }));
    }
  }

  /** When the device's event did not arrive, the reply's own copy of the sale is printed in its place. */
  sale(name: EventName, sale: WireSale): void {
    if (this.json) return this.line(JSON.stringify({ event: name, ...sale }));
    this.line(humanLine(name, { ...sale }));
  }

  private line(text: string): void {
    this.sink.write(`${text}\n`);
  }
}

function humanLine(name: string, fields: Record<string, unknown>): string {
  const parts = [name];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : typeof value === 'string' ? value : JSON.stringify(value);
    parts.push(`${key}=${/[\s"]/.test(text) || text === '' ? JSON.stringify(text) : text}`);
  }
  return parts.join(' ');
}

function parseCommandLine(argv: string[]): { command: Command; options: Options } | 'help' {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (FLAGS.has(name)) {
      if (eq !== -1) throw new InputError(`--${name}`, 'takes no value');
      flags.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new InputError(`--${name}`, 'needs a value');
      i++;
    }
    if (values.has(name)) throw new InputError(`--${name}`, 'is given twice');
    values.set(name, value);
  }
  if (flags.has('help') || positionals[0] === 'help') return 'help';

  const [name, ...rest] = positionals;
  if (name === undefined) throw new InputError('command', `is missing; one of sale, cancel, status, ping, listen`);
  if (!isCommandName(name)) throw new InputError('command', `${JSON.stringify(name)} is not one of sale, cancel, status, ping, listen`);
  for (const option of [...values.keys(), ...flags]) {
    if (!COMMON_OPTIONS.includes(option) && !COMMAND_OPTIONS[name].includes(option)) {
      throw new InputError(`--${option}`, `is not an option of ${name}`);
    }
  }

  const port = values.get('port') ?? '';
  if (port.trim() === '') throw new InputError('--port', 'is missing; name the serial port, e.g. --port /dev/ttyUSB0');
  const options: Options = {
    port,
    baudRate: wholeNumber(values.get('baud') ?? '115200', '--baud', 1, 4_000_000),
    json: flags.has('json'),
    timeoutMs: seconds(values.get('timeout') ?? String(DEFAULT_REPLY_TIMEOUT_S), '--timeout') * 1000,
  };

  const expectArguments = (count: number, what: string): void => {
    if (rest.length > count) throw new InputError(what, `unexpected ${JSON.stringify(rest[count])}`);
  };
  switch (name) {
    case 'sale': {
      if (rest[0] === undefined) throw new InputError('amount', 'is missing, e.g. dakbox billing sale 250.00');
      expectArguments(1, 'amount');
      const amount = formatWireAmount(parseAmountInput(rest[0], 'amount'));
      const ref = values.get('ref');
      const note = values.get('note');
      const expires = values.get('expires');
      const request: Extract<ClientRequest, { op: 'sale' }> = {
        op: 'sale',
        amount,
        ...(ref === undefined ? {} : { ref }),
        ...(note === undefined ? {} : { note }),
        ...(expires === undefined ? {} : { expiresIn: wholeNumber(expires, '--expires', MIN_EXPIRES_IN, MAX_EXPIRES_IN) }),
      };
      return { command: { name, request, wait: flags.has('wait') }, options };
    }
    case 'cancel': {
      expectArguments(0, 'cancel');
      const tr = values.get('tr');
      return { command: { name, request: tr === undefined ? { op: 'cancel' } : { op: 'cancel', tr } }, options };
    }
    case 'status':
    case 'ping':
      expectArguments(0, name);
      return { command: { name }, options };
    case 'listen': {
      expectArguments(0, name);
      const count = values.get('count');
      return { command: { name, count: count === undefined ? undefined : wholeNumber(count, '--count', 1, 1_000_000) }, options };
    }
  }
}

function isCommandName(name: string): name is Command['name'] {
  return Object.hasOwn(COMMAND_OPTIONS, name);
}

function wholeNumber(text: string, field: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new InputError(field, `${JSON.stringify(text)} is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) throw new InputError(field, `must be between ${min} and ${max}, got ${text}`);
  return value;
}

function seconds(text: string, field: string): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) throw new InputError(field, `${JSON.stringify(text)} is not a number of seconds`);
  return Number(text);
}

async function openSystemPort(path: string, baudRate: number): Promise<ClientPort> {
  // Loaded only here, so the link and its tests never load the native serial binding.
  const serial = await import('../adapters/serial/serial-port.js');
  const port = await serial.openSerialPort({ path, baudRate });
  return { stream: port, close: () => serial.closeSerialPort(port) };
}
