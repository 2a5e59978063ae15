export interface BackoffOptions {
  /** Delay before the first retry. */
  firstDelayMs?: number;
  /** The delay doubles up to this and stays there. */
  maxDelayMs?: number;
}

/**
 * Retry delays that double from a short first wait to a ceiling: a USB
 * adapter that is replugged at once is back within a second, one left out
 * overnight costs a retry every half minute, not a busy loop and a flood of
 * log lines. No jitter: one device retries one local port, there is no
 * crowd of clients to spread out.
 */
export class Backoff {
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  private attempts = 0;

  constructor(options: BackoffOptions = {}) {
    this.firstDelayMs = options.firstDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    if (!Number.isFinite(this.firstDelayMs) || this.firstDelayMs <= 0) {
      throw new TypeError(`firstDelayMs must be more than 0, got ${this.firstDelayMs}`);
    }
    if (!Number.isFinite(this.maxDelayMs) || this.maxDelayMs < this.firstDelayMs) {
      throw new TypeError(`maxDelayMs must be at least firstDelayMs (${this.firstDelayMs}), got ${this.maxDelayMs}`);
    }
  }

  /** The wait before the next attempt; each call doubles it, up to the ceiling. */
  next(): number {
    const delay = Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    return delay;
  }

  /** After a success the next failure starts again from the first delay. */
  reset(): void {
    this.attempts = 0;
  }

  get failures(): number {
    return this.attempts;
  }
}
