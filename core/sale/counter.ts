import type { Screen } from '../ports/display.js';
import type { Announcement } from '../announce/announcement.js';
import { Backoff } from '../backoff.js';
import type { Clock, TimerHandle } from '../clock.js';
import { formatIst } from '../clock.js';
import type { ClockTrust, ClockVerdict } from '../clock-trust.js';
import type { DeviceConfig } from '../config.js';
import { Rejection, checkConfirmation, digest, maskPayer } from '../payment/confirmation.js';
import {
  ClockNotSetError,
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

/** What the counter needs of the soundbox. */
export interface AnnouncerPort {
  /**
   * Resolves when the sentence has been spoken. `beforeSpeaking` runs when
   * its turn comes, just before the speaker starts it; if it throws, the
   * sentence is not spoken and the promise rejects with what it threw.
   */
  announce(announcement: Announcement, options?: { beforeSpeaking?: () => void }): Promise<void>;
  /** Whether a sentence is being spoken or waiting: a new one would not start at once. */
  readonly busy: boolean;
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
  /**
   * Asked at boot whether the wall clock may stamp QRs, and again every
   * `clockRecheckMs` while it may not. Without one the clock is taken as
   * trusted (the device always passes one).
   */
  clockTrust?: ClockTrust;
  clockRecheckMs?: number;
}

const COLLECT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** A mismatch needs the clerk's attention, so it stays up longer than a plain result. */
const MISMATCH_HOLD_FACTOR = 3;
/** While the clock cannot be trusted, how often to ask again. Time servers usually answer seconds after the network is up. */
export const CLOCK_RECHECK_MS = 10_000;
/** How many recent QRs keep their lifetime on the monotonic clock, for the late rule. */
const TIMED_QRS = 64;
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
 * The wall clock, as far as sales go: `checking` from boot until the first
 * answer, then `trusted` or `untrusted`. Once trusted it stays so for the
 * run: a clock that has been synchronised only drifts by seconds a day when
 * the network goes.
 */
type ClockState = 'checking' | 'trusted' | 'untrusted';

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
  private readonly rejected = { confirmations: 0, collects: 0, lastReason: null as string | null };
  private clockState: ClockState = 'trusted';
  private clockReason?: string | undefined;
  /** The clock check in flight, if any. */
  private clockCheck?: Promise<void> | undefined;
  private clockRecheck?: TimerHandle | undefined;
  /** QRs the last run left on screen wait for a trusted clock to say whether they are still valid. */
  private leftoversWaiting = false;
  /** When each QR shown in this run stops being valid, on the monotonic clock. */
  private readonly lifetimes = new Map<string, number>();
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
   * Finishes what the last run left: announces accepted payments not yet
   * announced (and gives up, showing but not saying, on those already
   * started MAX_ANNOUNCE_ATTEMPTS times), and resumes a QR still valid.
   * With a clock check, the QRs left on screen wait for its answer: only a
   * trusted clock can say whether they are still valid. Until the first
   * answer the screen is left as it is (the boot screen). The sales it
   * closes are in the billing events when they are closed, so the billing
   * PC hears of them whenever its link starts.
   */
  boot(): void {
    const pending = this.o.ledger.pendingAnnouncements();
    if (pending.length) this.o.log.warn({ count: pending.length }, 'announcing payments accepted before the last stop');
    for (const record of pending) {
      if (this.o.ledger.announcementAttempts(record.utr) >= MAX_ANNOUNCE_ATTEMPTS) this.giveUp(record);
      else this.speak(record, true);
    }
    if (!this.o.clockTrust) {
      this.guarded('sales left on screen not closed', () => this.restoreScreen());
      return;
    }
    this.clockState = 'checking';
    this.leftoversWaiting = true;
    this.checkClock();
  }

  /**
   * Closes the sales left 'showing' in the ledger that are not to stay up,
   * then shows the QR still valid (the one paused by a storage fault, else
   * the newest), or the idle screen.
   */
  private restoreScreen(): void {
    const now = this.o.clock.now();
    // A QR shown in this run is timed on the monotonic clock; one from an
    // earlier run has only the wall clock to say how long it has left.
    const left = (sale: SaleSnapshot): number => {
      const until = this.lifetimes.get(sale.tr);
      return until !== undefined ? until - this.o.clock.monotonic() : sale.expiresAt - now;
    };
    const leftOnScreen = this.o.ledger.showingSales();
    const paused = this.paused && leftOnScreen.find((s) => s.tr === this.paused?.tr);
    const resume = paused ?? leftOnScreen.at(-1);
    for (const sale of leftOnScreen) {
      if (sale.tr === resume?.tr && left(sale) > 0) continue;
      const event: CounterEvent =
        left(sale) <= 0
          ? { type: 'expired', tr: sale.tr, amount: sale.amount, ...ref(sale) }
          : { type: 'cancelled', tr: sale.tr, amount: sale.amount, reason: 'superseded', ...ref(sale) };
      if (this.endSale(sale, event, event.type === 'expired' ? 'expired while not on screen' : 'superseded')) this.emit(event);
    }
    this.paused = undefined;
    if (resume && left(resume) > 0) {
      this.o.log.info({ tr: resume.tr }, 'resuming the QR that was on screen');
      this.display(resume, left(resume));
    } else if (!this.resultTimer) {
      this.showIdle();
    }
  }

  /** Asks whether the clock can be trusted, unless a check is already under way. */
  private checkClock(): void {
    const trust = this.o.clockTrust;
    if (!trust || this.clockCheck || this.stopped) return;
    this.clockCheck = (async () => {
      let verdict: ClockVerdict;
      try {
        verdict = await trust.check();
      } catch (err) {
        verdict = { trusted: false, reason: `the clock check failed: ${describeError(err)}` };
      }
      this.clockCheck = undefined;
      if (this.stopped) return;
      if (verdict.trusted) this.clockTrusted(verdict.reason);
      else this.clockUntrusted(verdict.reason ?? 'no reason given');
    })().catch((err: unknown) => this.o.log.error({ err }, 'the answer about the clock could not be acted on'));
  }

  private clockTrusted(reason: string | undefined): void {
    const was = this.clockState;
    this.clockState = 'trusted';
    this.clockReason = undefined;
    this.o.clock.clearTimeout(this.clockRecheck);
    this.clockRecheck = undefined;
    if (was === 'untrusted') this.o.log.info({ reason }, 'the clock can be trusted now; new sales resume');
    else this.o.log.info({ reason }, 'the clock can be trusted');
    if (this.leftoversWaiting) {
      this.leftoversWaiting = false;
      this.guarded('sales left on screen not closed', () => this.restoreScreen());
    } else if (!this.showing && !this.resultTimer) {
      this.showIdle();
    }
  }

  /**
   * No QR goes up while the clock cannot be trusted: the fault screen says
   * why, the prompt says it once, sale requests are refused, and the clock
   * is asked again until it can be trusted. Payments still arrive and are
   * announced as ever (see handlePayment).
   */
  private clockUntrusted(reason: string): void {
    const was = this.clockState;
    this.clockState = 'untrusted';
    this.clockReason = reason;
    if (was !== 'untrusted') {
      this.o.log.warn({ reason }, 'the clock cannot be trusted; no QR is shown and new sales are refused until it can');
      if (this.settings.announce.prompts) {
        this.o.announcer.announce({ kind: 'fault', fault: 'clock' }).catch((err: unknown) => this.o.log.warn({ err }, 'prompt not spoken'));
      }
      if (!this.showing && !this.resultTimer) this.showIdle();
    } else {
      this.o.log.debug({ reason }, 'the clock still cannot be trusted');
    }
    this.o.clock.clearTimeout(this.clockRecheck);
    this.clockRecheck = this.o.clock.setTimeout(() => {
      this.clockRecheck = undefined;
      this.checkClock();
    }, this.o.clockRecheckMs ?? CLOCK_RECHECK_MS);
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
    // A request while the clock is first being checked waits for the answer.
    if (this.clockState === 'checking' && this.clockCheck) return this.clockCheck.then(() => this.issue(request));
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
    // QRts and QRexpire are read once from a trusted wall clock; the QR's
    // lifetime on the device is then timed on the monotonic clock.
    if (this.clockState !== 'trusted') throw new ClockNotSetError(this.clockReason ?? 'it has not been checked yet');
    const shownAt = this.o.clock.now();
    const expiresAt = shownAt + lifetime * 1000;
    const { payee } = this.settings;
    const signing = this.o.config.qrSigningKey && payee.orgId ? { key: this.o.config.qrSigningKey, orgId: payee.orgId } : undefined;
    // Every write before anything is shown, in one transaction: the sale,
    // the closing of the sale it replaces, both billing events (cancelled,
    // then qr) and the qr message for the backend. A sale whose writes failed
    // is never on screen.
    const previous = this.showing?.sale;
    let superseded: CounterEvent | undefined;
    const sale = this.recording('sale not recorded', () =>
      this.o.ledger.transaction(() => {
        if (previous) {
          const event: CounterEvent = { type: 'cancelled', tr: previous.tr, amount: previous.amount, reason: 'superseded', ...ref(previous) };
          if (this.endSale(previous, event, 'superseded')) superseded = event;
        }
        const issued = this.o.ledger.issueSale(
          { source: request.source, amount, ref: request.ref, note, collectId, shownAt, expiresAt },
          (tr) => buildDynamicQr({ vpa: payee.vpa, payeeName: payee.name, mcc: payee.mcc, tr, note, amount, shownAt, expiresAt, ...(signing ? { signing } : {}) }).uri,
        );
        this.o.ledger.recordEvent({ type: 'qr', sale: issued });
        this.o.outbox.queue('qr', qrMessage(issued));
        return issued;
      }),
    );
    // A replaced QR stays payable: a payment on it is announced as late.
    if (previous) this.clearShowing();
    if (superseded) this.emit(superseded);
    this.o.log.info({ tr: sale.tr, amount: formatWireAmount(amount), source: sale.source, ref: sale.ref }, 'QR shown');
    this.display(sale, lifetime * 1000);
    this.flushOutbox();
    this.emit({ type: 'qr', sale });
    return sale;
  }

  private postQr(sale: SaleSnapshot): void {
    this.o.outbox.post('qr', qrMessage(sale));
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

  /**
   * Puts a QR up for `lifetimeMs` of elapsed time. The expiry and the
   * countdown run on the monotonic clock, so a step of the wall clock
   * while it is up neither ends it early nor keeps it up longer.
   */
  private display(sale: SaleSnapshot, lifetimeMs: number): void {
    this.o.clock.clearTimeout(this.resultTimer);
    this.resultTimer = undefined;
    const remaining = Math.max(0, lifetimeMs);
    const expiry = this.o.clock.setTimeout(() => this.expire(sale), remaining);
    this.showing = { sale, expiry };
    this.lifetimes.delete(sale.tr);
    this.lifetimes.set(sale.tr, this.o.clock.monotonic() + remaining);
    for (const tr of this.lifetimes.keys()) {
      if (this.lifetimes.size <= TIMED_QRS) break;
      this.lifetimes.delete(tr);
    }
    this.o.lcd.show({
      kind: 'collect',
      uri: sale.uri,
      amount: sale.amount,
      payeeName: this.settings.payee.name,
      tr: sale.tr,
      expiresAt: sale.expiresAt,
      // The countdown's "now" on the QR's own timeline: what is left of its lifetime.
      now: sale.expiresAt - remaining,
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
    // Not closed while the ledger cannot be written: restoreScreen closes it when it can.
    if (!this.guarded('expired QR not closed', () => this.endSale(sale, event, 'QR lifetime over'))) return;
    this.o.log.info({ tr: sale.tr }, 'QR expired');
    this.showResult({ kind: 'expired', amount: sale.amount, tr: sale.tr });
    this.emit(event);
  }

  cancelSale(tr?: string): Promise<SaleSnapshot> {
    const current = this.showing?.sale;
    if (!current) return Promise.reject(new InputError('tr', 'no sale is on screen'));
    if (tr !== undefined && tr !== current.tr) return Promise.reject(new InputError('tr', `${tr} is not the sale on screen`));
    const event: CounterEvent = { type: 'cancelled', tr: current.tr, amount: current.amount, reason: 'clerk', ...ref(current) };
    let closed: boolean;
    try {
      closed = this.recording('cancel not recorded', () => this.endSale(current, event, 'clerk'));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.clearShowing();
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

  /**
   * The screen between sales: idle, or the fault screen while sales are
   * paused (the ledger cannot be written, or the clock cannot be trusted),
   * or the boot screen while the clock is first being asked.
   */
  showIdle(): void {
    const { deviceId } = this.settings;
    if (this.fault) this.o.lcd.show({ kind: 'fault', fault: 'storage', deviceId });
    else if (this.clockState === 'untrusted') this.o.lcd.show({ kind: 'fault', fault: 'clock', deviceId });
    else if (this.clockState === 'checking') this.o.lcd.show({ kind: 'boot', firmware: this.o.firmware, deviceId });
    else this.o.lcd.show({ kind: 'idle', payeeName: this.settings.payee.name, deviceId });
  }

  /**
   * A `collect` request from the backend. Bad requests, and any request
   * while the clock cannot be trusted, are logged and counted, never shown.
   * Throws StorageFault while the ledger cannot be written, so that the
   * request stays with the broker.
   */
  handleCollect(payload: Buffer): void {
    if (this.clockState === 'checking' && this.clockCheck) {
      // Arrived while the clock is first being checked: handled on the answer.
      this.clockCheck.then(() => this.handleCollect(payload)).catch((err: unknown) => this.o.log.error({ err }, 'collect request failed'));
      return;
    }
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
      if (known.state === 'showing' && this.showing?.sale.tr === known.tr) this.recording('qr not queued', () => this.postQr(known));
      this.o.log.info({ id, tr: known.tr, state: known.state }, 'collect request already handled');
      return;
    }
    try {
      this.issue(request, id);
    } catch (err) {
      // A storage fault goes up, so that the request stays with the broker.
      if (!(err instanceof InputError) && !(err instanceof ClockNotSetError)) throw err;
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
   *
   * Money received is always announced, whatever the clock: a confirmation
   * that arrives while the clock cannot be trusted is accepted, shown and
   * announced like any other. The wall clock only stamps when it was
   * received; `paidAt` is the bank's time, checked against when the QR was
   * shown.
   */
  handlePayment(payload: Buffer): void {
    const accepted = this.recording('confirmation not recorded', () => {
      let c;
      try {
        c = checkConfirmation(payload, {
          deviceId: this.settings.deviceId,
          keys: this.o.config.notifierKeys,
          shownAt: (tr) => this.o.ledger.findSale(tr)?.shownAt,
        });
      } catch (err) {
        if (!(err instanceof Rejection)) throw err;
        this.reject(err, payload);
        return undefined;
      }
      const payer = maskPayer(c.payer);
      const lifetimeOver = this.lifetimeOver(c.tr);
      // The payment, the billing PC's paid or failed event and, when the
      // speaker is free so its sentence starts at once, the first start of
      // its announcement commit together: one fsync, not two. Behind other
      // sentences the start is counted when its turn comes, so a power cut
      // while it waits does not use up one of its starts unheard.
      const startsNow = !this.o.announcer.busy;
      const committed = this.o.ledger.transaction(() => {
        const { record, fresh, sale } = this.o.ledger.acceptPayment({ utr: c.utr, tr: c.tr, status: c.status, amount: c.amount, payer, paidAt: c.paidAt }, lifetimeOver);
        if (!fresh) return undefined;
        const event = paymentEvent(record, sale);
        this.o.ledger.recordEvent(event);
        let uncounted: { error: unknown } | undefined;
        try {
          if (startsNow) this.o.ledger.countAnnouncementAttempt(record.utr);
        } catch (error) {
          // SQLite ends the whole transaction after some storage errors: then
          // the payment is not recorded either, and the error goes up.
          if (!this.o.ledger.inTransaction) throw error;
          uncounted = { error };
        }
        return { record, event, uncounted, counted: startsNow };
      });
      if (!committed) {
        this.o.outbox.post('receipt', this.receipt(c.tr, c.utr, 'duplicate'));
        this.o.log.info({ tr: c.tr, utr: c.utr }, 'duplicate confirmation acknowledged, not announced again');
        return undefined;
      }
      return committed;
    });
    // Whatever was recorded above is proof the ledger can be written.
    this.storageWorks();
    if (accepted) this.accepted(accepted.record, accepted.event, accepted.uncounted, accepted.counted);
  }

  /**
   * Whether a QR's lifetime is over, for the late rule. A QR shown in this
   * run was timed on the monotonic clock, so a step of the wall clock
   * neither makes a payment on it late nor on time. A QR from an earlier run
   * is left to the ledger, which compares the wall clock with its QRexpire,
   * but only while the clock is trusted: otherwise its lifetime is not
   * judged, and the payment is late only if the QR was expired, cancelled or
   * replaced.
   */
  private lifetimeOver(tr: string): boolean | undefined {
    const until = this.lifetimes.get(tr);
    if (until !== undefined) return this.o.clock.monotonic() >= until;
    return this.clockState === 'trusted' ? undefined : false;
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

  /**
   * `counted`: the first start of speaking was counted with the payment;
   * `uncounted` holds why it could not be, if it could not.
   */
  private accepted(record: PaymentRecord, event: CounterEvent, uncounted: { error: unknown } | undefined, counted: boolean): void {
    const current = this.showing?.sale;
    const wasOnScreen = current?.tr === record.tr;
    if (wasOnScreen) this.clearShowing();
    if (record.status === 'SUCCESS') {
      this.o.log.info(
        { tr: record.tr, utr: record.utr, amount: formatWireAmount(record.amount), asked: formatWireAmount(record.asked), late: record.late, mismatch: record.mismatch },
        record.mismatch ? 'payment received, amount differs from the QR' : 'payment received',
      );
      if (wasOnScreen || !this.showing) this.showPayment(record);
    } else {
      this.o.log.info({ tr: record.tr, utr: record.utr }, 'payment failed');
      if (wasOnScreen || !this.showing) this.showPayment(record);
    }
    this.emit(event);
    if (uncounted) this.startNotCounted(record, uncounted.error);
    else this.speak(record, !counted);
  }

  private showPayment(record: PaymentRecord): void {
    const payer = record.payer ? { payer: record.payer } : {};
    if (record.status === 'FAILED') this.showResult({ kind: 'failed', amount: record.asked, tr: record.tr });
    else if (record.mismatch) this.showResult({ kind: 'mismatch', asked: record.asked, received: record.amount, utr: record.utr, ...payer }, MISMATCH_HOLD_FACTOR);
    else this.showResult({ kind: 'paid', amount: record.amount, utr: record.utr, late: record.late, ...payer });
  }

  private startNotCounted(record: PaymentRecord, err: unknown): void {
    if (isStorageFailure(err)) {
      this.waitingForStorage.set(record.utr, record);
      this.storageFailed(err, 'announcement not started');
    } else {
      this.o.log.error({ utr: record.utr, err }, 'announcement not started; it will be tried at the next start');
    }
  }

  /**
   * Speaks a payment, then marks it announced and queues the receipt in one
   * transaction. With `countAtStart` its start is counted in the ledger
   * when its turn comes, before the speaker begins; otherwise it was counted
   * already. Throws nothing: a start that cannot be counted waits for the
   * ledger (speaking uncounted could repeat at every boot); a mark that
   * cannot be written is retried when the ledger works, and if the device
   * stops first, the next boot says the payment again.
   */
  private speak(record: PaymentRecord, countAtStart: boolean): void {
    const announcement: Announcement = record.status === 'SUCCESS' ? { kind: 'payment', amount: record.amount } : { kind: 'payment-failed' };
    let notStarted: { err: unknown } | undefined;
    const beforeSpeaking = (): void => {
      try {
        this.o.ledger.countAnnouncementAttempt(record.utr);
      } catch (err) {
        notStarted = { err };
        throw err;
      }
    };
    void this.o.announcer.announce(announcement, countAtStart ? { beforeSpeaking } : {}).then(
      () => this.spoken(record),
      (err: unknown) => {
        if (notStarted) {
          this.startNotCounted(record, notStarted.err);
          return;
        }
        // Otherwise the announcer refused because it is closed (the device
        // is stopping); the payment stays unannounced for the next boot.
        this.o.log.error({ utr: record.utr, err }, 'announcement not spoken; it will be tried at the next start');
      },
    );
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
      this.speak(record, true);
      if (this.fault) return;
    }
    if (this.clockState === 'trusted') this.guarded('sales left on screen not closed', () => this.restoreScreen());
    else if (!this.resultTimer) this.showIdle();
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
  health(): { rejected: { confirmations: number; collects: number; lastReason: string | null }; announcements: { givenUp: number } } {
    return { rejected: { ...this.rejected }, announcements: { givenUp: this.givenUp } };
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.clockRecheck);
    this.clockRecheck = undefined;
    this.o.clock.clearTimeout(this.fault?.probe);
    this.clearShowing();
    this.o.clock.clearTimeout(this.resultTimer);
    this.resultTimer = undefined;
    this.o.lcd.stop();
  }
}

/** What the backend hears of a QR on screen. */
function qrMessage(sale: SaleSnapshot): DeviceTopics['qr'] {
  return {
    v: 1,
    tr: sale.tr,
    amount: formatWireAmount(sale.amount),
    uri: sale.uri,
    shownAt: formatIst(sale.shownAt),
    expiresAt: formatIst(sale.expiresAt),
    source: sale.source,
  };
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

