import type { Screen } from '../ports/display.js';
import type { Announcement } from '../announce/announcement.js';
import { Backoff } from '../backoff.js';
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
import { InputError, StorageFault, describeError } from '../errors.js';
import { readJsonMessage } from '../json-message.js';
import { checkRef } from '../text.js';
import type { Lcd } from './lcd.js';
import type { Ledger, PaymentRecord } from '../payment/ledger.js';
import type { Logger } from '../log.js';
import { checkSaleAmount, formatWireAmount, parseWireAmount } from '../money.js';
import type { Outbox } from '../payment/outbox.js';
import { queuedMessage, type DeviceTopics } from '../link/topics.js';
import { isStorageFailure } from '../payment/storage-failure.js';
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
/**
 * Starts of speaking per payment, across boots, before the counter stops
 * trying. A start is counted in the ledger before the speaker begins; only
 * a start whose end was never recorded (power lost mid-sentence, the
 * process gone before the mark) leads to another.
 */
export const MAX_ANNOUNCE_ATTEMPTS = 3;

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
 * receipted. A power cut before the mark is finished at the next boot,
 * which says the payment again; the starts of speaking are counted in the
 * ledger and stop at MAX_ANNOUNCE_ATTEMPTS.
 *
 * When the ledger cannot be written (disk full, read-only, failing), the
 * counter pauses sales: the fault screen goes up, the prompt is spoken
 * once (if prompts are on), the error is logged once, new sales are
 * refused with StorageFault, and a confirmation it could not record makes
 * `handlePayment` throw so that the broker link leaves it unacknowledged.
 * A write the size of a payment's is tried on a backoff; when it passes
 * (or a confirmation commits), sales resume and what could not be written
 * is finished. Once a confirmation is committed, nothing that fails after
 * it (speaking, marking, receipting) throws out of the counter.
 */
export class Counter implements CounterPort {
  private showing?: ShowingSale | undefined;
  private resultTimer?: TimerHandle | undefined;
  private readonly listeners = new Set<(event: CounterEvent) => void>();
  private announcing = 0;
  private readonly rejected = { confirmations: 0, collects: 0, lastReason: null as string | null };
  private givenUp = 0;
  /** Set while the ledger cannot be written. */
  private fault?: { since: number; probe?: TimerHandle | undefined } | undefined;
  private readonly probeBackoff = new Backoff(1000, 30_000);
  /** The QR that was on screen when the fault began; put back (if still valid) when it ends. */
  private paused?: SaleSnapshot | undefined;
  /** Committed payments whose start of speaking could not be counted: spoken when the ledger can be written. */
  private readonly waitingForStorage = new Map<string, PaymentRecord>();
  /** Payments spoken whose mark could not be written: marked when the ledger can be written. */
  private readonly unmarked = new Map<string, PaymentRecord>();
  private stopped = false;

  constructor(private readonly o: CounterOptions) {}

  private get settings() {
    return this.o.config.settings;
  }

  /**
   * Finishes what the last run left: resumes a QR still valid, announces
   * accepted payments not yet announced, and gives up (shows, does not say)
   * those already started MAX_ANNOUNCE_ATTEMPTS times.
   */
  boot(): void {
    this.guarded('sales left on screen not closed', () => this.restoreScreen());
    const pending = this.o.ledger.pendingAnnouncements();
    if (pending.length) this.o.log.warn({ count: pending.length }, 'announcing payments accepted before the last stop');
    for (const record of pending) {
      if (this.o.ledger.announcementAttempts(record.utr) >= MAX_ANNOUNCE_ATTEMPTS) this.giveUp(record);
      else this.announce(record);
    }
  }

