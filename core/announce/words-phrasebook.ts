import type { Paise } from '../money.js';
import type { Announcement } from './announcement.js';

/**
 * Everything one language needs to speak. Inputs arrive already checked by
 * words.ts (whole, non-negative, in range), so a phrasebook only has grammar
 * to get right.
 */
export interface Phrasebook {
  /** A count in words: any non-negative safe integer. */
  number(value: number): string;
  /** Rupees and paise in words, in the form the payment sentence uses. */
  amount(amount: Paise): string;
  sentence(announcement: Announcement): string;
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
