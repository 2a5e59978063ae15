import { type Paise, paisePart, rupeesPart } from '../money.js';
import type { Announcement } from './announcement.js';
import { indianGroups, mark, numberToken, type Phrase, type Phrasebook, type Piece, say } from './words-phrasebook.js';

/**
 * Kannada 0–99. The tens drop their final ು and fuse with the unit: with a
 * vowel-initial unit the vowel becomes a sign (ಇಪ್ಪತ್ತ + ಐದು → ಇಪ್ಪತ್ತೈದು),
 * before ಮೂರು and ನಾಲ್ಕು the tens keep their ಅ (ಇಪ್ಪತ್ತಮೂರು, ಇಪ್ಪತ್ತನಾಲ್ಕು),
 * the written forms also used by CLDR. Written out in full so each word can
 * be checked by eye.
 */
// prettier-ignore
const NUMBERS = [
  'ಸೊನ್ನೆ', 'ಒಂದು', 'ಎರಡು', 'ಮೂರು', 'ನಾಲ್ಕು', 'ಐದು', 'ಆರು', 'ಏಳು', 'ಎಂಟು', 'ಒಂಬತ್ತು',
  'ಹತ್ತು', 'ಹನ್ನೊಂದು', 'ಹನ್ನೆರಡು', 'ಹದಿಮೂರು', 'ಹದಿನಾಲ್ಕು', 'ಹದಿನೈದು', 'ಹದಿನಾರು', 'ಹದಿನೇಳು', 'ಹದಿನೆಂಟು', 'ಹತ್ತೊಂಬತ್ತು',
  'ಇಪ್ಪತ್ತು', 'ಇಪ್ಪತ್ತೊಂದು', 'ಇಪ್ಪತ್ತೆರಡು', 'ಇಪ್ಪತ್ತಮೂರು', 'ಇಪ್ಪತ್ತನಾಲ್ಕು', 'ಇಪ್ಪತ್ತೈದು', 'ಇಪ್ಪತ್ತಾರು', 'ಇಪ್ಪತ್ತೇಳು', 'ಇಪ್ಪತ್ತೆಂಟು', 'ಇಪ್ಪತ್ತೊಂಬತ್ತು',
  'ಮೂವತ್ತು', 'ಮೂವತ್ತೊಂದು', 'ಮೂವತ್ತೆರಡು', 'ಮೂವತ್ತಮೂರು', 'ಮೂವತ್ತನಾಲ್ಕು', 'ಮೂವತ್ತೈದು', 'ಮೂವತ್ತಾರು', 'ಮೂವತ್ತೇಳು', 'ಮೂವತ್ತೆಂಟು', 'ಮೂವತ್ತೊಂಬತ್ತು',
  'ನಲವತ್ತು', 'ನಲವತ್ತೊಂದು', 'ನಲವತ್ತೆರಡು', 'ನಲವತ್ತಮೂರು', 'ನಲವತ್ತನಾಲ್ಕು', 'ನಲವತ್ತೈದು', 'ನಲವತ್ತಾರು', 'ನಲವತ್ತೇಳು', 'ನಲವತ್ತೆಂಟು', 'ನಲವತ್ತೊಂಬತ್ತು',
  'ಐವತ್ತು', 'ಐವತ್ತೊಂದು', 'ಐವತ್ತೆರಡು', 'ಐವತ್ತಮೂರು', 'ಐವತ್ತನಾಲ್ಕು', 'ಐವತ್ತೈದು', 'ಐವತ್ತಾರು', 'ಐವತ್ತೇಳು', 'ಐವತ್ತೆಂಟು', 'ಐವತ್ತೊಂಬತ್ತು',
  'ಅರವತ್ತು', 'ಅರವತ್ತೊಂದು', 'ಅರವತ್ತೆರಡು', 'ಅರವತ್ತಮೂರು', 'ಅರವತ್ತನಾಲ್ಕು', 'ಅರವತ್ತೈದು', 'ಅರವತ್ತಾರು', 'ಅರವತ್ತೇಳು', 'ಅರವತ್ತೆಂಟು', 'ಅರವತ್ತೊಂಬತ್ತು',
  'ಎಪ್ಪತ್ತು', 'ಎಪ್ಪತ್ತೊಂದು', 'ಎಪ್ಪತ್ತೆರಡು', 'ಎಪ್ಪತ್ತಮೂರು', 'ಎಪ್ಪತ್ತನಾಲ್ಕು', 'ಎಪ್ಪತ್ತೈದು', 'ಎಪ್ಪತ್ತಾರು', 'ಎಪ್ಪತ್ತೇಳು', 'ಎಪ್ಪತ್ತೆಂಟು', 'ಎಪ್ಪತ್ತೊಂಬತ್ತು',
  'ಎಂಬತ್ತು', 'ಎಂಬತ್ತೊಂದು', 'ಎಂಬತ್ತೆರಡು', 'ಎಂಬತ್ತಮೂರು', 'ಎಂಬತ್ತನಾಲ್ಕು', 'ಎಂಬತ್ತೈದು', 'ಎಂಬತ್ತಾರು', 'ಎಂಬತ್ತೇಳು', 'ಎಂಬತ್ತೆಂಟು', 'ಎಂಬತ್ತೊಂಬತ್ತು',
  'ತೊಂಬತ್ತು', 'ತೊಂಬತ್ತೊಂದು', 'ತೊಂಬತ್ತೆರಡು', 'ತೊಂಬತ್ತಮೂರು', 'ತೊಂಬತ್ತನಾಲ್ಕು', 'ತೊಂಬತ್ತೈದು', 'ತೊಂಬತ್ತಾರು', 'ತೊಂಬತ್ತೇಳು', 'ತೊಂಬತ್ತೆಂಟು', 'ತೊಂಬತ್ತೊಂಬತ್ತು',
] as const;

