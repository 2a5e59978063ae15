import type { Language } from '../language.js';
import type { Logger } from '../log.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import type { Speaker } from '../ports/speaker.js';
import { clampVolume, isVolume, VOLUME_DEFAULT, VOLUME_MAX, VOLUME_MIN } from '../ports/volume.js';
import type { Announcement, AnnouncementKind } from './announcement.js';
import { phrase as devicePhrase } from './words.js';
import { written, type Phrase } from './words-phrasebook.js';

/** Where the volume step lives between restarts; the core backs it with the device config. */
export interface VolumeStore {
  loadVolume(): number;
  saveVolume(level: number): void;
}

export interface AnnouncerOptions {
  speaker: Speaker;
  volumeStore: VolumeStore;
  /** Read at the moment each sentence is spoken, so a change of language applies at once. */
  language: () => Language;
  log: Logger;
  /** Speak the end-of-day summary when the core asks for it (default true). */
  daySummary?: boolean;
  /** A sentence that has not finished after this long is abandoned so the queue moves on. */
  speakTimeoutMs?: number;
  clock?: Clock;
  /** Turns an announcement into words; the device's own templates unless a test needs otherwise. */
  sentence?: (announcement: Announcement, language: Language) => string;
  /**
   * A prompt or chime that has waited this long when a payment arrives is no
   * longer news and is dropped (default 5 s). Payments are never dropped.
   */
  promptStaleMs?: number;
}

type Entry = (
  | { sound: 'announcement'; announcement: Announcement; beforeSpeaking?: { run: () => void; refuse: (err: unknown) => void } }
  | { sound: 'chime' }
) & { done: (() => void)[]; queuedAt: number };

/**
 * Prompts that say only what is true now: if a newer one of the same kind
 * arrives while the older is still waiting, the newer replaces it (three
 * quick volume presses say "volume 8" once, not 6, 7, 8). Payments are never
 * merged: every payment is spoken.
 */
const MERGEABLE: ReadonlySet<AnnouncementKind> = new Set<AnnouncementKind>([
  'volume',
  'ready',
  'connected',
  'network-lost',
  'network-back',
  'low-memory',
  'low-storage',
  'fault',
  'status',
]);

/**
 * Prompts that describe a passing moment: said late, after a payment, they
 * would mislead, so a payment arriving drops them once they are stale, and
 * cuts one short while it is being spoken (where the speaker can stop). Faults,
 * low storage or memory, a failed payment and the day's summary are always said.
 */
const DROPPABLE: ReadonlySet<AnnouncementKind> = new Set<AnnouncementKind>(['volume', 'ready', 'connected', 'network-lost', 'network-back', 'status']);

const DEFAULT_SPEAK_TIMEOUT_MS = 60_000;
const DEFAULT_PROMPT_STALE_MS = 5_000;

/**
 * The soundbox's voice: one sentence at a time, never overlapping. Payments
 * are spoken in the order they arrived and none is dropped; a payment goes
 * ahead of any prompt still waiting, and a stale prompt waiting when a
 * payment arrives is dropped (see DROPPABLE). `announce` resolves once the sentence has been spoken (or, when
 * speech failed, once the chime has sounded in its place), so the core can
 * mark a payment announced only after it was heard. Nothing here ever
 * rejects because speech failed: failures are logged and the queue goes on.
 */
