import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Language } from '../../core/language.js';
import type { Clock } from '../../core/clock.js';
import type { Utterance } from '../../core/ports/speaker.js';
import type { Voice } from './voice.js';
import { describeError } from '../../core/errors.js';
import { runEngine, EngineError } from './engine-process.js';
import { speakableText } from './speakable.js';
import { pronounceable } from './pronounce.js';
import { volumeGain } from '../../core/ports/volume.js';
import { readWav, encodeWav, WavFormatError } from './wav.js';
import { systemWavPlayer, type WavPlayer } from './player.js';

/** The parts of the `say` package used here; tests substitute a recorder. */
export interface SayEngine {
  speak(text: string, voice: string | undefined, speed: number | undefined, callback: (err: unknown) => void): void;
  export(text: string, voice: string | undefined, speed: number | undefined, file: string, callback: (err: unknown) => void): void;
}

/** festival's -scale at which its speech peaks just below full scale. */
const FESTIVAL_FULL_SCALE = 1.3;

export interface SayVoiceOptions {
  say?: SayEngine;
  platform?: NodeJS.Platform;
  /**
   * The platform voice: a festival voice function on Linux
   * ("voice_kal_diphone"), a voice name on macOS ("Rishi") or Windows.
   */
  voice?: string;
  /** Speaking rate as a ratio of normal (1). */
  speed?: number;
  /** festival's WAV writer, used for the WAV output on Linux. */
  text2wave?: string;
  /**
   * On Linux, speak by writing the sentence with text2wave at the volume step
   * and playing it here, instead of through `say`, which cannot set a volume.
   */
  player?: WavPlayer;
  timeoutMs?: number;
  clock?: Clock;
}

/**
 * Why each platform's voice name must look the way it does: `say` pastes it
 * into a festival Scheme form `(voice)` on Linux and a PowerShell string
 * `'voice'` on Windows.
 */
const ENGINE_NAMES: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'festival (say)',
  darwin: 'macOS say',
  win32: 'SAPI (say)',
};

const VOICE_NAMES: Partial<Record<NodeJS.Platform, RegExp>> = {
  linux: /^voice_[A-Za-z0-9_]+$/,
  darwin: /^[A-Za-z0-9 ._-]+$/,
  win32: /^[A-Za-z0-9 ._-]+$/,
};

/**
 * English through the `say` package: festival on Linux, `say` on macOS,
 * SAPI on Windows. `say` builds a festival Scheme expression from the text on
 * Linux, so the text is reduced to letters, digits and plain punctuation
 * before it gets there (see speakableText). `say` has no volume control:
 * through it, volume 0 is honoured as silence and other steps play at the
 * system level. With a `player`, Linux speaks through text2wave and applies
 * every step, as the WAV output always does.
 */
export class SayVoice implements Voice {
  readonly name: string;
  private readonly platform: NodeJS.Platform;

  constructor(private readonly options: SayVoiceOptions = {}) {
    this.platform = options.platform ?? process.platform;
    this.name = ENGINE_NAMES[this.platform] ?? 'say';
    const pattern = VOICE_NAMES[this.platform];
    if (options.voice !== undefined && !pattern?.test(options.voice)) {
      throw new TypeError(`say voice for ${this.platform} is not a voice name: ${JSON.stringify(options.voice)}`);
    }
    if (options.speed !== undefined && !(options.speed >= 0.5 && options.speed <= 2)) {
      throw new TypeError(`say speed must be from 0.5 to 2, got ${options.speed}`);
    }
  }

  async problem(language: Language): Promise<string | undefined> {
    if (language !== 'en') return 'speaks English only';
    if (!VOICE_NAMES[this.platform]) return `say does not support ${this.platform}`;
    if (this.platform !== 'linux') return undefined;
    try {
      const wav = readWav(await this.festivalWav('one', 5));
      if (wav.samples.length === 0) return 'festival produced no sound: no English voice installed (Debian: festvox-kallpc16k)';
      return undefined;
    } catch (err) {
      if (err instanceof EngineError) return err.missing ? 'festival is not installed' : `festival cannot speak: ${err.problem}`;
      if (err instanceof WavFormatError) return 'festival has no English voice installed (Debian: festvox-kallpc16k)';
      throw err;
    }
  }

  async speak(utterance: Utterance): Promise<void> {
    const text = this.text(utterance);
    if (utterance.volume <= 0) return;
    if (this.platform === 'linux') {
      // Never through say.speak on Linux: it pastes the sentence into a
      // festival Scheme form. text2wave reads it as plain text, and -scale
      // carries the volume step, so the player plays it as it is.
      const player = this.options.player ?? systemWavPlayer({ clock: this.options.clock });
      await player.play(await this.festivalWav(text, utterance.volume));
      return;
    }
    const say = await this.engine();
    await new Promise<void>((resolve, reject) => {
      say.speak(text, this.options.voice, this.options.speed, (err) => {
        if (err) reject(new EngineError(this.name, describeError(err).trim()));
        else resolve();
      });
    });
  }

  async render(utterance: Utterance, file: string): Promise<void> {
    const text = this.text(utterance);
    if (this.platform === 'linux') {
      await runEngine(this.text2wave, ['-o', file, ...this.scaleArgs(utterance.volume)], this.engineOptions(text));
      return;
    }
    const say = await this.engine();
    await new Promise<void>((resolve, reject) => {
      say.export(text, this.options.voice, this.options.speed, file, (err) => {
        if (err) reject(new EngineError(this.name, describeError(err).trim()));
        else resolve();
      });
    });
    // macOS and SAPI write at their own level; apply the volume step here.
    const wav = readWav(await readFile(file));
    const gain = volumeGain(utterance.volume);
    const scaled = wav.samples.map((s) => s * gain);
    await rm(file, { force: true });
    await writeFile(file, encodeWav(scaled, wav.sampleRate));
  }

  /**
   * text2wave writing to a pipe cannot seek back to its header and appends a
   * second one instead, so it always writes to a file here.
   */
  private async festivalWav(text: string, volume: number): Promise<Buffer> {
    const folder = await mkdtemp(join(tmpdir(), 'dakbox-festival-'));
    try {
      const file = join(folder, 'sentence.wav');
      await runEngine(this.text2wave, ['-o', file, ...this.scaleArgs(volume)], this.engineOptions(text));
      return await readFile(file);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  /** The `say` package, loaded only where it is used: on Linux festival is run directly. */
  private async engine(): Promise<SayEngine> {
    return this.options.say ?? ((await import('say')) as { default: SayEngine }).default;
  }

  private scaleArgs(volume: number): string[] {
    return ['-scale', (volumeGain(volume) * FESTIVAL_FULL_SCALE).toFixed(4), ...this.voiceEval()];
  }

  private get text2wave(): string {
    return this.options.text2wave ?? 'text2wave';
  }

  /** The configured festival voice, selected before synthesis; the name is checked in the constructor. */
  private voiceEval(): string[] {
    return this.options.voice ? ['-eval', `(${this.options.voice})`] : [];
  }

  private engineOptions(input: string) {
    return { input, timeoutMs: this.options.timeoutMs ?? 30_000, clock: this.options.clock };
  }

  private text(utterance: Utterance): string {
    const text = speakableText(utterance.text, utterance.language);
    if (!text) throw new EngineError(this.name, 'nothing speakable in the sentence');
    return pronounceable(text, utterance.language);
  }
}