/** Each hundred is one word; ನೂರು alone is a hundred (no ಒಂದು). */
// prettier-ignore
const HUNDREDS = [
  '', 'ನೂರು', 'ಇನ್ನೂರು', 'ಮುನ್ನೂರು', 'ನಾನೂರು', 'ಐನೂರು', 'ಆರುನೂರು', 'ಏಳುನೂರು', 'ಎಂಟುನೂರು', 'ಒಂಬೈನೂರು',
] as const;

/** The same hundreds when more of the number follows: ನೂರ ಒಂದು, ಇನ್ನೂರ ಐವತ್ತು. */
// prettier-ignore
const HUNDREDS_JOINING = [
  '', 'ನೂರ', 'ಇನ್ನೂರ', 'ಮುನ್ನೂರ', 'ನಾನೂರ', 'ಐನೂರ', 'ಆರುನೂರ', 'ಏಳುನೂರ', 'ಎಂಟುನೂರ', 'ಒಂಬೈನೂರ',
] as const;

/** One part of a number: how it is said last, and how when more follows. */
interface Part {
  last: Piece[];
  joining: Piece[];
}

/**
 * A group followed by more of the number takes the genitive: ಸಾವಿರದ, ಲಕ್ಷದ,
 * ಕೋಟಿಯ, ನೂರ ("ಒಂದು ಲಕ್ಷದ ಇಪ್ಪತ್ತೈದು ಸಾವಿರ"). Only the last part keeps its
 * plain form, which is why the parts are collected before they are joined.
 */
function number(value: number): Piece[] {
  if (value === 0) return [numberToken(NUMBERS, 0)];
  const g = indianGroups(value);
  const parts: Part[] = [];
  if (g.crore > 0) {
    const count = number(g.crore);
    parts.push({ last: [...count, say('crore', 'ಕೋಟಿ')], joining: [...count, say('crore-of', 'ಕೋಟಿಯ')] });
  }
  if (g.lakh > 0) {
    const count = numberToken(NUMBERS, g.lakh);
    parts.push({ last: [count, say('lakh', 'ಲಕ್ಷ')], joining: [count, say('lakh-of', 'ಲಕ್ಷದ')] });
  }
  if (g.thousand > 0) {
    const count = numberToken(NUMBERS, g.thousand);
    parts.push({ last: [count, say('thousand', 'ಸಾವಿರ')], joining: [count, say('thousand-of', 'ಸಾವಿರದ')] });
  }
  if (g.hundred > 0) {
    parts.push({ last: [numberToken(HUNDREDS, g.hundred, 'h')], joining: [numberToken(HUNDREDS_JOINING, g.hundred, 'h-of')] });
  }
  if (g.rest > 0) {
    const rest = [numberToken(NUMBERS, g.rest)];
    parts.push({ last: rest, joining: rest });
  }
  return parts.flatMap((part, i) => (i === parts.length - 1 ? part.last : part.joining));
}

