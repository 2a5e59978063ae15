import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rect } from './geometry.js';
import { bytesPerPixel, formatForBitsPerPixel, HOST_IS_LITTLE_ENDIAN, PixelEncoder, type PixelFormat } from './pixels.js';
import type { QrCodes } from './qr.js';
import { FrameRenderer } from './renderer.js';
import type { Display, Frame, PanelSize } from '../../core/ports/display.js';

/** What the kernel says about a framebuffer, from /sys/class/graphics/fbN/. */
export interface FramebufferGeometry {
  /** The visible panel. */
  readonly width: number;
  readonly height: number;
  /** The memory behind it, which may be taller (panning, double buffering). */
  readonly virtualWidth: number;
  readonly virtualHeight: number;
  readonly bitsPerPixel: number;
  /** Bytes from one row to the next; at least width * bytes per pixel. */
  readonly stride: number;
  readonly format: PixelFormat;
}

export interface FramebufferOptions {
  /** Which framebuffer: 1 or "fb1" for /dev/fb1. Default 0. */
  readonly fb?: number | string;
  /** The device node to write; default /dev/fbN. A regular file works too. */
  readonly devicePath?: string;
  /** The sysfs folder with virtual_size, bits_per_pixel and stride; default /sys/class/graphics/fbN. */
  readonly sysfsPath?: string;
  /** Draw for this size instead of the visible size sysfs reports (it must fit in the framebuffer). */
  readonly size?: PanelSize;
  /** Share encoded QR codes with other renderers. */
  readonly qr?: QrCodes;
}

function fbName(fb: number | string | undefined): string {
  if (fb === undefined) return 'fb0';
  if (typeof fb === 'number') {
    if (!Number.isInteger(fb) || fb < 0) throw new TypeError(`fb must be a framebuffer number like 0 or 1, got ${fb}`);
    return `fb${fb}`;
  }
  if (!/^fb\d+$/.test(fb)) throw new TypeError(`fb must look like "fb0", got ${JSON.stringify(fb)}`);
  return fb;
}

