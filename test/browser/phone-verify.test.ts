/**
 * The phone's check of a signed (mode 16) QR, run on Node's WebCrypto
 * against QRs the firmware's own builder signs: Node writes the ECDSA
 * signature DER-encoded, the phone converts it for WebCrypto.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { paise } from '../../core/money.js';
import { buildDynamicQr } from '../../core/sale/dynamic-qr.js';

interface PhoneQr {
  amount: string;
  tr: string;
  mode: string;
  signature: string | undefined;
}
interface UpiModule {
  parseUpiUri(text: string): PhoneQr | undefined;
  verifySignedQr(qr: PhoneQr, jwk: unknown): Promise<boolean>;
}

const modulePath = new URL('../../simulator/page/upi.js', import.meta.url).href;
const upi = (await import(modulePath)) as UpiModule;

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const jwk = publicKey.export({ format: 'jwk' });

function signedQr(tr: string): string {
  const shownAt = Date.parse('2026-12-02T06:30:00+05:30');
  return buildDynamicQr({
    vpa: 'simcounter01@postbank',
    payeeName: 'Simulated Post Office',
    mcc: '9402',
    tr,
    amount: paise(25_000),
    note: 'Speed post',
    shownAt,
    expiresAt: shownAt + 300_000,
    signing: { key: privateKey, orgId: '000000' },
  }).uri;
}

/** The byte lengths of r and s in a DER ECDSA signature (a 33rd byte is the sign padding). */
function derIntegerLengths(der: Buffer): number[] {
  const rLength = der[3] ?? 0;
  const sLength = der[5 + rLength] ?? 0;
  return [rLength, sLength];
}

describe("the phone's check of a signed QR", () => {
  it('verifies what the firmware signed, for many signatures (short r and s included)', async () => {
    // About one DER signature in a hundred has an r or s shorter than 32
    // bytes, which the conversion must pad: signed until three such were seen.
    let short = 0;
    let signed = 0;
    while ((short < 3 || signed < 100) && signed < 5000) {
      const qr = upi.parseUpiUri(signedQr(`SIM01-T${signed++}`));
      expect(qr?.mode).toBe('16');
      expect(qr?.amount).toBe('250.00');
      expect(await upi.verifySignedQr(qr!, jwk)).toBe(true);
      if (derIntegerLengths(Buffer.from(qr!.signature!, 'base64')).some((length) => length < 32)) short++;
    }
    expect(short).toBeGreaterThanOrEqual(3);
  });

  it('refuses a changed amount, another key, and a QR without a signature', async () => {
    const uri = signedQr('SIM01-X1');
    const tampered = upi.parseUpiUri(uri.replace('am=250.00', 'am=2.00'));
    expect(tampered?.amount).toBe('2.00');
    expect(await upi.verifySignedQr(tampered!, jwk)).toBe(false);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
    expect(await upi.verifySignedQr(upi.parseUpiUri(uri)!, other)).toBe(false);
    const unsigned = upi.parseUpiUri(uri.slice(0, uri.indexOf('&sign=')));
    expect(unsigned?.signature).toBeUndefined();
    expect(await upi.verifySignedQr(unsigned!, jwk)).toBe(false);
    expect(upi.parseUpiUri('https://example.com/pay')).toBeUndefined();
  });
});
