import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { remoteSettingsSchema, schemaError, type RemoteSettings } from '../core/config.js';
import { InputError, describeError } from '../core/errors.js';
import { tlsOptions } from '../core/link/mqtt-link.js';
import { formatWireAmount, parseWireAmount } from '../core/money.js';
import { DEVICE_ID_PATTERN } from '../core/text.js';
import { integer, parse, required } from './args.js';
import type { CommandIo } from './main.js';

/**
 * The operator's view of a fleet over MQTT, with the backend's broker
 * rights: who is online and how each device is doing (from the retained
 * `status` and `telemetry`), and remote settings (`config/set`) sent to
 * many devices with each device's `config/state` answer.
 *
 * One broker carries `dakbox/v1/{deviceId}/…`. A fleet of several brokers
 * is read on the central broker, where each edge broker's bridge puts its
 * devices' topics below `circles/{circle}/dakbox/v1/…`.
 */

export interface FleetIo extends CommandIo {
  /** The time reports' ages are measured against, and the waits; the system's by default. */
  clock?: Clock;
}

const PREFIX = 'dakbox/v1';
const CIRCLE_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;
/** The broker sends retained messages right after granting a subscription; this long without one means they are all in. */
const RETAINED_QUIET_MS = 500;
/** However busy the broker, reading the retained state ends after this long. */
const RETAINED_MAX_MS = 30_000;
const DEFAULT_STALE_S = 180;
const DEFAULT_ANSWER_TIMEOUT_S = 10;
const PUBLISH_BATCH = 100;