  /**
   * Closes the sales left 'showing' in the ledger that are not to stay up,
   * then shows the QR still valid (the one paused by a fault, else the
   * newest), or the idle screen.
   */
  private restoreScreen(): void {
    const now = this.o.clock.now();
    const leftOnScreen = this.o.ledger.showingSales();
    const paused = this.paused && leftOnScreen.find((s) => s.tr === this.paused?.tr);
    const resume = paused ?? leftOnScreen.at(-1);
    for (const sale of leftOnScreen) {
      if (sale.tr === resume?.tr && sale.expiresAt > now) continue;
      const state = sale.expiresAt <= now ? 'expired' : 'cancelled';
      this.o.ledger.closeSale(sale.tr, state, state === 'expired' ? 'expired while not on screen' : 'superseded');
      this.emit(state === 'expired' ? { type: 'expired', tr: sale.tr, amount: sale.amount, ...ref(sale) } : { type: 'cancelled', tr: sale.tr, amount: sale.amount, reason: 'superseded', ...ref(sale) });
    }
    this.paused = undefined;
    if (resume && resume.expiresAt > now) {
      this.o.log.info({ tr: resume.tr }, 'resuming the QR that was on screen');
      this.display(resume);
    } else if (!this.resultTimer) {
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

  /** Throws StorageFault while the ledger cannot be written: a sale the device cannot record must not be payable. */
  private issue(request: SaleRequest, collectId?: string): SaleSnapshot {
    if (this.fault) throw new StorageFault('sales are paused: the ledger cannot be written');
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
    // Every write before anything is shown: a sale whose writes failed is
    // never on screen, and a sale left 'showing' by a write that failed
    // half-way is closed when the ledger works again.
    const sale = this.recording('sale not recorded', () => {
      const issued = this.o.ledger.issueSale(
        this.settings.deviceId,
        { source: request.source, amount, ref: request.ref, note, collectId, shownAt, expiresAt },
        (tr) => buildDynamicQr({ vpa: payee.vpa, payeeName: payee.name, mcc: payee.mcc, tr, note, amount, shownAt, expiresAt, ...(signing ? { signing } : {}) }).uri,
      );
      this.postQr(issued);
      this.supersede();
      return issued;
    });
    this.o.log.info({ tr: sale.tr, amount: formatWireAmount(amount), source: sale.source, ref: sale.ref }, 'QR shown');
    this.display(sale);
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

  /** A new sale replaces the one on screen; that QR stays payable (a payment on it is announced as late). */
  private supersede(): void {
    const previous = this.showing;
    if (!previous) return;
    // Closed first: if that write fails, the QR on screen is still the one paused.
    const closed = this.o.ledger.closeSale(previous.sale.tr, 'cancelled', 'superseded');
    this.clearShowing();
    if (closed) {
      this.emit({ type: 'cancelled', tr: previous.sale.tr, amount: previous.sale.amount, reason: 'superseded', ...ref(previous.sale) });
    }
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
    // Not closed: restoreScreen closes it when the ledger works again.
    if (!this.guarded('expired QR not closed', () => this.o.ledger.closeSale(sale.tr, 'expired', 'QR lifetime over'))) return;
    this.o.log.info({ tr: sale.tr }, 'QR expired');
    this.showResult({ kind: 'expired', amount: sale.amount, tr: sale.tr });
    this.emit({ type: 'expired', tr: sale.tr, amount: sale.amount, ...ref(sale) });
  }

  cancelSale(tr?: string): Promise<SaleSnapshot> {
    const current = this.showing?.sale;
    if (!current) return Promise.reject(new InputError('tr', 'no sale is on screen'));
    if (tr !== undefined && tr !== current.tr) return Promise.reject(new InputError('tr', `${tr} is not the sale on screen`));
    try {
      this.recording('cancel not recorded', () => this.o.ledger.closeSale(current.tr, 'cancelled', 'clerk'));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.clearShowing();
    this.o.log.info({ tr: current.tr }, 'sale cancelled');
    this.showResult({ kind: 'cancelled', amount: current.amount, tr: current.tr });
    this.emit({ type: 'cancelled', tr: current.tr, amount: current.amount, reason: 'clerk', ...ref(current) });
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

  /** The idle screen, or the fault screen while sales are paused. */
  showIdle(): void {
    if (this.fault) this.o.lcd.show({ kind: 'fault', fault: 'storage', deviceId: this.settings.deviceId });
    else this.o.lcd.show({ kind: 'idle', payeeName: this.settings.payee.name, deviceId: this.settings.deviceId });
  }

  /**
   * A `collect` request from the backend. Bad requests are logged and
   * counted, never shown. Throws StorageFault while the ledger cannot be
   * written, so that the request stays with the broker.
   */
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
      if (known.state === 'showing') this.recording('qr not queued', () => this.postQr(known));
      this.o.log.info({ id, tr: known.tr, state: known.state }, 'collect request already handled');
      return;
    }
    try {
      this.issue(request, id);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      this.rejected.collects++;
      this.rejected.lastReason = `collect: ${describeError(err)}`;
      this.o.log.warn({ id, reason: err.message }, 'collect request refused');
    }
  }

  /**
   * A `payment` confirmation. It returns only once the confirmation is
   * committed to the ledger (or its rejection, or its duplicate receipt, is
   * recorded); the broker's acknowledgement, sent after, never covers a
   * confirmation the device could still lose. When the ledger cannot be
   * written it throws StorageFault and nothing is acknowledged.
   */
  handlePayment(payload: Buffer): void {
    const accepted = this.recording('confirmation not recorded', () => {
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
        return undefined;
      }
      const payer = maskPayer(c.payer);
      const { record, fresh } = this.o.ledger.acceptPayment({ utr: c.utr, tr: c.tr, status: c.status, amount: c.amount, payer, paidAt: c.paidAt });
      if (!fresh) {
        this.o.outbox.post('receipt', this.receipt(c.tr, c.utr, 'duplicate'));
        this.o.log.info({ tr: c.tr, utr: c.utr }, 'duplicate confirmation acknowledged, not announced again');
        return undefined;
      }
      return record;
    });
    // Whatever was recorded above is proof the ledger can be written.
    this.storageWorks();
    if (accepted) this.accepted(accepted);
  }

  private reject(rejection: Rejection, payload: Buffer): void {
    this.o.ledger.recordRejection(
      {
        reason: rejection.message,
        tr: rejection.tr,
        utr: rejection.utr,
        size: payload.length,
        sha256: digest(payload),
        excerpt: payload.subarray(0, 256).toString('utf8').replace(/[^\x20-\x7e]/g, '?'),
      },
      queuedMessage('receipt', this.receipt(rejection.tr ?? null, rejection.utr ?? null, 'rejected', rejection.message)),
    );
    this.rejected.confirmations++;
    this.rejected.lastReason = rejection.message;
    this.o.log.warn({ reason: rejection.message, tr: rejection.tr, utr: rejection.utr, bytes: payload.length }, 'confirmation rejected');
    this.flushOutbox();
  }

  private accepted(record: PaymentRecord): void {
    const current = this.showing?.sale;
    const wasOnScreen = current?.tr === record.tr;
    if (wasOnScreen) this.clearShowing();
    const sale = this.guarded('sale not read for its reference', () => this.o.ledger.findSale(record.tr));
    const saleRef = sale ? ref(sale) : {};
    if (record.status === 'SUCCESS') {
      this.o.log.info(
        { tr: record.tr, utr: record.utr, amount: formatWireAmount(record.amount), asked: formatWireAmount(record.asked), late: record.late, mismatch: record.mismatch },
        record.mismatch ? 'payment received, amount differs from the QR' : 'payment received',
      );
      if (wasOnScreen || !this.showing) this.showPayment(record);
      this.emit({ type: 'paid', tr: record.tr, utr: record.utr, amount: record.amount, asked: record.asked, mismatch: record.mismatch, late: record.late, ...saleRef });
    } else {
      this.o.log.info({ tr: record.tr, utr: record.utr }, 'payment failed');
      if (wasOnScreen || !this.showing) this.showPayment(record);
      this.emit({ type: 'failed', tr: record.tr, utr: record.utr, amount: record.amount, ...saleRef });
    }
    this.announce(record);
  }

  private showPayment(record: PaymentRecord): void {
    const payer = record.payer ? { payer: record.payer } : {};
    if (record.status === 'FAILED') this.showResult({ kind: 'failed', amount: record.asked, tr: record.tr });
    else if (record.mismatch) this.showResult({ kind: 'mismatch', asked: record.asked, received: record.amount, utr: record.utr, ...payer }, MISMATCH_HOLD_FACTOR);
    else this.showResult({ kind: 'paid', amount: record.amount, utr: record.utr, late: record.late, ...payer });
  }

  /**
   * Counts the start in the ledger, speaks, then marks announced and queues
   * the receipt in one transaction. Throws nothing: a start that cannot be
   * counted waits for the ledger (speaking uncounted could repeat at every
   * boot); a mark that cannot be written is retried when the ledger works,
   * and if the device stops first, the next boot says the payment again.
   */
  private announce(record: PaymentRecord): void {
    try {
      this.o.ledger.countAnnouncementAttempt(record.utr);
    } catch (err) {
      if (isStorageFailure(err)) {
        this.waitingForStorage.set(record.utr, record);
        this.storageFailed(err, 'announcement not started');
      } else {
        this.o.log.error({ utr: record.utr, err }, 'announcement not started; it will be tried at the next start');
      }
      return;
    }
    const announcement: Announcement = record.status === 'SUCCESS' ? { kind: 'payment', amount: record.amount } : { kind: 'payment-failed' };
    this.announcing++;
    void this.o.announcer
      .announce(announcement)
      .then(
        () => this.spoken(record),
        (err: unknown) => {
          // The announcer refuses only once it is closed (the device is
          // stopping); the payment stays unannounced for the next boot.
          this.o.log.error({ utr: record.utr, err }, 'announcement not spoken; it will be tried at the next start');
        },
      )
      .finally(() => {
        this.announcing--;
      });
  }

  /** After the sentence: the mark and the receipt, in one transaction. Throws nothing. */
  private spoken(record: PaymentRecord): void {
    try {
      this.o.ledger.markAnnounced(record.utr, queuedMessage('receipt', this.receipt(record.tr, record.utr, 'announced')));
      this.unmarked.delete(record.utr);
    } catch (err) {
      this.unmarked.set(record.utr, record);
      if (isStorageFailure(err)) this.storageFailed(err, 'announcement not marked');
      else this.o.log.error({ utr: record.utr, err }, 'announcement not marked; the next start will say it again');
      return;
    }
    this.flushOutbox();
  }

  /**
   * A payment whose speaking has started MAX_ANNOUNCE_ATTEMPTS times without
   * its end being recorded: shown, receipted, counted for telemetry, never
   * said again.
   */
  private giveUp(record: PaymentRecord): void {
    this.o.log.error(
      { tr: record.tr, utr: record.utr, amount: formatWireAmount(record.amount), attempts: MAX_ANNOUNCE_ATTEMPTS },
      'payment announced too often without the end being recorded; shown, not said again',
    );
    const marked = this.guarded('announcement not given up', () =>
      this.o.ledger.giveUpAnnouncement(record.utr, queuedMessage('receipt', this.receipt(record.tr, record.utr, 'announced'))),
    );
    if (!marked) return;
    this.givenUp++;
    if (!this.showing) this.showPayment(record);
    this.flushOutbox();
  }

  private flushOutbox(): void {
    try {
      this.o.outbox.flush();
    } catch (err) {
      this.o.log.warn({ err }, 'outbox not flushed; it is flushed again on the next message or connection');
    }
  }

  /**
   * Runs ledger writes for a message or a request: when the ledger cannot
   * be written, sales are paused and StorageFault is thrown, so that the
   * caller refuses (serial link) or leaves the message unacknowledged
   * (broker link).
   */
  private recording<T>(what: string, work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (!isStorageFailure(err)) throw err;
      this.storageFailed(err, what);
      throw new StorageFault(`sales are paused: the ledger cannot be written (${describeError(err)})`, { cause: err });
    }
  }

  /** Runs ledger writes nobody waits on; a storage failure pauses sales. Returns undefined if the work failed. */
  private guarded<T>(what: string, work: () => T): T | undefined {
    try {
      return work();
    } catch (err) {
      if (isStorageFailure(err)) this.storageFailed(err, what);
      else this.o.log.error({ err }, what);
      return undefined;
    }
  }

  /** The ledger could not be written: pause sales, once per fault. */
  private storageFailed(err: unknown, what: string): void {
    if (this.fault) {
      this.o.log.debug({ err, what }, 'the ledger still cannot be written');
      return;
    }
    this.fault = { since: this.o.clock.now() };
    this.o.log.error({ err, what }, 'the ledger cannot be written; sales are paused until it can');
    if (this.showing) {
      this.paused = this.showing.sale;
      this.clearShowing();
    }
    // A result already up (say, the payment just received) stays for its
    // time; the fault screen follows it.
    if (!this.resultTimer) this.showIdle();
    if (this.settings.announce.prompts) {
      this.o.announcer.announce({ kind: 'fault', fault: 'storage' }).catch((e: unknown) => this.o.log.debug({ err: e }, 'fault prompt not spoken'));
    }
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    const fault = this.fault;
    if (!fault || this.stopped) return;
    fault.probe = this.o.clock.setTimeout(() => {
      fault.probe = undefined;
      if (this.fault !== fault || this.stopped) return;
      try {
        this.o.ledger.probeWrite();
      } catch (err) {
        this.o.log.debug({ err }, 'the ledger still cannot be written');
        this.scheduleProbe();
        return;
      }
      this.storageWorks();
    }, this.probeBackoff.next());
  }

  /** The ledger can be written again: resume sales and finish what could not be written. */
  private storageWorks(): void {
    const fault = this.fault;
    if (!fault) return;
    this.fault = undefined;
    this.o.clock.clearTimeout(fault.probe);
    this.probeBackoff.reset();
    this.o.log.info({ pausedForMs: this.o.clock.now() - fault.since }, 'the ledger can be written again; sales resume');
    for (const record of [...this.unmarked.values()]) {
      this.spoken(record);
      if (this.fault) return;
    }
    for (const record of [...this.waitingForStorage.values()]) {
      this.waitingForStorage.delete(record.utr);
      this.announce(record);
      if (this.fault) return;
    }
    this.guarded('sales left on screen not closed', () => this.restoreScreen());
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
  health(): {
    announcing: number;
    rejected: { confirmations: number; collects: number; lastReason: string | null };
    announcements: { givenUp: number };
  } {
    return { announcing: this.announcing, rejected: { ...this.rejected }, announcements: { givenUp: this.givenUp } };
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.fault?.probe);
    this.clearShowing();
    this.o.clock.clearTimeout(this.resultTimer);
    this.resultTimer = undefined;
    this.o.lcd.stop();
  }
}

function ref(sale: SaleSnapshot): { ref?: string } {
  return sale.ref !== undefined ? { ref: sale.ref } : {};
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

