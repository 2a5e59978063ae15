import type { Screen } from '../ports/display.js';
import type { Announcement } from '../announce/announcement.js';
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
 * receipted — so a power cut at any point is finished at the next boot and
 * nothing is announced twice.
 */
export class Counter implements CounterPort {
  private showing?: ShowingSale | undefined;
  private resultTimer?: TimerHandle | undefined;
  private readonly listeners = new Set<(event: CounterEvent) => void>();
  private announcing = 0;
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
  private stopped = false;

  constructor(private readonly o: CounterOptions) {}

  private get settings() {
    return this.o.config.settings;
  }

  /**
   * Finishes what the last run left: announces accepted payments not yet
   * announced, and resumes a QR still valid. With a clock check, the QRs
   * left on screen wait for its answer: only a trusted clock can say
   * whether they are still valid. Until the first answer the screen is
   * left as it is (the boot screen).
   */
  boot(): void {
    const pending = this.o.ledger.pendingAnnouncements();
    if (pending.length) this.o.log.warn({ count: pending.length }, 'announcing payments accepted before the last stop');
    for (const record of pending) this.announce(record);
    if (!this.o.clockTrust) {
      this.resumeLeftovers();
      return;
    }
    this.clockState = 'checking';
    this.leftoversWaiting = true;
    this.checkClock();
  }

  /** Closes the QRs the last run left on screen, except the newest if it is still valid, which goes back up. */
  private resumeLeftovers(): void {
    const now = this.o.clock.now();
    const leftOnScreen = this.o.ledger.showingSales();
    const resume = leftOnScreen.at(-1);
    for (const sale of leftOnScreen) {
      if (sale === resume && sale.expiresAt > now) continue;
      const state = sale.expiresAt <= now ? 'expired' : 'cancelled';
      this.o.ledger.closeSale(sale.tr, state, state === 'expired' ? 'expired while the device was off' : 'superseded');
      this.emit(state === 'expired' ? { type: 'expired', tr: sale.tr, amount: sale.amount, ...ref(sale) } : { type: 'cancelled', tr: sale.tr, amount: sale.amount, reason: 'superseded', ...ref(sale) });
    }
    if (resume && resume.expiresAt > now) {
      this.o.log.info({ tr: resume.tr }, 'resuming the QR that was on screen');
      // Its lifetime left is all the wall clock can say; from here on it is timed on the monotonic clock.
      this.display(resume, resume.expiresAt - now);
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
      this.resumeLeftovers();
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

  private issue(request: SaleRequest, collectId?: string): SaleSnapshot {
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
    const sale = this.o.ledger.issueSale(
      { source: request.source, amount, ref: request.ref, note, collectId, shownAt, expiresAt },
      (tr) => buildDynamicQr({ vpa: payee.vpa, payeeName: payee.name, mcc: payee.mcc, tr, note, amount, shownAt, expiresAt, ...(signing ? { signing } : {}) }).uri,
    );
    this.supersede();
    this.o.log.info({ tr: sale.tr, amount: formatWireAmount(amount), source: sale.source, ref: sale.ref }, 'QR shown');
    this.display(sale, lifetime * 1000);
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

  /** A new sale replaces the one on screen; that QR stays payable (a payment on it is announced as late). */
  private supersede(): void {
    const previous = this.showing;
    if (!previous) return;
    this.clearShowing();
    if (this.o.ledger.closeSale(previous.sale.tr, 'cancelled', 'superseded')) {
      this.emit({ type: 'cancelled', tr: previous.sale.tr, amount: previous.sale.amount, reason: 'superseded', ...ref(previous.sale) });
    }
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
    if (!this.o.ledger.closeSale(sale.tr, 'expired', 'QR lifetime over')) return;
    this.o.log.info({ tr: sale.tr }, 'QR expired');
    this.showResult({ kind: 'expired', amount: sale.amount, tr: sale.tr });
    this.emit({ type: 'expired', tr: sale.tr, amount: sale.amount, ...ref(sale) });
  }

  cancelSale(tr?: string): Promise<SaleSnapshot> {
    const current = this.showing?.sale;
    if (!current) return Promise.reject(new InputError('tr', 'no sale is on screen'));
    if (tr !== undefined && tr !== current.tr) return Promise.reject(new InputError('tr', `${tr} is not the sale on screen`));
    this.clearShowing();
    this.o.ledger.closeSale(current.tr, 'cancelled', 'clerk');
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

  /** The screen between sales: idle, or while the clock cannot be trusted the fault screen (the boot screen until it has been asked). */
  showIdle(): void {
    const { deviceId } = this.settings;
    if (this.clockState === 'untrusted') this.o.lcd.show({ kind: 'fault', fault: 'clock', deviceId });
    else if (this.clockState === 'checking') this.o.lcd.show({ kind: 'boot', firmware: this.o.firmware, deviceId });
    else this.o.lcd.show({ kind: 'idle', payeeName: this.settings.payee.name, deviceId });
  }

  /**
   * A `collect` request from the backend. Bad requests, and any request
   * while the clock cannot be trusted, are logged and counted, never shown.
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
      if (known.state === 'showing' && this.showing?.sale.tr === known.tr) this.postQr(known);
      this.o.log.info({ id, tr: known.tr, state: known.state }, 'collect request already handled');
      return;
    }
    try {
      this.issue(request, id);
    } catch (err) {
      this.rejected.collects++;
      this.rejected.lastReason = `collect: ${describeError(err)}`;
      if (!(err instanceof InputError) && !(err instanceof ClockNotSetError)) throw err;
      this.o.log.warn({ id, reason: err.message }, 'collect request refused');
    }
  }

  /**
   * A `payment` confirmation. Everything up to the ledger commit happens
   * before this returns, so the broker's acknowledgement (sent after) never
   * covers a confirmation the device could still lose.
   *
   * Money received is always announced, whatever the clock: a confirmation
   * that arrives while the clock cannot be trusted is accepted, shown and
   * announced like any other. The wall clock only stamps when it was
   * received; `paidAt` is the bank's time and is not compared with it.
   */
  handlePayment(payload: Buffer): void {
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
      return;
    }
    const payer = maskPayer(c.payer);
    const { record, fresh } = this.o.ledger.acceptPayment({ utr: c.utr, tr: c.tr, status: c.status, amount: c.amount, payer, paidAt: c.paidAt }, this.lifetimeOver(c.tr));
    if (!fresh) {
      this.o.log.info({ tr: c.tr, utr: c.utr }, 'duplicate confirmation acknowledged, not announced again');
      this.o.outbox.post('receipt', this.receipt(c.tr, c.utr, 'duplicate'));
      return;
    }
    this.accepted(record);
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

  private accepted(record: PaymentRecord): void {
    const current = this.showing?.sale;
    const wasOnScreen = current?.tr === record.tr;
    if (wasOnScreen) this.clearShowing();
    const sale = this.o.ledger.findSale(record.tr);
    const saleRef = sale ? ref(sale) : {};
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
      this.emit({ type: 'paid', tr: record.tr, utr: record.utr, amount: record.amount, asked: record.asked, mismatch: record.mismatch, late: record.late, ...saleRef });
    } else {
      this.o.log.info({ tr: record.tr, utr: record.utr }, 'payment failed');
      if (wasOnScreen || !this.showing) this.showResult({ kind: 'failed', amount: record.asked, tr: record.tr });
      this.emit({ type: 'failed', tr: record.tr, utr: record.utr, amount: record.amount, ...saleRef });
    }
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
    this.stopped = true;
    this.o.clock.clearTimeout(this.clockRecheck);
    this.clockRecheck = undefined;
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