async function readSysfs(folder: string, name: string): Promise<string | undefined> {
  try {
    return (await readFile(join(folder, name), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseNumber(text: string | undefined, file: string, folder: string): number {
  const value = text === undefined ? NaN : Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${join(folder, file)}: expected a positive whole number, got ${text === undefined ? 'no such file' : JSON.stringify(text)}`);
  }
  return value;
}

/**
 * Reads the geometry the kernel reports. The visible size comes from the
 * first line of `modes` ("U:480x320p-0") when the driver provides it,
 * otherwise from `virtual_size`.
 */
export async function readFramebufferGeometry(sysfsPath: string): Promise<FramebufferGeometry> {
  const virtualSize = await readSysfs(sysfsPath, 'virtual_size');
  const match = virtualSize === undefined ? null : /^(\d+)\s*,\s*(\d+)$/.exec(virtualSize);
  if (!match) {
    throw new Error(`${join(sysfsPath, 'virtual_size')}: expected "width,height", got ${virtualSize === undefined ? 'no such file' : JSON.stringify(virtualSize)}`);
  }
  const virtualWidth = parseNumber(match[1], 'virtual_size', sysfsPath);
  const virtualHeight = parseNumber(match[2], 'virtual_size', sysfsPath);
  const bitsPerPixel = parseNumber(await readSysfs(sysfsPath, 'bits_per_pixel'), 'bits_per_pixel', sysfsPath);
  const format = formatForBitsPerPixel(bitsPerPixel);
  const stride = parseNumber(await readSysfs(sysfsPath, 'stride'), 'stride', sysfsPath);
  let width = virtualWidth;
  let height = virtualHeight;
  const mode = /^[A-Za-z]*:(\d+)x(\d+)/.exec((await readSysfs(sysfsPath, 'modes'))?.split('\n')[0] ?? '');
  if (mode) {
    width = Math.min(virtualWidth, Number(mode[1]));
    height = Math.min(virtualHeight, Number(mode[2]));
  }
  if (stride < width * bytesPerPixel(format)) {
    throw new Error(`${join(sysfsPath, 'stride')}: ${stride} bytes is less than a row of ${width} pixels at ${bitsPerPixel} bits`);
  }
  return { width, height, virtualWidth, virtualHeight, bitsPerPixel, stride, format };
}

/**
 * The LCD through the Linux framebuffer. Each frame writes only the
 * rectangles the renderer reports as damaged, row by row at
 * `y * stride + x * bytesPerPixel`, so a countdown tick touches a few
 * hundred bytes and never the QR.
 *
 * Writes are synchronous: a framebuffer write is a memory copy in the
 * kernel, cheaper than a trip through the thread pool.
 */
export class FramebufferDisplay implements Display {
  readonly size: PanelSize;
  private readonly renderer: FrameRenderer;
  private readonly encoder: PixelEncoder;
  private fd: number | undefined;
  private damage: Rect[] = [];

  private constructor(
    readonly devicePath: string,
    readonly geometry: FramebufferGeometry,
    fd: number,
    size: PanelSize,
    qr: QrCodes | undefined,
  ) {
    this.fd = fd;
    this.size = size;
    this.renderer = new FrameRenderer(size, qr ? { qr } : {});
    this.encoder = new PixelEncoder(geometry.format);
  }

  static async open(options: FramebufferOptions = {}): Promise<FramebufferDisplay> {
    if (!HOST_IS_LITTLE_ENDIAN) throw new Error('the framebuffer adapter writes little-endian pixels and needs a little-endian CPU');
    const name = fbName(options.fb);
    const devicePath = options.devicePath ?? `/dev/${name}`;
    const sysfsPath = options.sysfsPath ?? `/sys/class/graphics/${name}`;
    const geometry = await readFramebufferGeometry(sysfsPath);
    const size = options.size ?? { width: geometry.width, height: geometry.height };
    if (size.width > geometry.virtualWidth || size.height > geometry.virtualHeight || size.width * bytesPerPixel(geometry.format) > geometry.stride) {
      throw new RangeError(`panel ${size.width}x${size.height} does not fit framebuffer ${geometry.virtualWidth}x${geometry.virtualHeight} (stride ${geometry.stride})`);
    }
    const fd = openSync(devicePath, 'r+');
    try {
      const stat = fstatSync(fd);
      // A stand-in file must already be as big as the framebuffer, or a
      // mistyped path would silently grow a file instead of lighting the panel.
      if (stat.isFile() && stat.size < (size.height - 1) * geometry.stride + size.width * bytesPerPixel(geometry.format)) {
        throw new RangeError(`${devicePath} is ${stat.size} bytes, smaller than the framebuffer it stands for`);
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new FramebufferDisplay(devicePath, geometry, fd, size, options.qr);
  }

  /** Rectangles written by the last `show`, for diagnostics and tests. */
  get lastDamage(): readonly Rect[] {
    return this.damage;
  }

  show(frame: Frame): Promise<void> {
    try {
      this.draw(frame);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Draws and writes synchronously; `show` is this behind the Display contract. */
  draw(frame: Frame): void {
    const fd = this.fd;
    if (fd === undefined) throw new Error(`framebuffer ${this.devicePath} is closed`);
    this.damage = this.renderer.render(frame);
    try {
      for (const area of this.damage) this.write(fd, area);
    } catch (err) {
      // Part of the frame may be missing from the panel; start over next time.
      this.renderer.invalidate();
      throw err;
    }
  }

  private write(fd: number, area: Rect): void {
    const pixels = this.encoder.encode(this.renderer.canvas, this.renderer.ctx, area);
    const bpp = this.encoder.bytesPerPixel;
    const rowBytes = area.width * bpp;
    const { stride } = this.geometry;
    if (area.x === 0 && rowBytes === stride) {
      writeAll(fd, pixels, 0, pixels.length, area.y * stride);
      return;
    }
    for (let row = 0; row < area.height; row++) {
      writeAll(fd, pixels, row * rowBytes, rowBytes, (area.y + row) * stride + area.x * bpp);
    }
  }

  /** Repaints the whole panel on the next frame, e.g. after the console drew over it. */
  invalidate(): void {
    this.renderer.invalidate();
  }

  close(): Promise<void> {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    return Promise.resolve();
  }
}

function writeAll(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const written = writeSync(fd, buffer, offset + done, length - done, position + done);
    if (written <= 0) throw new Error(`framebuffer write stopped at byte ${position + done}`);
    done += written;
  }
}
