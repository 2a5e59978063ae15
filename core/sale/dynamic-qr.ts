import { createSign, createVerify, type KeyObject } from 'node:crypto';
import { InputError } from '../errors.js';
import { checkShownText } from '../text.js';
import { formatWireAmount, parseWireAmount, type Paise } from '../money.js';
import { formatIst } from '../clock.js';

/**
 * A dynamic UPI QR for one sale, per the NPCI UPI linking specification as
 * docs/contracts.md fixes it. The URI is built once, recorded in the ledger, and
 * drawn; the QR on the glass must decode to exactly this string.
 */
export interface DynamicQr {
  uri: string;
  fields: UpiFields;
}

export interface UpiFields {
  /** Payee VPA, "counter01@postbank". */
  pa: string;
  /** Payee name, ≤ 99 characters. */
  pn: string;
  /** Merchant category code; 9402 is postal services. */
  mc: string;
  /** Transaction reference, unique per device for ever. */
  tr: string;
  /** Note shown in the payer's app, ≤ 50 characters. */
  tn?: string;
  am: Paise;
  /** Epoch ms the QR was made. */
  shownAt: number;
  /** Epoch ms the QR stops being valid. */
  expiresAt: number;
  /** NPCI org id; required with a signature. */
  orgid?: string;
  /** 15 = dynamic QR, 16 = signed dynamic QR. */
  mode: '15' | '16';
}

export const VPA_PATTERN = /^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$/;
export const TR_PATTERN = /^[A-Za-z0-9_-]{1,35}$/;
export const MAX_PN = 99;
/** The longest note (`tn`) a payer's app shows. */
export const MAX_TN = 50;
const ORGID_PATTERN = /^[A-Za-z0-9]{1,20}$/;
const MCC_PATTERN = /^\d{4}$/;

export interface QrRequest {
  vpa: string;
  payeeName: string;
  mcc: string;
  tr: string;
  note?: string;
  amount: Paise;
  shownAt: number;
  expiresAt: number;
  /** With a key the QR is mode 16 and carries `orgid` and `sign`. */
  signing?: { key: KeyObject; orgId: string };
}

export function checkVpa(vpa: unknown, field = 'vpa'): string {
  if (typeof vpa !== 'string' || vpa === '') throw new InputError(field, 'is missing');
  if (!VPA_PATTERN.test(vpa)) {
    throw new InputError(field, `${JSON.stringify(vpa)} is not a UPI address like "counter01@postbank" (one @; letters, digits, . - _)`);
  }
  return vpa;
}

export function checkPayeeName(name: unknown, field = 'payee name'): string {
  if (name === undefined || name === '') throw new InputError(field, 'is missing');
  return checkShownText(name, field, MAX_PN);
}

export function checkNote(note: unknown, field = 'note'): string | undefined {
  if (note === undefined || note === '') return undefined;
  return checkShownText(note, field, MAX_TN);
}

export function checkTr(tr: unknown, field = 'tr'): string {
  if (typeof tr !== 'string' || !TR_PATTERN.test(tr)) {
    throw new InputError(field, 'must be 1–35 letters, digits, - or _');
  }
  return tr;
}

export function checkMcc(mcc: unknown, field = 'mcc'): string {
  if (typeof mcc !== 'string' || !MCC_PATTERN.test(mcc)) throw new InputError(field, 'must be a four-digit merchant category code');
  return mcc;
}

export function checkOrgId(orgId: unknown, field = 'orgId'): string {
  if (typeof orgId !== 'string' || !ORGID_PATTERN.test(orgId)) throw new InputError(field, 'must be 1–20 letters or digits');
  return orgId;
}

