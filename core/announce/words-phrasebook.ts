import type { Paise } from '../money.js';
import type { Announcement } from './announcement.js';

/**
 * One spoken unit: a number word, a unit ("crore", "रुपये"), a frame word
 * ("Received") or a whole fixed prompt. `id` names it within its language
 * and is the name of its clip in a voice pack; `text` is how it is written.
 */
export interface Token {
  readonly id: string;
  readonly text: string;
}

/**
 * A sentence as said: tokens in order, and the punctuation between them
 * (a longer pause when spoken). `glue` is what separates a token from the
 * one before it in writing: a space unless the language fuses them
 * ("twenty-five", "সাঁইত্রিশটি").
 */
export type Piece = { readonly token: Token; readonly glue?: '' | '-' } | { readonly mark: string };

export type Phrase = readonly Piece[];

/**
 * Everything one language needs to speak. Inputs arrive already checked by
 * words.ts (whole, non-negative, in range), so a phrasebook only has grammar
 * to get right. One definition gives both the written sentence and the
 * tokens a voice pack plays, so the two can never disagree.
 */
export interface Phrasebook {
  /** A count in words: any non-negative safe integer. */
  number(value: number): Phrase;
  /** Rupees and paise in words, in the form the payment sentence uses. */
  amount(amount: Paise): Phrase;
  sentence(announcement: Announcement): Phrase;
}

/** A token, placed in a phrase. */
export function say(id: string, text: string, glue?: '' | '-'): Piece {
  return glue === undefined ? { token: { id, text } } : { token: { id, text }, glue };
}

/** Punctuation: written after the token before it, heard as a pause. */
export function mark(text: string): Piece {
  return { mark: text };
}

/** The phrase as written: tokens separated by spaces (or their glue), punctuation attached. */
export function written(phrase: Phrase): string {
  let text = '';
  let afterMark = false;
  for (const piece of phrase) {
    if ('mark' in piece) {
      text += piece.mark;
      afterMark = true;
      continue;
    }
    const separator = text === '' ? '' : afterMark ? ' ' : (piece.glue ?? ' ');
    text += separator + piece.token.text;
    afterMark = false;
  }
  return text;
}

/** Only the tokens, in the order spoken. */
export function tokensOf(phrase: Phrase): Token[] {
  const tokens: Token[] = [];
  for (const piece of phrase) if ('token' in piece) tokens.push(piece.token);
  return tokens;
}

/**
 * A whole number of rupees (or anything counted) split the Indian way.
 * `crore` is not capped at 99: a hundred crore and up is said as a count of
 * crores ("one hundred crore", "एक सौ करोड़"), which is how amounts that size
 * are read out in India, rather than with the rarely used arab/kharab.
 */
export interface IndianGroups {
  crore: number;
  lakh: number;
  thousand: number;
  hundred: number;
  /** The last two digits. */
  rest: number;
}

export function indianGroups(value: number): IndianGroups {
  return {
    crore: Math.floor(value / 10_000_000),
    lakh: Math.floor(value / 100_000) % 100,
    thousand: Math.floor(value / 1000) % 100,
    hundred: Math.floor(value / 100) % 10,
    rest: value % 100,
  };
}

/**
 * Table lookup that fails loudly: a missing word would otherwise reach the
 * speaker as "undefined".
 */
export function word(table: readonly string[], index: number): string {
  const found = table[index];
  if (found === undefined) throw new RangeError(`no word for ${index} in a table of ${table.length}`);
  return found;
}

/** A number word from a table of 0–99 (or a part of one), as the token `n<index>`. */
export function numberToken(table: readonly string[], index: number, prefix = 'n', glue?: '' | '-'): Piece {
  return say(`${prefix}${index}`, word(table, index), glue);
}
