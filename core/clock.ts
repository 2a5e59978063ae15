import { performance } from 'node:perf_hooks';

/**
 * All time in dakbox comes from one Clock so that expiry, countdowns,
 * debouncing and backoff can be tested without waiting.
 *
 * A clock tells two kinds of time. `now()` is the wall clock: what is
 * written into a QR (`QRts`, `QRexpire`), a receipt or the ledger. It can
 * jump: a board without a battery clock starts with a stale time and is
 * stepped when it reaches a time server. `monotonic()` only ever moves
 * forward at the rate time passes, so how long something has lasted (a
 * QR's lifetime, a countdown) is measured on it. Timers run on monotonic
 * time: stepping the wall clock neither fires nor delays them.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, as the wall clock says. */
  now(): number;
  /** Milliseconds from an arbitrary start; never steps, only elapses. */
  monotonic(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export interface TimerHandle {
  readonly __timer: unique symbol;
}

/** Node's timers already run on the monotonic clock (libuv's loop time), so only `monotonic()` needs saying. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => {
    if (handle) clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

interface ManualTimer {
  id: number;
  /** Monotonic time it falls due. */
  at: number;
  callback: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in time order during
 * `advance`, each seeing `now()` equal to its due time. `stepWall` sets the
 * wall clock forward or back without time passing, as a time server's
 * correction does: monotonic time and the timers do not move.
 */
export class ManualClock implements Clock {
  private elapsed = 0;
  /** Wall time minus monotonic time; only `stepWall` changes it. */
  private wallOffset: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 15, 4, 30, 0)) {
    this.wallOffset = start;
  }

  now(): number {
    return this.elapsed + this.wallOffset;
  }

  monotonic(): number {
    return this.elapsed;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.elapsed + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    const id = handle as unknown as number;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Lets `ms` pass, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.elapsed + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.elapsed = due.at;
      due.callback();
    }
    this.elapsed = target;
  }

  /** Steps the wall clock by `ms` (negative: back) without any time passing. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  /** How many timers are waiting; lets tests prove nothing was left running. */
  pending(): number {
    return this.timers.length;
  }
}

const IST_OFFSET_MS = (5 * 60 + 30) * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Midnight India Standard Time that began the IST day holding `epochMs`, in epoch ms. */
export function istDayStart(epochMs: number): number {
  return Math.floor((epochMs + IST_OFFSET_MS) / DAY_MS) * DAY_MS - IST_OFFSET_MS;
}

/**
 * The next moment, strictly after `epochMs`, when a wall clock in India
 * reads `time` ("20:00", 24-hour): today if that is still ahead, else tomorrow.
 */
export function nextIstTime(epochMs: number, time: string): number {
  const [hours = 0, minutes = 0] = time.split(':').map(Number);
  const today = istDayStart(epochMs) + (hours * 60 + minutes) * 60_000;
  return today > epochMs ? today : today + DAY_MS;
}

/** ISO-8601 in India Standard Time with an explicit offset: "2026-01-15T10:00:00+05:30". */
export function formatIst(epochMs: number): string {
  const shifted = new Date(Math.floor(epochMs / 1000) * 1000 + IST_OFFSET_MS);
  return `${shifted.toISOString().slice(0, 19)}+05:30`;
}
