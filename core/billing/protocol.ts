import { formatIst } from '../clock.js';
import type { CounterEvent, CounterStatus, SaleSnapshot, SaleSource, SaleState } from '../sale/counter-port.js';
import { formatWireAmount, type Paise } from '../money.js';
import type { LinkState } from '../link/link-state.js';

/**
 * The billing PC link protocol, as it travels: one JSON object per line.
 * docs/billing-protocol.md is the description for billing developers; the
 * types here are the contract that document describes.
 */
export const PROTOCOL_VERSION = 1;

export const OPERATIONS = ['sale', 'cancel', 'status', 'ping'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const ERROR_CODES = [
  'BAD_FRAME',
  'FRAME_TOO_LONG',
  'BAD_JSON',
  'UNKNOWN_OP',
  'BAD_FIELD',
  'NOT_SHOWING',
  'BUSY',
  'TIMEOUT',
  'CLOCK_NOT_SET',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Chosen by the billing PC, echoed in the reply. */
export type RequestId = string | number;

/** A request after validation: amounts are paise, every field checked. */
export type BillingRequest =
  | { op: 'sale'; id: RequestId; amount: Paise; ref?: string; note?: string; expiresIn?: number }
  | { op: 'cancel'; id: RequestId; tr?: string }
  | { op: 'status'; id: RequestId }
  | { op: 'ping'; id: RequestId };

export interface WireSale {
  tr: string;
  amount: string;
  uri: string;
  state: SaleState;
  source: SaleSource;
  ref?: string;
  note?: string;
  shownAt: string;
  expiresAt: string;
}

export interface WireStatus {
  deviceId: string;
  firmware: string;
  link: LinkState;
  sale: WireSale | null;
  todayCount: number;
  todayTotal: string;
}

export interface ErrorReply {
  /** null when the line was too broken to find its id. */
  id: RequestId | null;
  ok: false;
  op?: Operation;
  code: ErrorCode;
  /** The request field at fault, for BAD_FIELD and NOT_SHOWING. */
  field?: string;
  message: string;
}

export type OkReply =
  | { id: RequestId; ok: true; op: 'sale'; sale: WireSale }
  | { id: RequestId; ok: true; op: 'cancel'; sale: WireSale }
  | { id: RequestId; ok: true; op: 'status'; status: WireStatus }
  | { id: RequestId; ok: true; op: 'ping'; protocol: number; firmware: string; deviceId: string; time: string };

export type Reply = OkReply | ErrorReply;

/** Everything the device says without being asked, by event name. */
export interface WireEvents {
  hello: { protocol: number; firmware: string; deviceId: string; maxLine: number };
  qr: {
    seq: number;
    tr: string;
    amount: string;
    uri: string;
    source: SaleSource;
    ref?: string;
    note?: string;
    shownAt: string;
    expiresAt: string;
  };
  paid: {
    seq: number;
    tr: string;
    utr: string;
    amount: string;
    asked: string;
    mismatch: boolean;
    late: boolean;
    ref?: string;
  };
  failed: { seq: number; tr: string; utr: string; amount: string; ref?: string };
  expired: { seq: number; tr: string; amount: string; ref?: string };
  cancelled: { seq: number; tr: string; amount: string; reason: 'clerk' | 'superseded'; ref?: string };
}

export type EventName = keyof WireEvents;
export type WireEvent = { [E in EventName]: { event: E } & WireEvents[E] }[EventName];
/** The events that end a sale: after one of these its QR is off the screen. */
export type OutcomeEvent = Extract<WireEvent, { event: 'paid' | 'failed' | 'expired' | 'cancelled' }>;

export const EVENT_NAMES: readonly EventName[] = ['hello', 'qr', 'paid', 'failed', 'expired', 'cancelled'];

export function toWireSale(sale: SaleSnapshot): WireSale {
  return {
    tr: sale.tr,
    amount: formatWireAmount(sale.amount),
    uri: sale.uri,
    state: sale.state,
    source: sale.source,
    ...optional('ref', sale.ref),
    ...optional('note', sale.note),
    shownAt: formatIst(sale.shownAt),
    expiresAt: formatIst(sale.expiresAt),
  };
}

export function toWireStatus(status: CounterStatus): WireStatus {
  return {
    deviceId: status.deviceId,
    firmware: status.firmware,
    link: status.link,
    sale: status.sale ? toWireSale(status.sale) : null,
    todayCount: status.todayCount,
    todayTotal: formatWireAmount(status.todayTotal),
  };
}

export function toWireEvent(event: CounterEvent, seq: number): WireEvent {
  switch (event.type) {
    case 'qr': {
      const { sale } = event;
      return {
        event: 'qr',
        seq,
        tr: sale.tr,
        amount: formatWireAmount(sale.amount),
        uri: sale.uri,
        source: sale.source,
        ...optional('ref', sale.ref),
        ...optional('note', sale.note),
        shownAt: formatIst(sale.shownAt),
        expiresAt: formatIst(sale.expiresAt),
      };
    }
    case 'paid':
      return {
        event: 'paid',
        seq,
        tr: event.tr,
        utr: event.utr,
        amount: money(event.amount),
        asked: money(event.asked),
        mismatch: event.mismatch,
        late: event.late,
        ...optional('ref', event.ref),
      };
    case 'failed':
      return { event: 'failed', seq, tr: event.tr, utr: event.utr, amount: money(event.amount), ...optional('ref', event.ref) };
    case 'expired':
      return { event: 'expired', seq, tr: event.tr, amount: money(event.amount), ...optional('ref', event.ref) };
    case 'cancelled':
      return {
        event: 'cancelled',
        seq,
        tr: event.tr,
        amount: money(event.amount),
        reason: event.reason,
        ...optional('ref', event.ref),
      };
  }
}

export function isOutcome(event: WireEvent): event is OutcomeEvent {
  return event.event === 'paid' || event.event === 'failed' || event.event === 'expired' || event.event === 'cancelled';
}

/** One line on the wire. JSON.stringify escapes every control character, so the text never holds a newline of its own. */
export function encodeLine(message: Reply | WireEvent): string {
  return `${JSON.stringify(message)}\n`;
}

function money(amount: Paise): string {
  return formatWireAmount(amount);
}

/** Leaves a field out rather than sending `"ref": null`, so absent means absent. */
function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: string });
}
