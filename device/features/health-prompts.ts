import type { Announcer } from '../../core/announce/announcer.js';
import type { Clock } from '../../core/clock.js';
import type { DeviceSettings } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { sayPrompt, type Feature } from './feature.js';

export const LOW_MEMORY_BYTES = 32 * 1024 * 1024;
export const LOW_STORAGE_BYTES = 64 * 1024 * 1024;
/** A shortage is said at most this often, however long it lasts. */
export const HEALTH_PROMPT_INTERVAL_MS = 60 * 60 * 1000;

/** The part of a telemetry report the prompts read. */
export interface HealthReading {
  memory: { systemFreeBytes: number };
  storageFreeBytes: number | null;
}

export interface HealthPromptsOptions {
  /** The periodic telemetry reports. */
  reports: { subscribe(listener: (reading: HealthReading) => void): () => void };
  announcer: Pick<Announcer, 'announce'>;
  /** The settings in force; nothing is said while `announce.prompts` is off. */
  settings: () => DeviceSettings;
  clock: Clock;
  log: Logger;
}

/**
 * Says when the board runs short of memory or storage, read from each
 * telemetry report: at most once an hour for each, so a lasting shortage
 * does not drown out the payments.
 */
export class HealthPrompts implements Feature {
  readonly name = 'health-prompts';
  private lastPrompt = { memory: -Infinity, storage: -Infinity };
  private unsubscribe?: (() => void) | undefined;

  constructor(private readonly o: HealthPromptsOptions) {}

  start(): void {
    this.unsubscribe = this.o.reports.subscribe((reading) => this.check(reading));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private check(reading: HealthReading): void {
    const now = this.o.clock.now();
    if (!this.o.settings().announce.prompts) return;
    const memory = reading.memory.systemFreeBytes;
    if (memory < LOW_MEMORY_BYTES && now - this.lastPrompt.memory > HEALTH_PROMPT_INTERVAL_MS) {
      this.lastPrompt.memory = now;
      this.o.log.warn({ freeBytes: memory }, 'memory is low');
      sayPrompt(this.o.announcer, { kind: 'low-memory' }, this.o.log);
    }
    const storage = reading.storageFreeBytes;
    if (storage !== null && storage < LOW_STORAGE_BYTES && now - this.lastPrompt.storage > HEALTH_PROMPT_INTERVAL_MS) {
      this.lastPrompt.storage = now;
      this.o.log.warn({ freeBytes: storage }, 'storage is low');
      sayPrompt(this.o.announcer, { kind: 'low-storage' }, this.o.log);
    }
  }
}
