import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS, Rejection, checkConfirmation, maskPayer, parseInstant, signConfirmation, signedText } from '../core/payment/confirmation.js';

const notifier = generateKeyPairSync('ed25519');
const next = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
/** The QR went up at 10:00:00 IST. */
const SHOWN_AT = Date.parse('2026-01-15T10:00:00+05:30');
const issued = new Map([['MYS01-1767312000', SHOWN_AT]]);
const ctx = { deviceId: 'MYS01', keys: [notifier.publicKey, next.publicKey], shownAt: (tr: string) => issued.get(tr) };
const fields = { deviceId: 'MYS01', tr: 'MYS01-1767312000', utr: '412345678901', amount: '250.00', status: 'SUCCESS' as const, paidAt: '2026-01-15T10:01:07+05:30' };

function payload(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body));
}

function rejection(body: Buffer): Rejection {
  try {
    checkConfirmation(body, ctx);
  } catch (err) {
    if (err instanceof Rejection) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('confirmation signature', () => {
  it('covers exactly the fields the contract (docs/contracts.md) lists, newline-separated under the domain tag', () => {
    expect(signedText({ ...fields, amountText: '250.00' }).toString('utf8')).toBe(
      'dakbox-payment-v1\nMYS01\nMYS01-1767312000\n412345678901\n250.00\nSUCCESS\n2026-01-15T10:01:07+05:30',
    );
  });

  it('accepts a confirmation signed by hand with node:crypto over that text', () => {
    const text = 'dakbox-payment-v1\nMYS01\nMYS01-1767312000\n412345678901\n250.00\nSUCCESS\n2026-01-15T10:01:07+05:30';
    const sig = sign(null, Buffer.from(text, 'utf8'), notifier.privateKey).toString('base64');
    const c = checkConfirmation(payload({ v: 1, ...fields, sig }), ctx);
    expect(c).toMatchObject({ tr: 'MYS01-1767312000', utr: '412345678901', amount: 25000, status: 'SUCCESS' });
  });

  it('accepts the second (rotation) key', () => {
    expect(checkConfirmation(payload(signConfirmation(fields, next.privateKey)), ctx).utr).toBe('412345678901');
  });

  it('refuses a key that is not configured', () => {
    expect(rejection(payload(signConfirmation(fields, stranger.privateKey))).code).toBe('bad-signature');
  });

  it.each([
    ['amount', '2500.00'],
    ['status', 'FAILED'],
    ['utr', '412345678902'],
    ['paidAt', '2026-01-15T10:01:08+05:30'],
  ])('refuses a signed message whose %s was changed', (field, value) => {
    const body = { ...signConfirmation(fields, notifier.privateKey), [field]: value };
    expect(rejection(payload(body)).code).toBe('bad-signature');
  });

  it('keeps the payer, which the signature does not cover, for display only', () => {
    const body = { ...signConfirmation(fields, notifier.privateKey), payer: 'ravi@okaxis' };
    expect(checkConfirmation(payload(body), ctx).payer).toBe('ravi@okaxis');
  });
});

describe('confirmation checks', () => {
  const good = signConfirmation(fields, notifier.privateKey);

  it('refuses another device id before looking at the signature', () => {
    const r = rejection(payload(signConfirmation({ ...fields, deviceId: 'MYS02' }, notifier.privateKey)));
    expect(r.code).toBe('wrong-device');
    expect(r.message).toBe('wrong-device: addressed to MYS02, this is MYS01');
  });

  it('refuses a tr this device never issued, even when signed', () => {
    const r = rejection(payload(signConfirmation({ ...fields, tr: 'MYS01-1' }, notifier.privateKey)));
    expect(r.code).toBe('unknown-tr');
    expect(r.tr).toBe('MYS01-1');
  });

  it.each([
    ['not JSON', Buffer.from('{"v":1,'), 'malformed-json'],
    ['an array', Buffer.from('[1,2]'), 'malformed-json'],
    ['null', Buffer.from('null'), 'malformed-json'],
    ['a newer version', payload({ ...good, v: 2 }), 'unsupported-version'],
    ['a float amount', payload({ ...good, amount: 250 }), 'invalid-field'],
    ['a three-decimal amount', payload({ ...good, amount: '250.000' }), 'invalid-field'],
    ['a newline in utr', payload({ ...good, utr: '4123\n45' }), 'invalid-field'],
    ['an unknown status', payload({ ...good, status: 'PENDING' }), 'invalid-field'],
    ['a missing sig', payload({ ...good, sig: undefined }), 'invalid-field'],
    ['a timestamp without offset', payload({ ...good, paidAt: '2026-01-15T10:01:07' }), 'bad-paid-at'],
    ['a paidAt that is not text', payload({ ...good, paidAt: 1768451467 }), 'invalid-field'],
    ['a zero SUCCESS', payload(signConfirmation({ ...fields, amount: '0.00' }, notifier.privateKey)), 'invalid-field'],
    ['a megabyte', Buffer.alloc(1024 * 1024, 0x20), 'payload-too-large'],
  ])('refuses %s', (_name, body, code) => {
    expect(rejection(body).code).toBe(code);
  });

  it('echoes only well-formed identifiers on a rejection', () => {
    const r = rejection(payload({ ...good, v: 2, tr: '<script>' }));
    expect(r.tr).toBeUndefined();
    expect(r.utr).toBe('412345678901');
  });
});

describe('when it was paid', () => {
  it.each([
    ['2026-13-45T99:99:99+05:30', 'month 13, day 45, hour 99'],
    ['2026-02-29T10:00:00+05:30', '29 February in a common year'],
    ['2026-04-31T10:00:00+05:30', '31 April'],
    ['2026-01-15T24:00:00+05:30', 'hour 24'],
    ['2026-01-15T10:60:00+05:30', 'minute 60'],
    ['2026-01-15T10:01:60+05:30', 'second 60'],
    ['2026-01-15T10:01:07+05:60', 'offset minute 60'],
    ['2026-01-15T10:01:07+15:00', 'an offset beyond +14:00'],
    ['2026-01-15T10:01+05:30', 'no seconds'],
    ['2026-01-15 10:01:07+05:30', 'a space for T'],
    ['2026-01-15T10:01:07+0530', 'an offset without a colon'],
    ['2026-01-15T10:01:07.1234567890+05:30', 'ten fraction digits'],
    ['1768451467', 'epoch seconds'],
  ])('refuses a signed %s (%s) as bad-paid-at, before anything else is trusted', (paidAt) => {
    const r = rejection(payload(signConfirmation({ ...fields, paidAt }, notifier.privateKey)));
    expect(r.code).toBe('bad-paid-at');
    expect([r.tr, r.utr]).toEqual([fields.tr, fields.utr]);
  });

  it.each([
    ['2026-01-15T10:01:07+05:30', Date.UTC(2026, 0, 15, 4, 31, 7)],
    ['2026-01-15T04:31:07Z', Date.UTC(2026, 0, 15, 4, 31, 7)],
    ['2026-01-15T04:31:07.250Z', Date.UTC(2026, 0, 15, 4, 31, 7, 250)],
    ['2026-01-14T23:01:07.123456789-05:30', Date.UTC(2026, 0, 15, 4, 31, 7, 123)],
    ['2028-02-29T00:00:00+14:00', Date.UTC(2028, 1, 28, 10, 0, 0)],
    ['0099-12-31T23:59:59Z', -59_011_459_201_000],
  ])('reads %s as the instant it names', (text, ms) => {
    expect(parseInstant(text)).toBe(ms);
  });

  it('accepts a payment up to the clock skew before its QR was shown, and refuses one earlier', () => {
    const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    expect(checkConfirmation(payload(signConfirmation({ ...fields, paidAt: at(SHOWN_AT - CLOCK_SKEW_MS) }, notifier.privateKey)), ctx).paidAtMs).toBe(SHOWN_AT - CLOCK_SKEW_MS);
    const r = rejection(payload(signConfirmation({ ...fields, paidAt: '2026-01-15T09:54:59+05:30' }, notifier.privateKey)));
    expect(r.code).toBe('paid-before-shown');
    expect(r.message).toBe('paid-before-shown: paid at 2026-01-15T09:54:59+05:30, but its QR was shown at 2026-01-15T10:00:00+05:30');
  });

  it('allows five minutes of skew between the bank and the device', () => {
    expect(CLOCK_SKEW_MS).toBe(5 * 60 * 1000);
  });
});

describe('payer masking', () => {
  it.each([
    ['ravi.kumar@okaxis', 'ra****@okaxis'],
    ['ab@ybl', '****@ybl'],
    ['abc@ybl', 'a****@ybl'],
    ['9876543210', '98****'],
    [undefined, undefined],
  ])('masks %s', (payer, masked) => {
    expect(maskPayer(payer)).toBe(masked);
  });
});
