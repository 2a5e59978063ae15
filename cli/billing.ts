import {
  BillingClient,
  EventInbox,
  LinkError,
  awaitOutcome,
  missedEvents,
  openBillingPort,
  type ClientPort,
  type ClientRequest,
} from '../billing-client/client.js';
import { systemClock, type Clock } from '../core/clock.js';
import { DEFAULT_SERIAL_BAUD_RATE } from '../core/config.js';
import { InputError, describeError } from '../core/errors.js';
import { formatWireAmount, parseAmountInput } from '../core/money.js';
import type { EventName, OutcomeEvent, Reply, WireEvent, WireSale, WireSaleRecord } from '../core/billing/protocol.js';
import { MAX_EXPIRES_IN, MIN_EXPIRES_IN } from '../core/billing/requests.js';
import { parseForSubcommands } from './args.js';

export const BILLING_HELP = `dakbox billing <sale|cancel|status|ping|listen|events> --port /dev/ttyUSB0 [...]
  The billing PC's side of the serial link (docs/billing-protocol.md), for
  billing software that would rather run a command than speak serial.
  \`dakbox billing --help\` lists its options and exit codes.`;

/** The exit codes of `dakbox billing`, which a billing application branches on; EXIT_MEANINGS says what each means. */
export const EXIT = {
  ok: 0,
  refused: 1,
  usage: 2,
  link: 3,
  mismatch: 4,
  failed: 5,
  expired: 6,
  cancelled: 7,
  interrupted: 130,
} as const;

/** The meaning of each exit code, as `--help` prints it. */
const EXIT_MEANINGS: Record<keyof typeof EXIT, string> = {
  ok: 'done; with --wait, paid the amount asked',
  refused: 'the device refused the request (the error code is printed)',
  usage: 'bad command line',
  link: 'no link: the port would not open, no reply came, or the port went away',
  mismatch: '--wait: paid, but not the amount asked; the clerk must check',
  failed: '--wait: the bank reported the payment failed',
  expired: '--wait: the QR expired unpaid',
  cancelled: '--wait: the sale was cancelled at the counter or replaced by another',
  interrupted: 'interrupted while waiting',
};

const DEFAULT_REPLY_TIMEOUT_S = 5;

const USAGE = `usage: dakbox billing <command> --port <path> [--baud ${DEFAULT_SERIAL_BAUD_RATE}] [--json] [--timeout ${DEFAULT_REPLY_TIMEOUT_S}]
  sale <amount> [--ref <text>] [--note <text>] [--expires <seconds>] [--wait]
  cancel [--tr <tr>]
  status [--tr <tr> | --ref <text>]
  ping
  listen [--count <n>]
  events --after <seq>
exit codes:
${(Object.keys(EXIT) as (keyof typeof EXIT)[]).map((name) => `  ${String(EXIT[name]).padStart(3)}  ${EXIT_MEANINGS[name]}`).join('\n')}`;

export interface TextSink {
  write(text: string): unknown;
}

export interface BillingCommandIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Opens the serial port; by default the operating system's. */
  openPort?: (path: string, baudRate: number) => Promise<ClientPort>;
  clock?: Clock;
  /** Ends `--wait` and `listen` early. */
  signal?: AbortSignal;
}

interface Options {
  port: string;
  baudRate: number;
  json: boolean;
  timeoutMs: number;
}

type Command =
  | { name: 'sale'; request: Extract<ClientRequest, { op: 'sale' }>; wait: boolean }
  | { name: 'cancel'; request: Extract<ClientRequest, { op: 'cancel' }> }
  | { name: 'status'; request: Extract<ClientRequest, { op: 'status' }> }
  | { name: 'ping' }
  | { name: 'listen'; count: number | undefined }
  | { name: 'events'; after: number };

const COMMON_OPTIONS = {
  port: { type: 'string' },
  baud: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean' },
} as const;
const COMMAND_OPTIONS = {
  sale: { ref: { type: 'string' }, note: { type: 'string' }, expires: { type: 'string' }, wait: { type: 'boolean' } },
  cancel: { tr: { type: 'string' } },
  status: { tr: { type: 'string' }, ref: { type: 'string' } },
  ping: {},
  listen: { count: { type: 'string' } },
  events: { after: { type: 'string' } },
} as const satisfies Record<Command['name'], object>;
const ALL_OPTIONS = {
  ...COMMON_OPTIONS,
  ...COMMAND_OPTIONS.sale,
  ...COMMAND_OPTIONS.status,
  ...COMMAND_OPTIONS.listen,
  ...COMMAND_OPTIONS.events,
};
const COMMAND_NAMES = Object.keys(COMMAND_OPTIONS).join(', ');

/**
 * `dakbox billing ...`: lets a billing application use the link without
 * serial code. Prints one line per reply or event (`--json`: the wire objects
 * themselves) and returns the exit code; never throws.
 */
