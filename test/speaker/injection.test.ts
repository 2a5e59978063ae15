import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import sayModule from 'say';
import { paise, type Paise } from '../../core/money.js';
import type { Language } from '../../core/language.js';
import { Announcer } from '../../core/announce/announcer.js';
import { SayVoice, type SayEngine } from '../../adapters/speaker/say.js';
import { WavSpeaker } from '../../adapters/speaker/wav-speaker.js';
import { DeviceSpeaker } from '../../adapters/speaker/device-speaker.js';
import { standardVoicePicker } from '../../adapters/speaker/create-speaker.js';
import { runEngine } from '../../adapters/speaker/engine-process.js';
import type { Speaker } from '../../core/ports/speaker.js';
import { capturedLog, tempFolder } from './support.js';

/** The shapes of `say`'s platform classes, which its typings leave out. */
interface SayPlatform {
  child: { once(event: 'exit', listener: () => void): void } | null;
  speak(text: string, voice: string | undefined, speed: number | undefined, callback: (err: unknown) => void): void;
  buildSpeakCommand(request: { text: string }): { command: string; args: string[]; pipedData: string };
}
const SayForPlatform = (sayModule as unknown as { Say: new (platform: string) => SayPlatform }).Say;

let trap: { path: string; remove: () => Promise<void> };
let marker: string;
let out: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  trap = await tempFolder('trap');
  out = await tempFolder('injection-out');
  marker = join(trap.path, 'pwned');
});
afterEach(async () => {
  await trap.remove();
  await out.remove();
});

/** Each tries a different interpreter: festival's Scheme, a shell, macOS say's options, espeak's markup. */
function attacks(file: string): string[] {
  return [
    `one") (system "touch ${file}") ("`,
    `(system "touch ${file}")`,
    `Received "); (system "touch ${file}"); ("`,
    `$(touch ${file})`,
    `\`touch ${file}\``,
    `; touch ${file}; echo`,
    `one\n(system "touch ${file}")\n`,
    `\\") (system \\"touch ${file}\\") (\\"`,
    `-o ${file}`,
    `<speak><audio src="file://${file}"/></speak> [[p@wn]] | touch ${file} && touch ${file}`,
  ];
}

/** `say` on Linux, but reporting only once festival has exited, so nothing it started can still be running. */
function sayUntilExit(): SayEngine {
  const linux = new SayForPlatform('linux');
  return {
    speak(text, voice, speed, callback) {
      linux.speak(text, voice, speed, (err) => {
        if (linux.child) linux.child.once('exit', () => callback(err));
        else callback(err);
      });
    },
    export(_text, _voice, _speed, _file, callback) {
      callback(new Error('not used on Linux'));
    },
  };
}

async function attempt(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch {
    // Refusing or failing is fine; running the attacker's command is not.
  }
}

describe('nothing in a sentence can run a command', () => {
  it('the check can see an attack: the command say builds on Linux runs Scheme from raw text', async () => {
    const { command, args, pipedData } = new SayForPlatform('linux').buildSpeakCommand({ text: attacks(marker)[0]! });
    await attempt(async () => {
      await runEngine(command, args, { input: pipedData, timeoutMs: 20_000 });
    });
    expect(existsSync(marker)).toBe(true);
  });

  it('through every voice and speaker, speaking aloud and writing WAV', async () => {
    const { log } = capturedLog();
    // The loudspeaker speaks through say (festival) and espeak-ng; the WAV speaker renders through text2wave and espeak-ng.
    const loud = new DeviceSpeaker({ picker: standardVoicePicker({ log, say: { say: sayUntilExit() } }), log });
    const wav = new WavSpeaker({ folder: out.path, picker: standardVoicePicker({ log }), log });
    const speakers: Speaker[] = [loud, wav];
    for (const text of attacks(marker)) {
      for (const language of ['en', 'hi', 'bn', 'kn'] as Language[]) {
        for (const speaker of speakers) await attempt(() => speaker.speak({ text, language, volume: 5 }));
      }
    }
    expect(wav.recordings.filter((r) => r.language === 'en').map((r) => r.voice)).toContain('festival (say)');
    expect(existsSync(marker)).toBe(false);
    expect(await readdir(trap.path)).toEqual([]);
  });

  it('even without the text being cleaned first, text2wave and espeak-ng read stdin only as words', async () => {
    for (const text of attacks(marker)) {
      await attempt(async () => {
        await runEngine('text2wave', ['-o', join(out.path, 'raw.wav')], { input: text, timeoutMs: 20_000 });
      });
      await attempt(async () => {
        await runEngine('espeak-ng', ['-q', '-v', 'en-gb', '--stdin'], { input: text, timeoutMs: 20_000 });
      });
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('on Linux never hands a sentence to say, which would paste it into festival Scheme: text2wave reads it, the player plays it', async () => {
    const received: string[] = [];
    const recorder: SayEngine = {
      speak(text, _voice, _speed, callback) {
        received.push(text);
        callback(null);
      },
      export(text, _voice, _speed, _file, callback) {
        received.push(text);
        callback(null);
      },
    };
    const played: Buffer[] = [];
    const voice = new SayVoice({ say: recorder, platform: 'linux', player: { play: (wav: Buffer) => Promise.resolve(void played.push(wav)) } });
    await voice.speak({ text: 'Received two hundred fifty rupees', language: 'en', volume: 5 });
    expect(received).toEqual([]);
    expect(played).toHaveLength(1);
    expect(played[0]!.subarray(0, 4).toString('latin1')).toBe('RIFF');
  });

  it.each(['darwin', 'win32'] as const)('say on %s receives only letters, digits and plain punctuation, never an option', async (platform) => {
    const received: string[] = [];
    const recorder: SayEngine = {
      speak(text, _voice, _speed, callback) {
        received.push(text);
        callback(null);
      },
      export(text, _voice, _speed, _file, callback) {
        received.push(text);
        callback(new Error('stop after recording'));
      },
    };
    const voice = new SayVoice({ say: recorder, platform });
    for (const text of attacks(marker)) await attempt(() => voice.speak({ text, language: 'en', volume: 5 }));
    expect(received).toHaveLength(attacks(marker).length);
    for (const text of received) {
      expect(text).toMatch(/^[A-Za-z0-9][A-Za-z0-9 .,?!:'-]*$/);
    }
  });

  it('a forged announcement carrying text instead of an amount is refused, and only the chime sounds', async () => {
    const { log } = capturedLog();
    const speaker = new WavSpeaker({ folder: out.path, picker: standardVoicePicker({ log, say: { say: sayUntilExit() } }), log });
    const announcer = new Announcer({ speaker, volumeStore: { loadVolume: () => 5, saveVolume: () => undefined }, language: () => 'en', log });
    const forged = attacks(marker).map((text) => ({ kind: 'payment' as const, amount: text as unknown as Paise }));
    await Promise.all([...forged.map((a) => announcer.announce(a)), announcer.announce({ kind: 'payment', amount: paise(100) })]);
    expect(speaker.recordings.map((r) => r.voice)).toEqual([...forged.map(() => 'chime'), 'festival (say)']);
    expect(existsSync(marker)).toBe(false);
  });
});
