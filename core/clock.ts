/**
 * All time in dakbox comes from one Clock so that expiry, countdowns,
 * debouncing and backoff can be tested without waiting.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export interface TimerHandle {
  readonly __timer: unique symbol;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => {
    if (handle) clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

interface ManualTimer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in time order during
 * `advance`, each seeing `now()` equal to its due time.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 15, 4, 30, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    const id = handle as unknown as number;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = due.at;
      due.callback();
    }
    this.current = target;
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
