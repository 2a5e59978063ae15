import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatIst } from '../core/clock.js';
import { paise } from '../core/money.js';
import { buildDynamicQr, parseUpiUri, verifySignedUri, type QrRequest } from '../core/sale/dynamic-qr.js';
import { refusal } from './support/refusal.js';

const shownAt = Date.UTC(2026, 0, 15, 4, 30, 0); // 10:00 IST
const base: QrRequest = {
  vpa: 'counter01@postbank',
  payeeName: 'Mysuru HO',
  mcc: '9402',
  tr: 'MYS01-1767312000',
  note: 'Speed post',
  amount: paise(25000),
  shownAt,
  expiresAt: shownAt + 5 * 60 * 1000,
};

describe('dynamic QR URI', () => {
  it('follows the UPI linking specification field for field, in order', () => {
    expect(buildDynamicQr(base).uri).toBe(
      'upi://pay?ver=01&mode=15&pa=counter01@postbank&pn=Mysuru%20HO&mc=9402&tr=MYS01-1767312000&tn=Speed%20post' +
        '&am=250.00&cu=INR&qrMedium=03&QRts=2026-01-15T10:00:00%2B05:30&QRexpire=2026-01-15T10:05:00%2B05:30',
    );
  });

  it('omits tn when there is no note, and never encodes a space as +', () => {
    const { uri } = buildDynamicQr({ ...base, note: undefined, payeeName: 'Head Post Office Mysuru' });
    expect(uri).not.toContain('tn=');
    expect(uri).toContain('pn=Head%20Post%20Office%20Mysuru');
    expect(uri).not.toMatch(/\+/);
  });

  it('percent-encodes reserved and non-ASCII characters as UTF-8', () => {
    const { uri } = buildDynamicQr({ ...base, payeeName: 'Mysuru H.O. & Sons', note: 'मनीऑर्डर #5' });
    const parsed = parseUpiUri(uri);
    expect(parsed.params.get('pn')).toBe('Mysuru H.O. & Sons');
    expect(parsed.params.get('tn')).toBe('मनीऑर्डर #5');
    expect(uri).toContain('pn=Mysuru%20H.O.%20%26%20Sons');
  });

  it('parses back to the same fields', () => {
    const parsed = parseUpiUri(buildDynamicQr(base).uri);
    expect(Object.fromEntries(parsed.params)).toEqual({
      ver: '01',
      mode: '15',
      pa: 'counter01@postbank',
      pn: 'Mysuru HO',
      mc: '9402',
      tr: 'MYS01-1767312000',
      tn: 'Speed post',
      am: '250.00',
      cu: 'INR',
      qrMedium: '03',
      QRts: '2026-01-15T10:00:00+05:30',
      QRexpire: '2026-01-15T10:05:00+05:30',
    });
    expect(parsed.amount).toBe(25000);
  });

  it.each<[Partial<QrRequest>, string]>([
    [{ vpa: 'counter01' }, 'vpa'],
    [{ vpa: 'a@b@c' }, 'vpa'],
    [{ vpa: 'counter 01@postbank' }, 'vpa'],
    [{ vpa: '@postbank' }, 'vpa'],
    [{ payeeName: '' }, 'payee name'],
    [{ payeeName: 'x'.repeat(100) }, 'payee name'],
    [{ payeeName: 'Mysuru\nHO' }, 'payee name'],
    [{ note: 'n'.repeat(51) }, 'note'],
    [{ tr: 'x'.repeat(36) }, 'tr'],
    [{ tr: 'MYS/01' }, 'tr'],
    [{ mcc: '94021' }, 'mcc'],
    [{ amount: paise(0) }, 'amount'],
    [{ expiresAt: shownAt }, 'expiry'],
  ])('refuses %j naming %s', (change, field) => {
    expect(refusal(() => buildDynamicQr({ ...base, ...change })).field).toBe(field);
  });

  it('accepts the limits exactly', () => {
    const { uri } = buildDynamicQr({ ...base, payeeName: 'x'.repeat(99), note: 'n'.repeat(50), tr: 't'.repeat(35) });
    expect(parseUpiUri(uri).params.get('tr')).toHaveLength(35);
  });

  it('writes IST timestamps with the +05:30 offset', () => {
    expect(formatIst(Date.UTC(2026, 10, 26, 21, 12, 26, 999))).toBe('2026-11-27T02:42:26+05:30');
  });
});

describe('signed dynamic QR (mode 16)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  it('signs everything before &sign= with ECDSA P-256 and sets orgid', () => {
    const { uri } = buildDynamicQr({ ...base, signing: { key: privateKey, orgId: '159012' } });
    const parsed = parseUpiUri(uri);
    expect(parsed.params.get('mode')).toBe('16');
    expect(parsed.params.get('orgid')).toBe('159012');
    expect([...parsed.params.keys()].at(-1)).toBe('sign');
    expect(verifySignedUri(uri, publicKey)).toBe(true);
  });

  it('detects a tampered amount', () => {
    const { uri } = buildDynamicQr({ ...base, signing: { key: privateKey, orgId: '159012' } });
    expect(verifySignedUri(uri.replace('am=250.00', 'am=2.50'), publicKey)).toBe(false);
  });

  it('does not verify with another key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const { uri } = buildDynamicQr({ ...base, signing: { key: privateKey, orgId: '159012' } });
    expect(verifySignedUri(uri, other)).toBe(false);
  });

  it('an unsigned URI does not verify', () => {
    expect(verifySignedUri(buildDynamicQr(base).uri, publicKey)).toBe(false);
  });
});

describe('parsing URIs from elsewhere', () => {
  it.each([
    ['https://pay?am=1.00', 'does not start with upi://pay?'],
    ['upi://pay?am', 'has no name or value'],
    ['upi://pay?am=1.00&am=2.00', 'appears twice'],
    ['upi://pay?pn=%E0%A4', 'not valid percent-encoding'],
    ['upi://pay?am=1.0', 'exactly two decimals'],
  ])('refuses %s', (uri, problem) => {
    expect(() => parseUpiUri(uri)).toThrow(problem);
  });
});
