import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import type { Language } from '../../core/language.js';
import { paise } from '../../core/money.js';
import { sentence } from '../../core/announce/words.js';
import type { Announcement } from '../../core/announce/announcement.js';
import { Announcer, type VolumeStore } from '../../core/announce/announcer.js';
import { WavSpeaker } from '../../adapters/speaker/wav-speaker.js';
import { standardVoicePicker } from '../../adapters/speaker/create-speaker.js';
import type { Speaker, Utterance } from '../../core/ports/speaker.js';
import { capturedLog, ERROR, playInRealTime, soundStats, tempFolder, WARN, type LogLine } from './support.js';

let folder: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  folder = await tempFolder('announcer');
});
afterEach(async () => {
  await folder.remove();
});

/** The device config's volume, as the core keeps it. */
class RememberedVolume implements VolumeStore {
  saved: number[] = [];
  constructor(public level: number) {}
  loadVolume(): number {
    return this.level;
  }
  saveVolume(level: number): void {
    this.level = level;
    this.saved.push(level);
  }
}

interface Rig {
  announcer: Announcer;
  speaker: WavSpeaker;
  store: RememberedVolume;
  lines: LogLine[];
  clock: ManualClock;
}

function rig(options: { language?: () => Language; realTime?: boolean; volume?: number; daySummary?: boolean; speaker?: (wav: WavSpeaker) => Speaker } = {}): Rig {
  const { log, lines } = capturedLog();
  const clock = new ManualClock();
  const speaker = new WavSpeaker({ folder: folder.path, picker: standardVoicePicker({ log }), log, clock, realTime: options.realTime });
  const store = new RememberedVolume(options.volume ?? 6);
  const announcer = new Announcer({
    speaker: options.speaker ? options.speaker(speaker) : speaker,
    volumeStore: store,
    language: options.language ?? (() => 'hi'),
    log,
    clock,
    daySummary: options.daySummary,
  });
  return { announcer, speaker, store, lines, clock };
}

const payment = (rupees: number): Announcement => ({ kind: 'payment', amount: paise(rupees * 100) });

