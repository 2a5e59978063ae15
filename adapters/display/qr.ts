import { createCanvas, type Canvas, type CanvasRenderingContext2D } from 'canvas';
import { createRequire } from 'node:module';
import type { create as createQrCode } from 'qrcode';
import { LruCache, releaseCanvas } from './lru.js';

// Only qrcode's encoder: the package's entry point also loads its PNG, SVG
// and terminal renderers and pngjs (35 more modules at every start), none of
// which a panel uses.
const QRCode = createRequire(import.meta.url)('qrcode/lib/core/qrcode.js') as { create: typeof createQrCode };

/**
 * Error correction levels the device uses. L is never used: an LCD behind a
 * counter window has glare, moiré and fingerprints, and the customer's phone
 * is held at an angle, so at least M (15 % recovery) is needed.
 */
export type QrLevel = 'M' | 'Q' | 'H';
const LEVELS_LOW_TO_HIGH: readonly QrLevel[] = ['M', 'Q', 'H'];

/** ISO/IEC 18004 asks for at least four light modules around the symbol. */
export const QUIET_MODULES = 4;

/** The module matrix of one QR symbol: `dark[row * size + col]` is 1 for a dark module. */
export interface QrSymbol {
  readonly text: string;
  readonly level: QrLevel;
  readonly version: number;
  readonly size: number;
  readonly dark: Uint8Array;
}

/** How a QR symbol sits on the panel. */
export interface QrPlan {
  readonly text: string;
  readonly level: QrLevel;
  readonly version: number;
  /** Modules per side, without the quiet zone. */
  readonly modules: number;
  /** Panel pixels per module: always whole, so every module is a crisp square. */
  readonly modulePx: number;
  /** Side of the symbol plus its quiet zone, in pixels. */
  readonly boxPx: number;
}

/**
 * Bytes a symbol holds in byte mode, by level, for versions 1 to 40
 * (ISO/IEC 18004, table 7). Knowing each level's symbol size lets the layout
 * choose a level without encoding the URI three times; a test checks every
 * entry against the encoder.
 */
export const BYTE_CAPACITY: Readonly<Record<QrLevel, readonly number[]>> = {
  M: [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666, 711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911, 1989, 2099, 2213, 2331],
  Q: [11, 20, 32, 46, 60, 74, 86, 108, 130, 151, 177, 203, 241, 258, 292, 322, 364, 394, 442, 482, 509, 565, 611, 661, 715, 751, 805, 868, 908, 982, 1030, 1112, 1168, 1228, 1283, 1351, 1423, 1499, 1579, 1663],
  H: [7, 14, 24, 34, 44, 58, 64, 84, 98, 119, 137, 155, 177, 194, 220, 250, 280, 310, 338, 382, 403, 439, 461, 511, 535, 593, 625, 658, 698, 742, 790, 842, 898, 958, 983, 1051, 1093, 1139, 1219, 1273],
};

const versionCache = new LruCache<string, number>(256);

/**
 * The smallest QR version holding `text` in byte mode at `level`. Byte mode
 * keeps the URI one segment, exactly as the ledger recorded it, and encodes
 * twice as fast as the mixed-segment optimiser.
 */
export function qrVersionFor(text: string, level: QrLevel): number {
  const bytes = Buffer.byteLength(text, 'utf8');
  const key = `${level}${bytes}`;
  return versionCache.getOrCreate(key, () => {
    const version = BYTE_CAPACITY[level].findIndex((capacity) => capacity >= bytes) + 1;
    if (version > 0) return version;
    throw new RangeError(`text of ${bytes} bytes does not fit in any QR version at level ${level}`);
  });
}

export function modulesForVersion(version: number): number {
  return 17 + 4 * version;
}

/**
 * The largest whole-pixel module size whose symbol and quiet zone fit in
 * `maxBoxPx`; then the highest error correction level that still fits at
 * that same module size and within `upgradeBoxPx` (room the rest of the
 * screen does not need). A bigger module scans from further away, so size
 * wins over correction; spare room buys correction for free.
 * Returns undefined when not even one pixel per module fits.
 */
