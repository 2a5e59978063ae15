import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Announcement } from '../core/announce/announcement.js';
import { phrase, sentence, vocabulary } from '../core/announce/words.js';
import { tokensOf, written } from '../core/announce/words-phrasebook.js';
import { LANGUAGES } from '../core/language.js';
import { paise } from '../core/money.js';

const amount = fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 99_99_99_999_99 })).map((n) => paise(n));
const count = fc.integer({ min: 0, max: 100_000 });
const announcement: fc.Arbitrary<Announcement> = fc.oneof(
  amount.map((a) => ({ kind: 'payment' as const, amount: a })),
  fc.constantFrom(...(['payment-failed', 'ready', 'connected', 'network-lost', 'network-back', 'low-memory', 'low-storage'] as const)).map((kind) => ({ kind })),
  fc.constantFrom(...(['storage', 'clock', 'ledger'] as const)).map((fault) => ({ kind: 'fault' as const, fault })),
  fc.integer({ min: 0, max: 10 }).map((level) => ({ kind: 'volume' as const, level })),
  fc.tuple(count, amount).map(([c, total]) => ({ kind: 'day-summary' as const, count: c, total })),
  fc.tuple(fc.boolean(), fc.option(amount, { nil: undefined }), count, amount).map(([online, lastPayment, todayCount, todayTotal]) =>
    lastPayment === undefined ? { kind: 'status' as const, online, todayCount, todayTotal } : { kind: 'status' as const, online, lastPayment, todayCount, todayTotal },
  ),
);

describe('announcements as tokens', () => {
  it.each(LANGUAGES)('%s: every token an announcement uses is in the vocabulary, with the same text, and the tokens write the sentence', (language) => {
    const known = new Map(vocabulary(language).map((t) => [t.id, t.text]));
    fc.assert(
      fc.property(announcement, (a) => {
        const said = phrase(a, language);
        for (const token of tokensOf(said)) expect(known.get(token.id), `${token.id} in ${language}`).toBe(token.text);
        expect(written(said)).toBe(sentence(a, language));
      }),
      { numRuns: 2000 },
    );
  });

  it.each(LANGUAGES)('%s: token ids are file names and each is listed once', (language) => {
    const ids = vocabulary(language).map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
  });

  it('a payment is a handful of tokens: "one lakh twenty-five thousand rupees and fifty paise"', () => {
    expect(tokensOf(phrase({ kind: 'payment', amount: paise(12_500_050) }, 'en')).map((t) => t.id)).toEqual(['received', 'n1', 'lakh', 'n20', 'n5', 'thousand', 'rupees', 'and', 'n50', 'paise']);
    expect(tokensOf(phrase({ kind: 'payment', amount: paise(12_500_050) }, 'kn')).map((t) => t.id)).toEqual(['n1', 'lakh-of', 'n25', 'thousand', 'rupees', 'n50', 'paise', 'received']);
  });
});
