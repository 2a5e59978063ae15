import { isLanguage, type Language } from '../language.js';
import { type Paise, paise } from '../money.js';
import type { Announcement } from './announcement.js';
import { bengali } from './words-bn.js';
import { english } from './words-en.js';
import { hindi } from './words-hi.js';
import { kannada } from './words-kn.js';
import { type Phrase, type Phrasebook, type Token, tokensOf, written } from './words-phrasebook.js';
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
  return written(phrasebook(language).amount(checkAmount(amount, 'amount')));
}

/** A count in words ("thirty-seven", "सैंतीस"), for any non-negative whole number. */
export function numberInWords(value: number, language: Language): string {
  return written(phrasebook(language).number(checkCount(value, 'number')));
}

/** The full sentence for an announcement, ready for a speech engine. */
export function sentence(announcement: Announcement, language: Language): string {
  return written(phrase(announcement, language));
}

/** The announcement as tokens and pauses: what a voice pack plays, and what `sentence` writes. */
export function phrase(announcement: Announcement, language: Language): Phrase {
  return phrasebook(language).sentence(checkAnnouncement(announcement));
}

/**
 * Every token the language can ever speak, each once, in a stable order:
 * the clips a voice pack must hold. Found by asking the phrasebook for
 * announcements that reach every table entry and every prompt, so a word
 * added to a phrasebook is in the list without being listed twice.
 */
export function vocabulary(language: Language): Token[] {
  const found = new Map<string, Token>();
  for (const announcement of everyShape()) {
    for (const token of tokensOf(phrase(announcement, language))) {
      const known = found.get(token.id);
      if (known && known.text !== token.text) throw new Error(`token ${token.id} in ${language} is written both ${JSON.stringify(known.text)} and ${JSON.stringify(token.text)}`);
      found.set(token.id, token);
    }
  }
  return [...found.values()];
}

/** Announcements that between them use every word of every phrasebook. */
function everyShape(): Announcement[] {
  const shapes: Announcement[] = [];
  const rupees = (r: number, p = 0) => paise(r * 100 + p);
  for (let n = 0; n < 100; n++) shapes.push({ kind: 'payment', amount: rupees(n) }, { kind: 'payment', amount: paise(n) });
  for (let h = 1; h < 10; h++) shapes.push({ kind: 'payment', amount: rupees(h * 100) }, { kind: 'payment', amount: rupees(h * 100 + 1) });
  for (const r of [1000, 1001, 100_000, 100_001, 10_000_000, 10_000_001]) shapes.push({ kind: 'payment', amount: rupees(r) });
  shapes.push({ kind: 'payment', amount: rupees(1, 1) }, { kind: 'payment', amount: rupees(2, 50) });
  for (const kind of ['payment-failed', 'ready', 'connected', 'network-lost', 'network-back', 'low-memory', 'low-storage'] as const) shapes.push({ kind });
  for (const fault of ['storage', 'clock', 'ledger'] as const) shapes.push({ kind: 'fault', fault });
  for (let level = VOLUME_MIN; level <= VOLUME_MAX; level++) shapes.push({ kind: 'volume', level });
  shapes.push({ kind: 'day-summary', count: 0, total: paise(0) }, { kind: 'day-summary', count: 1, total: rupees(1) }, { kind: 'day-summary', count: 2, total: rupees(2) });
  for (const online of [true, false]) shapes.push({ kind: 'status', online, lastPayment: rupees(5), todayCount: 2, todayTotal: rupees(7) });
  return shapes;
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
