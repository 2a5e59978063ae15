/**
 * The billing PC's end of the serial link (docs/billing-protocol.md), for a
 * billing application written for Node. Ring up a sale and wait for the
 * customer to pay:
 *
 * ```ts
 * import { BillingClient, EventInbox, awaitOutcome, openBillingPort } from './billing-client/index.js';
 *
 * const port = await openBillingPort('/dev/ttyUSB0', 115200);
 * const client = new BillingClient(port.stream);
 * const inbox = new EventInbox(client); // before the request: the qr event follows the reply at once
 * try {
 *   const reply = await client.request({ op: 'sale', amount: '250.00', ref: 'INV-42' }, 5000);
 *   if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
 *   if (reply.op === 'sale') {
 *     const outcome = await awaitOutcome(inbox, reply.sale);
 *     const paid = outcome !== 'aborted' && outcome.event === 'paid' && !outcome.mismatch;
 *   }
 * } finally {
 *   inbox.close();
 *   client.close();
 *   await port.close();
 * }
 * ```
 *
 * After a restart of either end, catch up with what was missed:
 *
 * ```ts
 * const missed = await missedEvents(client, lastSeqHandled, 5000);
 * if (missed.ok) for (const event of missed.events) handle(event);
 * const found = await client.request({ op: 'status', ref: 'INV-42' }, 5000); // the sale and its payments
 * ```
 *
 * A link failure (no port, no reply in time, port gone) rejects with
 * LinkError; a refusal by the device is a reply with `ok: false`.
 */
export {
  BillingClient,
  EventInbox,
  LinkError,
  OUTCOME_GRACE_MS,
  awaitOutcome,
  isEvent,
  isReply,
  missedEvents,
  openBillingPort,
  type ClientPort,
  type ClientRequest,
  type MissedEvents,
  type Waited,
} from './client.js';
export { isOutcome } from '../core/billing/protocol.js';
export type {
  ErrorCode,
  ErrorReply,
  EventName,
  NumberedEvent,
  OutcomeEvent,
  Reply,
  WireEvent,
  WirePayment,
  WireSale,
  WireSaleRecord,
  WireStatus,
} from '../core/billing/protocol.js';