export class Announcer {
  private readonly queue: Entry[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly clock: Clock;
  private readonly log: Logger;
  private speaking = false;
  private closed = false;
  private level: number | undefined;
  private lastPayment: Announcement | undefined;
  /** The prompt being spoken, which a payment may cut short. */
  private cuttable: AbortController | undefined;

  constructor(private readonly options: AnnouncerOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
  }

  /**
   * Queues an announcement; resolves when it has been spoken.
   * `beforeSpeaking` runs when its turn comes, just before the speaker
   * starts (the counter counts a payment's start there); if it throws, the
   * announcement is not spoken and the promise rejects with what it threw.
   */
  announce(announcement: Announcement, options: { beforeSpeaking?: () => void } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the announcer is closed'));
    if (announcement.kind === 'day-summary' && this.options.daySummary === false) {
      this.log.debug('end-of-day summary is switched off');
      return Promise.resolve();
    }
    if (announcement.kind === 'payment') this.lastPayment = announcement;
    return new Promise((resolve, reject) => {
      const queuedAt = this.clock.now();
      const before = options.beforeSpeaking;
      if (before) {
        // Never merged with another: its hook and its refusal are its own.
        this.queue.splice(this.paymentsWaiting(announcement), 0, { sound: 'announcement', announcement, beforeSpeaking: { run: before, refuse: reject }, done: [resolve], queuedAt });
        void this.drain();
        return;
      }
      if (announcement.kind === 'payment') {
        this.queue.splice(this.paymentsWaiting(announcement), 0, { sound: 'announcement', announcement, done: [resolve], queuedAt });
      } else {
        const waiting = this.queue.at(-1);
        if (waiting?.sound === 'announcement' && waiting.announcement.kind === announcement.kind && MERGEABLE.has(announcement.kind)) {
          waiting.announcement = announcement;
          waiting.queuedAt = queuedAt;
          waiting.done.push(resolve);
        } else {
          this.queue.push({ sound: 'announcement', announcement, done: [resolve], queuedAt });
        }
      }
      void this.drain();
    });
  }

  /**
   * Where a new sentence goes in the queue: a payment behind the payments
   * already waiting and ahead of every prompt (dropping stale prompts and
   * cutting short the one being spoken); anything else at the end.
   */
  private paymentsWaiting(announcement: Announcement): number {
    if (announcement.kind !== 'payment') return this.queue.length;
    this.dropStalePrompts(this.clock.now());
    this.cuttable?.abort();
    let at = 0;
    while (at < this.queue.length && isPayment(this.queue[at])) at++;
    return at;
  }

  private dropStalePrompts(now: number): void {
    const staleMs = this.options.promptStaleMs ?? DEFAULT_PROMPT_STALE_MS;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const entry = this.queue[i];
      if (!entry || now - entry.queuedAt < staleMs) continue;
      const droppable = entry.sound === 'chime' || DROPPABLE.has(entry.announcement.kind);
      if (!droppable) continue;
      this.queue.splice(i, 1);
      const what = entry.sound === 'chime' ? 'chime' : entry.announcement.kind;
      this.log.info({ kind: what, waitedMs: now - entry.queuedAt }, `dropped the ${what} prompt: a payment came in and it is no longer news`);
      for (const done of entry.done) done();
    }
  }

  /** Says the latest payment again. Resolves false when there has been none since start. */
  async replayLast(): Promise<boolean> {
    if (!this.lastPayment) {
      this.log.info('replay pressed, but no payment has been announced yet');
      return false;
    }
    await this.announce(this.lastPayment);
    return true;
  }

  /** Sounds the chime in turn with the sentences, e.g. when a QR is shown. */
  chime(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the announcer is closed'));
    return new Promise((resolve) => {
      this.queue.push({ sound: 'chime', done: [resolve], queuedAt: this.clock.now() });
      void this.drain();
    });
  }

  /** The volume step, 0 (silent) to 10. */
  get volume(): number {
    if (this.level === undefined) {
      let stored: unknown;
      try {
        stored = this.options.volumeStore.loadVolume();
      } catch (err) {
        this.log.warn({ err }, `could not read the saved volume; using ${VOLUME_DEFAULT}`);
        stored = VOLUME_DEFAULT;
      }
      if (!isVolume(stored)) {
        this.log.warn({ stored }, `saved volume is not a step from ${VOLUME_MIN} to ${VOLUME_MAX}; using ${VOLUME_DEFAULT}`);
        stored = VOLUME_DEFAULT;
      }
      this.level = stored as number;
    }
    return this.level;
  }

  /**
   * Sets, saves and says the volume step. Returns the step now in force;
   * saying it happens in turn, after sentences already waiting.
   */
  setVolume(level: number): number {
    const next = clampVolume(level);
    if (next !== this.volume) {
      this.level = next;
      try {
        this.options.volumeStore.saveVolume(next);
      } catch (err) {
        this.log.error({ err, volume: next }, 'could not save the volume; it will be lost on restart');
      }
      this.log.info({ volume: next }, 'volume set');
    }
    if (!this.closed) void this.announce({ kind: 'volume', level: next });
    return next;
  }

