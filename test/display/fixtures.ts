import { PNG } from 'pngjs';
import type { Canvas } from 'canvas';
import type { LinkState } from '../../core/link/link-state.js';
import type { Frame, PanelSize, Screen } from '../../core/ports/display.js';
import { PANEL_SIZES } from '../../adapters/display/panels.js';
import { LANGUAGES, type Language } from '../../core/language.js';
import { paise } from '../../core/money.js';

export const SIZES: readonly [string, PanelSize][] = Object.entries(PANEL_SIZES);
export const LINKS: readonly LinkState[] = ['online', 'connecting', 'offline'];
export { LANGUAGES, type Language };

const T0 = Date.parse('2026-01-15T10:00:00+05:30');

export const URI_COUNTER =
  'upi://pay?ver=01&mode=15&pa=counter01@postbank&pn=Mysuru%20HO&mc=9402&tr=MYS01-1767312000&tn=Speed%20post&am=250.00&cu=INR&qrMedium=03&QRts=2026-01-15T10:00:00+05:30&QRexpire=2026-01-15T10:05:00+05:30';

/** A large amount, a long payee name and note: a bigger QR version. */
export const URI_LONG =
  'upi://pay?ver=01&mode=15&pa=kolkata.gpo.counter12@postbank&pn=Kolkata%20General%20Post%20Office%20Counter%2012&mc=9402&tr=KOL12-1767312999&tn=Passport%20application%20fee%20and%20speed%20post&am=125000.50&cu=INR&qrMedium=03&QRts=2026-01-15T10:00:00+05:30&QRexpire=2026-01-15T10:05:00+05:30';

/** A signed dynamic QR (mode 16): the longest URI the device shows. */
export const URI_SIGNED =
  'upi://pay?ver=01&mode=16&orgid=159002&pa=counter01@postbank&pn=Mysuru%20HO&mc=9402&tr=MYS01-1767312001&tn=Registered%20post&am=41.00&cu=INR&qrMedium=03&QRts=2026-01-15T10:00:00+05:30&QRexpire=2026-01-15T10:05:00+05:30&sign=MEUCIQDx3c1bH8c7Qm1mZ4q1m2hP0bq2Qe8nY0a1k7mV3kX1dQIgS0r0n8c0kqVxQ2fH7cZb1gWnY9pXl4n2e5mJbHq8s4w=';

export function collect(uri = URI_COUNTER, options: { amount?: number; payeeName?: string; tr?: string; secondsLeft?: number } = {}): Screen {
  const left = options.secondsLeft ?? 299;
  return {
    kind: 'collect',
    uri,
    amount: paise(options.amount ?? 25000),
    payeeName: options.payeeName ?? 'Mysuru HO',
    tr: options.tr ?? 'MYS01-1767312000',
    expiresAt: T0 + 300_000,
    now: T0 + 300_000 - left * 1000,
  };
}

/** One of every screen, with realistic contents. */
export const SCREENS: Readonly<Record<string, Screen>> = {
  boot: { kind: 'boot', firmware: '0.1.0', deviceId: 'MYS01-0001' },
  idle: { kind: 'idle', payeeName: 'Mysuru HO', deviceId: 'MYS01-0001' },
  collect: collect(),
  'collect-long': collect(URI_LONG, { amount: 12500050, payeeName: 'Kolkata General Post Office Counter 12', tr: 'KOL12-1767312999', secondsLeft: 25 }),
  paid: { kind: 'paid', amount: paise(25000), utr: '412345678901', payer: 'ra****@okaxis', late: false },
  'paid-late': { kind: 'paid', amount: paise(25000), utr: '412345678901', payer: 'ra****@okaxis', late: true },
  mismatch: { kind: 'mismatch', asked: paise(25000), received: paise(20000), utr: '412345678902', payer: 'su****@oksbi' },
  failed: { kind: 'failed', amount: paise(25000), tr: 'MYS01-1767312000' },
  expired: { kind: 'expired', amount: paise(25000), tr: 'MYS01-1767312000' },
  cancelled: { kind: 'cancelled', amount: paise(25000), tr: 'MYS01-1767312000' },
  info: {
    kind: 'info',
    deviceId: 'MYS01-0001',
    firmware: '0.1.0',
    ip: '10.42.17.203',
    broker: 'mqtts://mqtt.dakbox.indiapost.example:8883',
    identity: 'dakbox:device?id=MYS01-0001&fw=0.1.0',
  },
  selftest: { kind: 'selftest' },
  'fault-storage': { kind: 'fault', fault: 'storage', deviceId: 'MYS01-0001' },
  'fault-clock': { kind: 'fault', fault: 'clock', deviceId: 'MYS01-0001' },
  'fault-ledger': { kind: 'fault', fault: 'ledger', deviceId: 'MYS01-0001' },
};

export function frame(screen: Screen, language: Language = 'en', link: LinkState = 'online'): Frame {
  return { screen, language, link };
}

export interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function decodePng(png: Buffer): Rgba {
  const image = PNG.sync.read(png);
  return { width: image.width, height: image.height, data: image.data };
}

export function encodePng(image: Rgba): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength).copy(png.data);
  return PNG.sync.write(png);
}

/** The canvas's pixels as straight RGBA. */
export function pixelsOf(canvas: Canvas): Rgba {
  const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  return { width: canvas.width, height: canvas.height, data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength) };
}
