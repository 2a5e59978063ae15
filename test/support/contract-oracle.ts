/**
 * What docs/contracts.md and docs/billing-protocol.md say the device must do
 * with one inbound message, written out again from the documents rather than
 * from the device's code, so a test can hold the two against each other.
 * Where the documents leave a detail open, the rule here says so and follows
 * the firmware's stated choice.
 */
import { verify, type KeyObject } from 'node:crypto';
import { hiddenCharacter } from '../../core/text.js';

export const MAX_MESSAGE_BYTES = 4096;
export const MAX_LINE_BYTES = 1024;

export const REJECTION_CODES = ['payload-too-large', 'malformed-json', 'unsupported-version', 'invalid-field', 'wrong-device', 'bad-signature', 'unknown-tr', 'bad-paid-at', 'paid-before-shown'] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

const DEVICE_ID = /^[A-Za-z0-9_-]{1,20}$/;
const TR = /^[A-Za-z0-9_-]{1,35}$/;
const UTR = /^[A-Za-z0-9]{1,35}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const COLLECT_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;
export const LANGUAGE_CODES = ['en', 'hi', 'bn', 'kn'] as const;

type Json = Record<string, unknown>;

function codePoints(text: string): number {
  return [...text].length;
}

/**
 * An amount on the wire: digits, a point, exactly two decimals, at most nine
 * digits of rupees. Leading zeros are not forbidden by the contract; the
 * firmware reads "01.00" as one rupee and does not count the zeros.
 */
export function wireAmountPaise(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+)\.(\d\d)$/.exec(value);
  if (!m) return undefined;
  const rupees = (m[1] as string).replace(/^0+(?=\d)/, '');
  if (rupees.length > 9) return undefined;
  return Number(rupees) * 100 + Number(m[2]);
}

/** A date, a time with seconds and an offset that together name one real instant. */
export function realInstant(text: string): boolean {
  const m = TIMESTAMP.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  if (day < 1 || day > daysInMonth) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}

function readObject(payload: Buffer): Json | 'too-large' | 'not-object' {
  if (payload.length > MAX_MESSAGE_BYTES) return 'too-large';
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'not-object';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not-object';
  return value as Json;
}

/** The text the notifier signs (docs/contracts.md, "The signed text"). */
export function contractSignedText(f: { deviceId: string; tr: string; utr: string; amount: string; status: string; paidAt: string }): Buffer {
  return Buffer.from(['dakbox-payment-v1', f.deviceId, f.tr, f.utr, f.amount, f.status, f.paidAt].join('\n'), 'utf8');
}

export type PaymentVerdict =
  | { outcome: 'announce'; tr: string; utr: string; amount: number; status: 'SUCCESS' | 'FAILED' }
  | { outcome: 'duplicate'; tr: string; utr: string }
  | { outcome: 'reject'; code: RejectionCode };

export interface PaymentWorld {
  deviceId: string;
  keys: readonly KeyObject[];
  /** When the device showed the QR with this reference (epoch ms), or undefined if it never issued it. */
  shownAt(tr: string): number | undefined;
  accepted(utr: string): boolean;
}

/** "When a confirmation is trusted": shape, this device, signature, issued here, not seen before. */
export function judgePayment(payload: Buffer, world: PaymentWorld): PaymentVerdict {
  const body = readObject(payload);
  if (body === 'too-large') return { outcome: 'reject', code: 'payload-too-large' };
  if (body === 'not-object') return { outcome: 'reject', code: 'malformed-json' };
  if (body.v !== 1) return { outcome: 'reject', code: 'unsupported-version' };
  const invalid = { outcome: 'reject', code: 'invalid-field' } as const;
  const fields: Record<string, string> = {};
  for (const key of ['deviceId', 'tr', 'utr', 'amount', 'status', 'paidAt', 'sig']) {
    const value = body[key];
    if (typeof value !== 'string' || /[\n\r]/.test(value)) return invalid;
    fields[key] = value;
  }
  const f = fields as { deviceId: string; tr: string; utr: string; amount: string; status: string; paidAt: string; sig: string };
  if (!DEVICE_ID.test(f.deviceId) || !TR.test(f.tr) || !UTR.test(f.utr)) return invalid;
  const amount = wireAmountPaise(f.amount);
  if (amount === undefined) return invalid;
  if (f.status !== 'SUCCESS' && f.status !== 'FAILED') return invalid;
  if (f.status === 'SUCCESS' && amount === 0) return invalid;
  if (body.payer !== undefined && (typeof body.payer !== 'string' || /[\n\r]/.test(body.payer) || codePoints(body.payer) > 100)) return invalid;
  if (!BASE64.test(f.sig)) return invalid;
  if (!realInstant(f.paidAt)) return { outcome: 'reject', code: 'bad-paid-at' };
  if (f.deviceId !== world.deviceId) return { outcome: 'reject', code: 'wrong-device' };
  const signature = Buffer.from(f.sig, 'base64');
  const data = contractSignedText(f);
  if (signature.length !== 64 || !world.keys.some((key) => verify(null, data, key, signature))) return { outcome: 'reject', code: 'bad-signature' };
  const shownAt = world.shownAt(f.tr);
  if (shownAt === undefined) return { outcome: 'reject', code: 'unknown-tr' };
  // The contract's clock skew: a payment dated more than five minutes before its QR was shown is not for it.
  if (Date.parse(f.paidAt) < shownAt - 5 * 60 * 1000) return { outcome: 'reject', code: 'paid-before-shown' };
  if (world.accepted(f.utr)) return { outcome: 'duplicate', tr: f.tr, utr: f.utr };
  return { outcome: 'announce', tr: f.tr, utr: f.utr, amount, status: f.status };
}