const CONNECTION_OPTIONS = {
  broker: { type: 'string' },
  circle: { type: 'string', multiple: true },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const CONNECTION_USAGE = `--broker URL [--circle NAME ...] [--ca FILE --cert FILE --key FILE | --username NAME --password-file FILE] [--json]`;

export const FLEET_STATUS_USAGE = `dakbox fleet status ${CONNECTION_USAGE} [--wait SECONDS] [--stale SECONDS]
  One line per device from its retained status and telemetry, then a summary.
  --circle NAME reads circles/NAME/dakbox/v1 on a central broker (--circle + for
  every circle); --wait listens that much longer for fresh reports; a report
  older than --stale (${DEFAULT_STALE_S}) from an online device counts as stale.`;

export const FLEET_CONFIG_USAGE = `dakbox fleet config set KEY=VALUE [KEY=VALUE ...] (--devices FILE | --all) ${CONNECTION_USAGE} [--timeout SECONDS]
  Sends remote settings to each device (FILE: one device id a line, # comments;
  --all: every device with a retained status) and reports each answer, or the
  silence after --timeout (${DEFAULT_ANSWER_TIMEOUT_S}). Exit 0 only when every device applied them.
  KEY: ${Object.keys(remoteSettingsSchema.shape).join(', ')}.`;

// ---------------------------------------------------------------- connecting

interface Connection {
  client: MqttClient;
  /** Topic roots read and written, e.g. `dakbox/v1` or `circles/+/dakbox/v1`. */
  roots: string[];
  /** Throws if the broker closed the connection while the command was using it: what it read or sent may be incomplete. */
  checkStillConnected(): void;
}

type ConnectionValues = { [K in keyof typeof CONNECTION_OPTIONS]?: (typeof CONNECTION_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof CONNECTION_OPTIONS)[K] extends { type: 'string' } ? string : boolean };

function topicRoots(circles: string[] | undefined): string[] {
  if (!circles?.length) return [PREFIX];
  for (const circle of circles) {
    if (circle !== '+' && !CIRCLE_PATTERN.test(circle)) throw new InputError('--circle', `"${circle}" is not a circle name (1–40 letters, digits, - _) or +`);
  }
  const unique = circles.includes('+') ? ['+'] : [...new Set(circles)];
  return unique.map((circle) => `circles/${circle}/${PREFIX}`);
}

function readableFile(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  if (!existsSync(path)) throw new InputError(flag, `${path} does not exist`);
  return path;
}

/** Checks the connection options; the connection itself is made only once every other argument has been checked. */
function connectionOptions(values: ConnectionValues): { url: string; roots: string[]; options: IClientOptions } {
  const url = required(values.broker, '--broker');
  if (!/^(mqtts?|wss?):\/\/[^/\s]+/.test(url)) throw new InputError('--broker', `"${url}" is not a broker URL like mqtts://broker.example.in:8885`);
  const roots = topicRoots(values.circle);
  const tls = { ca: readableFile(values.ca, '--ca'), cert: readableFile(values.cert, '--cert'), key: readableFile(values.key, '--key'), rejectUnauthorized: true };
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new InputError(tls.cert ? '--key' : '--cert', 'is required with the other (a client certificate needs its key)');
  const secure = url.startsWith('mqtts:') || url.startsWith('wss:');
  const tlsFlag = ['ca', 'cert', 'key'].find((flag) => tls[flag as 'ca' | 'cert' | 'key'] !== undefined);
  if (tlsFlag && !secure) throw new InputError(`--${tlsFlag}`, `needs a TLS broker URL (mqtts:// or wss://), not ${url}`);
  const passwordFile = readableFile(values['password-file'], '--password-file');
  if (passwordFile && !values.username) throw new InputError('--username', 'is required with --password-file');
  const options: IClientOptions = {
    // A client id of its own: the tool must never take over the backend's
    // sessions (or a device's), and keeps no session after it ends.
    clientId: `dakbox-fleet-${randomBytes(6).toString('hex')}`,
    clean: true,
    protocolVersion: 5,
    connectTimeout: 10_000,
    reconnectPeriod: 0,
    ...(values.username ? { username: values.username } : {}),
    ...(passwordFile ? { password: readFileSync(passwordFile, 'utf8').trim() } : {}),
    ...(secure ? tlsOptions(tls) : {}),
  };
  return { url, roots, options };
}

/** OpenSSL's messages end in blank lines: a refusal stays one line. */
function oneLine(err: unknown): string {
  return describeError(err).replace(/\s+/g, ' ').trim();
}

async function connect(url: string, roots: string[], options: IClientOptions): Promise<Connection> {
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(url, options);
  } catch (err) {
    throw new Error(`${url}: ${oneLine(err)}`);
  }
  // Each request is a small packet of its own: without this, Nagle's
  // algorithm holds the second back until the first is acknowledged.
  (client.stream as Partial<Socket>).setNoDelay?.(true);
  let lastError: Error | undefined;
  let closed = false;
  client.on('error', (err) => (lastError = err));
  client.on('close', () => (closed = true));
  return {
    client,
    roots,
    checkStillConnected: () => {
      if (closed) throw new Error(`${url}: the broker closed the connection${lastError ? ` (${oneLine(lastError)})` : ''}; the answer would be incomplete`);
    },
  };
}

// ------------------------------------------------------------ reading topics

/** A device where the fleet has it: its circle (on a central broker) and its id. */
export interface DeviceAddress {
  circle?: string;
  deviceId: string;
}

const TOPIC = /^(?:circles\/([^/]+)\/)?dakbox\/v1\/([^/]+)\/(status|telemetry|config\/state)$/;

function readTopic(topic: string): { address: DeviceAddress; kind: 'status' | 'telemetry' | 'config/state' } | undefined {
  const match = TOPIC.exec(topic);
  if (!match || !DEVICE_ID_PATTERN.test(match[2]!)) return undefined;
  const address: DeviceAddress = { deviceId: match[2]! };
  if (match[1] !== undefined) address.circle = match[1];
  return { address, kind: match[3] as 'status' | 'telemetry' | 'config/state' };
}

function addressKey(a: DeviceAddress): string {
  return `${a.circle ?? ''}/${a.deviceId}`;
}

function deviceRoot(a: DeviceAddress): string {
  return a.circle === undefined ? PREFIX : `circles/${a.circle}/${PREFIX}`;
}

function addressName(a: DeviceAddress): string {
  return a.circle === undefined ? a.deviceId : `${a.circle}/${a.deviceId}`;
}

