import { InputError } from '../errors.js';
import { SALE_EXPIRY_MAX_SECONDS, SALE_EXPIRY_MIN_SECONDS } from '../sale/counter-port.js';
import { REF_MAX_LENGTH, checkRef as checkSaleRef, checkShownText, hiddenCharacter } from '../text.js';
import { parseWireAmount } from '../money.js';
import { MAX_TN, TR_PATTERN } from '../sale/dynamic-qr.js';
import { EVENTS_PER_REPLY, OPERATIONS, PROTOCOL_VERSION, type BillingRequest, type ErrorReply, type Operation, type RequestId } from './protocol.js';

export const MAX_ID_LENGTH = 64;
export const MAX_REF_LENGTH = REF_MAX_LENGTH;
export const MAX_NOTE_LENGTH = MAX_TN;
export const MIN_EXPIRES_IN = SALE_EXPIRY_MIN_SECONDS;
export const MAX_EXPIRES_IN = SALE_EXPIRY_MAX_SECONDS;

const FIELDS: Record<Operation, readonly string[]> = {
  sale: ['amount', 'ref', 'note', 'expiresIn'],
  cancel: ['tr'],
  status: ['tr', 'ref'],
  ping: [],
  events: ['after', 'limit'],
};
const COMMON_FIELDS = ['id', 'op', 'v'];

export type ParsedLine = { ok: true; request: BillingRequest } | { ok: false; reply: ErrorReply };

/**
 * Turns one line from the billing PC into a checked request, or into the
 * error reply it deserves. Never throws: whatever the line holds, the caller
 * gets something to send back.
 */
export function parseRequestLine(text: string): ParsedLine {
  if (!text.startsWith('{')) {
    return refuse(null, undefined, 'BAD_FRAME', 'not a request: every line must be one JSON object, starting with {');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof SyntaxError ? `: ${err.message}` : '';
    return refuse(null, undefined, 'BAD_JSON', `line is not valid JSON${detail}`);
  }
  if (!isRecord(value)) return refuse(null, undefined, 'BAD_JSON', 'line is not a JSON object');

  let id: RequestId;
  try {
    id = checkId(value.id);
  } catch (err) {
    return refuseInput(null, undefined, err);
  }

  const op = value.op;
  if (op === undefined) return refuse(id, undefined, 'BAD_FIELD', 'op: is missing', 'op');
  if (typeof op !== 'string') return refuse(id, undefined, 'BAD_FIELD', 'op: must be a string', 'op');
  if (!isOperation(op)) {
    return refuse(id, undefined, 'UNKNOWN_OP', `${JSON.stringify(op.slice(0, 32))} is not an operation; known: ${OPERATIONS.join(', ')}`);
  }

  try {
    if (value.v !== undefined && value.v !== PROTOCOL_VERSION) {
      throw new InputError('v', `this device speaks protocol ${PROTOCOL_VERSION}`);
    }
    for (const key of Object.keys(value)) {
      if (!COMMON_FIELDS.includes(key) && !FIELDS[op].includes(key)) {
        const known = FIELDS[op].length > 0 ? `; ${op} takes ${FIELDS[op].join(', ')}` : `; ${op} takes no fields`;
        throw new InputError(key.slice(0, 32), `is not a field of ${op}${known}`);
      }
    }
    return { ok: true, request: checkFields(op, id, value) };
  } catch (err) {
    return refuseInput(id, op, err);
  }
}

function checkFields(op: Operation, id: RequestId, value: Record<string, unknown>): BillingRequest {
  switch (op) {
    case 'sale': {
      const ref = checkRef(value.ref);
      const note = checkText(value.note, 'note', MAX_NOTE_LENGTH);
      const expiresIn = checkExpiresIn(value.expiresIn);
      return {
        op,
        id,
        amount: parseWireAmount(value.amount, 'amount'),
        ...(ref === undefined ? {} : { ref }),
        ...(note === undefined ? {} : { note }),
        ...(expiresIn === undefined ? {} : { expiresIn }),
      };
    }
    case 'cancel': {
      const tr = checkTr(value.tr);
      return tr === undefined ? { op, id } : { op, id, tr };
    }
    case 'status': {
      const tr = checkTr(value.tr);
      const ref = checkRef(value.ref);
      if (tr !== undefined && ref !== undefined) throw new InputError('ref', 'give tr or ref, not both');
      return { op, id, ...(tr === undefined ? {} : { tr }), ...(ref === undefined ? {} : { ref }) };
    }
    case 'ping':
      return { op, id };
    case 'events': {
      const after = checkAfter(value.after);
      const limit = checkLimit(value.limit);
      return limit === undefined ? { op, id, after } : { op, id, after, limit };
    }
  }
}

