import { describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.js';
import { checkRef, checkShownText, hiddenCharacter, textLength } from '../core/text.js';

describe('text shown to the customer and the clerk', () => {
  it.each([
    ['a newline', 'Mysuru\nHO', 'U+000A'],
    ['a C1 next-line', 'Mysuru\u0085HO', 'U+0085'],
    ['a line separator', 'Mysuru\u2028HO', 'U+2028'],
    ['a right-to-left override', 'Pay \u202eOH urusyM', 'U+202E'],
    ['a first-strong isolate', 'Pay \u2068x', 'U+2068'],
    ['a zero-width space', 'Mysuru\u200bHO', 'U+200B'],
    ['a byte-order mark', '\ufeffMysuru', 'U+FEFF'],
    ['a lone surrogate', 'Mysuru \ud800', 'U+D800'],
    ['a private-use character', 'Mysuru \ue000', 'U+E000'],
  ])('refuses %s, naming the code point', (_name, text, codePoint) => {
    expect(hiddenCharacter(text)).toBe(codePoint);
    expect(() => checkShownText(text, 'payee.name', 99)).toThrow(new InputError('payee.name', `contains a control or invisible character (${codePoint})`));
  });

  it('keeps the joiners Indic words need, and every script the device speaks', () => {
    for (const text of ['क्‍ष', 'र‌्य', 'ডাকঘর', 'ಅಂಚೆ ಕಚೇರಿ', 'मैसूरु प्रधान डाकघर', 'Speed post, ₹ 250']) {
      expect(checkShownText(text, 'note', 50)).toBe(text);
    }
  });

  it('counts length in code points, as a person and the UPI limits do', () => {
    expect(textLength('😀😀')).toBe(2);
    expect(checkShownText('😀'.repeat(50), 'note', 50)).toHaveLength(100);
    expect(() => checkShownText('😀'.repeat(51), 'note', 50)).toThrow('note: is longer than 50 characters');
  });

  it('refuses blank text and anything that is not text', () => {
    expect(() => checkShownText('   ', 'payee.name', 99)).toThrow('payee.name: is blank');
    expect(() => checkShownText(42, 'note', 50)).toThrow('note: must be text');
  });
});

describe('the billing reference', () => {
  it('is printable ASCII up to 64 characters', () => {
    expect(checkRef('INV-42/2026 A')).toBe('INV-42/2026 A');
    expect(() => checkRef('x'.repeat(65))).toThrow('ref: is longer than 64 characters');
    expect(() => checkRef('INV\t42')).toThrow('ref: must be printable ASCII');
    expect(() => checkRef('चालान')).toThrow('ref: must be printable ASCII');
    expect(() => checkRef('')).toThrow('ref: is empty');
  });
});
