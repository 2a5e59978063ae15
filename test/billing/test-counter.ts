import type { Clock, TimerHandle } from '../../core/clock.js';
import type { CounterEvent, CounterPort, CounterStatus, SaleRequest, SaleSnapshot } from '../../core/sale/counter-port.js';
import { InputError } from '../../core/errors.js';
import { checkSaleAmount, formatWireAmount, paise, ZERO, type Paise } from '../../core/money.js';

/**
 * A counter on the test bench that keeps the CounterPort contract: amounts
 * are checked against a per-sale limit with the firmware's own rule, a new
 * sale supersedes the one on screen, QRs expire on the injected clock, and
 * events reach subscribers synchronously, as the firmware's do. Payments
 * are made by the test.
 */
export class TestCounter implements CounterPort {
  readonly requests: SaleRequest[] = [];
  private listeners = new Set<(event: CounterEvent) => void>();
  private requestWaiters: { count: number; resolve: (request: SaleRequest) => void }[] = [];
  private sales = new Map<string, SaleSnapshot>();
  private showing: SaleSnapshot | undefined;
  private expiry: TimerHandle | undefined;
  private nextTr = 1;
  private todayCount = 0;
  private todayTotal: Paise = ZERO;
  /** The next startSale throws this instead of showing a QR. */
  failNextSale: Error | undefined;
  /** The next startSale never settles, like a counter stuck on its ledger. */
  hangNextSale = false;

  constructor(
    private readonly clock: Clock,
    readonly limit: Paise = paise(100_000_00),
    readonly deviceId = 'DAK0042',
    readonly lifetimeSeconds = 300,
    readonly maxLifetimeSeconds = 600,
  ) {}

  /** Resolves when the counter has been asked for `count` sales in all. */
  saleRequested(count = this.requests.length + 1): Promise<SaleRequest> {
    const existing = this.requests[count - 1];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.requestWaiters.push({ count, resolve }));
  }

  startSale(request: SaleRequest): Promise<SaleSnapshot> {
    this.requests.push(request);
    for (const waiter of this.requestWaiters.filter((w) => w.count === this.requests.length)) {
      this.requestWaiters.splice(this.requestWaiters.indexOf(waiter), 1);
      waiter.resolve(request);
    }
    if (this.hangNextSale) {
      this.hangNextSale = false;
      return new Promise(() => undefined);
    }
    if (this.failNextSale) {
      const err = this.failNextSale;
      this.failNextSale = undefined;
      return Promise.reject(err);
    }
    try {
      checkSaleAmount(request.amount, this.limit);
      if (request.note !== undefined && [...request.note].length > 50) throw new InputError('note', 'is longer than 50 characters');
      const seconds = request.expiresInSeconds ?? this.lifetimeSeconds;
      if (seconds > this.maxLifetimeSeconds) throw new InputError('expiresInSeconds', `must be at most ${this.maxLifetimeSeconds} seconds on this counter`);
      if (this.showing) this.end(this.showing, 'cancelled', { type: 'cancelled', tr: this.showing.tr, amount: this.showing.amount, reason: 'superseded', ...ref(this.showing) });
      const tr = `${this.deviceId}-${String(this.nextTr++).padStart(6, '0')}`;
      const now = this.clock.now();
      const sale: SaleSnapshot = {
        tr,
        amount: request.amount,
        uri: `upi://pay?ver=01&mode=15&pa=counter.${this.deviceId.toLowerCase()}@sbi&pn=India%20Post&mc=9402&tr=${tr}&am=${formatWireAmount(request.amount)}&cu=INR`,
        state: 'showing',
        source: request.source,
        ...(request.ref === undefined ? {} : { ref: request.ref }),
        ...(request.note === undefined ? {} : { note: request.note }),
        shownAt: now,
        expiresAt: now + seconds * 1000,
      };
      this.sales.set(tr, sale);
      this.showing = sale;
      this.expiry = this.clock.setTimeout(() => this.end(sale, 'expired', { type: 'expired', tr, amount: sale.amount, ...ref(sale) }), seconds * 1000);
      this.publish({ type: 'qr', sale: { ...sale } });
      return Promise.resolve({ ...sale });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  cancelSale(tr?: string): Promise<SaleSnapshot> {
    const sale = this.showing;
    if (!sale) return Promise.reject(new InputError('sale', 'no sale is on screen'));
    if (tr !== undefined && tr !== sale.tr) return Promise.reject(new InputError('tr', `${tr} is not on screen`));
    this.end(sale, 'cancelled', { type: 'cancelled', tr: sale.tr, amount: sale.amount, reason: 'clerk', ...ref(sale) });
    return Promise.resolve({ ...sale, state: 'cancelled' });
  }

  status(): CounterStatus {
    return {
      deviceId: this.deviceId,
      firmware: '0.1.0-test',
      link: 'online',
      ...(this.showing ? { sale: { ...this.showing } } : {}),
      todayCount: this.todayCount,
      todayTotal: this.todayTotal,
    };
  }

  subscribe(listener: (event: CounterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** The bank confirms a payment for a QR this counter issued. */
  pay(tr: string, utr: string, credited?: Paise): void {
    const sale = this.sales.get(tr);
    if (!sale) throw new Error(`no such sale ${tr}`);
    const amount = credited ?? sale.amount;
    const late = sale.state !== 'showing';
    const event: CounterEvent = { type: 'paid', tr, utr, amount, asked: sale.amount, mismatch: amount !== sale.amount, late, ...ref(sale) };
    this.todayCount++;
    this.todayTotal = paise(this.todayTotal + amount);
    if (late) this.publish(event);
    else this.end(sale, 'paid', event);
  }

  /** The bank reports a failed payment. */
  fail(tr: string, utr: string): void {
    const sale = this.sales.get(tr);
    if (!sale) throw new Error(`no such sale ${tr}`);
    this.end(sale, 'failed', { type: 'failed', tr, utr, amount: sale.amount, ...ref(sale) });
  }

  private end(sale: SaleSnapshot, state: SaleSnapshot['state'], event: CounterEvent): void {
    sale.state = state;
    if (this.showing === sale) {
      this.showing = undefined;
      this.clock.clearTimeout(this.expiry);
      this.expiry = undefined;
    }
    this.publish(event);
  }

  private publish(event: CounterEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function ref(sale: SaleSnapshot): { ref?: string } {
  return sale.ref === undefined ? {} : { ref: sale.ref };
}
