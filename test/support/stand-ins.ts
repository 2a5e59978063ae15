import type { LinkState } from '../../core/link/link-state.js';
import type { Display, Frame, PanelSize } from '../../core/ports/display.js';
import type { Announcement } from '../../core/announce/announcement.js';
import type { AnnouncerPort } from '../../core/sale/counter.js';
import type { Publisher } from '../../core/payment/outbox.js';
import type { OutboundTopic } from '../../core/link/topics.js';

/** Keeps every frame shown; like a real panel, one frame at a time. */
export class RecordingDisplay implements Display {
  readonly size: PanelSize = { width: 480, height: 320 };
  readonly frames: Frame[] = [];
  private busy = false;

  show(frame: Frame): Promise<void> {
    if (this.busy) return Promise.reject(new Error('show() called while a frame is being drawn'));
    this.busy = true;
    this.frames.push(structuredClone(frame));
    return Promise.resolve().then(() => {
      this.busy = false;
    });
  }

  get last(): Frame | undefined {
    return this.frames.at(-1);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * An announcer whose sentences finish when the test says so (or at once),
 * keeping the real Announcer's promise: `announce` resolves once the
 * sentence was spoken, or once the chime sounded in its place when speech
 * failed; it rejects only after `close()`.
 */
export class ScriptedAnnouncer implements AnnouncerPort {
  readonly spoken: Announcement[] = [];
  /** Announcements the speaker could not say, chimed instead (as the real Announcer does). */
  readonly chimed: Announcement[] = [];
  private readonly waiting: { announcement: Announcement; done: () => void }[] = [];
  private closed = false;
  manual = false;

  announce(announcement: Announcement): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the announcer is closed'));
    if (!this.manual) {
      this.spoken.push(announcement);
      return Promise.resolve();
    }
    return new Promise((done) => this.waiting.push({ announcement, done }));
  }

  /** Finishes the oldest sentence in progress. */
  finish(): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('nothing is being announced');
    this.spoken.push(next.announcement);
    next.done();
  }

  /** The speaker fails on the oldest sentence in progress: the chime sounds instead, and the announcement resolves. */
  failNext(): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('nothing is being announced');
    this.chimed.push(next.announcement);
    next.done();
  }

  /** Refuses announcements from now on, as the real one does once closed. */
  close(): void {
    this.closed = true;
  }

  get inProgress(): number {
    return this.waiting.length;
  }
}

/** A broker link that acknowledges every publish while "online". */
export class FakePublisher implements Publisher {
  state: LinkState = 'online';
  readonly published: { topic: OutboundTopic; payload: unknown }[] = [];

  publishQueued(topic: OutboundTopic, json: string): Promise<void> {
    if (this.state !== 'online') return Promise.reject(new Error('not connected to the broker'));
    this.published.push({ topic, payload: JSON.parse(json) as unknown });
    return Promise.resolve();
  }

  on(topic: OutboundTopic): unknown[] {
    return this.published.filter((p) => p.topic === topic).map((p) => p.payload);
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