export async function billingCommand(argv: string[], io: BillingCommandIo): Promise<number> {
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
    port = await (io.openPort ?? openBillingPort)(options.port, options.baudRate);
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
  io: BillingCommandIo,
  clock: Clock,
): Promise<number> {
  // The inbox is opened before the request goes out: the device may send a
  // sale's qr event on the heels of the reply.
  const inbox = new EventInbox(client, clock);
  try {
    switch (command.name) {
      case 'sale': {
        const reply = await client.request(command.request, options.timeoutMs);
        if (!reply.ok) return refused(reply, out, io);
        if (reply.op !== 'sale') throw new LinkError(`the device answered sale with ${reply.op}`);
        const { sale } = reply;
        const qr = await inbox.take((e) => e.event === 'qr' && e.tr === sale.tr, options.timeoutMs, io.signal);
        if (qr.kind === 'event') out.event(qr.event);
        else out.sale('qr', sale);
        if (!command.wait) return EXIT.ok;
        const outcome = await awaitOutcome(inbox, sale, io.signal);
        if (outcome === 'aborted') return EXIT.interrupted;
        out.event(outcome);
        return outcomeExit(outcome);
      }
      case 'cancel': {
        const reply = await client.request(command.request, options.timeoutMs);
        if (!reply.ok) return refused(reply, out, io);
        if (reply.op !== 'cancel') throw new LinkError(`the device answered cancel with ${reply.op}`);
        const { sale } = reply;
        const event = await inbox.take((e) => e.event === 'cancelled' && e.tr === sale.tr, options.timeoutMs, io.signal);
        if (event.kind === 'event') out.event(event.event);
        else out.sale('cancelled', sale);
        return EXIT.ok;
      }
      case 'status':
      case 'ping': {
        const reply = await client.request(command.name === 'status' ? command.request : { op: 'ping' }, options.timeoutMs);
        if (!reply.ok) return refused(reply, out, io);
        out.reply(reply);
        return EXIT.ok;
      }
      case 'events': {
        const missed = await missedEvents(client, command.after, options.timeoutMs);
        if (!missed.ok) return refused(missed, out, io);
        for (const event of missed.events) out.event(event);
        return EXIT.ok;
      }
      case 'listen': {
        let printed = 0;
        for (;;) {
          if (command.count !== undefined && printed >= command.count) return EXIT.ok;
          const next = await inbox.take(() => true, undefined, io.signal);
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
    inbox.close();
  }
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

function refused(reply: Extract<Reply, { ok: false }>, out: Output, io: BillingCommandIo): number {
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
        for (const event of reply.events) this.event(event);
        return;
      case 'status': {
        if (!('status' in reply)) {
          for (const sale of [reply.sale, ...(reply.earlier ?? [])]) this.saleRecord(sale);
          return;
        }
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

  /** A sale looked up by tr or ref: a `sale` line, then a `payment` line for each payment on it. */
  private saleRecord({ payments, ...sale }: WireSaleRecord): void {
    this.line(humanLine('sale', sale));
    for (const payment of payments) this.line(humanLine('payment', { tr: sale.tr, ...payment }));
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
  const { values, given, positionals } = parseForSubcommands(argv, ALL_OPTIONS);
  if (values.help || positionals[0] === 'help') return 'help';

  const [name, ...rest] = positionals;
  if (name === undefined) throw new InputError('command', `is missing; one of ${COMMAND_NAMES}`);
  if (!isCommandName(name)) throw new InputError('command', `${JSON.stringify(name)} is not one of ${COMMAND_NAMES}`);
  for (const option of given) {
    if (!Object.hasOwn(COMMON_OPTIONS, option) && !Object.hasOwn(COMMAND_OPTIONS[name], option)) {
      throw new InputError(`--${option}`, `is not an option of ${name}`);
    }
  }

  const port = values.port ?? '';
  if (port.trim() === '') throw new InputError('--port', 'is missing; name the serial port, e.g. --port /dev/ttyUSB0');
  const options: Options = {
    port,
    baudRate: wholeNumber(values.baud ?? String(DEFAULT_SERIAL_BAUD_RATE), '--baud', 1, 4_000_000),
    json: values.json === true,
    timeoutMs: seconds(values.timeout ?? String(DEFAULT_REPLY_TIMEOUT_S), '--timeout') * 1000,
  };

  const expectArguments = (count: number, what: string): void => {
    if (rest.length > count) throw new InputError(what, `unexpected ${JSON.stringify(rest[count])}`);
  };
  switch (name) {
    case 'sale': {
      if (rest[0] === undefined) throw new InputError('amount', 'is missing, e.g. dakbox billing sale 250.00');
      expectArguments(1, 'amount');
      const amount = formatWireAmount(parseAmountInput(rest[0], 'amount'));
      const { ref, note, expires } = values;
      const request: Extract<ClientRequest, { op: 'sale' }> = {
        op: 'sale',
        amount,
        ...(ref === undefined ? {} : { ref }),
        ...(note === undefined ? {} : { note }),
        ...(expires === undefined ? {} : { expiresIn: wholeNumber(expires, '--expires', MIN_EXPIRES_IN, MAX_EXPIRES_IN) }),
      };
      return { command: { name, request, wait: values.wait === true }, options };
    }
    case 'cancel': {
      expectArguments(0, 'cancel');
      const { tr } = values;
      return { command: { name, request: tr === undefined ? { op: 'cancel' } : { op: 'cancel', tr } }, options };
    }
    case 'status': {
      expectArguments(0, name);
      const { tr, ref } = values;
      if (tr !== undefined && ref !== undefined) throw new InputError('--ref', 'give --tr or --ref, not both');
      const request: Extract<ClientRequest, { op: 'status' }> = { op: 'status', ...(tr === undefined ? {} : { tr }), ...(ref === undefined ? {} : { ref }) };
      return { command: { name, request }, options };
    }
    case 'ping':
      expectArguments(0, name);
      return { command: { name }, options };
    case 'events': {
      expectArguments(0, name);
      const { after } = values;
      if (after === undefined) throw new InputError('--after', 'is missing; the seq of the last event you handled, or 0');
      return { command: { name, after: wholeNumber(after, '--after', 0, Number.MAX_SAFE_INTEGER) }, options };
    }
    case 'listen': {
      expectArguments(0, name);
      const { count } = values;
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
