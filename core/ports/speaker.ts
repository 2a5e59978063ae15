import type { Language } from '../language.js';
import type { Phrase } from '../announce/words-phrasebook.js';

/**
 * One sentence to speak. `text` is built only from the device's own
 * templates and digits (see firmware/announce); nothing from a network
 * message ever reaches it.
 */
export interface Utterance {
  text: string;
  language: Language;
  /** 0 (silent) to 10 (loudest). */
  volume: number;
  /** The same sentence as tokens, when it came from the phrasebooks: a voice pack plays these instead of synthesising `text`. */
  phrase?: Phrase;
  /**
   * Aborted when a payment arrives while this prompt is playing: a speaker
   * that can stop early does, and resolves. One that cannot simply finishes.
   */
  signal?: AbortSignal;
}

/**
 * The speaker. `speak` resolves when the sentence has finished playing, so a
 * queue above it can keep announcements from overlapping.
 */
export interface Speaker {
  speak(utterance: Utterance): Promise<void>;
  /**
   * Sounds the chime at a volume step (0 to 10): the sound made when a
   * sentence cannot be spoken, and the optional "QR shown" signal. Optional
   * so that a speaker without one still satisfies the interface.
   */
  chime?(volume: number): Promise<void>;
  close(): Promise<void>;
}
