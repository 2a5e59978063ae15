import type { Language } from '../../core/language.js';

/**
 * Fixes for words the synthesisers get wrong, applied to text that has
 * already been through speakableText. The written sentence stays as the
 * phrasebook has it; only what the engine reads changes.
 *
 * Bengali: NFC splits য় ড় ঢ় into a consonant and a nukta (U+09AF U+09BC),
 * and espeak-ng then drops the syllable they begin: বিয়াল্লিশ comes out as
 * "billish", পাওয়া as "pao". Given the single code points (U+09DF, U+09DC,
 * U+09DD) it reads them in full.
 *
 * English: festival says "crore" with no vowel at all (k r r) and both
 * engines say "paise" as "pays"; respelt, they say "kror", "pie-say",
 * "pie-sah" as Indian English does.
 */
const BENGALI_NUKTA: readonly [RegExp, string][] = [
  [/\u09AF\u09BC/gu, '\u09DF'],
  [/\u09A1\u09BC/gu, '\u09DC'],
  [/\u09A2\u09BC/gu, '\u09DD'],
];

const ENGLISH_RESPELLING: readonly [RegExp, string][] = [
  [/\bcrore\b/giu, 'kroar'],
  [/\bpaise\b/giu, 'pie-say'],
  [/\bpaisa\b/giu, 'pie-sah'],
];

const FIXES: Partial<Record<Language, readonly [RegExp, string][]>> = {
  bn: BENGALI_NUKTA,
  en: ENGLISH_RESPELLING,
};

/** The text a synthesiser should read for `text` in `language`. */
export function pronounceable(text: string, language: Language): string {
  let out = text;
  for (const [pattern, replacement] of FIXES[language] ?? []) out = out.replace(pattern, replacement);
  return out;
}
