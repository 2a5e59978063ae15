import type { Language } from '../../firmware/language.js';

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
}

/**
 * The speaker. `speak` resolves when the sentence has finished playing, so a
 * queue above it can keep announcements from overlapping.
 */
export interface Speaker {
  speak(utterance: Utterance): Promise<void>;
  close(): Promise<void>;
}
