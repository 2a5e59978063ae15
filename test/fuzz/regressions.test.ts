/**
 * Inputs the hostile-input runs found the device mishandling, kept as plain
 * examples so they stay fixed whatever the runs' seeds turn up.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyRemoteSettings, parseSettings } from '../../core/config.js';
import { Rejection, checkConfirmation, signConfirmation } from '../../core/payment/confirmation.js';
import { refusal } from '../support/refusal.js';

const notifier = generateKeyPairSync('ed25519');
// Shown at the dawn of time: whether paidAt is real is tested here, not whether it follows the QR.
const ctx = { deviceId: 'MYS01', keys: [notifier.publicKey], shownAt: (tr: string) => (tr === 'MYS01-1768451402' ? -8.64e15 : undefined) };
const fields = { deviceId: 'MYS01', tr: 'MYS01-1768451402', utr: '412345678901', amount: '250.00', status: 'SUCCESS' as const, paidAt: '2026-01-15T10:01:07+05:30' };

function signedWith(extra: Partial<typeof fields> & { payer?: string }): Buffer {
  return Buffer.from(JSON.stringify(signConfirmation({ ...fields, ...extra }, notifier.privateKey)));
}

function outcome(payload: Buffer): string {
  try {
    checkConfirmation(payload, ctx);
    return 'accepted';
  } catch (err) {
    if (err instanceof Rejection) return err.code;
    throw err;
  }
}

describe('a validly signed confirmation whose paidAt is no real instant', () => {
  it.each([
    '2026-13-15T10:01:07+05:30',
    '2026-00-15T10:01:07+05:30',
    '0005-00-01T19:50:53+05:30',
    '2026-01-00T10:01:07+05:30',
    '2026-01-32T10:01:07+05:30',
    '2026-02-29T10:01:07+05:30',
    '2026-02-30T10:01:07+05:30',
    '2026-04-31T10:01:07+05:30',
    '2100-02-29T10:01:07Z',
    '2026-01-15T24:00:00+05:30',
    '2026-01-15T23:60:00+05:30',
    '2026-01-15T23:59:61+05:30',
    '2026-01-15T10:01:07+24:00',
    '2026-01-15T10:01:07+05:60',
  ])('is refused as an invalid field: %s', (paidAt) => {
    expect(outcome(signedWith({ paidAt }))).toBe('bad-paid-at');
  });

  it.each(['2024-02-29T10:01:07+05:30', '2000-02-29T00:00:00Z', '0005-01-01T00:00:00+05:30', '2026-12-31T23:59:59.999999999-12:00', '2026-01-15T04:31:07.250Z', '2026-01-15T10:01:07+14:00'])(
    'is accepted when it is one: %s',
    (paidAt) => {
      expect(outcome(signedWith({ paidAt }))).toBe('accepted');
    },
  );
});

describe('a sale limit with more than nine digits of rupees', () => {
  it('is refused by config/set naming the message and the field', () => {
    const settings = parseSettings({ deviceId: 'MYS01', payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' }, mqtt: { url: 'mqtt://127.0.0.1:1' }, notifierKeys: ['x'] });
    const err = refusal(() => applyRemoteSettings(settings, { saleLimit: '397880796371952419444725582183.00' }));
    expect(err.message).toMatch(/^config\/set: saleLimit: (must be an amount with two decimals|"\d+\.\d\d" is too large)/);
  });

  it('is refused in device.json naming sale.limit', () => {
    const err = refusal(() =>
      parseSettings({ deviceId: 'MYS01', payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' }, mqtt: { url: 'mqtt://127.0.0.1:1' }, notifierKeys: ['x'], sale: { limit: '1000000000.00' } }),
    );
    expect(err.message).toMatch(/^device\.json: sale\.limit: (must be an amount with two decimals|"\d+\.\d\d" is too large)/);
  });
});

describe('a payer of astral-plane characters', () => {
  it('is counted in characters, as the contract counts its 100', () => {
    expect(outcome(signedWith({ payer: '\u{1F600}'.repeat(100) }))).toBe('accepted');
    expect(outcome(signedWith({ payer: `\u{1D11E}${'a'.repeat(99)}` }))).toBe('accepted');
    expect(outcome(signedWith({ payer: '\u{1F600}'.repeat(101) }))).toBe('invalid-field');
  });
});
