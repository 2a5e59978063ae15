import type { LinkState } from '../../core/link/link-state.js';
import type { Display, Frame, PanelSize } from '../../core/ports/display.js';
import type { Announcement } from '../../core/announce/announcement.js';
import type { AnnouncerPort } from '../../core/sale/counter.js';
import type { Publisher } from '../../core/payment/outbox.js';
import type { DeviceTopic } from '../../core/link/topics.js';
import type { Speaker, Utterance } from '../../core/ports/speaker.js';

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

/** An announcer whose sentences finish when the test says so (or at once). */
export class ScriptedAnnouncer implements AnnouncerPort {
  readonly spoken: Announcement[] = [];
  private readonly waiting: { announcement: Announcement; done: () => void; fail: (e: Error) => void }[] = [];
  manual = false;

  announce(announcement: Announcement): Promise<void> {
    if (!this.manual) {
      this.spoken.push(announcement);
      return Promise.resolve();
    }
    return new Promise((done, fail) => this.waiting.push({ announcement, done, fail }));
  }

  /** Finishes the oldest sentence in progress. */
  finish(): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('nothing is being announced');
    this.spoken.push(next.announcement);
    next.done();
  }

  failNext(): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('nothing is being announced');
    next.fail(new Error('speaker unplugged'));
  }

  get inProgress(): number {
    return this.waiting.length;
  }
}

/** Everything a speaker was asked to sound, in order: sentences and chimes. */
export type Heard = { sound: 'speech'; utterance: Utterance } | { sound: 'chime'; volume: number };

/** A speaker that plays at once and keeps a record of what it was asked to sound. */
export class RecordingSpeaker implements Speaker {
  readonly heard: Heard[] = [];

  speak(utterance: Utterance): Promise<void> {
    this.heard.push({ sound: 'speech', utterance: { ...utterance } });
    return Promise.resolve();
  }

  chime(volume: number): Promise<void> {
    this.heard.push({ sound: 'chime', volume });
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A broker link that acknowledges every publish while "online". */
export class FakePublisher implements Publisher {
  state: LinkState = 'online';
  readonly published: { topic: DeviceTopic; payload: unknown }[] = [];

  publish(topic: DeviceTopic, payload: string): Promise<void> {
    if (this.state !== 'online') return Promise.reject(new Error('not connected to the broker'));
    this.published.push({ topic, payload: JSON.parse(payload) as unknown });
    return Promise.resolve();
  }

  on(topic: DeviceTopic): unknown[] {
    return this.published.filter((p) => p.topic === topic).map((p) => p.payload);
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
