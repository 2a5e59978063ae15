import { describe, expect, it } from 'vitest';
import {
  checkSaleAmount,
  formatIndianGrouping,
  formatRupees,
  formatWireAmount,
  paise,
  parseAmountInput,
  parseWireAmount,
} from '../core/money.js';
import { refusal } from './support/refusal.js';

describe('wire amounts', () => {
  it.each([
    ['250.00', 25000],
    ['0.01', 1],
    ['1.10', 110],
    ['125000.50', 12500050],
    ['007.05', 705],
  ])('parses %s as %d paise', (text, expected) => {
    expect(parseWireAmount(text)).toBe(expected);
  });

  it.each(['250', '250.0', '250.000', '1e3', '-5.00', '+5.00', ' 5.00', '5.00 ', '5,000.00', '', '.50', '0x10.00', '１.００'])(
    'refuses %j',
    (text) => {
      const err = refusal(() => parseWireAmount(text));
      expect(err.field).toBe('amount');
      expect(err.message).toMatch(/^amount: /);
    },
  );

  it('refuses non-strings, naming the type', () => {
    expect(refusal(() => parseWireAmount(250)).message).toBe('amount: must be a string like "250.00", got number');
  });

  it('formats paise back exactly', () => {
    expect(formatWireAmount(paise(1))).toBe('0.01');
    expect(formatWireAmount(paise(25000))).toBe('250.00');
    expect(formatWireAmount(paise(12500050))).toBe('125000.50');
  });

  it('round-trips every paise value in a range without float drift', () => {
    for (let p = 0; p < 100_000; p += 7) expect(parseWireAmount(formatWireAmount(paise(p)))).toBe(p);
    // 0.1 + 0.2 style values that break float arithmetic
    expect(parseWireAmount('0.29')).toBe(29);
    expect(parseWireAmount('1.15')).toBe(115);
    expect(parseWireAmount('4.35')).toBe(435);
  });
});

describe('amounts typed by people', () => {
  it.each([
    ['250', 25000],
    ['250.5', 25050],
    ['250.50', 25050],
    ['0.01', 1],
  ])('parses %s', (text, expected) => {
    expect(parseAmountInput(text)).toBe(expected);
  });

  it.each([
    ['0', null],
    ['-5', 'amount: "-5" is negative'],
    ['1e3', 'amount: "1e3" uses an exponent; write the amount in rupees, like "1000.00"'],
    ['12.345', 'amount: "12.345" has more than two decimal places'],
    ['', 'amount: is empty'],
    ['abc', 'amount: "abc" is not an amount in rupees, like "250" or "250.50"'],
    ['1,000', 'amount: "1,000" is not an amount in rupees, like "250" or "250.50"'],
    ['9999999999', 'amount: "9999999999" is too large'],
  ])('handles %j with a clear message', (text, message) => {
    if (message === null) {
      expect(parseAmountInput(text)).toBe(0);
      expect(refusal(() => checkSaleAmount(parseAmountInput(text), paise(10_000_00))).message).toBe('amount: must be more than zero');
    } else {
      expect(refusal(() => parseAmountInput(text)).message).toBe(message);
    }
  });

  it('refuses amounts over the per-sale limit, naming both', () => {
    const limit = parseWireAmount('100000.00');
    expect(checkSaleAmount(parseWireAmount('100000.00'), limit)).toBe(10_000_000);
    expect(refusal(() => checkSaleAmount(parseWireAmount('100000.01'), limit)).message).toBe(
      'amount: 100000.01 is over the per-sale limit of 100000.00',
    );
  });
});

describe('amounts for people', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [99900, '999.00'],
    [100000, '1,000.00'],
    [12500050, '1,25,000.50'],
    [1234567890, '1,23,45,678.90'],
    [99999999999, '99,99,99,999.99'],
  ])('groups %d paise as %s', (p, expected) => {
    expect(formatIndianGrouping(paise(p))).toBe(expected);
  });

  it('prefixes the rupee sign', () => {
    expect(formatRupees(paise(25000))).toBe('₹250.00');
  });

  it('refuses to make money from a fraction or a negative', () => {
    expect(() => paise(1.5)).toThrow(RangeError);
    expect(() => paise(-1)).toThrow(RangeError);
  });
});
