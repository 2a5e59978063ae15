import type { Language } from '../../core/language.js';

/**
 * Letters of each language's own script. Latin letters are allowed for every
 * language because spoken Indian-language announcements routinely use English
 * words ("UPI"); they are harmless to every engine.
 */
const SCRIPT_LETTERS: Record<Language, string> = {
  en: '',
  // Devanagari, including the danda and its digits.
  hi: '\\u0900-\\u097F',
  // Bengali script; Bengali writes the Devanagari danda too.
  bn: '\\u0980-\\u09FF\\u0964\\u0965',
  kn: '\\u0C80-\\u0CFF',
};

/**
 * Basic punctuation that changes only the intonation. Deliberately absent:
 * quotes and backslash (they end or escape a festival/Scheme string), brackets
 * (Scheme forms, espeak phoneme input `[[...]]`), `$` and backticks (shell
 * expansion), `;` `<` `>` `&` `|` (Scheme comments, SSML, shell), newlines.
 */
const PUNCTUATION = ".,?!:'\\-";

/** Zero-width (non-)joiners are part of correct Indic spelling. */
const JOINERS = '\\u200C\\u200D';

const unspeakable: Record<Language, RegExp> = Object.fromEntries(
  (Object.keys(SCRIPT_LETTERS) as Language[]).map((language) => [
    language,
    new RegExp(`[^A-Za-z0-9 ${SCRIPT_LETTERS[language]}${JOINERS}${PUNCTUATION}]+`, 'gu'),
  ]),
) as Record<Language, RegExp>;

/**
 * Reduces a sentence to what a speech engine may receive: the language's
 * letters, digits, spaces and basic punctuation, on one line, never starting
 * with a dash (which `say` on macOS would read as an option). Text already
 * comes only from the device's templates; this is the second line of defence.
 */
export function speakableText(text: string, language: Language): string {
  return text
    .normalize('NFC')
    .replace(unspeakable[language], ' ')
    .replace(/\s+/gu, ' ')
    .replace(/^[\s\-.,?!:']+/u, '')
    .trim();
}
