import { type Paise, paisePart, rupeesPart } from '../money.js';
import type { Announcement } from './announcement.js';
import { indianGroups, mark, numberToken, type Phrase, type Phrasebook, type Piece, say, word } from './words-phrasebook.js';

// prettier-ignore
const UNITS = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
  'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen',
] as const;

const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'] as const;

function belowHundred(value: number): Piece[] {
  if (value < 20) return [numberToken(UNITS, value)];
  const tens = Math.floor(value / 10);
  const tensWord = say(`n${tens * 10}`, word(TENS, tens));
  const units = value % 10;
  return units === 0 ? [tensWord] : [tensWord, numberToken(UNITS, units, 'n', '-')];
}

/**
 * No "and" inside a number ("one hundred one"): over a loudspeaker the only
 * "and" is the one between rupees and paise, so it cannot be misheard as a
 * second amount.
 */
function number(value: number): Piece[] {
  if (value === 0) return [numberToken(UNITS, 0)];
  const g = indianGroups(value);
  const parts: Piece[] = [];
  if (g.crore > 0) parts.push(...number(g.crore), say('crore', 'crore'));
  if (g.lakh > 0) parts.push(...belowHundred(g.lakh), say('lakh', 'lakh'));
  if (g.thousand > 0) parts.push(...belowHundred(g.thousand), say('thousand', 'thousand'));
  if (g.hundred > 0) parts.push(numberToken(UNITS, g.hundred), say('hundred', 'hundred'));
  if (g.rest > 0) parts.push(...belowHundred(g.rest));
  return parts;
}

function amount(value: Paise): Piece[] {
  const rupees = rupeesPart(value);
  const paise = paisePart(value);
  const rupeeWords = [...number(rupees), rupees === 1 ? say('rupee', 'rupee') : say('rupees', 'rupees')];
  if (paise === 0) return rupeeWords;
  const paiseWords = [...number(paise), paise === 1 ? say('paisa', 'paisa') : say('paise', 'paise')];
  if (rupees === 0) return paiseWords;
  return [...rupeeWords, say('and', 'and'), ...paiseWords];
}

function today(count: number, total: Paise): Piece[] {
  if (count === 0 && total === 0) return [say('today-none', 'Today: no payments')];
  return [say('today', 'Today'), mark(':'), ...number(count), count === 1 ? say('payment', 'payment') : say('payments', 'payments'), mark(','), ...amount(total)];
}

const FAULTS = {
  storage: 'Payments cannot be recorded. New sales are paused',
  clock: 'The clock is not set. New sales are paused',
  ledger: 'The device needs service. New sales are paused',
} as const;

function sentence(a: Announcement): Phrase {
  switch (a.kind) {
    case 'payment':
      return [say('received', 'Received'), ...amount(a.amount)];
    case 'payment-failed':
      return [say('payment-failed', 'Payment failed')];
    case 'ready':
      return [say('ready', 'Device ready')];
    case 'connected':
      return [say('connected', 'Connected to the payment service')];
    case 'network-lost':
      return [say('network-lost', 'Network connection lost')];
    case 'network-back':
      return [say('network-back', 'Network connection restored')];
    case 'low-memory':
      return [say('low-memory', 'Memory is low')];
    case 'low-storage':
      return [say('low-storage', 'Storage is almost full')];
    case 'fault':
      return [say(`fault-${a.fault}`, FAULTS[a.fault])];
    case 'volume':
      return [say('volume', 'Volume'), ...number(a.level)];
    case 'day-summary':
      return today(a.count, a.total);
    case 'status': {
      const parts: Piece[] = [a.online ? say('online', 'Network connected') : say('offline', 'Network not connected')];
      if (a.lastPayment !== undefined) parts.push(mark('.'), say('last-payment', 'Last payment'), mark(':'), ...amount(a.lastPayment));
      parts.push(mark('.'), ...today(a.todayCount, a.todayTotal));
      return parts;
    }
  }
}

export const english: Phrasebook = { number, amount, sentence };
