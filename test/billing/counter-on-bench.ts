import { BillingLink, type BillingLinkOptions } from '../../core/billing/link.js';
import { loadConfig } from '../../core/config.js';
import type { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/log.js';
import { formatWireAmount, paise, type Paise } from '../../core/money.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { Ledger } from '../../core/payment/ledger.js';
import { Outbox } from '../../core/payment/outbox.js';
import { Counter, type CounterOptions } from '../../core/sale/counter.js';
import type { CounterEvent, SaleRequest, SaleSnapshot } from '../../core/sale/counter-port.js';
import { Lcd } from '../../core/sale/lcd.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { FakePublisher, ScriptedAnnouncer } from '../support/stand-ins.js';

export interface BenchOptions {
  /** The per-sale limit; 100000.00 unless given. Ignored with `fixture`, whose config says. */
  limit?: Paise;
  /** DAK0042 unless given. Ignored with `fixture`, whose config says. */
  deviceId?: string;
  /** A ledger file, to reopen after a restart; an in-memory ledger unless given. */
  ledgerPath?: string;
  /** The device's config folder and notifier keys (see benchFixture), kept across a restart; the caller cleans it up. */
  fixture?: DeviceFixture;
}

/** A config folder for a bench counter: its device id, payee, per-sale limit, and notifier keys to sign with. */
export function benchFixture(options: { limit?: Paise; deviceId?: string } = {}): DeviceFixture {
  const deviceId = options.deviceId ?? 'DAK0042';
  return deviceFixture({
    deviceId,
    payee: { vpa: `counter.${deviceId.toLowerCase()}@sbi`, name: 'India Post' },
    sale: { limit: formatWireAmount(options.limit ?? paise(100_000_00)), expirySeconds: 300, resultSeconds: 8, chimeOnQr: false },
    display: { kind: 'none' },
  });
}

const PAID_AT = '2026-01-15T10:01:00+05:30';

/**
 * The firmware's own Counter on the test bench: a real ledger (in memory or
 * a temp file), the manual clock, and stand-ins for the LCD's panel, the
 * soundbox and the broker. What it adds is only for the test's hands: the
 * bank's confirmations, signed with the device's notifier key, a record of
 * the sale requests the counter was asked for, and a way to make the next
 * sale fail or hang as a counter stuck on its storage would. It is the
 * counter itself, so the billing link under test talks to it directly.
 */
export class CounterOnBench extends Counter {
  readonly requests: SaleRequest[] = [];
  /** The transaction reference of each sale issued through startSale, in order. */
  readonly issued: string[] = [];
  /** The next startSale throws this instead of showing a QR. */
  failNextSale: Error | undefined;
  /** The next startSale never settles. */
  hangNextSale = false;
  readonly announcer: ScriptedAnnouncer;
  readonly publisher: FakePublisher;
  private requestWaiters: { count: number; resolve: (request: SaleRequest) => void }[] = [];
  private listening = 0;

  static open(clock: ManualClock, options: BenchOptions = {}): CounterOnBench {
    const fixture = options.fixture ?? benchFixture(options);
    const config = loadConfig(fixture.configPath);
    const log = silentLogger();
    const ledger = new Ledger(options.ledgerPath ?? ':memory:', clock, { deviceId: config.settings.deviceId });
    const lcd = new Lcd(undefined, clock, log, () => config.settings.language, { kind: 'boot', firmware: '0.1.0-test', deviceId: config.settings.deviceId });
    lcd.setLink('online');
    const announcer = new ScriptedAnnouncer();
    const publisher = new FakePublisher();
    const outbox = new Outbox(ledger, publisher, log);
    const counter = new CounterOnBench(
      { config, ledger, lcd, announcer, outbox, clock, log, firmware: '0.1.0-test' },
      { ledger, fixture, ownsFixture: options.fixture === undefined, announcer, publisher, clock },
    );
    counter.boot();
    return counter;
  }

  readonly ledger: Ledger;
  readonly fixture: DeviceFixture;
  private readonly ownsFixture: boolean;
  private readonly benchClock: ManualClock;

  /** A billing link to this counter, as the device wires it: its ledger's records, its clock, a silent log. */
  billingLink(options: Partial<Omit<BillingLinkOptions, 'counter' | 'records'>> = {}): BillingLink {
    return new BillingLink({ counter: this, records: this.ledger, clock: this.benchClock, log: silentLogger(), ...options });
  }

  private constructor(
    options: CounterOptions,
    parts: { ledger: Ledger; fixture: DeviceFixture; ownsFixture: boolean; announcer: ScriptedAnnouncer; publisher: FakePublisher; clock: ManualClock },
  ) {
    super(options);
    this.benchClock = parts.clock;
    this.ledger = parts.ledger;
    this.fixture = parts.fixture;
    this.ownsFixture = parts.ownsFixture;
    this.announcer = parts.announcer;
    this.publisher = parts.publisher;
  }

  override startSale(request: SaleRequest): Promise<SaleSnapshot> {
    this.requests.push(request);
    let result: Promise<SaleSnapshot>;
    if (this.hangNextSale) {
      this.hangNextSale = false;
      result = new Promise(() => undefined);
    } else if (this.failNextSale) {
      result = Promise.reject(this.failNextSale);
      this.failNextSale = undefined;
    } else {
      const before = this.status().sale?.tr;
      result = super.startSale(request);
      // The counter issues a sale before startSale returns.
      const after = this.status().sale?.tr;
      if (after !== undefined && after !== before) this.issued.push(after);
    }
    for (const waiter of this.requestWaiters.filter((w) => w.count === this.requests.length)) {
      this.requestWaiters.splice(this.requestWaiters.indexOf(waiter), 1);
      waiter.resolve(request);
    }
    return result;
  }

  /** Resolves when the counter has been asked for `count` sales in all. */
  saleRequested(count = this.requests.length + 1): Promise<SaleRequest> {
    const existing = this.requests[count - 1];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.requestWaiters.push({ count, resolve }));
  }

  /** The transaction reference of the `n`th sale issued (from 1). */
  tr(n: number): string {
    const tr = this.issued[n - 1];
    if (tr === undefined) throw new Error(`only ${this.issued.length} sales were issued, not ${n}`);
    return tr;
  }

  override subscribe(listener: (event: CounterEvent) => void): () => void {
    const off = super.subscribe(listener);
    this.listening++;
    let on = true;
    return () => {
      if (on) this.listening--;
      on = false;
      off();
    };
  }

  get subscribers(): number {
    return this.listening;
  }

  /** The bank confirms a payment for a QR this counter issued: the amount asked, unless `credited` says otherwise. */
  pay(tr: string, utr: string, credited?: Paise): void {
    const sale = this.ledger.findSale(tr);
    if (!sale) throw new Error(`no such sale ${tr}`);
    this.confirm(tr, utr, 'SUCCESS', credited ?? sale.amount);
  }

  /** The bank reports a failed payment. */
  fail(tr: string, utr: string): void {
    const sale = this.ledger.findSale(tr);
    if (!sale) throw new Error(`no such sale ${tr}`);
    this.confirm(tr, utr, 'FAILED', sale.amount);
  }

  private confirm(tr: string, utr: string, status: 'SUCCESS' | 'FAILED', amount: Paise): void {
    const deviceId = this.status().deviceId;
    const body = signConfirmation({ deviceId, tr, utr, amount: formatWireAmount(amount), status, paidAt: PAID_AT }, this.fixture.keys.privateKey);
    this.handlePayment(Buffer.from(JSON.stringify(body)));
    if (!this.ledger.findPayment(utr)) throw new Error(`the counter refused the confirmation: ${this.ledger.rejections().at(-1)?.reason ?? 'no reason recorded'}`);
  }

  /** Stops the counter and closes its ledger; the config folder goes too, unless it was handed in. */
  close(): void {
    this.stop();
    this.ledger.close();
    if (this.ownsFixture) this.fixture.cleanup();
  }
}
