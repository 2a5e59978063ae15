import { rename, writeFile } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import type { Canvas } from 'canvas';
import { PANEL_SIZES } from '../adapters/display/panels.js';
import { QrCodes } from '../adapters/display/qr.js';
import { FrameRenderer } from '../adapters/display/renderer.js';
import { InputError } from '../core/errors.js';
import type { Display, Frame, PanelSize } from '../core/ports/display.js';

/** One picture on the simulated LCD: the PNG the real renderer drew and the frame it drew it from. */
export interface GlassFrame {
  png: Buffer;
  frame: Frame;
  size: PanelSize;
  /** 1, 2, 3... per display, in the order drawn. */
  number: number;
}

type GlassEvents = { frame: [GlassFrame] };

/** Checks a panel size against the panels devices ship with; "480x320" or {width,height}. */
export function panelSize(size: PanelSize | string): PanelSize {
  const name = typeof size === 'string' ? size : `${size.width}x${size.height}`;
  const known = PANEL_SIZES[name];
  if (!known) throw new InputError('size', `${JSON.stringify(name)} is not a panel devices ship with (one of ${Object.keys(PANEL_SIZES).join(', ')})`);
  return { ...known };
}

/**
 * The simulator's LCD: the device's own FrameRenderer draws every frame, as
 * on the glass; the result is kept in memory as PNG bytes, handed to
 * listeners, and (when a path is given) written to one file as PngDisplay
 * does. A frame that changes nothing draws nothing and is not sent.
 *
 * The panel can be swapped for another size while the device runs: the
 * last frame the firmware sent is drawn again by a renderer of the new size
 * (the firmware never reads the panel size; layout is the renderer's).
 */
export class LcdGlass extends EventEmitter<GlassEvents> implements Display {
  private renderer: FrameRenderer;
  private current: PanelSize;
  private queue: Promise<void> = Promise.resolve();
  private last: GlassFrame | undefined;
  private lastFrame: Frame | undefined;
  private drawn = 0;
  private closed = false;
  private readonly qr = new QrCodes();

  constructor(
    size: PanelSize,
    private readonly path?: string,
  ) {
    super();
    this.current = panelSize(size);
    this.renderer = new FrameRenderer(this.current, { qr: this.qr });
  }

  get size(): PanelSize {
    return this.current;
  }

  /** The latest picture, if anything has been drawn. */
  get latest(): GlassFrame | undefined {
    return this.last;
  }

  show(frame: Frame): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the simulated LCD is closed'));
    return this.enqueue(() => this.draw(frame, false));
  }

  /** Another panel: the last frame is drawn again at the new size. */
  resize(size: PanelSize | string): Promise<void> {
    const next = panelSize(size);
    return this.enqueue(async () => {
      this.current = next;
      this.renderer = new FrameRenderer(next, { qr: this.qr });
      if (this.lastFrame) await this.draw(this.lastFrame, true);
    });
  }

  /** Stops drawing at once, as a panel does when the power goes: frames queued are dropped. */
  powerOff(): void {
    this.closed = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async draw(frame: Frame, always: boolean): Promise<void> {
    if (this.closed) return;
    this.lastFrame = frame;
    const damage = this.renderer.render(frame);
    if (damage.length === 0 && !always) return;
    const png = await encodePng(this.renderer.canvas);
    if (this.closed) return;
    this.drawn++;
    this.last = { png, frame, size: { ...this.current }, number: this.drawn };
    if (this.path !== undefined) {
      // Replaced atomically so a viewer never reads half a PNG.
      const temporary = `${this.path}.${process.pid}.tmp`;
      await writeFile(temporary, png);
      await rename(temporary, this.path);
    }
    this.emit('frame', this.last);
  }
}

function encodePng(canvas: Canvas): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    canvas.toBuffer((err, buffer) => (err ? reject(err) : resolve(buffer)), 'image/png');
  });
}