export type CollectVerdict =
  | { outcome: 'refuse' }
  | { outcome: 'repeat'; id: string }
  | { outcome: 'show'; id: string; amount: number; note?: string; ref?: string; lifetime: number };

export interface CollectWorld {
  saleLimit: number;
  expirySeconds: number;
  known(id: string): boolean;
}

/** Shown text: not blank, at most `max` characters, nothing invisible or direction-changing. */
function shownText(text: string, max: number): boolean {
  return text.trim() !== '' && codePoints(text) <= max && hiddenCharacter(text) === undefined;
}

/**
 * `collect`. The firmware reads the message's form first (a malformed one is
 * refused even with a known id), then looks the id up (a known id shows
 * nothing new, whatever else it carries), then checks the values against
 * its settings.
 */
export function judgeCollect(payload: Buffer, world: CollectWorld): CollectVerdict {
  const body = readObject(payload);
  const refuse = { outcome: 'refuse' } as const;
  if (typeof body === 'string') return refuse;
  if (body.v !== 1) return refuse;
  if (typeof body.id !== 'string' || !COLLECT_ID.test(body.id)) return refuse;
  const amount = wireAmountPaise(body.amount);
  if (amount === undefined) return refuse;
  if (body.note !== undefined && typeof body.note !== 'string') return refuse;
  if (body.ref !== undefined && typeof body.ref !== 'string') return refuse;
  if (body.expiresIn !== undefined && typeof body.expiresIn !== 'number') return refuse;
  if (world.known(body.id)) return { outcome: 'repeat', id: body.id };
  if (amount <= 0 || amount > world.saleLimit) return refuse;
  const note = body.note;
  if (note !== undefined && note !== '' && !shownText(note, 50)) return refuse;
  const ref = body.ref;
  if (ref !== undefined && (ref.length > 64 || !PRINTABLE_ASCII.test(ref))) return refuse;
  const lifetime = body.expiresIn ?? world.expirySeconds;
  if (!Number.isInteger(lifetime) || lifetime < 30 || lifetime > 3600) return refuse;
  return { outcome: 'show', id: body.id, amount, lifetime, ...(note ? { note } : {}), ...(ref !== undefined ? { ref } : {}) };
}

export interface RemoteChange {
  language?: (typeof LANGUAGE_CODES)[number];
  volume?: number;
  expirySeconds?: number;
  resultSeconds?: number;
  saleLimit?: string;
  chimeOnQr?: boolean;
  telemetrySeconds?: number;
}

export type ConfigVerdict = { outcome: 'apply'; change: RemoteChange } | { outcome: 'refuse' };

const wholeIn = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const REMOTE: Record<keyof RemoteChange, (v: unknown) => boolean> = {
  language: (v) => typeof v === 'string' && (LANGUAGE_CODES as readonly string[]).includes(v),
  volume: wholeIn(0, 10),
  expirySeconds: wholeIn(30, 3600),
  resultSeconds: wholeIn(1, 120),
  saleLimit: (v) => (wireAmountPaise(v) ?? 0) > 0,
  chimeOnQr: (v) => typeof v === 'boolean',
  telemetrySeconds: wholeIn(5, 3600),
};

/** `config/set`: strict; one unknown key or one bad value refuses the whole message. */
export function judgeConfigSet(payload: Buffer): ConfigVerdict {
  const body = readObject(payload);
  if (typeof body === 'string') return { outcome: 'refuse' };
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(REMOTE, key) || !REMOTE[key as keyof RemoteChange](body[key])) return { outcome: 'refuse' };
  }
  return { outcome: 'apply', change: body };
}

/** Bytes the billing link treats as line noise at either end of a line. */
function isPadding(byte: number): boolean {
  return byte <= 0x20 || byte === 0x7f || byte === 0xff;
}

