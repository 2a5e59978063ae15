import type { Screen } from '../ports/display.js';
import type { Announcement } from '../announce/announcement.js';
import type { Clock, TimerHandle } from '../clock.js';
import { formatIst } from '../clock.js';
import type { DeviceConfig } from '../config.js';
import { Rejection, checkConfirmation, digest, maskPayer } from '../payment/confirmation.js';
import {
  SALE_EXPIRY_MAX_SECONDS,
  SALE_EXPIRY_MIN_SECONDS,
  type CounterEvent,
  type CounterPort,
  type CounterStatus,
  type SaleRequest,
  type SaleSnapshot,
} from './counter-port.js';
import { InputError, describeError } from '../errors.js';
import { readJsonMessage } from '../json-message.js';
import { checkRef } from '../text.js';
import type { Lcd } from './lcd.js';
import type { Ledger, PaymentRecord } from '../payment/ledger.js';
import type { Logger } from '../log.js';
import { checkSaleAmount, formatWireAmount, parseWireAmount } from '../money.js';
import type { Outbox } from '../payment/outbox.js';
import type { DeviceTopics } from '../link/topics.js';
import { buildDynamicQr, checkNote } from './dynamic-qr.js';

/** What the counter needs of the soundbox: resolves when the sentence has been spoken. */
export interface AnnouncerPort {
  announce(announcement: Announcement): Promise<void>;
}

export interface CounterOptions {
  config: DeviceConfig;
  ledger: Ledger;
  lcd: Lcd;
  announcer: AnnouncerPort;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  firmware: string;
}

const COLLECT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** A mismatch needs the clerk's attention, so it stays up longer than a plain result. */
const MISMATCH_HOLD_FACTOR = 3;

interface ShowingSale {
  sale: SaleSnapshot;
  expiry: TimerHandle;
}

/**
 * The counter: one sale at a time on the LCD, from QR to outcome.
 *
 *   idle → showing QR → paid | failed | expired | cancelled → idle
 *
 * A confirmation is verified, committed to the ledger, shown, reported to
 * listeners (the billing PC), announced, marked announced, and only then
 * receipted — so a power cut at any point is finished at the next boot and
 * nothing is announced twice.
 */
export class Counter implements CounterPort {
  private showing?: ShowingSale | undefined;
  private resultTimer?: TimerHandle | undefined;
  private readonly listeners = new Set<(event: CounterEvent) => void>();
  private announcing = 0;
  private readonly rejected = { confirmations: 0, collects: 0, lastReason: null as string | null };

  constructor(private readonly o: CounterOptions) {}

  private get settings() {
    return this.o.config.settings;
  }

  /**
   * Finishes what the last run left: resumes a QR still valid, announces
   * accepted payments not yet announced. The sales it closes are in the
   * billing events before this returns, so the billing PC hears of them
   * whenever its link starts.
   */
  boot(): void {
    const now = this.o.clock.now();
    const leftOnScreen = this.o.ledger.showingSales();
    const resume = leftOnScreen.at(-1);
    for (const sale of leftOnScreen) {
      if (sale === resume && sale.expiresAt > now) continue;
      const event: CounterEvent =
        sale.expiresAt <= now
          ? { type: 'expired', tr: sale.tr, amount: sale.amount, ...ref(sale) }
          : { type: 'cancelled', tr: sale.tr, amount: sale.amount, reason: 'superseded', ...ref(sale) };
      if (this.endSale(sale, event, event.type === 'expired' ? 'expired while the device was off' : 'superseded')) this.emit(event);
    }
    const pending = this.o.ledger.pendingAnnouncements();
    if (pending.length) this.o.log.warn({ count: pending.length }, 'announcing payments accepted before the last stop');
    for (const record of pending) this.announce(record);
    if (resume && resume.expiresAt > now) {
      this.o.log.info({ tr: resume.tr }, 'resuming the QR that was on screen');
      this.display(resume);
    } else {
      this.showIdle();
    }
  }

