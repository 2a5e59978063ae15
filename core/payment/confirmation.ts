import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { formatIst } from '../clock.js';
import { readJsonObject } from '../json-message.js';
import { DEVICE_ID_PATTERN } from '../text.js';
import { parseWireAmount, type Paise } from '../money.js';
import { TR_PATTERN } from '../sale/dynamic-qr.js';

/**
 * A payment confirmation from the backend, as docs/contracts.md fixes it. Nothing in
 * it is trusted until `checkConfirmation` has verified the Ed25519 signature
 * with a notifier key from the device's own config, the device id and the
 * transaction reference.
 */
export interface Confirmation {
  v: 1;
  deviceId: string;
  tr: string;
  utr: string;
  amount: Paise;
  /** The amount exactly as sent, which is what the signature covers. */
  amountText: string;
  status: 'SUCCESS' | 'FAILED';
  payer?: string;
  /** As sent, which is what the signature covers. */
  paidAt: string;
  /** The instant `paidAt` names, in epoch milliseconds. */
  paidAtMs: number;
  sig: string;
}

/** Why a confirmation was refused. The code is stable for the backend; the detail is for people. */
export type RejectionCode =
  | 'payload-too-large'
  | 'malformed-json'
  | 'unsupported-version'
  | 'invalid-field'
  | 'wrong-device'
  | 'bad-signature'
  | 'unknown-tr'
  | 'bad-paid-at'
  | 'paid-before-shown';

