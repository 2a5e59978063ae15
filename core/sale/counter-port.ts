import type { Paise } from '../money.js';
import type { LinkState } from '../link/link-state.js';

/**
 * QR lifetimes, in seconds, whichever way a sale arrives (serial, MQTT,
 * simulator). The counter enforces these; the billing link checks them
 * early so the billing PC hears which field was wrong.
 */
export const SALE_EXPIRY_MIN_SECONDS = 30;
export const SALE_EXPIRY_MAX_SECONDS = 3600;

/** Where a sale request came from. */
export type SaleSource = 'serial' | 'mqtt' | 'cli' | 'simulator';

export interface SaleRequest {
  amount: Paise;
  /** The billing system's own reference (invoice number); echoed back, stored in the ledger. */
  ref?: string;
  /** Shown to the payer in their UPI app (`tn`), at most 50 characters. */
  note?: string;
  /** Overrides the configured QR lifetime for this sale. */
  expiresInSeconds?: number;
  source: SaleSource;
}

export type SaleState = 'showing' | 'paid' | 'failed' | 'expired' | 'cancelled';

export interface SaleSnapshot {
  tr: string;
  amount: Paise;
  uri: string;
  state: SaleState;
  source: SaleSource;
  ref?: string;
  note?: string;
  /** Epoch ms. */
  shownAt: number;
  expiresAt: number;
}

/** What the counter tells the billing PC and any other listener. */
export type CounterEvent =
  | { type: 'qr'; sale: SaleSnapshot }
  | {
      type: 'paid';
      tr: string;
      utr: string;
      /** Amount actually credited. */
      amount: Paise;
      /** Amount the QR asked for. */
      asked: Paise;
      mismatch: boolean;
      /** Arrived after the QR expired, was cancelled or replaced. */
      late: boolean;
      ref?: string;
    }
  | { type: 'failed'; tr: string; utr: string; amount: Paise; ref?: string }
  | { type: 'expired'; tr: string; amount: Paise; ref?: string }
  | { type: 'cancelled'; tr: string; amount: Paise; reason: 'clerk' | 'superseded'; ref?: string };

export interface CounterStatus {
  deviceId: string;
  firmware: string;
  link: LinkState;
  /** The sale on screen, if any. */
  sale?: SaleSnapshot;
  todayCount: number;
  todayTotal: Paise;
}

/**
 * The counter takes no new sale while its clock cannot be trusted: a QR's
 * `QRts` and `QRexpire` would be wrong and UPI apps would refuse it. The
 * billing link reports it as CLOCK_NOT_SET; it clears by itself.
 */
export class ClockNotSetError extends Error {
  override readonly name = 'ClockNotSetError';
  constructor(readonly reason: string) {
    super(`clock not set: ${reason}; new sales resume when it is`);
  }
}

/**
 * The counter as the billing link (serial), the buttons and the simulator
 * see it. A new sale replaces one still on screen; the replaced one is
 * reported cancelled with reason 'superseded' and its QR stays payable.
 */
export interface CounterPort {
  /**
   * Shows a fresh QR for this sale. Throws InputError for a bad request
   * (amount over the limit, note too long...), ClockNotSetError while the
   * clock cannot be trusted.
   */
  startSale(request: SaleRequest): Promise<SaleSnapshot>;
  /** Cancels the sale on screen; with `tr`, only if that is the one on screen. Throws InputError otherwise. */
  cancelSale(tr?: string): Promise<SaleSnapshot>;
  status(): CounterStatus;
  /** Returns the unsubscribe function. */
  subscribe(listener: (event: CounterEvent) => void): () => void;
}
