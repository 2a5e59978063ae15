import { type Paise, paisePart, rupeesPart } from '../money.js';
import type { Announcement } from './announcement.js';
import { indianGroups, type Phrasebook, word } from './words-phrasebook.js';

// prettier-ignore
const UNITS = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
  'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen',
] as const;

const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'] as const;

function belowHundred(value: number): string {
  if (value < 20) return word(UNITS, value);
  const tens = word(TENS, Math.floor(value / 10));
  const units = value % 10;
  return units === 0 ? tens : `${tens}-${word(UNITS, units)}`;
}

/**
 * No "and" inside a number ("one hundred one"): over a loudspeaker the only
 * "and" is the one between rupees and paise, so it cannot be misheard as a
 * second amount.
 */
function number(value: number): string {
  if (value === 0) return word(UNITS, 0);
  const g = indianGroups(value);
  const parts: string[] = [];
  if (g.crore > 0) parts.push(`${number(g.crore)} crore`);
  if (g.lakh > 0) parts.push(`${belowHundred(g.lakh)} lakh`);
  if (g.thousand > 0) parts.push(`${belowHundred(g.thousand)} thousand`);
  if (g.hundred > 0) parts.push(`${word(UNITS, g.hundred)} hundred`);
  if (g.rest > 0) parts.push(belowHundred(g.rest));
  return parts.join(' ');
}

function amount(value: Paise): string {
  const rupees = rupeesPart(value);
  const paise = paisePart(value);
  const rupeeWords = `${number(rupees)} ${rupees === 1 ? 'rupee' : 'rupees'}`;
  if (paise === 0) return rupeeWords;
  const paiseWords = `${number(paise)} ${paise === 1 ? 'paisa' : 'paise'}`;
  if (rupees === 0) return paiseWords;
  return `${rupeeWords} and ${paiseWords}`;
}

function today(count: number, total: Paise): string {
  if (count === 0 && total === 0) return 'Today: no payments';
  return `Today: ${number(count)} ${count === 1 ? 'payment' : 'payments'}, ${amount(total)}`;
}

function sentence(a: Announcement): string {
  switch (a.kind) {
    case 'payment':
      return `Received ${amount(a.amount)}`;
    case 'payment-failed':
      return 'Payment failed';
    case 'ready':
      return 'Device ready';
    case 'connected':
      return 'Connected to the payment service';
    case 'network-lost':
      return 'Network connection lost';
    case 'network-back':
      return 'Network connection restored';
    case 'low-memory':
      return 'Memory is low';
    case 'low-storage':
      return 'Storage is almost full';
    case 'fault':
      return { storage: 'Payments cannot be recorded. New sales are paused', clock: 'The clock is not set. New sales are paused', ledger: 'The device needs service. New sales are paused' }[a.fault];
    case 'volume':
      return `Volume ${number(a.level)}`;
    case 'day-summary':
      return today(a.count, a.total);
    case 'status': {
      const parts = [a.online ? 'Network connected' : 'Network not connected'];
      if (a.lastPayment !== undefined) parts.push(`Last payment: ${amount(a.lastPayment)}`);
      parts.push(today(a.todayCount, a.todayTotal));
      return parts.join('. ');
    }
  }
}

export const english: Phrasebook = { number, amount, sentence };
