import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LANGUAGES, type Language } from '../../core/language.js';
import { paise } from '../../core/money.js';
import { ManualClock } from '../../core/clock.js';
import { sentence } from '../../core/announce/words.js';
import { WavSpeaker, type Recording } from '../../adapters/speaker/wav-speaker.js';
import { standardVoicePicker } from '../../adapters/speaker/create-speaker.js';
import { capturedLog, soundStats, tempFolder } from './support.js';

let folder: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  folder = await tempFolder('wav');
});
afterEach(async () => {
  await folder.remove();
});

function wavSpeaker(options: { realTime?: boolean; clock?: ManualClock; recent?: number } = {}): WavSpeaker {
  const { log } = capturedLog();
  return new WavSpeaker({ folder: folder.path, picker: standardVoicePicker({ log }), log, ...options });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WAV speaker', () => {
  it('remembers only the latest recordings, so a device speaking for months holds no more than a few', async () => {
    const speaker = wavSpeaker({ recent: 3 });
    for (let volume = 1; volume <= 7; volume++) await speaker.chime(volume);
    expect(speaker.recordings.map((r) => [r.number, r.volume])).toEqual([
      [5, 5],
      [6, 6],
      [7, 7],
    ]);
    // Every sentence was still written.
    expect((await readdir(folder.path)).filter((f) => f.endsWith('.wav'))).toHaveLength(7);
  });

  it.each(LANGUAGES)('writes a payment in %s as audible speech whose length fits the sentence', async (language: Language) => {
    const speaker = wavSpeaker();
    const text = sentence({ kind: 'payment', amount: paise(12500050) }, language);
    await speaker.speak({ text, language, volume: 7 });

    expect(speaker.recordings).toHaveLength(1);
    const [recording] = speaker.recordings;
    expect(recording?.file).toBe(join(folder.path, `0001-${language}.wav`));
    expect(recording?.voice).toBe(language === 'en' ? 'festival (say)' : 'espeak-ng');
    const stats = await soundStats(recording!.file);
    expect(stats.peak).toBeGreaterThan(0.05);
    expect(stats.audibleShare).toBeGreaterThan(0.4);
    const words = text.split(' ').length;
    expect(stats.durationMs).toBeGreaterThan(words * 200);
    expect(stats.durationMs).toBeLessThan(words * 1200);
    expect(recording?.durationMs).toBe(Math.round(stats.durationMs));
  });

  it.each(['en', 'hi'] as const)('takes longer to say a long amount than a short one in %s', async (language) => {
    const speaker = wavSpeaker();
    await speaker.speak({ text: sentence({ kind: 'payment', amount: paise(100) }, language), language, volume: 7 });
    await speaker.speak({ text: sentence({ kind: 'payment', amount: paise(12500050) }, language), language, volume: 7 });
    const [short, long] = speaker.recordings;
    expect(long!.durationMs).toBeGreaterThan(short!.durationMs * 1.5);
  });

  it('writes one file per sentence, numbered in order, and continues the numbering after a restart', async () => {
    const first = wavSpeaker();
    for (const kind of ['ready', 'network-lost', 'network-back'] as const) {
      await first.speak({ text: sentence({ kind }, 'hi'), language: 'hi', volume: 5 });
    }
    const second = wavSpeaker();
    await second.speak({ text: sentence({ kind: 'connected' }, 'kn'), language: 'kn', volume: 5 });
    await second.chime(5);

    expect((await readdir(folder.path)).sort()).toEqual(['0001-hi.wav', '0002-hi.wav', '0003-hi.wav', '0004-kn.wav', '0005-chime.wav']);
    expect(second.recordings.map((r) => r.number)).toEqual([4, 5]);
  });

  it.each(['en', 'hi'] as const)('makes higher volume steps louder in %s, and step 0 silent', async (language) => {
    const speaker = wavSpeaker();
    const text = sentence({ kind: 'payment', amount: paise(25000) }, language);
    for (const volume of [0, 2, 5, 10]) await speaker.speak({ text, language, volume });
    const [silent, quiet, middle, loud] = await Promise.all(speaker.recordings.map((r) => soundStats(r.file)));
    expect(silent!.peak).toBe(0);
    expect(quiet!.peak).toBeGreaterThan(0);
    expect(middle!.peak).toBeGreaterThan(quiet!.peak * 1.5);
    expect(loud!.peak).toBeGreaterThan(middle!.peak * 1.5);
  });

  it('writes the chime as an audible short sound that follows the volume', async () => {
    const speaker = wavSpeaker();
    await speaker.chime(4);
    await speaker.chime(10);
    const [soft, full] = await Promise.all(speaker.recordings.map((r) => soundStats(r.file)));
    expect(speaker.recordings.map((r) => r.voice)).toEqual(['chime', 'chime']);
    expect(full!.durationMs).toBeGreaterThan(400);
    expect(full!.durationMs).toBeLessThan(1500);
    expect(full!.audibleShare).toBeGreaterThan(0.5);
    expect(full!.peak).toBeGreaterThan(soft!.peak * 2);
  });

  it('in real time, takes exactly as long as the sound on the clock before resolving', async () => {
    const clock = new ManualClock();
    const speaker = wavSpeaker({ realTime: true, clock });
    const recorded = new Promise<Recording>((resolve) => speaker.once('recording', resolve));
    let finished = false;
    const speaking = speaker.speak({ text: sentence({ kind: 'network-back' }, 'bn'), language: 'bn', volume: 5 }).then(() => {
      finished = true;
    });
    const recording = await recorded;
    expect(recording.durationMs).toBeGreaterThan(500);
    expect(recording.startedAt).toBe(clock.now());
    expect(recording.endsAt).toBe(clock.now() + recording.durationMs);

    await tick();
    clock.advance(recording.durationMs - 1);
    await tick();
    expect(finished).toBe(false);
    clock.advance(1);
    await speaking;
    expect(finished).toBe(true);
  });
});