/** Text from the broker shown on a terminal: nothing that could move the cursor or hide itself, and not too long. */
const shown = (max: number) =>
  z.string().transform((s) => {
    const clean = s.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '?');
    return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
  });
const count = z.number().int().min(0);

const statusSchema = z.object({ online: z.boolean(), fw: shown(20), bootAt: shown(40) });

/** The parts of `telemetry` (docs/contracts.md) the listing shows; the rest is passed over. */
const telemetrySchema = z.object({
  v: z.literal(1),
  at: shown(40),
  queueDepth: z.object({ announcements: count, outbox: count }),
  lastSale: z.object({ tr: shown(40), amount: shown(20), state: shown(20) }).nullable(),
  today: z.object({ count, total: shown(20) }),
  language: shown(10),
  rejected: z.object({ confirmations: count, collects: count, lastReason: shown(160).nullable() }),
  announcements: z.object({ givenUp: count }),
});

type DeviceStatus = z.output<typeof statusSchema>;
type Report = z.output<typeof telemetrySchema>;

const configStateSchema = z.object({ v: z.literal(1), settings: z.record(z.string(), z.unknown()), error: shown(300).optional(), at: shown(40) });
type ConfigState = z.output<typeof configStateSchema>;

function readJson<T>(payload: Buffer, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(payload.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

interface Heard {
  address: DeviceAddress;
  status?: DeviceStatus;
  report?: Report;
  /** Payloads that did not read as their topic's (a cleared or foreign message). */
  unreadable: string[];
}

/**
 * Subscribes to `kinds` below every root and keeps the latest of each per
 * device; resolves once the retained messages are in (RETAINED_QUIET_MS
 * without another), then listens `extraMs` longer.
 */
async function readFleet(
  connection: Connection,
  clock: Clock,
  kinds: ('status' | 'telemetry')[],
  extraMs: number,
  onConfigState?: (a: DeviceAddress, s: ConfigState | undefined) => void,
): Promise<Map<string, Heard>> {
  const { client, roots } = connection;
  const heard = new Map<string, Heard>();
  let lastRetained = clock.monotonic();
  client.on('message', (topic, payload, packet) => {
    const read = readTopic(topic);
    if (!read) return;
    if (read.kind === 'config/state') {
      onConfigState?.(read.address, readJson(payload, configStateSchema));
      return;
    }
    if (packet.retain) lastRetained = clock.monotonic();
    // An empty retained message clears the topic: a device taken out of service.
    if (payload.length === 0) return;
    const key = addressKey(read.address);
    const entry = heard.get(key) ?? { address: read.address, unreadable: [] };
    heard.set(key, entry);
    if (read.kind === 'status') {
      const status = readJson(payload, statusSchema);
      if (status) entry.status = status;
      else entry.unreadable.push('status');
    } else {
      const report = readJson(payload, telemetrySchema);
      if (report) entry.report = report;
      else entry.unreadable.push('telemetry');
    }
  });
  // At QoS 0 the broker writes a fleet's worth of retained state (and of
  // answers) straight to the connection. At QoS 1 mosquitto keeps all but its
  // in-flight window (20) in the client's queue and drops what is past
  // max_queued_messages (1000 in the shipped config). QoS 0 is dropped only
  // when that many packets wait unwritten on a connection too slow to take
  // them; a lost connection is reported (checkStillConnected).
  const filters = roots.flatMap((root) => [...kinds, ...(onConfigState ? ['config/state'] : [])].map((kind) => `${root}/+/${kind}`));
  const granted = await client.subscribeAsync(filters, { qos: 0 });
  const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
  if (refused.length) throw new Error(`the broker refused the subscriptions ${refused.join(', ')}: are these the backend's credentials?`);
  const started = clock.monotonic();
  lastRetained = started;
  while (clock.monotonic() - lastRetained < RETAINED_QUIET_MS && clock.monotonic() - started < RETAINED_MAX_MS) await sleep(clock, 50);
  if (extraMs > 0) await sleep(clock, extraMs);
  return heard;
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

// -------------------------------------------------------------------- status

export interface FleetDevice {
  circle?: string;
  deviceId: string;
  /** From the retained `status`: `online`, `offline`, or `unknown` when there is none. */
  link: 'online' | 'offline' | 'unknown';
  firmware: string | null;
  /** When the device's current (or, offline, its last) run started, by its own clock. */
  bootAt: string | null;
  /** The latest telemetry: when it was sampled, by the device's clock, and how long before now that is. */
  lastReport: { at: string; ageSeconds: number | null } | null;
  /** Online, but no report within the stale limit. */
  stale: boolean;
  language: string | null;
  queued: { announcements: number; outbox: number } | null;
  lastSale: { tr: string; amount: string; state: string } | null;
  today: { count: number; total: string } | null;
  rejected: { confirmations: number; collects: number; lastReason: string | null } | null;
  givenUp: number | null;
  unreadable: string[];
}

export interface FleetSummary {
  devices: number;
  online: number;
  offline: number;
  unknown: number;
  stale: number;
  queued: { announcements: number; outbox: number };
  rejected: { confirmations: number; collects: number };
  givenUp: number;
}

function fleetDevice(entry: Heard, now: number, staleSeconds: number): FleetDevice {
  const { status, report } = entry;
  const link = status ? (status.online ? 'online' : 'offline') : 'unknown';
  const sampled = report ? Date.parse(report.at) : NaN;
  const ageSeconds = Number.isNaN(sampled) ? null : Math.round((now - sampled) / 1000);
  const device: FleetDevice = {
    deviceId: entry.address.deviceId,
    link,
    firmware: status?.fw ?? null,
    bootAt: status?.bootAt ?? null,
    lastReport: report ? { at: report.at, ageSeconds } : null,
    stale: link === 'online' && (ageSeconds === null || ageSeconds > staleSeconds),
    language: report?.language ?? null,
    queued: report?.queueDepth ?? null,
    lastSale: report?.lastSale ?? null,
    today: report?.today ?? null,
    rejected: report?.rejected ?? null,
    givenUp: report?.announcements.givenUp ?? null,
    unreadable: [...new Set(entry.unreadable)].filter((kind) => (kind === 'status' ? !status : !report)),
  };
  if (entry.address.circle !== undefined) device.circle = entry.address.circle;
  return device;
}

function summarise(devices: FleetDevice[]): FleetSummary {
  const sum = (f: (d: FleetDevice) => number | undefined) => devices.reduce((total, d) => total + (f(d) ?? 0), 0);
  return {
    devices: devices.length,
    online: devices.filter((d) => d.link === 'online').length,
    offline: devices.filter((d) => d.link === 'offline').length,
    unknown: devices.filter((d) => d.link === 'unknown').length,
    stale: devices.filter((d) => d.stale).length,
    queued: { announcements: sum((d) => d.queued?.announcements), outbox: sum((d) => d.queued?.outbox) },
    rejected: { confirmations: sum((d) => d.rejected?.confirmations), collects: sum((d) => d.rejected?.collects) },
    givenUp: sum((d) => d.givenUp ?? undefined),
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function age(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 0) return ' (ahead of this clock)';
  if (seconds < 120) return ` (${seconds} s ago)`;
  if (seconds < 7200) return ` (${Math.round(seconds / 60)} min ago)`;
  if (seconds < 172_800) return ` (${Math.round(seconds / 3600)} h ago)`;
  return ` (${Math.round(seconds / 86_400)} days ago)`;
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function statusTable(devices: FleetDevice[], circles: boolean): string {
  const header = ['DEVICE', 'LINK', 'FW', 'LANG', 'BOOTED', 'LAST REPORT', 'QUEUED', 'LAST SALE', 'TODAY', 'REJECTED'];
  const rows = devices.map((d) => [
    circles ? addressName(d) : d.deviceId,
    d.link,
    d.firmware ?? '-',
    d.language ?? '-',
    d.bootAt ?? '-',
    d.lastReport ? `${d.lastReport.at}${age(d.lastReport.ageSeconds)}${d.stale ? ' STALE' : ''}` : d.stale ? 'none STALE' : 'none',
    d.queued ? `${d.queued.announcements} to say, ${d.queued.outbox} to send` : '-',
    d.lastSale ? `${d.lastSale.amount} ${d.lastSale.state} ${d.lastSale.tr}` : '-',
    d.today ? `${d.today.count} for ${d.today.total}` : '-',
    d.rejected
      ? `${plural(d.rejected.confirmations, 'payment')}, ${plural(d.rejected.collects, 'collect')}${d.rejected.lastReason ? `; last: ${d.rejected.lastReason}` : ''}${d.givenUp ? `; ${plural(d.givenUp, 'announcement')} given up` : ''}`
      : d.unreadable.length
        ? `unreadable ${d.unreadable.join(', ')}`
        : '-',
  ]);
  return table([header, ...rows]);
}

function summaryLine(s: FleetSummary, staleSeconds: number): string {
  const parts = [
    `${plural(s.devices, 'device')}: ${s.online} online, ${s.offline} offline${s.unknown ? `, ${s.unknown} with no status` : ''}`,
    `${s.stale} online without a report in ${staleSeconds} s`,
    `${plural(s.queued.outbox, 'message')} to send and ${plural(s.queued.announcements, 'announcement')} to say`,
    `${plural(s.rejected.confirmations, 'payment')} and ${plural(s.rejected.collects, 'collect')} rejected since their start`,
  ];
  if (s.givenUp) parts.push(`${plural(s.givenUp, 'announcement')} given up`);
  return parts.join('; ');
}

export async function fleetStatusCommand(argv: string[], io: FleetIo): Promise<number> {
  const { values } = parse(argv, { ...CONNECTION_OPTIONS, wait: { type: 'string' }, stale: { type: 'string' } });
  const waitSeconds = integer(values.wait, '--wait', 0, 3600) ?? 0;
  const staleSeconds = integer(values.stale, '--stale', 1, 30 * 86_400) ?? DEFAULT_STALE_S;
  const { url, roots, options } = connectionOptions(values);
  const connection = await connect(url, roots, options);
  try {
    const clock = io.clock ?? systemClock;
    const heard = await readFleet(connection, clock, ['status', 'telemetry'], waitSeconds * 1000);
    connection.checkStillConnected();
    const now = clock.now();
    const devices = [...heard.values()]
      .map((entry) => fleetDevice(entry, now, staleSeconds))
      .sort((a, b) => addressKey(a).localeCompare(addressKey(b)));
    const summary = summarise(devices);
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ devices, summary })}\n`);
    } else {
      if (devices.length) io.stdout.write(`${statusTable(devices, values.circle !== undefined)}\n`);
      io.stdout.write(`${summaryLine(summary, staleSeconds)}\n`);
    }
    return 0;
  } finally {
    await connection.client.endAsync(true);
  }
}

// ---------------------------------------------------------------- config set

/** How each remote setting is written on the command line; the schema then judges the value. */
const SETTING_KINDS = {
  language: 'text',
  volume: 'number',
  expirySeconds: 'number',
  resultSeconds: 'number',
  saleLimit: 'text',
  chimeOnQr: 'boolean',
  telemetrySeconds: 'number',
} as const satisfies Record<keyof RemoteSettings, 'text' | 'number' | 'boolean'>;

/** `volume=6 saleLimit=500.00` as the `config/set` payload, checked by the schema the device itself uses. */
export function parseAssignments(words: string[]): RemoteSettings {
  if (words.length === 0) throw new InputError('config set', `needs at least one KEY=VALUE (keys: ${Object.keys(SETTING_KINDS).join(', ')})`);
  const raw: Record<string, unknown> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new InputError(word, 'must be KEY=VALUE, e.g. volume=6');
    const key = word.slice(0, eq);
    const text = word.slice(eq + 1);
    if (!Object.hasOwn(SETTING_KINDS, key)) throw new InputError(key, `is not a remote setting (one of: ${Object.keys(SETTING_KINDS).join(', ')})`);
    if (Object.hasOwn(raw, key)) throw new InputError(key, 'is given twice');
    const kind = SETTING_KINDS[key as keyof RemoteSettings];
    // A value that does not read as its kind is passed on as text, for the schema to refuse by name.
    raw[key] = kind === 'number' && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : kind === 'boolean' && (text === 'true' || text === 'false') ? text === 'true' : text;
  }
  const result = remoteSettingsSchema.safeParse(raw);
  if (!result.success) throw schemaError('config set', result.error);
  const settings = result.data;
  // Sent as the device reports it back on config/state ("0500.00" is "500.00"), so its answer can be recognised.
  if (settings.saleLimit !== undefined) settings.saleLimit = formatWireAmount(parseWireAmount(settings.saleLimit));
  return settings;
}

/** A devices file: one device id a line; `#` starts a comment; blank lines are skipped. */
export function readDeviceList(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError('--devices', code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${code ?? describeError(err)})`);
  }
  const ids: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const id = line.replace(/#.*$/, '').trim();
    if (id === '') return;
    if (!DEVICE_ID_PATTERN.test(id)) throw new InputError('--devices', `${path} line ${i + 1}: "${id.slice(0, 40)}" is not a device id (1–20 letters, digits, - _)`);
    if (!ids.includes(id)) ids.push(id);
  });
  if (ids.length === 0) throw new InputError('--devices', `${path} lists no device`);
  return ids;
}

export interface ConfigOutcome {
  circle?: string;
  deviceId: string;
  /** applied; refused (the device's error); no-answer within the timeout; not-found under the circles given (nothing sent). */
  outcome: 'applied' | 'refused' | 'no-answer' | 'not-found';
  error?: string;
  /** The device's link from its retained status when the request went out. */
  link: 'online' | 'offline' | 'unknown';
}

/** An answer to this request: the device either reports the settings asked for, or says why it refused. A state that is neither is its report on connecting. */
function answers(state: ConfigState, wanted: RemoteSettings): 'applied' | 'refused' | undefined {
  if (state.error !== undefined) return 'refused';
  const asked = Object.entries(wanted) as [string, unknown][];
  return asked.every(([key, value]) => state.settings[key] === value) ? 'applied' : undefined;
}

export async function fleetConfigCommand(argv: string[], io: FleetIo): Promise<number> {
  const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, devices: { type: 'string' }, all: { type: 'boolean' }, timeout: { type: 'string' } }, true);
  const [action, ...words] = positionals;
  if (action !== 'set') throw new InputError('fleet config', action === undefined ? 'needs set KEY=VALUE ...' : `${action}: is not a subcommand (try: set)`);
  const settings = parseAssignments(words);
  if ((values.all === true) === (values.devices !== undefined)) throw new InputError(values.all ? '--all' : '--devices', values.all ? 'cannot be given with --devices' : 'or --all is required: which devices to set');
  const listed = values.devices !== undefined ? readDeviceList(values.devices) : undefined;
  const timeoutSeconds = integer(values.timeout, '--timeout', 1, 3600) ?? DEFAULT_ANSWER_TIMEOUT_S;
  const { url, roots, options } = connectionOptions(values);
  const clock = io.clock ?? systemClock;
  const connection = await connect(url, roots, options);
  try {
    const pending = new Map<string, { target: ConfigOutcome; sent: boolean }>();
    let settled: (() => void) | undefined;
    const heard = await readFleet(connection, clock, ['status'], 0, (address, state) => {
      const entry = pending.get(addressKey(address));
      if (!entry?.sent || entry.target.outcome !== 'no-answer' || !state) return;
      const outcome = answers(state, settings);
      if (!outcome) return;
      entry.target.outcome = outcome;
      if (state.error !== undefined) entry.target.error = state.error;
      if ([...pending.values()].every((p) => !p.sent || p.target.outcome !== 'no-answer')) settled?.();
    });
    const linkOf = (address: DeviceAddress): ConfigOutcome['link'] => {
      const status = heard.get(addressKey(address))?.status;
      return status ? (status.online ? 'online' : 'offline') : 'unknown';
    };
    const targets: DeviceAddress[] = [];
    const notFound: string[] = [];
    const known = [...heard.values()].filter((h) => h.status).map((h) => h.address);
    if (!listed) {
      targets.push(...known);
    } else if (roots.length === 1 && !roots[0]!.includes('+')) {
      // One place: a listed device is written to there, status or not.
      const circle = /^circles\/([^/]+)\//.exec(roots[0]!)?.[1];
      targets.push(...listed.map((deviceId) => (circle === undefined ? { deviceId } : { circle, deviceId })));
    } else {
      for (const id of listed) {
        const found = known.filter((a) => a.deviceId === id);
        if (found.length) targets.push(...found);
        else notFound.push(id);
      }
    }
    for (const address of targets) pending.set(addressKey(address), { target: { ...address, outcome: 'no-answer', link: linkOf(address) }, sent: false });
    const done = new Promise<void>((resolve) => (settled = resolve));
    const payload = JSON.stringify(settings);
    const requests = [...pending.values()];
    for (const entry of requests) entry.sent = true;
    // In batches, so that a fleet of thousands does not pile thousands of writes on the socket at once.
    for (let i = 0; i < requests.length; i += PUBLISH_BATCH) {
      await Promise.all(
        requests.slice(i, i + PUBLISH_BATCH).map((entry) => connection.client.publishAsync(`${deviceRoot(entry.target)}/${entry.target.deviceId}/config/set`, payload, { qos: 1 })),
      );
    }
    if (pending.size) {
      let timer: TimerHandle | undefined;
      await Promise.race([done, new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, timeoutSeconds * 1000)))]);
      clock.clearTimeout(timer);
    }
    connection.checkStillConnected();
    const outcomes = [...[...pending.values()].map((p) => p.target), ...notFound.map((deviceId): ConfigOutcome => ({ deviceId, outcome: 'not-found', link: 'unknown' }))];
    outcomes.sort((a, b) => addressKey(a).localeCompare(addressKey(b)));
    writeOutcomes(io, outcomes, settings, timeoutSeconds, values.json === true, values.circle !== undefined);
    return outcomes.length > 0 && outcomes.every((o) => o.outcome === 'applied') ? 0 : 1;
  } finally {
    await connection.client.endAsync(true);
  }
}

function writeOutcomes(io: FleetIo, outcomes: ConfigOutcome[], settings: RemoteSettings, timeoutSeconds: number, json: boolean, circles: boolean): void {
  const tally = (outcome: ConfigOutcome['outcome']) => outcomes.filter((o) => o.outcome === outcome).length;
  const summary = { devices: outcomes.length, applied: tally('applied'), refused: tally('refused'), noAnswer: tally('no-answer'), notFound: tally('not-found') };
  if (json) {
    io.stdout.write(`${JSON.stringify({ settings, devices: outcomes, summary })}\n`);
    return;
  }
  const explain = (o: ConfigOutcome): string => {
    switch (o.outcome) {
      case 'applied':
        return 'applied';
      case 'refused':
        return `refused: ${o.error ?? ''}`;
      case 'no-answer':
        return o.link === 'offline'
          ? `no answer in ${timeoutSeconds} s: offline; its session at the broker keeps the request until it connects`
          : o.link === 'online'
            ? `no answer in ${timeoutSeconds} s, though its status says online`
            : `no answer in ${timeoutSeconds} s: no status from this device at the broker`;
      case 'not-found':
        return 'not found: no status from this device under the circles given; nothing sent';
    }
  };
  if (outcomes.length) io.stdout.write(`${table(outcomes.map((o) => [circles ? addressName(o) : o.deviceId, explain(o)]))}\n`);
  io.stdout.write(
    `${plural(summary.devices, 'device')}: ${summary.applied} applied, ${summary.refused} refused, ${summary.noAnswer} no answer${summary.notFound ? `, ${summary.notFound} not found` : ''} (${Object.entries(settings)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ')})\n`,
  );
}