export type LineVerdict =
  | { reply: 'none' }
  | { reply: 'refuse'; code: 'BAD_FRAME' | 'FRAME_TOO_LONG' | 'BAD_JSON' | 'UNKNOWN_OP' | 'BAD_FIELD'; id: string | number | null; field?: string }
  | { reply: 'carry-out'; id: string | number; op: 'sale' | 'cancel' | 'status' | 'ping' | 'events'; tr?: string; ref?: string; amount?: number };

const OPS = { sale: ['amount', 'ref', 'note', 'expiresIn'], cancel: ['tr'], status: ['tr', 'ref'], ping: [], events: ['after', 'limit'] } as const;
/** Events in one reply to `events`, at most. */
const EVENTS_PER_REPLY = 20;

/** Splits bytes as the billing PC's lines: every `\n` ends one. A last piece without `\n` is not a line yet. */
export function splitLines(bytes: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
    lines.push(bytes.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, rest: bytes.subarray(start) };
}

/** One line from the billing PC (docs/billing-protocol.md): what the device must answer. */
export function judgeLine(raw: Buffer, saleLimit: number): LineVerdict {
  const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, -1) : raw;
  if (line.length > MAX_LINE_BYTES) return { reply: 'refuse', code: 'FRAME_TOO_LONG', id: null };
  let start = 0;
  let end = line.length;
  while (start < end && isPadding(line[start] as number)) start++;
  while (end > start && isPadding(line[end - 1] as number)) end--;
  if (start === end) return { reply: 'none' };
  const body = line.subarray(start, end);
  if (body.some((b) => (b < 0x20 && b !== 0x09) || b === 0x7f || b === 0xff)) return { reply: 'refuse', code: 'BAD_FRAME', id: null };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { reply: 'refuse', code: 'BAD_FRAME', id: null };
  }
  if (!text.startsWith('{')) return { reply: 'refuse', code: 'BAD_FRAME', id: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reply: 'refuse', code: 'BAD_JSON', id: null };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reply: 'refuse', code: 'BAD_JSON', id: null };
  const v = value as Json;
  const id = v.id;
  const idOk =
    (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) ||
    (typeof id === 'string' && id.length >= 1 && id.length <= 64 && hiddenCharacter(id) === undefined);
  if (!idOk) return { reply: 'refuse', code: 'BAD_FIELD', id: null, field: 'id' };
  const rid = id;
  const bad = (field: string) => ({ reply: 'refuse', code: 'BAD_FIELD', id: rid, field }) as const;
  if (typeof v.op !== 'string') return bad('op');
  if (!Object.hasOwn(OPS, v.op)) return { reply: 'refuse', code: 'UNKNOWN_OP', id: rid };
  const op = v.op as keyof typeof OPS;
  if (v.v !== undefined && v.v !== 1) return bad('v');
  for (const key of Object.keys(v)) if (!['id', 'op', 'v', ...OPS[op]].includes(key)) return bad(key.slice(0, 32));
  const given = (x: unknown) => x !== undefined && x !== null && x !== '';
  switch (op) {
    case 'sale': {
      if (given(v.ref) && (typeof v.ref !== 'string' || v.ref.length > 64 || !PRINTABLE_ASCII.test(v.ref))) return bad('ref');
      if (given(v.note) && (typeof v.note !== 'string' || !shownText(v.note, 50))) return bad('note');
      if (v.expiresIn !== undefined && v.expiresIn !== null && !wholeIn(30, 3600)(v.expiresIn)) return bad('expiresIn');
      const amount = wireAmountPaise(v.amount);
      if (amount === undefined || amount <= 0 || amount > saleLimit) return bad('amount');
      return { reply: 'carry-out', id: rid, op, amount };
    }
    case 'cancel':
      if (given(v.tr) && (typeof v.tr !== 'string' || !TR.test(v.tr))) return bad('tr');
      return { reply: 'carry-out', id: rid, op, ...(given(v.tr) ? { tr: v.tr as string } : {}) };
    case 'status': {
      if (given(v.tr) && (typeof v.tr !== 'string' || !TR.test(v.tr))) return bad('tr');
      if (given(v.ref) && (typeof v.ref !== 'string' || v.ref.length > 64 || !PRINTABLE_ASCII.test(v.ref))) return bad('ref');
      if (given(v.tr) && given(v.ref)) return bad('ref');
      return { reply: 'carry-out', id: rid, op, ...(given(v.tr) ? { tr: v.tr as string } : {}), ...(given(v.ref) ? { ref: v.ref as string } : {}) };
    }
    case 'events': {
      if (typeof v.after !== 'number' || !Number.isSafeInteger(v.after) || v.after < 0) return bad('after');
      if (v.limit !== undefined && v.limit !== null && !wholeIn(1, EVENTS_PER_REPLY)(v.limit)) return bad('limit');
      return { reply: 'carry-out', id: rid, op };
    }
    case 'ping':
      return { reply: 'carry-out', id: rid, op };
  }
}
