import type { Announcer } from '../../core/announce/announcer.js';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { nextIstTime } from '../../core/clock.js';
import type { DeviceSettings } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { Ledger } from '../../core/payment/ledger.js';
import { sayPrompt, type Feature } from './feature.js';

export interface DaySummaryOptions {
  ledger: Pick<Ledger, 'today'>;
  announcer: Pick<Announcer, 'announce'>;
  /** The settings in force; `announce.daySummaryAt` is the IST time of day, or absent for none. */
  settings: () => DeviceSettings;
  clock: Clock;
  log: Logger;
}

/** Today's count and total, spoken every day at `announce.daySummaryAt` (IST). */
export class DaySummary implements Feature {
  readonly name = 'day-summary';
  private timer?: TimerHandle | undefined;
  private running = false;

  constructor(private readonly o: DaySummaryOptions) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const at = this.o.settings().announce.daySummaryAt;
    this.o.clock.clearTimeout(this.timer);
    if (!at) return;
    const now = this.o.clock.now();
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      const today = this.o.ledger.today();
      sayPrompt(this.o.announcer, { kind: 'day-summary', count: today.count, total: today.total }, this.o.log);
      this.schedule();
    }, nextIstTime(now, at) - now);
  }
}