export class Rejection extends Error {
  override readonly name = 'Rejection';
  constructor(
    readonly code: RejectionCode,
    readonly detail: string,
    /** Whatever could be read of the message, to label the receipt. */
    readonly tr?: string,
    readonly utr?: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** Confirmations are a few hundred bytes; anything much larger is refused before parsing. */
export const MAX_CONFIRMATION_BYTES = 4096;

const SIGNATURE_DOMAIN = 'dakbox-payment-v1';
const UTR_PATTERN = /^[A-Za-z0-9]{1,35}$/;
// ISO-8601 date-time with seconds, an optional fraction and an explicit offset or Z.
const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
/** Offsets in use on Earth run from -12:00 to +14:00. */
const MAX_OFFSET_MINUTES = 14 * 60;

/**
 * How far the bank's clock and this device's may disagree. A payment dated
 * more than this before its QR was shown cannot be for that QR: it is an old
 * confirmation replayed, or one for another sale. Devices and banks keep
 * network time, normally within seconds; five minutes leaves room for a
 * device whose clock has drifted between syncs, while a genuine payment
 * takes at least the seconds a customer needs to scan and pay.
 */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * The instant an ISO-8601 timestamp names, in epoch milliseconds, or
 * undefined unless it is a real calendar date and time: with seconds and an
 * explicit offset, and written exactly as that instant would be (no 30
 * February, no 24:00, no 61st minute, no offset beyond ±14:00).
 */
export function parseInstant(text: string): number | undefined {
  const m = TIMESTAMP_PATTERN.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = Number(((m[7] ?? '') + '000').slice(0, 3));
  const offset = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  if (Number(m[10] ?? 0) > 59 || Math.abs(offset) > MAX_OFFSET_MINUTES) return undefined;
  const wall = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years below 100 as 19xx.
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, fraction);
  // Round trip: a field out of range has rolled over into the next one.
  const same =
    wall.getUTCFullYear() === year &&
    wall.getUTCMonth() === month - 1 &&
    wall.getUTCDate() === day &&
    wall.getUTCHours() === hour &&
    wall.getUTCMinutes() === minute &&
    wall.getUTCSeconds() === second;
  return same ? wall.getTime() - offset * 60_000 : undefined;
}

/** The exact bytes the notifier signs. Fields may not contain a newline, so the layout is unambiguous. */
export function signedText(c: { deviceId: string; tr: string; utr: string; amountText: string; status: string; paidAt: string }): Buffer {
  return Buffer.from([SIGNATURE_DOMAIN, c.deviceId, c.tr, c.utr, c.amountText, c.status, c.paidAt].join('\n'), 'utf8');
}

/** Signs a confirmation as the backend's notifier does (used by the simulator and tests). */
export function signConfirmation(
  fields: { deviceId: string; tr: string; utr: string; amount: string; status: 'SUCCESS' | 'FAILED'; paidAt: string; payer?: string },
  privateKey: KeyObject,
): Record<string, unknown> {
  const sig = sign(null, signedText({ ...fields, amountText: fields.amount }), privateKey).toString('base64');
  const message: Record<string, unknown> = {
    v: 1,
    deviceId: fields.deviceId,
    tr: fields.tr,
    utr: fields.utr,
    amount: fields.amount,
    status: fields.status,
    paidAt: fields.paidAt,
    sig,
  };
  if (fields.payer !== undefined) message.payer = fields.payer;
  return message;
}

function text(body: Record<string, unknown>, field: string, pattern?: RegExp, optional = false): string | undefined {
  const value = body[field];
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string') throw new Rejection('invalid-field', `${field} must be a string`, str(body.tr), str(body.utr));
  if (value.includes('\n') || value.includes('\r')) throw new Rejection('invalid-field', `${field} contains a newline`, str(body.tr), str(body.utr));
  if (pattern && !pattern.test(value)) throw new Rejection('invalid-field', `${field} is not in the expected form`, str(body.tr), str(body.utr));
  return value;
}

function str(value: unknown): string | undefined {
  // Only well-formed identifiers are echoed back on a receipt.
  return typeof value === 'string' && value.length <= 35 && /^[A-Za-z0-9_-]+$/.test(value) ? value : undefined;
}

/** Parses the payload's shape. Throws Rejection; does not look at the signature. */
export function parseConfirmation(payload: Buffer): Confirmation {
  const read = readJsonObject(payload, MAX_CONFIRMATION_BYTES);
  if (!read.ok) {
    if (read.problem === 'too-large') throw new Rejection('payload-too-large', `${payload.length} bytes; a confirmation is at most ${MAX_CONFIRMATION_BYTES}`);
    throw new Rejection('malformed-json', read.problem === 'not-json' ? 'the payload is not JSON' : 'the payload is not a JSON object');
  }
  const b = read.body;
  if (b.v !== 1) throw new Rejection('unsupported-version', `v is ${JSON.stringify(b.v) ?? 'missing'}; this device understands v 1`, str(b.tr), str(b.utr));
  const deviceId = text(b, 'deviceId', DEVICE_ID_PATTERN) as string;
  const tr = text(b, 'tr', TR_PATTERN) as string;
  const utr = text(b, 'utr', UTR_PATTERN) as string;
  const amountText = text(b, 'amount') as string;
  let amount: Paise;
  try {
    amount = parseWireAmount(amountText);
  } catch {
    throw new Rejection('invalid-field', 'amount must have exactly two decimals, like "250.00"', tr, utr);
  }
  const status = text(b, 'status');
  if (status !== 'SUCCESS' && status !== 'FAILED') throw new Rejection('invalid-field', 'status must be SUCCESS or FAILED', tr, utr);
  if (status === 'SUCCESS' && amount <= 0) throw new Rejection('invalid-field', 'a SUCCESS must credit more than zero', tr, utr);
  const paidAt = text(b, 'paidAt') as string;
  // At most 100 characters as the contract counts them: code points, so an astral character is one, not two.
  const payer = text(b, 'payer', /^[^\n\r]{0,100}$/u, true);
  const sig = text(b, 'sig', /^[A-Za-z0-9+/]+={0,2}$/) as string;
  // Last of the shape checks: every other field is in its form, only the date is not real.
  const paidAtMs = parseInstant(paidAt);
  if (paidAtMs === undefined) {
    throw new Rejection('bad-paid-at', 'paidAt must be a real date and time with seconds and an offset, like "2026-01-15T10:01:07+05:30"', tr, utr);
  }
  const c: Confirmation = { v: 1, deviceId, tr, utr, amount, amountText, status, paidAt, paidAtMs, sig };
  if (payer !== undefined) c.payer = payer;
  return c;
}

/** True if one of the notifier keys signed exactly these fields. */
export function signatureValid(c: Confirmation, keys: readonly KeyObject[]): boolean {
  const signature = Buffer.from(c.sig, 'base64');
  if (signature.length !== 64) return false;
  const data = signedText(c);
  return keys.some((key) => verify(null, data, key, signature));
}

/**
 * All checks the contract (docs/contracts.md) requires, in an order that reports the most useful
 * reason: shape, then this device, then the signature, then that the
 * reference was issued here, then that it was paid no earlier than its QR
 * was shown (less CLOCK_SKEW_MS). Duplicates are the ledger's business.
 */
export function checkConfirmation(
  payload: Buffer,
  ctx: {
    deviceId: string;
    keys: readonly KeyObject[];
    /** When this device's ledger showed the QR with this reference; undefined if it never issued it. */
    shownAt: (tr: string) => number | undefined;
  },
): Confirmation {
  const c = parseConfirmation(payload);
  if (c.deviceId !== ctx.deviceId) throw new Rejection('wrong-device', `addressed to ${c.deviceId}, this is ${ctx.deviceId}`, c.tr, c.utr);
  if (!signatureValid(c, ctx.keys)) throw new Rejection('bad-signature', 'no notifier key in this device\'s config verifies the signature', c.tr, c.utr);
  const shownAt = ctx.shownAt(c.tr);
  if (shownAt === undefined) throw new Rejection('unknown-tr', `${c.tr} was not issued by this device`, c.tr, c.utr);
  if (c.paidAtMs < shownAt - CLOCK_SKEW_MS) {
    throw new Rejection('paid-before-shown', `paid at ${c.paidAt}, but its QR was shown at ${formatIst(shownAt)}`, c.tr, c.utr);
  }
  return c;
}

export function digest(payload: Buffer): string {
  return createHash('sha256').update(payload).digest('hex');
}

/** Shows the payer to the clerk without revealing the whole address: "ra****@okaxis". */
export function maskPayer(payer: string | undefined): string | undefined {
  if (!payer) return undefined;
  const at = payer.indexOf('@');
  const name = at >= 0 ? payer.slice(0, at) : payer;
  const domain = at >= 0 ? payer.slice(at) : '';
  const visible = [...name].slice(0, Math.min(2, Math.max(0, [...name].length - 2))).join('');
  return `${visible}****${domain}`.slice(0, 40);
}
