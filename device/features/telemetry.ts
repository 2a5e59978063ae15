import { statfsSync } from 'node:fs';
import { freemem } from 'node:os';
import { dirname } from 'node:path';
import type { Announcer } from '../../core/announce/announcer.js';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { formatIst } from '../../core/clock.js';
import type { DeviceSettings } from '../../core/config.js';
import type { Telemetry } from '../../core/link/topics.js';
import type { Logger } from '../../core/log.js';
import { formatWireAmount } from '../../core/money.js';
import type { Ledger } from '../../core/payment/ledger.js';
import type { MqttLink } from '../../core/link/mqtt-link.js';
import type { Outbox } from '../../core/payment/outbox.js';
import type { Counter } from '../../core/sale/counter.js';
import type { Feature } from './feature.js';

/** How much memory and storage the board has left; the real one asks the OS. */
export interface SystemProbe {
  freeMemoryBytes(): number;
  /** Free bytes on the filesystem holding `path`, or null if it cannot be read. */
  freeStorageBytes(path: string): number | null;
}

export const systemProbe: SystemProbe = {
  freeMemoryBytes: () => freemem(),
  freeStorageBytes: (path) => {
    try {
      const stats = statfsSync(path);
      return stats.bavail * stats.bsize;
    } catch {
      return null;
    }
  },
};

export interface TelemetryOptions {
  link: Pick<MqttLink, 'state' | 'reconnects' | 'publish'>;
  counter: Pick<Counter, 'status' | 'health'>;
  ledger: Pick<Ledger, 'today' | 'lastPayment'>;
  announcer: Pick<Announcer, 'pending' | 'volume'>;
  outbox: Pick<Outbox, 'depth'>;
  /** The settings in force: the period (`mqtt.telemetrySeconds`) and the language reported. */
  settings: () => DeviceSettings;
  /** Storage is measured on the filesystem holding the ledger. */
  ledgerPath: string;
  probe: SystemProbe;
  /** When the device started, for its uptime. */
  bootAt: number;
  clock: Clock;
  log: Logger;
  /**
   * Where in its first period the first report falls, as a fraction from 0
   * (a whole period after start) to 1 (half a period): random by default,
   * so devices that started together (power back over a whole district)
   * do not all report in the same second of every period.
   */
  spread?: () => number;
}

/**
 * The device's health on `telemetry` every `mqtt.telemetrySeconds` while
 * the link is up (QoS 0: a missed report is not worth resending). Each
 * report also goes to whoever subscribed, online or not.
 */
export class TelemetryReporter implements Feature {
  readonly name = 'telemetry';
  private timer?: TimerHandle | undefined;
  private running = false;
  private readonly listeners = new Set<(report: Telemetry) => void>();

  constructor(private readonly o: TelemetryOptions) {}

  start(): void {
    this.running = true;
    const spread = Math.min(1, Math.max(0, (this.o.spread ?? Math.random)()));
    this.schedule(1 - spread / 2);
  }

  stop(): void {
    this.running = false;
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Starts the period again from now, e.g. after the backend changed it. */
  reschedule(): void {
    if (this.running) this.schedule();
  }

  /** Hears every periodic report; returns the function that stops it hearing. */
  subscribe(listener: (report: Telemetry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The report as it stands now. */
  report(): Telemetry {
    const { counter, ledger, announcer, link, clock, probe } = this.o;
    const memory = process.memoryUsage();
    const storage = probe.freeStorageBytes(dirname(this.o.ledgerPath));
    const sale = counter.status().sale;
    const last = sale ?? ledger.lastPayment();
    const today = ledger.today();
    const health = counter.health();
    return {
      v: 1,
      at: formatIst(clock.now()),
      uptimeSeconds: Math.round((clock.now() - this.o.bootAt) / 1000),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, systemFreeBytes: probe.freeMemoryBytes() },
      storageFreeBytes: storage,
      queueDepth: { announcements: announcer.pending, outbox: this.o.outbox.depth() },
      lastSale: sale
        ? { tr: sale.tr, amount: formatWireAmount(sale.amount), state: sale.state }
        : last
          ? { tr: last.tr, amount: formatWireAmount(last.amount), state: 'paid' }
          : null,
      today: { count: today.count, total: formatWireAmount(today.total) },
      volume: announcer.volume,
      language: this.o.settings().language,
      link: { state: link.state, reconnects: link.reconnects },
      rejected: health.rejected,
      announcements: health.announcements,
    };
  }

  /** The next report after `part` of a period (a whole one unless the first). */
  private schedule(part = 1): void {
    this.o.clock.clearTimeout(this.timer);
    this.timer = this.o.clock.setTimeout(
      () => {
        this.timer = undefined;
        if (!this.running) return;
        this.send();
        this.schedule();
      },
      Math.round(this.o.settings().mqtt.telemetrySeconds * 1000 * part),
    );
  }

  private send(): void {
    const report = this.report();
    if (this.o.link.state === 'online') {
      this.o.link.publish('telemetry', report).catch((err: unknown) => this.o.log.debug({ err }, 'telemetry not sent'));
    }
    for (const listener of this.listeners) {
      try {
        listener(report);
      } catch (err) {
        this.o.log.error({ err }, 'telemetry listener failed');
      }
    }
  }
}
