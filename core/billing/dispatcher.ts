import { formatIst, type Clock } from '../clock.js';
import { ClockNotSetError, type CounterPort } from '../sale/counter-port.js';
import { InputError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { PROTOCOL_VERSION, toWireSale, toWireStatus, type BillingRequest, type ErrorReply, type Reply } from './protocol.js';

/** Names the counter uses for request fields, where they differ from the wire. */
const WIRE_FIELD: Record<string, string> = { expiresInSeconds: 'expiresIn' };

/**
 * Carries out checked requests on the counter and says how it went. Every
 * outcome, including a defect in the counter, becomes a reply: the billing
 * PC is never left without an answer, and never sees a stack trace.
 */
export class RequestDispatcher {
  constructor(
    private readonly counter: CounterPort,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async execute(request: BillingRequest): Promise<Reply> {
    try {
      return await this.run(request);
    } catch (err) {
      return this.refusal(request, err);
    }
  }

  private async run(request: BillingRequest): Promise<Reply> {
    const { id } = request;
    switch (request.op) {
      case 'sale': {
        const sale = await this.counter.startSale({
          amount: request.amount,
          source: 'serial',
          ...(request.ref === undefined ? {} : { ref: request.ref }),
          ...(request.note === undefined ? {} : { note: request.note }),
          ...(request.expiresIn === undefined ? {} : { expiresInSeconds: request.expiresIn }),
        });
        return { id, ok: true, op: 'sale', sale: toWireSale(sale) };
      }
      case 'cancel': {
        const showing = this.counter.status().sale;
        if (!showing || showing.state !== 'showing') {
          return notShowing(request, 'no sale is on screen');
        }
        if (request.tr !== undefined && request.tr !== showing.tr) {
          return notShowing(request, `sale ${request.tr} is not on screen (${showing.tr} is)`, 'tr');
        }
        try {
          const sale = await this.counter.cancelSale(request.tr);
          return { id, ok: true, op: 'cancel', sale: toWireSale(sale) };
        } catch (err) {
          // The sale can end (paid, expired) between the look and the cancel.
          if (err instanceof InputError) return notShowing(request, err.problem, request.tr === undefined ? undefined : 'tr');
          throw err;
        }
      }
      case 'status':
        return { id, ok: true, op: 'status', status: toWireStatus(this.counter.status()) };
      case 'ping': {
        const status = this.counter.status();
        return {
          id,
          ok: true,
          op: 'ping',
          protocol: PROTOCOL_VERSION,
          firmware: status.firmware,
          deviceId: status.deviceId,
          time: formatIst(this.clock.now()),
        };
      }
    }
  }

  private refusal(request: BillingRequest, err: unknown): ErrorReply {
    if (err instanceof InputError) {
      const field = WIRE_FIELD[err.field] ?? err.field;
      return { id: request.id, ok: false, op: request.op, code: 'BAD_FIELD', field, message: `${field}: ${err.problem}` };
    }
    // Passes by itself: the billing PC may try again once the device's clock is set.
    if (err instanceof ClockNotSetError) return { id: request.id, ok: false, op: request.op, code: 'CLOCK_NOT_SET', message: err.message };
    this.log.error({ err, op: request.op, id: request.id }, 'billing request failed inside the counter');
    return {
      id: request.id,
      ok: false,
      op: request.op,
      code: 'INTERNAL',
      message: `the device could not carry out ${request.op}: ${describeError(err)}`,
    };
  }
}

function notShowing(request: BillingRequest, message: string, field?: string): ErrorReply {
  return {
    id: request.id,
    ok: false,
    op: request.op,
    code: 'NOT_SHOWING',
    ...(field === undefined ? {} : { field }),
    message,
  };
}
