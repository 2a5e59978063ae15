import { InputError } from './errors.js';

/**
 * Money inside dakbox is always a whole number of paise. The brand keeps a
 * plain number (a count, a duration) from being passed where money is meant.
 */
export type Paise = number & { readonly __money: 'paise' };

/** Largest amount the parser accepts at all: ₹99,99,99,999.99. Per-sale limits are far lower. */
const MAX_DIGITS_RUPEES = 9;

export function paise(value: number): Paise {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`paise must be a non-negative safe integer, got ${value}`);
  }
  return value as Paise;
}

export const ZERO = paise(0);

/**
 * Parses an amount as it travels on the wire (MQTT, serial): a decimal string
 * with exactly two decimals, e.g. "250.00". Anything else is refused.
 */
export function parseWireAmount(text: unknown, field = 'amount'): Paise {
  if (typeof text !== 'string') throw new InputError(field, `must be a string like "250.00", got ${typeof text}`);
  if (!/^\d+\.\d\d$/.test(text)) {
    throw new InputError(field, `${quote(text)} is not an amount with exactly two decimals, like "250.00"`);
  }
  return parseDigits(text, field);
}

/**
 * Parses an amount typed by a person (command line, billing client): rupees
 * with at most two decimals, "250", "250.5" or "250.50". No signs, exponents,
 * separators or spaces.
 */
export function parseAmountInput(text: unknown, field = 'amount'): Paise {
  if (typeof text !== 'string') throw new InputError(field, `must be a string like "250.00", got ${typeof text}`);
  if (text.trim() === '') throw new InputError(field, 'is empty');
  if (/^-/.test(text.trim())) throw new InputError(field, `${quote(text)} is negative`);
  if (/[eE]/.test(text)) throw new InputError(field, `${quote(text)} uses an exponent; write the amount in rupees, like "1000.00"`);
  if (/^\d+\.\d{3,}$/.test(text)) throw new InputError(field, `${quote(text)} has more than two decimal places`);
  if (!/^\d+(\.\d{1,2})?$/.test(text)) {
    throw new InputError(field, `${quote(text)} is not an amount in rupees, like "250" or "250.50"`);
  }
  return parseDigits(text, field);
}

function parseDigits(text: string, field: string): Paise {
  const [rupees = '', fraction = ''] = text.split('.');
  const whole = rupees.replace(/^0+(?=\d)/, '');
  if (whole.length > MAX_DIGITS_RUPEES) throw new InputError(field, `${quote(text)} is too large`);
  return paise(Number(whole) * 100 + Number(fraction.padEnd(2, '0')));
}

/**
 * Checks that an amount may be asked for in one sale: more than zero and no
 * more than the configured per-sale limit.
 */
export function checkSaleAmount(amount: Paise, limit: Paise, field = 'amount'): Paise {
  if (amount <= 0) throw new InputError(field, 'must be more than zero');
  if (amount > limit) {
    throw new InputError(field, `${formatWireAmount(amount)} is over the per-sale limit of ${formatWireAmount(limit)}`);
  }
  return amount;
}

/** "250.00": the wire and UPI `am` form. */
export function formatWireAmount(amount: Paise): string {
  const rupees = Math.floor(amount / 100);
  const fraction = amount % 100;
  return `${rupees}.${String(fraction).padStart(2, '0')}`;
}

/**
 * Indian digit grouping for people: "1,25,000.50" (lakh and crore groups of
 * two digits after the first three).
 */
export function formatIndianGrouping(amount: Paise): string {
  const rupees = String(Math.floor(amount / 100));
  const fraction = String(amount % 100).padStart(2, '0');
  const last3 = rupees.slice(-3);
  let rest = rupees.slice(0, -3);
  const groups: string[] = [];
  while (rest.length > 2) {
    groups.unshift(rest.slice(-2));
    rest = rest.slice(0, -2);
  }
  if (rest) groups.unshift(rest);
  return `${[...groups, last3].join(',')}.${fraction}`;
}

/** "₹1,25,000.50" */
export function formatRupees(amount: Paise): string {
  return `₹${formatIndianGrouping(amount)}`;
}

export function rupeesPart(amount: Paise): number {
  return Math.floor(amount / 100);
}

export function paisePart(amount: Paise): number {
  return amount % 100;
}

function quote(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(shown);
}