/** Nouns after a number stay singular in speech: ಐವತ್ತು ರೂಪಾಯಿ, ಐವತ್ತು ಪೈಸೆ. */
function amount(value: Paise): Piece[] {
  const rupees = rupeesPart(value);
  const paise = paisePart(value);
  const rupeeWords = [...number(rupees), say('rupees', 'ರೂಪಾಯಿ')];
  if (paise === 0) return rupeeWords;
  const paiseWords = [...number(paise), say('paise', 'ಪೈಸೆ')];
  if (rupees === 0) return paiseWords;
  return [...rupeeWords, ...paiseWords];
}

function today(count: number, total: Paise): Piece[] {
  if (count === 0 && total === 0) return [say('today-none', 'ಇಂದು ಯಾವುದೇ ಪಾವತಿ ಆಗಿಲ್ಲ')];
  return [
    say('today', 'ಇಂದು'),
    mark(':'),
    ...number(count),
    count === 1 ? say('payment', 'ಪಾವತಿ') : say('payments', 'ಪಾವತಿಗಳು'),
    mark(','),
    say('total', 'ಒಟ್ಟು'),
    ...amount(total),
  ];
}

const FAULTS = {
  storage: 'ಪಾವತಿಗಳನ್ನು ದಾಖಲಿಸಲು ಆಗುತ್ತಿಲ್ಲ. ಹೊಸ ಮಾರಾಟ ನಿಲ್ಲಿಸಲಾಗಿದೆ',
  clock: 'ಗಡಿಯಾರ ಸರಿಯಾಗಿಲ್ಲ. ಹೊಸ ಮಾರಾಟ ನಿಲ್ಲಿಸಲಾಗಿದೆ',
  ledger: 'ಸಾಧನಕ್ಕೆ ಸೇವೆ ಬೇಕು. ಹೊಸ ಮಾರಾಟ ನಿಲ್ಲಿಸಲಾಗಿದೆ',
} as const;

// "ನೆಟ್ವರ್ಕ್" is written without a zero-width non-joiner so nothing invisible
// reaches the speech engine; it is read the same either way.
function sentence(a: Announcement): Phrase {
  switch (a.kind) {
    case 'payment':
      return [...amount(a.amount), say('received', 'ಸ್ವೀಕರಿಸಲಾಗಿದೆ')];
    case 'payment-failed':
      return [say('payment-failed', 'ಪಾವತಿ ವಿಫಲವಾಗಿದೆ')];
    case 'ready':
      return [say('ready', 'ಸಾಧನ ಸಿದ್ಧವಾಗಿದೆ')];
    case 'connected':
      return [say('connected', 'ಪಾವತಿ ಸೇವೆಗೆ ಸಂಪರ್ಕಗೊಂಡಿದೆ')];
    case 'network-lost':
      return [say('network-lost', 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಕಡಿತಗೊಂಡಿದೆ')];
    case 'network-back':
      return [say('network-back', 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಮರಳಿ ಬಂದಿದೆ')];
    case 'low-memory':
      return [say('low-memory', 'ಮೆಮೊರಿ ಕಡಿಮೆ ಇದೆ')];
    case 'low-storage':
      return [say('low-storage', 'ಸಂಗ್ರಹಣೆ ಬಹುತೇಕ ತುಂಬಿದೆ')];
    case 'fault':
      return [say(`fault-${a.fault}`, FAULTS[a.fault])];
    case 'volume':
      return [say('volume', 'ವಾಲ್ಯೂಮ್'), ...number(a.level)];
    case 'day-summary':
      return today(a.count, a.total);
    case 'status': {
      const parts: Piece[] = [a.online ? say('online', 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಇದೆ') : say('offline', 'ನೆಟ್ವರ್ಕ್ ಸಂಪರ್ಕ ಇಲ್ಲ')];
      if (a.lastPayment !== undefined) parts.push(mark('.'), say('last-payment', 'ಕೊನೆಯ ಪಾವತಿ'), mark(':'), ...amount(a.lastPayment));
      parts.push(mark('.'), ...today(a.todayCount, a.todayTotal));
      return parts;
    }
  }
}

export const kannada: Phrasebook = { number, amount, sentence };
