import { EventEmitter } from 'node:events';
import type { LinkState } from '../../core/link/link-state.js';
import type { InboundHandler, LinkEvents } from '../../core/link/mqtt-link.js';
import type { Display, Frame, PanelSize } from '../../core/ports/display.js';
import type { Announcement } from '../../core/announce/announcement.js';
import type { AnnouncerPort } from '../../core/sale/counter.js';
import type { Publisher } from '../../core/payment/outbox.js';
import { OUTBOUND_DELIVERY, type DeviceTopic, type DeviceTopics, type InboundTopic, type OutboundTopic } from '../../core/link/topics.js';
import type { Speaker, Utterance } from '../../core/ports/speaker.js';
import type { ControlAction, Controls } from '../../core/ports/controls.js';

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
 * keeping the real Announcer's promise: one sentence at a time, in order;
 * `beforeSpeaking` runs as a sentence's turn comes, and if it throws the
 * sentence is skipped and its promise rejects; `announce` resolves once the
 * sentence was spoken, or once the chime sounded in its place when speech
 * failed; it rejects after `close()`.
 */
export class ScriptedAnnouncer implements AnnouncerPort {
  readonly spoken: Announcement[] = [];
  /** Announcements the speaker could not say, chimed instead (as the real Announcer does). */
  readonly chimed: Announcement[] = [];
  private readonly waiting: { announcement: Announcement; done: () => void; refuse: (err: unknown) => void; beforeSpeaking?: (() => void) | undefined; started: boolean }[] = [];
  private closed = false;
  manual = false;

  announce(announcement: Announcement, options: { beforeSpeaking?: () => void } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the announcer is closed'));
    if (!this.manual) {
      try {
        options.beforeSpeaking?.();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      this.spoken.push(announcement);
      return Promise.resolve();
    }
    return new Promise((done, refuse) => {
      this.waiting.push({ announcement, done, refuse, beforeSpeaking: options.beforeSpeaking, started: false });
      this.startNext();
    });
  }

  get busy(): boolean {
    return this.waiting.length > 0;
  }

  /** The sentence at the head starts: its hook runs, and one that throws is skipped. */
  private startNext(): void {
    for (let head = this.waiting[0]; head && !head.started; head = this.waiting[0]) {
      try {
        head.beforeSpeaking?.();
        head.started = true;
      } catch (err) {
        this.waiting.shift();
        head.refuse(err);
      }
    }
  }

  /** Finishes the oldest sentence in progress. */
  finish(): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('nothing is being announced');
    this.spoken.push(next.announcement);
    next.done();
    this.startNext();
  }

  /** The speaker fails on the oldest sentence in progress: the chime sounds instead, and the announcement resolves. */
  failNext(): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('nothing is being announced');
    this.chimed.push(next.announcement);
    next.done();
    this.startNext();
  }

  /** Refuses announcements from now on, as the real one does once closed. */
  close(): void {
    this.closed = true;
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

  /** The sentences, in order. */
  get utterances(): Utterance[] {
    return this.heard.flatMap((h) => (h.sound === 'speech' ? [h.utterance] : []));
  }

  /** The volume of each chime sounded. */
  get chimes(): number[] {
    return this.heard.flatMap((h) => (h.sound === 'chime' ? [h.volume] : []));
  }

  /** What was said, in order. */
  get said(): string[] {
    return this.utterances.map((u) => u.text);
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

/** Buttons the test presses and lights it reads back: every call to the board, in order. */
export class RecordingControls implements Controls {
  readonly calls: string[] = [];
  private readonly listeners = new Map<ControlAction, (() => void)[]>();

  on(action: ControlAction, listener: () => void): this {
    this.listeners.set(action, [...(this.listeners.get(action) ?? []), listener]);
    return this;
  }

  /** The clerk asks for `action`. */
  press(action: ControlAction): void {
    for (const listener of this.listeners.get(action) ?? []) listener();
  }

  start(): Promise<void> {
    this.calls.push('start');
    return Promise.resolve();
  }

  stop(): void {
    this.calls.push('stop');
  }

  showLink(state: LinkState): void {
    this.calls.push(`link ${state}`);
  }

  paid(): void {
    this.calls.push('paid');
  }

  failed(): void {
    this.calls.push('failed');
  }

  qrShown(): void {
    this.calls.push('qr');
  }
}

/**
 * A broker link the test drives: it goes online and offline when told,
 * hands the test's messages to the device's handlers, and keeps what the
 * device published while online.
 */
export class FakeLink extends EventEmitter<LinkEvents> implements Publisher {
  reconnects = 0;
  readonly published: { topic: DeviceTopic; payload: unknown; qos: 0 | 1 }[] = [];
  private current: LinkState = 'offline';
  private readonly handlers = new Map<InboundTopic, InboundHandler>();

  get state(): LinkState {
    return this.current;
  }

  /** Changes the state and tells the listeners, as the real link does; going online is also a new connection. */
  goTo(state: LinkState): void {
    if (state === this.current) return;
    this.current = state;
    this.emit('state', state);
    if (state === 'online') this.emit('connected');
  }

  handle(topic: InboundTopic, handler: InboundHandler): () => void {
    this.handlers.set(topic, handler);
    return () => {
      if (this.handlers.get(topic) === handler) this.handlers.delete(topic);
    };
  }

  handles(topic: InboundTopic): boolean {
    return this.handlers.has(topic);
  }

  /** A message from the backend on `topic`; resolves once the handler has finished. */
  async deliver(topic: InboundTopic, body: unknown): Promise<void> {
    const handler = this.handlers.get(topic);
    if (!handler) throw new Error(`nothing handles ${topic}`);
    await handler(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
  }

  publish<T extends OutboundTopic>(topic: T, payload: DeviceTopics[T]): Promise<void> {
    return this.publishQueued(topic, JSON.stringify(payload));
  }

  /** As the real link: QoS from the topic's contract, the JSON sent as queued. */
  publishQueued(topic: OutboundTopic, json: string): Promise<void> {
    if (this.current !== 'online') return Promise.reject(new Error('not connected to the broker'));
    this.published.push({ topic, payload: JSON.parse(json) as unknown, qos: OUTBOUND_DELIVERY[topic].qos });
    return Promise.resolve();
  }

  /** The payloads published on `topic`, in order. */
  sent(topic: DeviceTopic): unknown[] {
    return this.published.filter((p) => p.topic === topic).map((p) => p.payload);
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
