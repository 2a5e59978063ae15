import { LANGUAGE_NAMES, type Language } from '../../core/language.js';
import type { Logger } from '../../core/log.js';
import { describeError } from '../../core/errors.js';
import type { Utterance } from '../../core/ports/speaker.js';

/**
 * One way of turning a sentence into sound: a speech engine with its voices,
 * or the chime. The same voice either plays aloud (the device) or writes a
 * WAV file (tests, the simulator), so what is tested is what is spoken.
 */
export interface Voice {
  /** For log lines: "espeak-ng", "festival (say)", "chime". */
  readonly name: string;
  /** Why this voice cannot speak `language` on this machine, or undefined when it can. */
  problem(language: Language): Promise<string | undefined>;
  /** Plays the sentence aloud; resolves when it has finished. */
  speak(utterance: Utterance): Promise<void>;
  /** Writes the sentence as a WAV file at `file`. */
  render(utterance: Utterance, file: string): Promise<void>;
}

export interface VoicePickerOptions {
  /** Voices to try for each language, best first. */
  voices: Partial<Record<Language, readonly Voice[]>>;
  /** What sounds when no voice can speak the language: never silence. */
  chime: Voice;
  log: Logger;
}

/**
 * Chooses the voice for each language: the first that works on this
 * machine, checked once. A missing voice is said plainly in the log, once,
 * and the chime takes its place so a payment is still heard.
 */
export class VoicePicker {
  private readonly chosen = new Map<Language, Promise<Voice>>();

  constructor(private readonly options: VoicePickerOptions) {}

  get chime(): Voice {
    return this.options.chime;
  }

  pick(language: Language): Promise<Voice> {
    let choice = this.chosen.get(language);
    if (!choice) {
      choice = this.choose(language);
      this.chosen.set(language, choice);
    }
    return choice;
  }

  private async choose(language: Language): Promise<Voice> {
    const { log } = this.options;
    const name = `${LANGUAGE_NAMES[language]} (${language})`;
    const missing: { voice: string; problem: string }[] = [];
    for (const voice of this.options.voices[language] ?? []) {
      let problem: string | undefined;
      try {
        problem = await voice.problem(language);
      } catch (err) {
        problem = describeError(err);
      }
      if (problem === undefined) {
        if (missing.length) {
          log.warn({ language, voice: voice.name, missing }, `${missing.map((m) => m.voice).join(', ')} cannot speak ${name} here; speaking ${name} with ${voice.name}`);
        } else {
          log.info({ language, voice: voice.name }, `speaking ${name} with ${voice.name}`);
        }
        return voice;
      }
      missing.push({ voice: voice.name, problem });
    }
    const why = missing.length ? missing.map((m) => `${m.voice}: ${m.problem}`).join('; ') : 'no voice is configured';
    log.warn({ language, missing }, `no voice installed for ${name} (${why}): announcements in ${name} will sound a chime instead of speech`);
    return this.options.chime;
  }
}