/** The billing PC's last seq: a whole number, 0 for "from the start". */
function checkAfter(after: unknown): number {
  if (after === undefined || after === null) throw new InputError('after', 'is missing; send the seq of the last event you have, or 0');
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
    throw new InputError('after', `must be a whole number, 0 or more, got ${typeName(after)}`);
  }
  return after;
}

function checkLimit(limit: unknown): number | undefined {
  if (limit === undefined || limit === null) return undefined;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > EVENTS_PER_REPLY) {
    throw new InputError('limit', `must be a whole number from 1 to ${EVENTS_PER_REPLY}, got ${typeName(limit)}`);
  }
  return limit;
}

function checkId(id: unknown): RequestId {
  if (id === undefined || id === null) throw new InputError('id', 'is missing; every request needs an id, echoed in its reply');
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id) || id < 0) throw new InputError('id', 'a numeric id must be a whole number, 0 or more');
    return id;
  }
  if (typeof id !== 'string') throw new InputError('id', 'must be a string or a whole number');
  if (id.length === 0) throw new InputError('id', 'is empty');
  if (id.length > MAX_ID_LENGTH) throw new InputError('id', `is longer than ${MAX_ID_LENGTH} characters`);
  const hidden = hiddenCharacter(id);
  if (hidden) throw new InputError('id', `contains a control or invisible character (${hidden})`);
  return id;
}

/** Optional text: absent, null and "" all mean "not given", as billing software sends all three. */
function checkText(text: unknown, field: string, maxLength: number): string | undefined {
  if (text === undefined || text === null || text === '') return undefined;
  if (typeof text !== 'string') throw new InputError(field, `must be a string, got ${typeName(text)}`);
  return checkShownText(text, field, maxLength);
}

/** The ledger keeps the billing system's reference as printable ASCII: invoice numbers, not prose. */
function checkRef(ref: unknown): string | undefined {
  if (ref === undefined || ref === null || ref === '') return undefined;
  if (typeof ref !== 'string') throw new InputError('ref', `must be a string, got ${typeName(ref)}`);
  return checkSaleRef(ref);
}

function checkExpiresIn(seconds: unknown): number | undefined {
  if (seconds === undefined || seconds === null) return undefined;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds)) {
    throw new InputError('expiresIn', `must be a whole number of seconds, got ${typeName(seconds)}`);
  }
  if (seconds < MIN_EXPIRES_IN || seconds > MAX_EXPIRES_IN) {
    throw new InputError('expiresIn', `must be between ${MIN_EXPIRES_IN} and ${MAX_EXPIRES_IN} seconds, got ${seconds}`);
  }
  return seconds;
}

function checkTr(tr: unknown): string | undefined {
  if (tr === undefined || tr === null || tr === '') return undefined;
  if (typeof tr !== 'string') throw new InputError('tr', `must be a string, got ${typeName(tr)}`);
  if (!TR_PATTERN.test(tr)) throw new InputError('tr', 'must be 1–35 letters, digits, - or _');
  return tr;
}

function refuse(id: RequestId | null, op: Operation | undefined, code: ErrorReply['code'], message: string, field?: string): ParsedLine {
  return {
    ok: false,
    reply: { id, ok: false, ...(op === undefined ? {} : { op }), code, ...(field === undefined ? {} : { field }), message },
  };
}

function refuseInput(id: RequestId | null, op: Operation | undefined, err: unknown): ParsedLine {
  if (err instanceof InputError) return refuse(id, op, 'BAD_FIELD', err.message, err.field);
  // Validation above throws only InputError; anything else is a defect here,
  // and the billing PC still gets a reply rather than silence.
  return refuse(id, op, 'INTERNAL', 'the device could not read this request');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOperation(op: string): op is Operation {
  return (OPERATIONS as readonly string[]).includes(op);
}


function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'number' ? `${value}` : typeof value;
}
