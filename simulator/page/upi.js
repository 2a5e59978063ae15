// What a UPI app does with a scanned QR: read the upi://pay URI and, for a
// signed (mode 16) QR, check the payee's signature before trusting it.

/** Parses a upi://pay URI into its parameters; undefined if it is not one. */
export function parseUpiUri(text) {
  if (typeof text !== 'string' || !text.startsWith('upi://pay?')) return undefined;
  const params = new Map();
  for (const pair of text.slice('upi://pay?'.length).split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    try {
      params.set(pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      return undefined;
    }
  }
  const signAt = text.indexOf('&sign=');
  return {
    uri: text,
    params,
    payee: params.get('pn') ?? '',
    vpa: params.get('pa') ?? '',
    amount: params.get('am') ?? '',
    note: params.get('tn') ?? '',
    tr: params.get('tr') ?? '',
    mode: params.get('mode') ?? '',
    expiresAt: Date.parse(params.get('QRexpire') ?? ''),
    signedPart: signAt >= 0 ? text.slice(0, signAt) : undefined,
    signature: params.get('sign'),
  };
}

/**
 * Checks a mode-16 QR's ECDSA P-256 / SHA-256 signature over everything
 * before `&sign=`. The firmware signs with Node, which writes the signature
 * DER-encoded; WebCrypto wants the raw r‖s pair. The key comes from the
 * simulator as a JWK.
 */
export async function verifySignedQr(qr, publicKeyJwk) {
  if (!qr.signedPart || !qr.signature || !publicKeyJwk) return false;
  try {
    const key = await crypto.subtle.importKey('jwk', publicKeyJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const raw = derToRaw(fromBase64(qr.signature), 32);
    if (!raw) return false;
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, new TextEncoder().encode(qr.signedPart));
  } catch {
    return false;
  }
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** SEQUENCE { INTEGER r, INTEGER s } to r‖s, each left-padded to `size` bytes. */
export function derToRaw(der, size) {
  let at = 0;
  if (der[at++] !== 0x30) return undefined;
  let length = der[at++];
  if (length & 0x80) at += length & 0x7f;
  const out = new Uint8Array(size * 2);
  for (let part = 0; part < 2; part++) {
    if (der[at++] !== 0x02) return undefined;
    length = der[at++];
    let value = der.subarray(at, at + length);
    at += length;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) return undefined;
    out.set(value, part * size + (size - value.length));
  }
  return out;
}
