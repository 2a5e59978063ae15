import type { Announcement } from '../../core/announce/announcement.js';
import type { Announcer } from '../../core/announce/announcer.js';
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { DeviceSettings } from '../../core/config.js';
import type { LinkState } from '../../core/link/link-state.js';
import type { Logger } from '../../core/log.js';
import { sayPrompt, type Feature, type WatchedLink } from './feature.js';

/** A link blip shorter than this is not worth announcing. */
export const NETWORK_PROMPT_DELAY_MS = 5_000;

export interface LinkPromptsOptions {
  link: WatchedLink;
  announcer: Pick<Announcer, 'announce'>;
  /** The settings in force; nothing is said while `announce.prompts` is off. */
  settings: () => DeviceSettings;
  clock: Clock;
  log: Logger;
}

/**
 * What the soundbox says about its link to the payment service: connected
 * the first time it is online, network lost once it has been offline for
 * NETWORK_PROMPT_DELAY_MS, and restored when it comes back after that.
 */
export class LinkPrompts implements Feature {
  readonly name = 'link-prompts';
  private timer?: TimerHandle | undefined;
  private everOnline = false;
  private lostAnnounced = false;
  private running = false;
  private readonly changed = (state: LinkState): void => this.linkChanged(state);

  constructor(private readonly o: LinkPromptsOptions) {}

  start(): void {
    this.running = true;
    this.o.link.on('state', this.changed);
  }

  stop(): void {
    this.running = false;
    this.o.link.off('state', this.changed);
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private linkChanged(state: LinkState): void {
    if (!this.o.settings().announce.prompts) return;
    if (state === 'online') {
      this.o.clock.clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.everOnline) this.say({ kind: 'connected' });
      else if (this.lostAnnounced) this.say({ kind: 'network-back' });
      this.everOnline = true;
      this.lostAnnounced = false;
    } else if (state === 'offline' && this.everOnline && !this.timer && !this.lostAnnounced) {
      this.timer = this.o.clock.setTimeout(() => {
        this.timer = undefined;
        if (this.o.link.state === 'online' || !this.running) return;
        this.lostAnnounced = true;
        this.say({ kind: 'network-lost' });
      }, NETWORK_PROMPT_DELAY_MS);
    }
  }

  private say(announcement: Announcement): void {
    sayPrompt(this.o.announcer, announcement, this.o.log);
  }
}
