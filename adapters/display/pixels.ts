import { endianness } from 'node:os';
import type { Canvas, CanvasRenderingContext2D } from 'canvas';
import type { Rect } from './geometry.js';

/**
 * Framebuffer pixel layouts the device drives, as little-endian words:
 * `rgb565` is 16 bits RRRRRGGG GGGBBBBB; `xrgb8888` is 32 bits with the top
 * byte unused (written as 0xff) and blue in the lowest byte.
 */
export type PixelFormat = 'rgb565' | 'xrgb8888';

export function bytesPerPixel(format: PixelFormat): 2 | 4 {
  switch (format) {
    case 'rgb565':
      return 2;
    case 'xrgb8888':
      return 4;
  }
}

export function formatForBitsPerPixel(bits: number): PixelFormat {
  if (bits === 16) return 'rgb565';
  if (bits === 32) return 'xrgb8888';
  throw new RangeError(`framebuffer has ${bits} bits per pixel; dakbox drives 16 (RGB565) and 32 (XRGB8888)`);
}

/**
 * The conversions read and write whole pixels as 16/32-bit words, which
 * matches the framebuffer's byte order only on a little-endian CPU (every
 * Raspberry Pi-class board runs little-endian).
 */
export const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Turns canvas pixels into framebuffer pixels. Output rows are packed
 * (`width * bytesPerPixel`), in a buffer reused from call to call.
 */
export class PixelEncoder {
  readonly bytesPerPixel: 2 | 4;
  private scratch = new ArrayBuffer(0);

  constructor(readonly format: PixelFormat) {
    this.bytesPerPixel = bytesPerPixel(format);
  }

  /**
   * Encodes `area` of the canvas. The whole panel is read as cairo's own
   * memory (one copy, no per-pixel unpremultiply); a smaller area through
   * getImageData, which reads only that rectangle. The result is valid
   * until the next call.
   */
  encode(canvas: Canvas, ctx: CanvasRenderingContext2D, area: Rect): Uint8Array {
    const count = area.width * area.height;
    const bytes = count * this.bytesPerPixel;
    if (this.scratch.byteLength < bytes) this.scratch = new ArrayBuffer(bytes);
    const out = new Uint8Array(this.scratch, 0, bytes);
    if (area.x === 0 && area.y === 0 && area.width === canvas.width && area.height === canvas.height) {
      this.encodeNative(aligned32(canvas.toBuffer('raw')), out, count);
    } else {
      const image = ctx.getImageData(area.x, area.y, area.width, area.height);
      this.encodeRgba(new Uint32Array(image.data.buffer, image.data.byteOffset, count), out, count);
    }
    return out;
  }

  /** From cairo ARGB32 words (0xAARRGGBB; opaque, so premultiplying changed nothing). */
  encodeNative(source: Uint32Array, out: Uint8Array, count: number): void {
    if (this.format === 'xrgb8888') {
      new Uint32Array(out.buffer, out.byteOffset, count).set(source.subarray(0, count));
      return;
    }
    // Two pixels per 32-bit store, and a repeated pair (most of a screen is
    // runs of paper, QR modules or bands) reuses the last conversion.
    const pairs = new Uint32Array(out.buffer, out.byteOffset, count >>> 1);
    const end = count & ~1;
    let lastPixel = -1;
    let lastPair = 0;
    for (let i = 0, j = 0; i < end; i += 2, j++) {
      const p = source[i] as number;
      const q = source[i + 1] as number;
      if (p === q) {
        if (p !== lastPixel) {
          lastPixel = p;
          const v = ((p >>> 8) & 0xf800) | ((p >>> 5) & 0x07e0) | ((p >>> 3) & 0x001f);
          lastPair = v | (v << 16);
        }
        pairs[j] = lastPair;
      } else {
        pairs[j] =
          (((p >>> 8) & 0xf800) | ((p >>> 5) & 0x07e0) | ((p >>> 3) & 0x001f)) |
          ((((q >>> 8) & 0xf800) | ((q >>> 5) & 0x07e0) | ((q >>> 3) & 0x001f)) << 16);
      }
    }
    if (end < count) {
      const p = source[end] as number;
      new Uint16Array(out.buffer, out.byteOffset, count)[end] = ((p >>> 8) & 0xf800) | ((p >>> 5) & 0x07e0) | ((p >>> 3) & 0x001f);
    }
  }

  /** From ImageData RGBA bytes read as little-endian words (0xAABBGGRR). */
  encodeRgba(source: Uint32Array, out: Uint8Array, count: number): void {
    if (this.format === 'xrgb8888') {
      const target = new Uint32Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++) {
        const p = source[i] as number;
        target[i] = 0xff000000 | ((p & 0xff) << 16) | (p & 0xff00) | ((p >>> 16) & 0xff);
      }
      return;
    }
    const target = new Uint16Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) {
      const p = source[i] as number;
      target[i] = ((p << 8) & 0xf800) | ((p >>> 5) & 0x07e0) | ((p >>> 19) & 0x001f);
    }
  }
}

function aligned32(buffer: Buffer): Uint32Array {
  if (buffer.byteOffset % 4 === 0) return new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength >>> 2);
  return new Uint32Array(Uint8Array.prototype.slice.call(buffer).buffer);
}
