import { isLanguage, type Language } from '../language.js';
import type { Paise } from '../money.js';
import type { Announcement } from './announcement.js';
import { bengali } from './words-bn.js';
import { english } from './words-en.js';
import { hindi } from './words-hi.js';
import { kannada } from './words-kn.js';
import type { Phrasebook } from './words-phrasebook.js';
import { VOLUME_MAX, VOLUME_MIN } from '../ports/volume.js';

/**
 * The sentences the soundbox speaks. Every word comes from the phrasebooks;
 * the only variable parts are numbers, spelled out in the language's own
 * script, so nothing from a network message reaches a speech engine and the
 * engine never has to guess how to read digits.
 *
 * Numbers are checked here, once, before any phrasebook sees them: a wrong
 * amount spoken aloud at a counter is worse than an announcement refused.
 */

const PHRASEBOOKS: Record<Language, Phrasebook> = {
  en: english,
  hi: hindi,
  bn: bengali,
  kn: kannada,
};

/** "one lakh twenty-five thousand rupees and fifty paise", in the given language. */
export function amountInWords(amount: Paise, language: Language): string {
  return phrasebook(language).amount(checkAmount(amount, 'amount'));
}

/** A count in words ("thirty-seven", "सैंतीस"), for any non-negative whole number. */
export function numberInWords(value: number, language: Language): string {
  return phrasebook(language).number(checkCount(value, 'number'));
}

/** The full sentence for an announcement, ready for a speech engine. */
export function sentence(announcement: Announcement, language: Language): string {
  return phrasebook(language).sentence(checkAnnouncement(announcement));
}

function phrasebook(language: Language): Phrasebook {
  // The language is a device setting read from a file; the type alone does not keep a typo out.
  if (!isLanguage(language)) throw new RangeError(`no announcements in language ${JSON.stringify(language)}`);
  return PHRASEBOOKS[language];
}

function checkAnnouncement(a: Announcement): Announcement {
  switch (a.kind) {
    case 'payment':
      checkAmount(a.amount, 'payment amount');
      break;
    case 'payment-failed':
    case 'ready':
    case 'connected':
    case 'network-lost':
    case 'network-back':
    case 'low-memory':
    case 'low-storage':
      break;
    case 'fault':
      if (a.fault !== 'storage' && a.fault !== 'clock' && a.fault !== 'ledger') throw new RangeError(`no sentence for fault ${JSON.stringify(a.fault)}`);
      break;
    case 'volume':
      if (!Number.isInteger(a.level) || a.level < VOLUME_MIN || a.level > VOLUME_MAX) {
        throw new RangeError(`volume level must be a whole number from ${VOLUME_MIN} to ${VOLUME_MAX}, got ${a.level}`);
      }
      break;
    case 'day-summary':
      checkCount(a.count, 'day summary count');
      checkAmount(a.total, 'day summary total');
      break;
    case 'status':
      if (typeof a.online !== 'boolean') throw new RangeError(`status online must be true or false, got ${String(a.online)}`);
      if (a.lastPayment !== undefined) checkAmount(a.lastPayment, 'status last payment');
      checkCount(a.todayCount, 'status today count');
      checkAmount(a.todayTotal, 'status today total');
      break;
    default: {
      // Reached only when a caller bypasses the types; say what came in rather than speak nothing.
      const unknown: { kind?: unknown } = a;
      throw new RangeError(`no sentence for announcement kind ${JSON.stringify(unknown.kind)}`);
    }
  }
  return a;
}

function checkAmount(value: Paise, what: string): Paise {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a whole, non-negative number of paise, got ${String(value)}`);
  }
  return value;
}

function checkCount(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a whole, non-negative number, got ${String(value)}`);
  }
  return value;
}
