import type { LoggedEvent, PaymentRecord } from '../payment/ledger.js';
import type { SaleSnapshot } from '../sale/counter-port.js';

/**
 * What the billing link reads from the device's records (the ledger): the
 * numbered billing events, how far the billing PC's port has taken them,
 * and sales with their payments.
 */
export interface BillingRecords {
  /** Events with a seq above `after`, oldest first, at most `limit`. */
  eventsAfter(after: number, limit: number): LoggedEvent[];
  /** The newest event's seq; 0 before the first. */
  lastEventSeq(): number;
  /** The newest event the billing PC's port has taken, as last recorded. */
  deliveredEventSeq(): number;
  markEventsDelivered(seq: number): void;
  findSale(tr: string): SaleSnapshot | undefined;
  /** Newest first. */
  salesByRef(ref: string, limit: number): SaleSnapshot[];
  paymentsForSale(tr: string): PaymentRecord[];
}