  subscribe(listener: (event: CounterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: CounterEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.o.log.error({ event: event.type, err }, 'counter listener failed');
      }
    }
  }

  startSale(request: SaleRequest): Promise<SaleSnapshot> {
    try {
      return Promise.resolve(this.issue(request));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private issue(request: SaleRequest, collectId?: string): SaleSnapshot {
    const amount = checkSaleAmount(request.amount, this.o.config.saleLimit);
    const note = checkNote(request.note ?? this.settings.sale.note);
    if (request.ref !== undefined) checkRef(request.ref);
    const lifetime = request.expiresInSeconds ?? this.settings.sale.expirySeconds;
    if (!Number.isInteger(lifetime) || lifetime < SALE_EXPIRY_MIN_SECONDS || lifetime > SALE_EXPIRY_MAX_SECONDS) {
      throw new InputError('expiresIn', `must be a whole number of seconds from ${SALE_EXPIRY_MIN_SECONDS} to ${SALE_EXPIRY_MAX_SECONDS}`);
    }
    const shownAt = this.o.clock.now();
    const expiresAt = shownAt + lifetime * 1000;
    const { payee } = this.settings;
    const signing = this.o.config.qrSigningKey && payee.orgId ? { key: this.o.config.qrSigningKey, orgId: payee.orgId } : undefined;
    // The sale it replaces is closed, and both are recorded for the billing
    // PC (cancelled, then qr), in one transaction with the new sale.
    const previous = this.showing?.sale;
    let superseded: CounterEvent | undefined;
    const sale = this.o.ledger.transaction(() => {
      if (previous) {
        const event: CounterEvent = { type: 'cancelled', tr: previous.tr, amount: previous.amount, reason: 'superseded', ...ref(previous) };
        if (this.endSale(previous, event, 'superseded')) superseded = event;
      }
      const issued = this.o.ledger.issueSale(
        this.settings.deviceId,
        { source: request.source, amount, ref: request.ref, note, collectId, shownAt, expiresAt },
        (tr) => buildDynamicQr({ vpa: payee.vpa, payeeName: payee.name, mcc: payee.mcc, tr, note, amount, shownAt, expiresAt, ...(signing ? { signing } : {}) }).uri,
      );
      this.o.ledger.recordEvent({ type: 'qr', sale: issued });
      return issued;
    });
    // A replaced QR stays payable: a payment on it is announced as late.
    if (previous) this.clearShowing();
    if (superseded) this.emit(superseded);
    this.o.log.info({ tr: sale.tr, amount: formatWireAmount(amount), source: sale.source, ref: sale.ref }, 'QR shown');
    this.display(sale);
    this.postQr(sale);
    this.emit({ type: 'qr', sale });
    return sale;
  }

  private postQr(sale: SaleSnapshot): void {
    const message: DeviceTopics['qr'] = {
      v: 1,
      tr: sale.tr,
      amount: formatWireAmount(sale.amount),
      uri: sale.uri,
      shownAt: formatIst(sale.shownAt),
      expiresAt: formatIst(sale.expiresAt),
      source: sale.source,
    };
    this.o.outbox.post('qr', message);
  }

  /**
   * Moves a sale out of 'showing' and records the billing event that
   * reports it, in one transaction. False if the sale had already left
   * 'showing' (nothing is recorded then).
   */
  private endSale(sale: SaleSnapshot, event: Extract<CounterEvent, { type: 'expired' | 'cancelled' }>, reason: string): boolean {
    return this.o.ledger.transaction(() => {
      if (!this.o.ledger.closeSale(sale.tr, event.type, reason)) return false;
      this.o.ledger.recordEvent(event);
      return true;
    });
  }

  private display(sale: SaleSnapshot): void {
    this.o.clock.clearTimeout(this.resultTimer);
    this.resultTimer = undefined;
    const expiry = this.o.clock.setTimeout(() => this.expire(sale), Math.max(0, sale.expiresAt - this.o.clock.now()));
    this.showing = { sale, expiry };
    this.o.lcd.show({
      kind: 'collect',
      uri: sale.uri,
      amount: sale.amount,
      payeeName: this.settings.payee.name,
      tr: sale.tr,
      expiresAt: sale.expiresAt,
      now: this.o.clock.now(),
    });
  }

  private clearShowing(): void {
    if (this.showing) this.o.clock.clearTimeout(this.showing.expiry);
    this.showing = undefined;
  }

  private expire(sale: SaleSnapshot): void {
    if (this.showing?.sale.tr !== sale.tr) return;
    this.clearShowing();
    const event: CounterEvent = { type: 'expired', tr: sale.tr, amount: sale.amount, ...ref(sale) };
    if (!this.endSale(sale, event, 'QR lifetime over')) return;
    this.o.log.info({ tr: sale.tr }, 'QR expired');
    this.showResult({ kind: 'expired', amount: sale.amount, tr: sale.tr });
    this.emit(event);
  }

  cancelSale(tr?: string): Promise<SaleSnapshot> {
    const current = this.showing?.sale;
    if (!current) return Promise.reject(new InputError('tr', 'no sale is on screen'));
    if (tr !== undefined && tr !== current.tr) return Promise.reject(new InputError('tr', `${tr} is not the sale on screen`));
    this.clearShowing();
    const event: CounterEvent = { type: 'cancelled', tr: current.tr, amount: current.amount, reason: 'clerk', ...ref(current) };
    const closed = this.endSale(current, event, 'clerk');
    this.o.log.info({ tr: current.tr }, 'sale cancelled');
    this.showResult({ kind: 'cancelled', amount: current.amount, tr: current.tr });
    if (closed) this.emit(event);
    return Promise.resolve({ ...current, state: 'cancelled' });
  }

  private showResult(screen: Screen, holdFactor = 1): void {
    this.o.clock.clearTimeout(this.resultTimer);
    this.o.lcd.show(screen);
    this.resultTimer = this.o.clock.setTimeout(() => {
      this.resultTimer = undefined;
      if (!this.showing) this.showIdle();
    }, this.settings.sale.resultSeconds * 1000 * holdFactor);
  }

  showIdle(): void {
    this.o.lcd.show({ kind: 'idle', payeeName: this.settings.payee.name, deviceId: this.settings.deviceId });
  }

  /** A `collect` request from the backend. Bad requests are logged and counted, never shown. */
  handleCollect(payload: Buffer): void {
    let request: SaleRequest;
    let id: string;
    try {
      ({ request, id } = parseCollect(payload));
    } catch (err) {
      this.rejected.collects++;
      this.rejected.lastReason = `collect: ${describeError(err)}`;
      this.o.log.warn({ reason: describeError(err), bytes: payload.length }, 'collect request refused');
      return;
    }
    const known = this.o.ledger.findSaleByCollectId(id);
    if (known) {
      // Redelivery or a retry by the backend: the same sale, never a second QR.
      if (known.state === 'showing') this.postQr(known);
      this.o.log.info({ id, tr: known.tr, state: known.state }, 'collect request already handled');
      return;
    }
    try {
      this.issue(request, id);
    } catch (err) {
      this.rejected.collects++;
      this.rejected.lastReason = `collect: ${describeError(err)}`;
      if (!(err instanceof InputError)) throw err;
      this.o.log.warn({ id, reason: err.message }, 'collect request refused');
    }
  }

  /**
   * A `payment` confirmation. Everything up to the ledger commit happens
   * before this returns, so the broker's acknowledgement (sent after) never
   * covers a confirmation the device could still lose.
   */
  handlePayment(payload: Buffer): void {
    let c;
    try {
      c = checkConfirmation(payload, {
        deviceId: this.settings.deviceId,
        keys: this.o.config.notifierKeys,
        issued: (tr) => this.o.ledger.findSale(tr) !== undefined,
      });
    } catch (err) {
      if (!(err instanceof Rejection)) throw err;
      this.reject(err, payload);
      return;
    }
    const payer = maskPayer(c.payer);
    // The payment and the billing PC's paid or failed event commit together.
    const accepted = this.o.ledger.transaction(() => {
      const { record, fresh } = this.o.ledger.acceptPayment({ utr: c.utr, tr: c.tr, status: c.status, amount: c.amount, payer, paidAt: c.paidAt });
      if (!fresh) return undefined;
      const event = paymentEvent(record, this.o.ledger.findSale(record.tr));
      this.o.ledger.recordEvent(event);
      return { record, event };
    });
    if (!accepted) {
      this.o.log.info({ tr: c.tr, utr: c.utr }, 'duplicate confirmation acknowledged, not announced again');
      this.o.outbox.post('receipt', this.receipt(c.tr, c.utr, 'duplicate'));
      return;
    }
    this.accepted(accepted.record, accepted.event);
  }

  private reject(rejection: Rejection, payload: Buffer): void {
    this.rejected.confirmations++;
    this.rejected.lastReason = rejection.message;
    this.o.log.warn({ reason: rejection.message, tr: rejection.tr, utr: rejection.utr, bytes: payload.length }, 'confirmation rejected');
    this.o.ledger.recordRejection(
      {
        reason: rejection.message,
        tr: rejection.tr,
        utr: rejection.utr,
        size: payload.length,
        sha256: digest(payload),
        excerpt: payload.subarray(0, 256).toString('utf8').replace(/[^\x20-\x7e]/g, '?'),
      },
      { topic: 'receipt', payload: JSON.stringify(this.receipt(rejection.tr ?? null, rejection.utr ?? null, 'rejected', rejection.message)) },
    );
    this.o.outbox.flush();
  }

  private accepted(record: PaymentRecord, event: CounterEvent): void {
    const current = this.showing?.sale;
    const wasOnScreen = current?.tr === record.tr;
    if (wasOnScreen) this.clearShowing();
    if (record.status === 'SUCCESS') {
      this.o.log.info(
        { tr: record.tr, utr: record.utr, amount: formatWireAmount(record.amount), asked: formatWireAmount(record.asked), late: record.late, mismatch: record.mismatch },
        record.mismatch ? 'payment received, amount differs from the QR' : 'payment received',
      );
      if (wasOnScreen || !this.showing) {
        const screen: Screen = record.mismatch
          ? { kind: 'mismatch', asked: record.asked, received: record.amount, utr: record.utr, ...(record.payer ? { payer: record.payer } : {}) }
          : { kind: 'paid', amount: record.amount, utr: record.utr, late: record.late, ...(record.payer ? { payer: record.payer } : {}) };
        this.showResult(screen, record.mismatch ? MISMATCH_HOLD_FACTOR : 1);
      }
    } else {
      this.o.log.info({ tr: record.tr, utr: record.utr }, 'payment failed');
      if (wasOnScreen || !this.showing) this.showResult({ kind: 'failed', amount: record.asked, tr: record.tr });
    }
    this.emit(event);
    this.announce(record);
  }

  /** Speaks, then marks announced and queues the receipt in one transaction. */
  private announce(record: PaymentRecord): void {
    const announcement: Announcement = record.status === 'SUCCESS' ? { kind: 'payment', amount: record.amount } : { kind: 'payment-failed' };
    this.announcing++;
    this.o.announcer
      .announce(announcement)
      .then(
        () => {
          this.o.ledger.markAnnounced(record.utr, { topic: 'receipt', payload: JSON.stringify(this.receipt(record.tr, record.utr, 'announced')) });
          this.o.outbox.flush();
        },
        (err: unknown) => {
          // Left unannounced in the ledger: the next boot tries again rather
          // than pretending the customer heard it.
          this.o.log.error({ utr: record.utr, err }, 'announcement failed; it will be retried at the next start');
        },
      )
      .finally(() => {
        this.announcing--;
      });
  }

  private receipt(tr: string | null, utr: string | null, outcome: DeviceTopics['receipt']['outcome'], reason?: string): DeviceTopics['receipt'] {
    const r: DeviceTopics['receipt'] = { v: 1, tr, utr, outcome, at: formatIst(this.o.clock.now()) };
    if (reason !== undefined) r.reason = reason;
    return r;
  }

  status(): CounterStatus {
    const today = this.o.ledger.today();
    const s: CounterStatus = {
      deviceId: this.settings.deviceId,
      firmware: this.o.firmware,
      link: this.o.lcd.linkState,
      todayCount: today.count,
      todayTotal: today.total,
    };
    if (this.showing) s.sale = this.showing.sale;
    return s;
  }

  /** Numbers for telemetry. */
  health(): { rejected: { confirmations: number; collects: number; lastReason: string | null } } {
    return { rejected: { ...this.rejected } };
  }

  stop(): void {
    this.clearShowing();
    this.o.clock.clearTimeout(this.resultTimer);
    this.resultTimer = undefined;
    this.o.lcd.stop();
  }
}

function ref(sale: SaleSnapshot): { ref?: string } {
  return sale.ref !== undefined ? { ref: sale.ref } : {};
}

/** What the billing PC is told about an accepted confirmation. */
function paymentEvent(record: PaymentRecord, sale: SaleSnapshot | undefined): CounterEvent {
  const saleRef = sale ? ref(sale) : {};
  return record.status === 'SUCCESS'
    ? { type: 'paid', tr: record.tr, utr: record.utr, amount: record.amount, asked: record.asked, mismatch: record.mismatch, late: record.late, ...saleRef }
    : { type: 'failed', tr: record.tr, utr: record.utr, amount: record.amount, ...saleRef };
}

/** Validates a `collect` payload (docs/contracts.md) into a sale request; throws InputError naming the field. */
export function parseCollect(payload: Buffer): { id: string; request: SaleRequest } {
  const b = readJsonMessage(payload, 4096, 'collect');
  if (b.v !== 1) throw new InputError('v', 'must be 1');
  if (typeof b.id !== 'string' || !COLLECT_ID_PATTERN.test(b.id)) throw new InputError('id', 'must be 1–64 letters, digits or . _ : -');
  const request: SaleRequest = { amount: parseWireAmount(b.amount), source: 'mqtt' };
  if (b.note !== undefined) {
    if (typeof b.note !== 'string') throw new InputError('note', 'must be text');
    request.note = b.note;
  }
  if (b.ref !== undefined) {
    if (typeof b.ref !== 'string') throw new InputError('ref', 'must be text');
    request.ref = b.ref;
  }
  if (b.expiresIn !== undefined) {
    if (typeof b.expiresIn !== 'number') throw new InputError('expiresIn', 'must be a number of seconds');
    request.expiresInSeconds = b.expiresIn;
  }
  return { id: b.id, request };
}