describe('Announcer', () => {
  it('speaks a burst of 20 payments arriving within one second 20 times, in order, never overlapping', async () => {
    const { announcer, speaker, clock } = rig({ realTime: true });
    const finishedAt: number[] = [];
    const announced: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      announced.push(announcer.announce(payment(101 + i)).then(() => void finishedAt.push(clock.now())));
      clock.advance(50);
    }
    expect(announcer.pending).toBe(20);
    const stopPlaying = playInRealTime(speaker, clock);
    await Promise.all(announced);
    stopPlaying();

    const spoken = speaker.recordings;
    expect(spoken.map((r) => r.text)).toEqual(Array.from({ length: 20 }, (_, i) => sentence(payment(101 + i), 'hi')));
    expect(await readdir(folder.path)).toHaveLength(20);
    for (let i = 1; i < spoken.length; i++) expect(spoken[i]!.startedAt).toBeGreaterThanOrEqual(spoken[i - 1]!.endsAt);
    // Each announcement resolves only once its sound has finished, and in order.
    spoken.forEach((r, i) => expect(finishedAt[i]).toBeGreaterThanOrEqual(r.endsAt));
    for (const file of spoken.map((r) => r.file)) expect((await soundStats(file)).audibleShare).toBeGreaterThan(0.3);
    expect(announcer.pending).toBe(0);
  });

  it('keeps prompts in the order asked, with a payment ahead of the prompts still waiting', async () => {
    const { announcer, speaker } = rig();
    const asked: Announcement[] = [
      { kind: 'ready' },
      { kind: 'connected' },
      payment(250),
      { kind: 'network-lost' },
      { kind: 'network-back' },
      { kind: 'low-memory' },
      { kind: 'low-storage' },
      { kind: 'payment-failed' },
      { kind: 'day-summary', count: 37, total: paise(1845000) },
    ];
    await Promise.all(asked.map((a) => announcer.announce(a)));
    // "ready" is already being spoken when the payment arrives; "connected" is still waiting.
    const heard = [asked[0], asked[2], asked[1], ...asked.slice(3)] as Announcement[];
    expect(speaker.recordings.map((r) => r.text)).toEqual(heard.map((a) => sentence(a, 'hi')));
  });

  it('replays the latest payment, not a later prompt', async () => {
    const { announcer, speaker } = rig({ language: () => 'en' });
    expect(await announcer.replayLast()).toBe(false);
    expect(speaker.recordings).toHaveLength(0);

    await announcer.announce(payment(120));
    await announcer.announce(payment(75));
    await announcer.announce({ kind: 'network-lost' });
    expect(await announcer.replayLast()).toBe(true);
    expect(speaker.recordings.map((r) => r.text)).toEqual([
      'Received one hundred twenty rupees',
      'Received seventy-five rupees',
      sentence({ kind: 'network-lost' }, 'en'),
      'Received seventy-five rupees',
    ]);
  });

  it('changes, says and saves the volume, and starts at the saved step after a restart', async () => {
    const first = rig({ volume: 4, language: () => 'kn' });
    expect(first.announcer.volume).toBe(4);
    expect(first.announcer.volumeUp()).toBe(5);
    await first.announcer.idle();
    expect(first.store.saved).toEqual([5]);
    expect(first.speaker.recordings.map((r) => [r.text, r.volume])).toEqual([[sentence({ kind: 'volume', level: 5 }, 'kn'), 5]]);

    await first.announcer.announce(payment(10));
    expect(first.speaker.recordings.at(-1)?.volume).toBe(5);

    expect(first.announcer.setVolume(10)).toBe(10);
    expect(first.announcer.volumeUp()).toBe(10);
    expect(first.announcer.volumeDown()).toBe(9);
    await first.announcer.idle();
    expect(first.store.saved).toEqual([5, 10, 9]);

    const restarted = new Announcer({ speaker: first.speaker, volumeStore: first.store, language: () => 'kn', log: capturedLog().log });
    expect(restarted.volume).toBe(9);
  });

  it('never goes below 0 or above 10, and 0 is silence', async () => {
    const { announcer, speaker, store } = rig({ volume: 1 });
    expect(announcer.volumeDown()).toBe(0);
    expect(announcer.volumeDown()).toBe(0);
    await announcer.announce(payment(500));
    expect(store.level).toBe(0);
    expect((await soundStats(speaker.recordings.at(-1)!.file)).peak).toBe(0);
    expect(announcer.setVolume(99)).toBe(10);
    expect(announcer.setVolume(-3)).toBe(0);
  });

  it('uses the default step, and says why, when the saved volume is unusable', () => {
    for (const broken of [
      { loadVolume: () => 42, saveVolume: () => undefined },
      {
        loadVolume: (): number => {
          throw new Error('config unreadable');
        },
        saveVolume: () => undefined,
      },
    ]) {
      const { log, lines } = capturedLog();
      const announcer = new Announcer({ speaker: { speak: () => Promise.resolve(), close: () => Promise.resolve() }, volumeStore: broken, language: () => 'en', log });
      expect(announcer.volume).toBe(7);
      expect(lines.some((l) => l.level === WARN && /volume/.test(l.msg))).toBe(true);
    }
  });

  it('keeps the new volume when it cannot be saved, and says so', async () => {
    const { log, lines } = capturedLog();
    const announcer = new Announcer({
      speaker: { speak: () => Promise.resolve(), close: () => Promise.resolve() },
      volumeStore: {
        loadVolume: () => 5,
        saveVolume: () => {
          throw new Error('disk full');
        },
      },
      language: () => 'en',
      log,
    });
    expect(announcer.volumeUp()).toBe(6);
    await announcer.idle();
    expect(announcer.volume).toBe(6);
    expect(lines.some((l) => l.level === ERROR && (l.err as { message?: string } | undefined)?.message === 'disk full')).toBe(true);
  });

  it('speaks each sentence in the language in force when it is spoken', async () => {
    let language: Language = 'bn';
    const { announcer, speaker } = rig({ language: () => language });
    await announcer.announce(payment(40));
    language = 'en';
    await announcer.announce(payment(40));
    expect(speaker.recordings.map((r) => [r.language, r.text])).toEqual([
      ['bn', sentence(payment(40), 'bn')],
      ['en', 'Received forty rupees'],
    ]);
  });

  it('chimes in its turn, after the payments waiting', async () => {
    const { announcer, speaker } = rig();
    await Promise.all([announcer.announce(payment(1)), announcer.chime(), announcer.announce(payment(2)), announcer.announce({ kind: 'ready' })]);
    expect(speaker.recordings.map((r) => r.voice)).toEqual(['espeak-ng', 'espeak-ng', 'chime', 'espeak-ng']);
  });

  it('chimes instead, logs why, and goes on when speech fails', async () => {
    let failures = 1;
    const { announcer, speaker, lines } = rig({
      speaker: (wav) => ({
        speak: (u: Utterance) => (failures-- > 0 ? Promise.reject(new Error('amplifier fault')) : wav.speak(u)),
        chime: (v: number) => wav.chime(v),
        close: () => wav.close(),
      }),
    });
    await Promise.all([announcer.announce(payment(300)), announcer.announce(payment(301))]);
    expect(speaker.recordings.map((r) => r.voice)).toEqual(['chime', 'espeak-ng']);
    expect(speaker.recordings[1]?.text).toBe(sentence(payment(301), 'hi'));
    expect(lines.find((l) => l.level === ERROR)).toMatchObject({ err: expect.objectContaining({ message: 'amplifier fault' }) as unknown, kind: 'payment', msg: 'could not speak payment; chiming instead' });
  });

  it('chimes when the engine refuses the text, and when a sentence cannot be made', async () => {
    const { log, lines } = capturedLog();
    const speaker = new WavSpeaker({ folder: folder.path, picker: standardVoicePicker({ log }), log });
    const announcer = new Announcer({
      speaker,
      volumeStore: new RememberedVolume(5),
      language: () => 'en',
      log,
      sentence: (a, l) => {
        if (a.kind === 'low-memory') return '"();';
        if (a.kind === 'low-storage') throw new RangeError('no such template');
        return sentence(a, l);
      },
    });
    await announcer.announce({ kind: 'low-memory' });
    await announcer.announce({ kind: 'low-storage' });
    await announcer.announce(payment(9));
    expect(speaker.recordings.map((r) => r.voice)).toEqual(['chime', 'chime', 'festival (say)']);
    expect(lines.filter((l) => l.level === ERROR).map((l) => (l.err as { message: string }).message)).toEqual(['festival (say): nothing speakable in the sentence', 'no such template']);
  });

  it('moves on when the speaker never finishes', async () => {
    const { log, lines } = capturedLog();
    const clock = new ManualClock();
    const heard: string[] = [];
    const announcer = new Announcer({
      speaker: {
        speak: (u) => {
          heard.push(u.text);
          return u.text.includes('five') ? new Promise<void>(() => undefined) : Promise.resolve();
        },
        close: () => Promise.resolve(),
      },
      volumeStore: new RememberedVolume(5),
      language: () => 'en',
      log,
      clock,
      speakTimeoutMs: 30_000,
    });
    let firstDone = false;
    const first = announcer.announce(payment(5)).then(() => (firstDone = true));
    const second = announcer.announce(payment(6));
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(29_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(firstDone).toBe(false);
    clock.advance(1);
    await first;
    await second;
    expect(heard).toEqual(['Received five rupees', 'Received six rupees']);
    expect(lines.some((l) => l.level === ERROR && /did not finish within 30000 ms/.test((l.err as { message: string }).message))).toBe(true);
  });

  it('says three quick volume presses once, at the final step, after every payment', async () => {
    const { log } = capturedLog();
    const spoken: Utterance[] = [];
    let release: () => void = () => undefined;
    const announcer = new Announcer({
      speaker: {
        speak: (u) => {
          spoken.push(u);
          return spoken.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
        },
        close: () => Promise.resolve(),
      },
      volumeStore: new RememberedVolume(5),
      language: () => 'en',
      log,
    });
    const first = announcer.announce(payment(1));
    announcer.volumeUp();
    announcer.volumeUp();
    announcer.volumeUp();
    const second = announcer.announce(payment(1));
    const third = announcer.announce(payment(1));
    expect(announcer.pending).toBe(4);
    release();
    await Promise.all([first, second, third, announcer.idle()]);
    expect(spoken.map((u) => [u.text, u.volume])).toEqual([
      ['Received one rupee', 5],
      ['Received one rupee', 8],
      ['Received one rupee', 8],
      ['Volume eight', 8],
    ]);
  });

  it('skips the end-of-day summary when it is switched off', async () => {
    const { announcer, speaker } = rig({ daySummary: false });
    await announcer.announce({ kind: 'day-summary', count: 3, total: paise(30000) });
    await announcer.announce({ kind: 'ready' });
    expect(speaker.recordings.map((r) => r.text)).toEqual([sentence({ kind: 'ready' }, 'hi')]);
  });

  it('finishes what is queued on close, then refuses more', async () => {
    const { announcer, speaker } = rig();
    const queued = announcer.announce(payment(77));
    await announcer.close();
    await queued;
    expect(speaker.recordings).toHaveLength(1);
    await expect(announcer.announce(payment(78))).rejects.toThrow(/closed/);
  });
});

describe('the hook before a sentence starts', () => {
  it('runs when the sentence’s turn comes, not when it is queued, and one that throws skips the sentence and rejects it', async () => {
    const { announcer } = rig();
    const order: string[] = [];
    const first = announcer.announce(payment(10), { beforeSpeaking: () => order.push('start 10') });
    expect(order).toEqual(['start 10']);
    const second = announcer.announce(payment(20), {
      beforeSpeaking: () => {
        order.push('start 20');
        throw new Error('the ledger is full');
      },
    });
    const third = announcer.announce(payment(30), { beforeSpeaking: () => order.push('start 30') });
    expect(announcer.busy).toBe(true);
    expect(order).toEqual(['start 10']);
    await first;
    await expect(second).rejects.toThrow('the ledger is full');
    await third;
    expect(order).toEqual(['start 10', 'start 20', 'start 30']);
    const files = (await readdir(folder.path)).filter((f) => f.endsWith('.wav'));
    expect(files).toHaveLength(2);
    expect(announcer.busy).toBe(false);
  });
});