/** Builds the URI, validating every field. Throws InputError naming the bad field. */
export function buildDynamicQr(request: QrRequest): DynamicQr {
  const fields: UpiFields = {
    pa: checkVpa(request.vpa),
    pn: checkPayeeName(request.payeeName),
    mc: checkMcc(request.mcc),
    tr: checkTr(request.tr),
    am: request.amount,
    shownAt: request.shownAt,
    expiresAt: request.expiresAt,
    mode: request.signing ? '16' : '15',
  };
  const tn = checkNote(request.note);
  if (tn !== undefined) fields.tn = tn;
  if (request.amount <= 0) throw new InputError('amount', 'must be more than zero');
  if (!(request.expiresAt > request.shownAt)) throw new InputError('expiry', 'must be after the time the QR is shown');
  if (request.signing) fields.orgid = checkOrgId(request.signing.orgId);

  const unsigned = serialise(fields);
  if (!request.signing) return { uri: unsigned, fields };
  const signature = createSign('sha256').update(unsigned, 'utf8').sign(request.signing.key).toString('base64');
  return { uri: `${unsigned}&sign=${encodeComponent(signature)}`, fields };
}

function serialise(f: UpiFields): string {
  const params: [string, string][] = [
    ['ver', '01'],
    ['mode', f.mode],
    ['pa', f.pa],
    ['pn', f.pn],
    ['mc', f.mc],
    ['tr', f.tr],
  ];
  if (f.tn !== undefined) params.push(['tn', f.tn]);
  params.push(
    ['am', formatWireAmount(f.am)],
    ['cu', 'INR'],
    ['qrMedium', '03'],
    ['QRts', formatIst(f.shownAt)],
    ['QRexpire', formatIst(f.expiresAt)],
  );
  if (f.orgid !== undefined) params.push(['orgid', f.orgid]);
  return `upi://pay?${params.map(([k, v]) => `${k}=${encodeComponent(v)}`).join('&')}`;
}

/**
 * Percent-encodes everything but RFC 3986 unreserved characters, `@` (VPAs
 * read better and every UPI app accepts it) and `:` (timestamps). Spaces
 * become %20 and the `+` of "+05:30" becomes %2B, because some query parsers
 * read a bare `+` as a space.
 */
function encodeComponent(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~@:]/.test(ch)) out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface ParsedUpiUri {
  params: Map<string, string>;
  amount?: Paise;
  /** The part a mode-16 signature covers: everything before `&sign=`. */
  signedPart?: string;
  signature?: Buffer;
}

/**
 * Parses a `upi://pay?` URI back into its parameters. Used by tests, by the
 * field engineer's tools and to verify mode-16 signatures.
 */
export function parseUpiUri(uri: string): ParsedUpiUri {
  if (!uri.startsWith('upi://pay?')) throw new InputError('uri', 'does not start with upi://pay?');
  const query = uri.slice('upi://pay?'.length);
  const params = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InputError('uri', `parameter ${JSON.stringify(pair)} has no name or value`);
    const key = pair.slice(0, eq);
    if (params.has(key)) throw new InputError('uri', `parameter ${key} appears twice`);
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(eq + 1));
    } catch {
      throw new InputError('uri', `parameter ${key} is not valid percent-encoding`);
    }
    params.set(key, value);
  }
  const result: ParsedUpiUri = { params };
  const am = params.get('am');
  if (am !== undefined) result.amount = parseWireAmount(am, 'am');
  const signAt = uri.indexOf('&sign=');
  const sign = params.get('sign');
  if (signAt >= 0 && sign !== undefined) {
    result.signedPart = uri.slice(0, signAt);
    result.signature = Buffer.from(sign, 'base64');
  }
  return result;
}

/** Verifies a mode-16 URI's ECDSA P-256 signature against the device's public key. */
export function verifySignedUri(uri: string, publicKey: KeyObject): boolean {
  const parsed = parseUpiUri(uri);
  if (!parsed.signedPart || !parsed.signature) return false;
  if (!uri.endsWith(`&sign=${encodeComponent(parsed.signature.toString('base64'))}`)) return false;
  return createVerify('sha256').update(parsed.signedPart, 'utf8').verify(publicKey, parsed.signature);
}

