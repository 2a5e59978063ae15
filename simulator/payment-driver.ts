import type { PaymentsBackend } from './backend.js';
import { parseWireAmount } from '../core/money.js';
import type { Paise } from '../core/money.js';

export interface PaidPayment {
  index: number;
  utr: string;
  tr: string;
  amount: string;
  paise: Paise;
}

export interface PaymentDriverOptions {
  backend: PaymentsBackend;
  deviceId: string;
  /** Starts every collect id and utr, so two drivers never share one. */
  label: string;
  payments: number;
  /** Sales asked for at once; each new QR replaces the one on screen, which stays payable. */
  inFlight: number;
  /** How long to wait for a QR before asking again with the same id. */
  qrWaitMs?: number;
  /** How long a paid QR may go without any receipt before the run fails. */
  receiptWaitMs?: number;
}

/** Payment `index`'s amount: unique, so its sentence names it. */
export function amountOf(index: number): string {
  return `${index}.${String((index * 37) % 100).padStart(2, '0')}`;
}

/**
 * The counter's day through the payments backend: for each payment a
 * `collect`, the device's `qr` for it, then a signed SUCCESS for that `tr`,
 * and a wait for its receipt, with several sales in flight. A collect whose QR
 * does not come (lost with a crashed broker, or the device was off) is asked
 * for again; the backend republishes each confirmation until its receipt.
 */
export class PaymentDriver {
  readonly paid = new Map<string, PaidPayment>();
  /** utr → every receipt outcome seen, in order. */
  readonly outcomes = new Map<string, string[]>();
  collects = 0;
  collectsRepeated = 0;
  completed = 0;
  private next = 1;
  private failure: Error | undefined;
  private readonly qrWaiters = new Map<string, (tr: string) => void>();
  private readonly receiptWaiters = new Map<string, () => void>();
  private readonly progressWaiters = new Set<{ at: number; resolve: () => void }>();
  private held: { after: number; released: Promise<void>; release: () => void } | undefined;

  constructor(private readonly o: PaymentDriverOptions) {
    o.backend.on('qr', ({ deviceId, message }) => {
      if (deviceId !== o.deviceId) return;
      const note = new URLSearchParams(message.uri.slice(message.uri.indexOf('?') + 1)).get('tn');
      const waiter = note !== null ? this.qrWaiters.get(note) : undefined;
      if (!waiter) return;
      this.qrWaiters.delete(note!);
      waiter(message.tr);
    });
    o.backend.on('receipt', ({ deviceId, message }) => {
      if (deviceId !== o.deviceId || message.utr === null) return;
      const list = this.outcomes.get(message.utr) ?? [];
      list.push(message.outcome);
      this.outcomes.set(message.utr, list);
      this.receiptWaiters.get(message.utr)?.();
      this.receiptWaiters.delete(message.utr);
    });
  }

  /** A payment went wrong and the run has stopped. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Drives every payment; resolves when each has a receipt. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.inFlight }, () => this.worker()));
    if (this.failure) throw this.failure;
  }

  /** Resolves once `count` payments have their receipt. */
  reached(count: number): Promise<void> {
    if (this.completed >= count) return Promise.resolve();
    return new Promise((resolve) => this.progressWaiters.add({ at: count, resolve }));
  }

  /**
   * Starts no payment after the `count`th until `resume()`, so that once
   * `reached(count)` resolves the device has no sale in flight: a reading
   * then taken is of the same quiet state each time.
   */
  holdAfter(count: number): void {
    this.resume();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { after: count, released, release };
  }

  /** Lets the payments held by `holdAfter` go on. */
  resume(): void {
    this.held?.release();
    this.held = undefined;
  }

  private async worker(): Promise<void> {
    while (!this.failure && this.next <= this.o.payments) {
      if (this.held && this.next > this.held.after) {
        await this.held.released;
        continue;
      }
      const index = this.next++;
      try {
        await this.payment(index);
      } catch (err) {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        for (const w of this.progressWaiters) w.resolve();
        this.resume();
        return;
      }
      this.completed++;
      for (const w of this.progressWaiters) {
        if (this.completed >= w.at) {
          this.progressWaiters.delete(w);
          w.resolve();
        }
      }
    }
  }

  private async payment(index: number): Promise<void> {
    const amount = amountOf(index);
    const tr = await this.showQr(index, amount);
    const utr = `${this.o.label}${String(index).padStart(6, '0')}`;
    const receipted = new Promise<void>((resolve) => this.receiptWaiters.set(utr, resolve));
    this.paid.set(utr, { index, utr, tr, amount, paise: parseWireAmount(amount) });
    await this.o.backend.pay(this.o.deviceId, tr, { amount, utr });
    const waitMs = this.o.receiptWaitMs ?? 120_000;
    const timedOut = await Promise.race([receipted.then(() => false), sleep(waitMs).then(() => true)]);
    if (timedOut) throw new Error(`no receipt for ${utr} (tr ${tr}) within ${waitMs} ms`);
  }

  /** Asks for a sale until its QR is seen: the same id three times, then a fresh id. */
  private async showQr(index: number, amount: string): Promise<string> {
    const waitMs = this.o.qrWaitMs ?? 3000;
    for (let attempt = 0; attempt < 20; attempt++) {
      const id = `${this.o.label}-${index}-${attempt}`;
      const shown = new Promise<string>((resolve) => this.qrWaiters.set(id, resolve));
      for (let ask = 0; ask < 3; ask++) {
        this.collects++;
        if (ask > 0 || attempt > 0) this.collectsRepeated++;
        await this.o.backend.collect(this.o.deviceId, { v: 1, id, amount, note: id, expiresIn: 3600 });
        const tr = await Promise.race([shown, sleep(waitMs).then(() => undefined)]);
        if (tr !== undefined) return tr;
      }
      this.qrWaiters.delete(id);
    }
    throw new Error(`no QR for payment ${index} after 60 requests`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
