import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { LANGUAGES, type Language } from '../../core/language.js';
import { paise } from '../../core/money.js';
import { sentence } from '../../core/announce/words.js';
import type { Announcement } from '../../core/announce/announcement.js';
import { Announcer } from '../../core/announce/announcer.js';
import { VoicePicker, type Voice } from '../../adapters/speaker/voice.js';
import { EspeakVoice } from '../../adapters/speaker/espeak.js';
import { SayVoice } from '../../adapters/speaker/say.js';
import { ChimeVoice } from '../../adapters/speaker/chime.js';
import { WavSpeaker } from '../../adapters/speaker/wav-speaker.js';
import { DeviceSpeaker } from '../../adapters/speaker/device-speaker.js';
import { speakableText } from '../../adapters/speaker/speakable.js';
import { runEngine } from '../../adapters/speaker/engine-process.js';
import { createSpeaker } from '../../adapters/speaker/create-speaker.js';
import { peak, readWav } from '../../adapters/speaker/wav.js';
import type { Utterance } from '../../core/ports/speaker.js';
import { capturedLog, soundStats, tempFolder, WARN } from './support.js';

let folder: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  folder = await tempFolder('voices');
});
afterEach(async () => {
  await folder.remove();
});

/** A voice that counts how often it is asked whether it can speak. */
function counted(voice: Voice): Voice & { checks: number } {
  const wrapped = {
    name: voice.name,
    checks: 0,
    problem: (language: Language) => {
      wrapped.checks++;
      return voice.problem(language);
    },
    speak: (u: Utterance) => voice.speak(u),
    render: (u: Utterance, file: string) => voice.render(u, file),
  };
  return wrapped;
}

describe('choosing a voice', () => {
  it('chimes instead of staying silent when a language has no voice, and says so once in the log', async () => {
    const { log, lines } = capturedLog();
    const noHindi = counted(new EspeakVoice({ voices: { hi: 'xx-no-such-voice' } }));
    const chime = new ChimeVoice();
    const picker = new VoicePicker({ voices: { hi: [noHindi] }, chime, log });
    const speaker = new WavSpeaker({ folder: folder.path, picker, log });
    const text = sentence({ kind: 'payment', amount: paise(25000) }, 'hi');

    await speaker.speak({ text, language: 'hi', volume: 6 });
    await speaker.speak({ text, language: 'hi', volume: 6 });

    expect(speaker.recordings.map((r) => [r.voice, r.file.split('/').pop()])).toEqual([
      ['chime', '0001-hi-chime.wav'],
      ['chime', '0002-hi-chime.wav'],
    ]);
    const stats = await soundStats(speaker.recordings[0]!.file);
    expect(stats.audibleShare).toBeGreaterThan(0.5);
    const warnings = lines.filter((l) => l.level === WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/^no voice installed for हिन्दी \(hi\) \(espeak-ng: voice "xx-no-such-voice" is not available.*\): announcements in हिन्दी \(hi\) will sound a chime instead of speech$/);
    expect(noHindi.checks).toBe(1);
  });

  it('names a speech engine that is not installed at all', async () => {
    expect(await new EspeakVoice({ command: 'espeak-ng-not-installed' }).problem('kn')).toBe('espeak-ng-not-installed is not installed');
    expect(await new SayVoice({ text2wave: 'text2wave-not-installed' }).problem('en')).toBe('festival is not installed');
    expect(await new SayVoice().problem('hi')).toBe('speaks English only');
  });

  it('falls back to the next voice for a language, and logs the one that is missing', async () => {
    const { log, lines } = capturedLog();
    const espeak = new EspeakVoice();
    const picker = new VoicePicker({ voices: { en: [new SayVoice({ text2wave: 'text2wave-not-installed' }), espeak] }, chime: new ChimeVoice(), log });
    expect(await picker.pick('en')).toBe(espeak);
    expect(lines.find((l) => l.level === WARN)?.msg).toBe('festival (say) cannot speak English (en) here; speaking English (en) with espeak-ng');
  });

  it('finds a working voice for every language on this machine', async () => {
    const { log, lines } = capturedLog();
    const say = new SayVoice();
    const espeak = new EspeakVoice();
    const picker = new VoicePicker({ voices: { en: [say, espeak], hi: [espeak], bn: [espeak], kn: [espeak] }, chime: new ChimeVoice(), log });
    expect(await Promise.all(LANGUAGES.map((l) => picker.pick(l)))).toEqual([say, espeak, espeak, espeak]);
    expect(lines.filter((l) => l.level >= WARN)).toEqual([]);
  });

  it('stays silent at volume 0 on the loudspeaker without starting any engine', async () => {
    const { log } = capturedLog();
    const never = counted(new EspeakVoice({ command: 'espeak-ng-not-installed' }));
    const speaker = new DeviceSpeaker({ picker: new VoicePicker({ voices: { hi: [never] }, chime: new ChimeVoice(), log }), log });
    await speaker.speak({ text: 'नमस्ते', language: 'hi', volume: 0 });
    await speaker.chime(0);
    expect(never.checks).toBe(0);
  });

  it('lets the announcer chime when the loudspeaker cannot play at all', async () => {
    const { log, lines } = capturedLog();
    const played: number[] = [];
    const chime = new ChimeVoice({
      player: {
        play: (wav) => {
          played.push(wav.length);
          return Promise.resolve();
        },
      },
    });
    const broken: Voice = {
      name: 'broken',
      problem: () => Promise.resolve(undefined),
      speak: () => Promise.reject(new Error('no sound card')),
      render: () => Promise.reject(new Error('no sound card')),
    };
    const speaker = new DeviceSpeaker({ picker: new VoicePicker({ voices: { en: [broken] }, chime, log }), log });
    const announcer = new Announcer({ speaker, volumeStore: { loadVolume: () => 5, saveVolume: () => undefined }, language: () => 'en', log });
    await announcer.announce({ kind: 'ready' });
    expect(played).toHaveLength(1);
    expect(lines.some((l) => (l.err as { message?: string } | undefined)?.message === 'no sound card')).toBe(true);
  });
});

