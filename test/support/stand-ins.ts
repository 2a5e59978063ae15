import { EventEmitter } from 'node:events';
import type { LinkState } from '../../core/link/link-state.js';
import type { InboundHandler, LinkEvents } from '../../core/link/mqtt-link.js';
import type { Display, Frame, PanelSize } from '../../core/ports/display.js';
import type { Announcement } from '../../core/announce/announcement.js';
import type { AnnouncerPort } from '../../core/sale/counter.js';
import type { Publisher } from '../../core/payment/outbox.js';
import type { DeviceTopic, InboundTopic } from '../../core/link/topics.js';
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

/** A speaker that keeps each sentence and chime instead of playing it. */
export class RecordingSpeaker implements Speaker {
  readonly utterances: Utterance[] = [];
  /** The volume of each chime sounded. */
  readonly chimes: number[] = [];

  speak(utterance: Utterance): Promise<void> {
    this.utterances.push(utterance);
    return Promise.resolve();
  }

  chime(volume: number): Promise<void> {
    this.chimes.push(volume);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** What was said, in order. */
  get said(): string[] {
    return this.utterances.map((u) => u.text);
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

  publish(topic: DeviceTopic, payload: string, options: { qos: 0 | 1; retain?: boolean } = { qos: 1 }): Promise<void> {
    if (this.current !== 'online') return Promise.reject(new Error('not connected to the broker'));
    this.published.push({ topic, payload: JSON.parse(payload) as unknown, qos: options.qos });
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