  volumeUp(): number {
    return this.setVolume(this.volume + 1);
  }

  volumeDown(): number {
    return this.setVolume(this.volume - 1);
  }

  /** Whether a sentence is being spoken or waiting: a new one would not start at once. */
  get busy(): boolean {
    return this.speaking || this.queue.length > 0;
  }

  /** Sentences waiting or being spoken, for telemetry. */
  get pending(): number {
    return this.queue.length + (this.speaking ? 1 : 0);
  }

  /** Resolves when nothing is waiting or being spoken. */
  idle(): Promise<void> {
    if (!this.speaking && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Finishes what is queued, then refuses new announcements. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private async drain(): Promise<void> {
    if (this.speaking) return;
    this.speaking = true;
    try {
      for (let entry = this.queue.shift(); entry; entry = this.queue.shift()) {
        if (entry.sound === 'announcement' && entry.beforeSpeaking) {
          try {
            entry.beforeSpeaking.run();
          } catch (err) {
            entry.beforeSpeaking.refuse(err);
            continue;
          }
        }
        await this.play(entry);
        for (const done of entry.done) done();
      }
    } finally {
      this.speaking = false;
      for (const waiter of this.idleWaiters.splice(0)) waiter();
    }
  }

  private async play(entry: Entry): Promise<void> {
    const volume = this.volume;
    if (entry.sound === 'chime') {
      await this.soundChime(volume, 'chime');
      return;
    }
    const { announcement } = entry;
    const kind = announcement.kind;
    let language: Language = 'en';
    try {
      language = this.options.language();
    } catch (err) {
      this.log.error({ err }, 'could not read the device language; speaking English');
    }
    let text: string;
    let phrase: Phrase | undefined;
    try {
      if (this.options.sentence) {
        text = this.options.sentence(announcement, language);
      } else {
        phrase = devicePhrase(announcement, language);
        text = written(phrase);
      }
    } catch (err) {
      this.log.error({ err, kind, language }, `no sentence for ${kind}; chiming instead`);
      await this.soundChime(volume, kind);
      return;
    }
    const startedAt = this.clock.now();
    // Only a prompt about a passing moment may be cut short; a fault or a failed payment is always heard in full.
    const cut = DROPPABLE.has(kind) ? new AbortController() : undefined;
    this.cuttable = cut;
    try {
      const utterance = { text, language, volume, ...(phrase ? { phrase } : {}), ...(cut ? { signal: cut.signal } : {}) };
      await this.bounded(this.options.speaker.speak(utterance));
      if (cut?.signal.aborted) {
        this.log.info({ kind, language, ms: this.clock.now() - startedAt }, `${kind} cut short for a payment`);
        return;
      }
      this.log.info({ kind, language, volume, ms: this.clock.now() - startedAt }, `announced ${kind}`);
      this.log.debug({ text }, 'sentence spoken');
    } catch (err) {
      if (cut?.signal.aborted) return;
      this.log.error({ err, kind, language }, `could not speak ${kind}; chiming instead`);
      await this.soundChime(volume, kind);
    } finally {
      this.cuttable = undefined;
    }
  }

  private async soundChime(volume: number, kind: string): Promise<void> {
    const { speaker } = this.options;
    if (!speaker.chime) {
      this.log.warn({ kind }, 'this speaker has no chime: nothing sounded');
      return;
    }
    try {
      await this.bounded(speaker.chime(volume));
    } catch (err) {
      this.log.error({ err, kind }, 'the chime failed too: nothing sounded');
    }
  }

  /** A speaker that never finishes must not hold every later payment hostage. */
  private async bounded(sound: Promise<void>): Promise<void> {
    const ms = this.options.speakTimeoutMs ?? DEFAULT_SPEAK_TIMEOUT_MS;
    let timer: TimerHandle | undefined;
    try {
      await Promise.race([
        sound,
        new Promise<never>((_, reject) => {
          timer = this.clock.setTimeout(() => reject(new Error(`the speaker did not finish within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }
}

function isPayment(entry: Entry | undefined): boolean {
  return entry?.sound === 'announcement' && entry.announcement.kind === 'payment';
}
