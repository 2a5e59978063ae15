import type { Language } from '../../core/language.js';
import type { Clock } from '../../core/clock.js';
import type { Utterance } from '../../core/ports/speaker.js';
import type { Voice } from './voice.js';
import { runEngine, EngineError, lastLines } from './engine-process.js';
import { speakableText } from './speakable.js';
import { pronounceable } from './pronounce.js';
import { volumeGain } from '../../core/ports/volume.js';

/** espeak-ng voice for each language. Indian English has no voice of its own; British is closest. */
export const ESPEAK_VOICES: Record<Language, string> = { en: 'en-gb', hi: 'hi', bn: 'bn', kn: 'kn' };

/** espeak-ng amplitude at which its speech peaks just below full scale (its default, 100, peaks near 0.8). */
const FULL_AMPLITUDE = 120;

/** A little slower than espeak-ng's 175: amounts must be understood at a noisy counter. */
const DEFAULT_WORDS_PER_MINUTE = 150;

const VOICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_+-]*$/;

export interface EspeakVoiceOptions {
  command?: string;
  voices?: Partial<Record<Language, string>>;
  wordsPerMinute?: number;
  /** Longest one sentence may take before the engine is stopped. */
  timeoutMs?: number;
  clock?: Clock;
}

/**
 * espeak-ng, the voice for Hindi, Bengali and Kannada (and English when
 * festival has no voice). The sentence goes in on stdin as plain text.
 */
export class EspeakVoice implements Voice {
  readonly name = 'espeak-ng';
  private readonly command: string;
  private readonly voices: Partial<Record<Language, string>>;
  private readonly wordsPerMinute: number;

  constructor(private readonly options: EspeakVoiceOptions = {}) {
    this.command = options.command ?? 'espeak-ng';
    this.voices = { ...ESPEAK_VOICES, ...options.voices };
    for (const [language, voice] of Object.entries(this.voices)) {
      if (voice !== undefined && !VOICE_NAME.test(voice)) throw new TypeError(`espeak-ng voice for ${language} is not a voice name: ${JSON.stringify(voice)}`);
    }
    this.wordsPerMinute = options.wordsPerMinute ?? DEFAULT_WORDS_PER_MINUTE;
    if (!Number.isInteger(this.wordsPerMinute) || this.wordsPerMinute < 80 || this.wordsPerMinute > 450) {
      throw new TypeError(`espeak-ng words per minute must be an integer from 80 to 450, got ${this.wordsPerMinute}`);
    }
  }

  async problem(language: Language): Promise<string | undefined> {
    const voice = this.voices[language];
    if (!voice) return `no espeak-ng voice configured for ${language}`;
    try {
      // -q synthesises without sound: enough to prove the voice loads.
      await this.run(['-q', '-v', voice, '--stdin'], '1');
      return undefined;
    } catch (err) {
      if (err instanceof EngineError) return err.missing ? `${this.command} is not installed` : `voice "${voice}" is not available${err.problem.replace(/^exited with \d+/, '')}`;
      throw err;
    }
  }

  async speak(utterance: Utterance): Promise<void> {
    const { stderr } = await this.run(this.args(utterance), this.text(utterance));
    // With no sound device espeak-ng still exits 0; only its complaint tells.
    if (/error/i.test(stderr)) throw new EngineError(this.command, `could not play${lastLines(stderr)}`);
  }

  async render(utterance: Utterance, file: string): Promise<void> {
    await this.run([...this.args(utterance), '-w', file], this.text(utterance));
  }

  private args(utterance: Utterance): string[] {
    const voice = this.voices[utterance.language];
    if (!voice) throw new EngineError(this.command, `no voice configured for ${utterance.language}`);
    const amplitude = Math.round(volumeGain(utterance.volume) * FULL_AMPLITUDE);
    return ['-v', voice, '-a', String(amplitude), '-s', String(this.wordsPerMinute), '-b', '1', '--stdin'];
  }

  private text(utterance: Utterance): string {
    const text = speakableText(utterance.text, utterance.language);
    if (!text) throw new EngineError(this.command, 'nothing speakable in the sentence');
    return `${pronounceable(text, utterance.language)}\n`;
  }

  private run(args: string[], input: string) {
    return runEngine(this.command, args, { input, timeoutMs: this.options.timeoutMs ?? 30_000, clock: this.options.clock });
  }
}