export function planQr(text: string, maxBoxPx: number, upgradeBoxPx = maxBoxPx): QrPlan | undefined {
  const baseVersion = qrVersionFor(text, 'M');
  const baseModules = modulesForVersion(baseVersion);
  const modulePx = Math.floor(maxBoxPx / (baseModules + 2 * QUIET_MODULES));
  if (modulePx < 1) return undefined;
  let plan: QrPlan = { text, level: 'M', version: baseVersion, modules: baseModules, modulePx, boxPx: (baseModules + 2 * QUIET_MODULES) * modulePx };
  for (const level of LEVELS_LOW_TO_HIGH.slice(1)) {
    const version = qrVersionFor(text, level);
    const modules = modulesForVersion(version);
    const boxPx = (modules + 2 * QUIET_MODULES) * modulePx;
    if (boxPx > Math.min(maxBoxPx, upgradeBoxPx)) break;
    plan = { text, level, version, modules, modulePx, boxPx };
  }
  return plan;
}

/**
 * Encodes QR symbols and keeps each as a one-pixel-per-module image. A
 * sale's URI is drawn many times (every full repaint, banner and language
 * changes), so encoding happens once per URI, in bounded caches.
 */
export class QrCodes {
  private readonly symbols = new LruCache<string, QrSymbol>(16);
  private readonly images = new LruCache<string, Canvas>(16, releaseCanvas);

  symbol(text: string, level: QrLevel, version = qrVersionFor(text, level)): QrSymbol {
    return this.symbols.getOrCreate(`${level}${version}\n${text}`, () => encodeQr(text, level, version));
  }

  /** The symbol at one pixel per module, dark on white, without the quiet zone. */
  moduleImage(plan: QrPlan): Canvas {
    return this.images.getOrCreate(`${plan.level}${plan.version}\n${plan.text}`, () => renderModules(this.symbol(plan.text, plan.level, plan.version)));
  }

  /**
   * Paints the symbol and its quiet zone with its top-left corner at (x, y).
   * Whole-pixel nearest-neighbour scaling of a one-pixel module gives exact
   * squares with no anti-aliased edges, at a fraction of the cost of
   * writing every panel pixel from JavaScript.
   */
  paint(ctx: CanvasRenderingContext2D, plan: QrPlan, x: number, y: number): void {
    const modules = this.moduleImage(plan);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(x, y, plan.boxPx, plan.boxPx);
    const smoothing = ctx.imageSmoothingEnabled;
    ctx.imageSmoothingEnabled = false;
    const quiet = QUIET_MODULES * plan.modulePx;
    ctx.drawImage(modules, 0, 0, modules.width, modules.height, x + quiet, y + quiet, plan.modules * plan.modulePx, plan.modules * plan.modulePx);
    ctx.imageSmoothingEnabled = smoothing;
  }
}

export function encodeQr(text: string, level: QrLevel, version = qrVersionFor(text, level)): QrSymbol {
  const code = QRCode.create([{ data: new TextEncoder().encode(text), mode: 'byte' }], { errorCorrectionLevel: level, version });
  return { text, level, version: code.version, size: code.modules.size, dark: code.modules.data };
}

/** ImageData is RGBA bytes; these read those bytes as one word in the CPU's own byte order. */
const DARK_PIXEL = new Uint32Array(new Uint8Array([0, 0, 0, 255]).buffer)[0] ?? 0;
const LIGHT_PIXEL = 0xffffffff;

function renderModules(symbol: QrSymbol): Canvas {
  const n = symbol.size;
  const canvas = createCanvas(n, n);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(n, n);
  const pixels = new Uint32Array(image.data.buffer, image.data.byteOffset, n * n);
  for (let i = 0; i < n * n; i++) pixels[i] = symbol.dark[i] === 1 ? DARK_PIXEL : LIGHT_PIXEL;
  ctx.putImageData(image, 0, 0);
  return canvas;
}
