import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';

/**
 * A device's own wall clock over another clock: the same time plus an
 * offset that `step` moves, as a time server's correction (or a board's
 * stale battery clock) does. Monotonic time and timers are the underlying
 * clock's, so stepping neither fires nor delays a timer.
 */
export class OffsetClock implements Clock {
  private offsetMs = 0;

  constructor(private readonly base: Clock = systemClock) {}

  /** How far this clock's wall time is from the underlying clock's. */
  get offset(): number {
    return this.offsetMs;
  }

  step(ms: number): void {
    this.offsetMs += ms;
  }

  now(): number {
    return this.base.now() + this.offsetMs;
  }

  monotonic(): number {
    return this.base.monotonic();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(callback, ms);
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.base.clearTimeout(handle);
  }
}
