import type { EventEmitter } from 'node:events';
import type { Announcement } from '../../core/announce/announcement.js';
import type { Announcer } from '../../core/announce/announcer.js';
import type { LinkState } from '../../core/link/link-state.js';
import type { LinkEvents } from '../../core/link/mqtt-link.js';
import type { Logger } from '../../core/log.js';

/**
 * One thing the device does around the counter: a prompt, a report, a
 * screen. Its constructor only keeps what it is given; `start` subscribes
 * and schedules, `stop` undoes all of it. `stop` is called even when `start`
 * threw part way, so it must cope with a feature that is half started.
 */
export interface Feature {
  /** Names the feature in the log (`feature` on every line it writes). */
  readonly name: string;
  start(): void;
  stop(): void;
}

/**
 * Starts the features in order. One that throws is logged under its own
 * name and the device goes on without it; the others still start.
 */
export function startFeatures(features: readonly Feature[], log: Logger): void {
  for (const feature of features) {
    try {
      feature.start();
    } catch (err) {
      log.child({ feature: feature.name }).error({ err }, 'did not start; the device runs without it');
    }
  }
}

/**
 * Stops the features in the reverse of the order they started. One that
 * throws is logged under its own name; the others still stop.
 */
export function stopFeatures(features: readonly Feature[], log: Logger): void {
  for (const feature of [...features].reverse()) {
    try {
      feature.stop();
    } catch (err) {
      log.child({ feature: feature.name }).error({ err }, 'did not stop cleanly');
    }
  }
}

/** What a feature sees of the broker link: its state, and word when that changes. */
export interface WatchedLink extends Pick<EventEmitter<LinkEvents>, 'on' | 'off'> {
  readonly state: LinkState;
}

/** Queues a sentence the soundbox says on its own; one that cannot be said is logged, never thrown. */
export function sayPrompt(announcer: Pick<Announcer, 'announce'>, announcement: Announcement, log: Logger): void {
  announcer.announce(announcement).catch((err: unknown) => log.warn({ err }, 'prompt not spoken'));
}
