import type { LinkState } from '../link/link-state.js';
import type { Display, Frame, Screen } from '../ports/display.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Language } from '../language.js';
import type { Logger } from '../log.js';

/**
 * Keeps the picture on the LCD in step with the counter: the current screen,
 * the link banner and the language, and a once-a-second countdown while a
 * QR is up. Renders never overlap; if the state changes while a frame is
 * being drawn, only the newest state is drawn next.
 *
 * The countdown runs on the QR's own timeline: the `now` it was shown with,
 * plus the monotonic time elapsed since. A step of the wall clock (a time
 * server correcting it) therefore neither shortens nor lengthens what the
 * customer sees. The same QR shown again (after the information screen)
 * keeps its timeline, whatever `now` it comes back with.
 */
export class Lcd {
  private screen: Screen;
  private link: LinkState = 'connecting';
  private drawing = false;
  private dirty = false;
  private tick?: TimerHandle | undefined;
  /** The QR whose countdown is running: the `now` it was first shown with, and the monotonic time then. */
  private timeline?: { tr: string; now: number; monotonic: number } | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly display: Display | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly language: () => Language,
    initial: Screen,
  ) {
    this.screen = initial;
  }

  get current(): Screen {
    return this.screen;
  }

  get linkState(): LinkState {
    return this.link;
  }

  show(screen: Screen): void {
    if (screen.kind === 'collect') {
      if (this.timeline?.tr === screen.tr) screen = { ...screen, now: this.timelineNow(this.timeline) };
      else this.timeline = { tr: screen.tr, now: screen.now, monotonic: this.clock.monotonic() };
    }
    this.screen = screen;
    this.scheduleTick();
    this.render();
  }

  setLink(link: LinkState): void {
    if (link === this.link) return;
    this.link = link;
    this.render();
  }

  /** Draws again, e.g. after the language changed. */
  refresh(): void {
    this.render();
  }

  private scheduleTick(): void {
    this.clock.clearTimeout(this.tick);
    this.tick = undefined;
    const timeline = this.timeline;
    if (this.screen.kind !== 'collect' || !timeline) return;
    // Tick on the QR's whole seconds so the countdown changes a second at a time.
    const now = this.timelineNow(timeline);
    this.tick = this.clock.setTimeout(() => {
      this.tick = undefined;
      if (this.screen.kind !== 'collect') return;
      this.screen = { ...this.screen, now: this.timelineNow(timeline) };
      this.scheduleTick();
      this.render();
    }, 1000 - (now % 1000));
  }

  private timelineNow(timeline: { now: number; monotonic: number }): number {
    return timeline.now + (this.clock.monotonic() - timeline.monotonic);
  }

  private render(): void {
    if (!this.display) return;
    if (this.drawing) {
      this.dirty = true;
      return;
    }
    this.drawing = true;
    const frame: Frame = { screen: this.screen, language: this.language(), link: this.link };
    this.display
      .show(frame)
      .catch((err: unknown) => this.log.error({ screen: frame.screen.kind, err }, 'display failed'))
      .finally(() => {
        this.drawing = false;
        if (this.dirty) {
          this.dirty = false;
          this.render();
        } else {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
      });
  }

  /** Resolves when every requested frame has been drawn. */
  settled(): Promise<void> {
    if (!this.drawing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.clock.clearTimeout(this.tick);
    this.tick = undefined;
  }
}
