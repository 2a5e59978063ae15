import { createVerify } from 'node:crypto';
import { createCanvas } from 'canvas';
import jsQRModule from 'jsqr';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';
import { compose } from '../../adapters/display/screens.js';
import { CanvasTextMeasure } from '../../adapters/display/text.js';
import type { Frame, PanelSize } from '../../core/ports/display.js';

// jsqr's CommonJS default arrives as the module object under NodeNext.
const jsQR = jsQRModule.default;

/**
 * What a scenario reads off the simulated LCD. Each reading says where it
 * comes from:
 * - `decodeQr` reads the QR from the frame's pixels, as a phone camera does;
 * - `compareGolden` compares the pixels with a stored PNG;
 * - `laidOutText` is the text the renderer's layout (`compose`, the same
 *   layout the renderer paints from) placed on the glass for the frame and
 *   panel size, line by line, as fitted and ellipsised — not OCR of pixels.
 */

export function decodeQr(png: Buffer): string | undefined {
  const image = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.width, image.height)?.data;
}

const measure = new CanvasTextMeasure(createCanvas(1, 1).getContext('2d'));

export function laidOutText(frame: Frame, size: PanelSize): string[] {
  const composition = compose(frame, size, measure);
  return composition.blocks.flatMap((block) => (block.kind === 'text' ? block.lines.map((line) => line.text) : []));
}

/** Checks a mode-16 QR's `sign` (ECDSA P-256 over the URI before `&sign=`) with the payee's public key. */
export function qrSignatureChecks(uri: string, publicKeyPem: string): boolean {
  const at = uri.lastIndexOf('&sign=');
  if (at < 0) return false;
  const signature = Buffer.from(decodeURIComponent(uri.slice(at + '&sign='.length)), 'base64');
  return createVerify('sha256').update(uri.slice(0, at), 'utf8').verify(publicKeyPem, signature);
}

/** A field of a UPI URI, decoded. */
export function uriField(uri: string, name: string): string | undefined {
  const query = uri.slice(uri.indexOf('?') + 1);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) === name) return decodeURIComponent(pair.slice(eq + 1));
  }
  return undefined;
}

export interface GoldenComparison {
  /** Pixels that differ beyond pixelmatch's colour threshold (anti-aliasing ignored). */
  differing: number;
  total: number;
  sameSize: boolean;
}

export function compareGolden(png: Buffer, golden: Buffer): GoldenComparison {
  const a = PNG.sync.read(png);
  const b = PNG.sync.read(golden);
  const total = a.width * a.height;
  if (a.width !== b.width || a.height !== b.height) return { differing: total, total, sameSize: false };
  return { differing: pixelmatch(a.data, b.data, null, a.width, a.height, { threshold: 0.1 }), total, sameSize: true };
}