describe('engines and outputs', () => {
  it('stops an engine that hangs, on the clock, and says so', async () => {
    const clock = new ManualClock();
    const running = runEngine('sleep', ['30'], { timeoutMs: 5000, clock });
    clock.advance(5000);
    await expect(running).rejects.toThrow('sleep: did not finish within 5000 ms');
  });

  it('reports a failing engine with the end of what it said', async () => {
    await expect(runEngine('espeak-ng', ['-v', 'xx-no-such-voice', '--stdin'], { input: 'one' })).rejects.toThrow(/^espeak-ng: exited with 1: .*voice does not exist/);
  });

  it('can speak English on Linux through text2wave and a player, so every volume step applies', async () => {
    const played: Buffer[] = [];
    const player = {
      play: (wav: Buffer) => {
        played.push(wav);
        return Promise.resolve();
      },
    };
    const voice = new SayVoice({ player });
    for (const volume of [3, 10]) await voice.speak({ text: 'Received two hundred fifty rupees', language: 'en', volume });
    const [soft, loud] = played.map((wav) => readWav(wav));
    expect(loud!.durationMs).toBeGreaterThan(1000);
    expect(soft!.durationMs).toBeCloseTo(loud!.durationMs, -1);
    expect(peak(loud!.samples)).toBeGreaterThan(peak(soft!.samples) * 3);
  });

  it('builds the speaker the device config asks for', async () => {
    const { log } = capturedLog();
    const wav = createSpeaker({ output: { kind: 'wav', dir: folder.path }, log });
    expect(wav).toBeInstanceOf(WavSpeaker);
    await wav.speak({ text: sentence({ kind: 'ready' }, 'bn'), language: 'bn', volume: 5 });
    expect(await readdir(folder.path)).toEqual(['0001-bn.wav']);
    expect(createSpeaker({ output: { kind: 'system' }, log })).toBeInstanceOf(DeviceSpeaker);
    const none = createSpeaker({ output: { kind: 'none' }, log });
    await none.speak({ text: 'one', language: 'en', volume: 5 });
    await none.close();
  });
});

describe('text handed to an engine', () => {
  const every: Announcement[] = [
    { kind: 'payment', amount: paise(12500050) },
    { kind: 'payment', amount: paise(1) },
    { kind: 'payment-failed' },
    { kind: 'ready' },
    { kind: 'connected' },
    { kind: 'network-lost' },
    { kind: 'network-back' },
    { kind: 'low-memory' },
    { kind: 'low-storage' },
    { kind: 'volume', level: 0 },
    { kind: 'volume', level: 10 },
    { kind: 'day-summary', count: 37, total: paise(1845000) },
    { kind: 'status', online: true, lastPayment: paise(25000), todayCount: 37, todayTotal: paise(1845000) },
    { kind: 'status', online: false, todayCount: 0, todayTotal: paise(0) },
  ];

  it.each(LANGUAGES)('keeps every sentence of the %s templates exactly as written', (language) => {
    for (const announcement of every) {
      const text = sentence(announcement, language);
      expect(speakableText(text, language)).toBe(text);
    }
  });

  it('keeps letters, digits and plain punctuation, and nothing an interpreter could act on', () => {
    expect(speakableText('") (system "touch /tmp/x") ("', 'en')).toBe('system touch tmp x');
    expect(speakableText('$(reboot); `halt`\n(SayText "x")', 'en')).toBe('reboot halt SayText x');
    expect(speakableText('--output-file=x [[h@l]] <speak>', 'en')).toBe('output-file x h l speak');
    expect(speakableText('दो सौ रुपये; $(id)', 'hi')).toBe('दो सौ रुपये id');
    expect(speakableText('ಎರಡು "ನೂರು"', 'kn')).toBe('ಎರಡು ನೂರು');
    // Another language's script is not passed on: only the language's own letters and Latin.
    expect(speakableText('টাকা रुपये', 'kn')).toBe('');
  });
});
