import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Canvas } from 'canvas';
import { QrCodes } from './qr.js';
import { FrameRenderer } from './renderer.js';
import type { Display, Frame, PanelSize } from '../../core/ports/display.js';

export interface PngDisplayOptions {
  readonly size: PanelSize;
  /** Keep the latest frame in this one file, replaced atomically so a viewer never reads half a PNG. */
  readonly path?: string;
  /** Or write every frame as frame-000001.png, frame-000002.png, ... in this folder. */
  readonly folder?: string;
  /** Share encoded QR codes with other renderers. */
  readonly qr?: QrCodes;
}

/**
 * The LCD as PNG files: for tests, support tickets and the field engineer's
 * laptop. A frame that changes nothing writes nothing.
 */
export class PngDisplay implements Display {
  readonly size: PanelSize;
  private readonly renderer: FrameRenderer;
  private queue: Promise<void> = Promise.resolve();
  private written = 0;
  private closed = false;
  private folderReady = false;

  constructor(private readonly options: PngDisplayOptions) {
    if ((options.path === undefined) === (options.folder === undefined)) {
      throw new TypeError('PngDisplay needs exactly one of `path` (one file, replaced each frame) or `folder` (one file per frame)');
    }
    this.size = { width: options.size.width, height: options.size.height };
    this.renderer = new FrameRenderer(this.size, options.qr ? { qr: options.qr } : {});
  }

  /** How many PNG files have been written. */
  get framesWritten(): number {
    return this.written;
  }

  show(frame: Frame): Promise<void> {
    if (this.closed) return Promise.reject(new Error('PNG display is closed'));
    // Frames are drawn and written one at a time, in order.
    const next = this.queue.then(() => this.write(frame));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(frame: Frame): Promise<void> {
    const damage = this.renderer.render(frame);
    if (damage.length === 0) return;
    const png = encodePng(this.renderer.canvas);
    if (this.options.folder !== undefined) {
      if (!this.folderReady) {
        await mkdir(this.options.folder, { recursive: true });
        this.folderReady = true;
      }
      await writeFile(join(this.options.folder, `frame-${String(this.written + 1).padStart(6, '0')}.png`), png);
    } else if (this.options.path !== undefined) {
      const temporary = `${this.options.path}.${process.pid}.tmp`;
      await writeFile(temporary, png);
      await rename(temporary, this.options.path);
    }
    this.written++;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }
}

/**
 * The fastest PNG node-canvas writes: no row filter and zlib's lowest level.
 * Its default tries every filter on every row at level 6, about six times
 * the work for a sixth smaller file (17 against 21 KB for the sale screen),
 * and a screen replaced on every change is not worth it.
 */
const QUICK_PNG = { compressionLevel: 1, filters: Canvas.PNG_FILTER_NONE } as const;

/**
 * Encodes on this thread, a couple of milliseconds a frame at these
 * settings. node-canvas's asynchronous toBuffer keeps about half a kilobyte
 * (and an empty object on the JavaScript heap) for every call, forever:
 * two frames a sale made the device grow without end.
 */
export function encodePng(canvas: Canvas): Buffer {
  return canvas.toBuffer('image/png', QUICK_PNG);
}

const snapshotQr = new QrCodes();

/**
 * One frame as PNG bytes, drawn exactly as the panel would show it. For
 * commands that print a QR or a screen to a file.
 */
export function renderFramePng(frame: Frame, size: PanelSize): Buffer {
  const renderer = new FrameRenderer(size, { qr: snapshotQr });
  renderer.render(frame);
  return renderer.canvas.toBuffer('image/png');
}
