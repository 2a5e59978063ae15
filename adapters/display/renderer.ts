import { createCanvas, type Canvas, type CanvasRenderingContext2D } from 'canvas';
import { countdownFace, type CountdownFace } from './countdown.js';
import { rect, union, type Rect } from './geometry.js';
import type { Composition, CountdownBlock } from './layout.js';
import { CountdownGlyphs, paintComposition, paintCountdown, TextSprites, type Painter } from './paint.js';
import { QrCodes } from './qr.js';
import { compose } from './screens.js';
import type { Frame, PanelSize } from '../../core/ports/display.js';
import { CanvasTextMeasure } from './text.js';

export interface FrameRendererOptions {
  /** Share encoded QR codes between renderers (e.g. PNG snapshots and the panel). */
  readonly qr?: QrCodes;
}

/**
 * Keeps the panel's picture between frames and works out what changed. A
 * frame whose screen, language and link state are unchanged repaints only
 * the countdown cells whose digit changed; anything else repaints the whole
 * panel. The returned rectangles are exactly the pixels that may differ
 * from the previous frame, which is all an output needs to copy.
 */
export class FrameRenderer {
  readonly canvas: Canvas;
  readonly ctx: CanvasRenderingContext2D;
  private readonly measure: CanvasTextMeasure;
  private readonly painter: Painter;
  private layoutKey: string | undefined;
  private current: Composition | undefined;
  private countdown: CountdownBlock | undefined;
  private face: CountdownFace | undefined;

  constructor(
    readonly size: PanelSize,
    options: FrameRendererOptions = {},
  ) {
    if (!Number.isInteger(size.width) || !Number.isInteger(size.height) || size.width < 1 || size.height < 1) {
      throw new TypeError(`panel size must be whole positive pixels, got ${size.width}x${size.height}`);
    }
    this.canvas = createCanvas(size.width, size.height);
    this.ctx = this.canvas.getContext('2d');
    this.measure = new CanvasTextMeasure(createCanvas(1, 1).getContext('2d'));
    this.painter = { qr: options.qr ?? new QrCodes(), glyphs: new CountdownGlyphs(), sprites: new TextSprites() };
  }

  /** The layout on the panel now, for tests and the simulator's overlays. */
  get composition(): Composition | undefined {
    return this.current;
  }

  /** Draws `frame`; returns the damaged rectangles (empty when nothing changed). */
  render(frame: Frame): Rect[] {
    const key = layoutKeyOf(frame);
    const face = frame.screen.kind === 'collect' ? countdownFace(frame.screen.expiresAt, frame.screen.now) : undefined;
    if (key === this.layoutKey && this.current) {
      if (!face || !this.countdown) return [];
      const previous = this.face;
      if (previous && previous.text === face.text && previous.urgent === face.urgent) return [];
      const cells = paintCountdown(this.ctx, this.countdown, face, previous, this.painter.glyphs);
      this.face = face;
      // Changed cells are neighbours (the right-most digits), so one
      // rectangle covers them without taking in anything else.
      return cells.length === 0 ? [] : [cells.reduce(union)];
    }
    const composition = compose(frame, this.size, this.measure);
    paintComposition(this.ctx, composition, face, this.painter);
    this.current = composition;
    this.layoutKey = key;
    this.face = face;
    this.countdown = composition.blocks.find((b): b is CountdownBlock => b.kind === 'countdown');
    return [rect(0, 0, this.size.width, this.size.height)];
  }

  /** Forgets the previous frame so the next one repaints everything (e.g. after another process drew on the panel). */
  invalidate(): void {
    this.layoutKey = undefined;
    this.current = undefined;
    this.countdown = undefined;
    this.face = undefined;
  }
}

/**
 * Everything a layout depends on. For the sale screen that is all but
 * `now`, which only moves the countdown.
 */
function layoutKeyOf(frame: Frame): string {
  const s = frame.screen;
  if (s.kind === 'collect') {
    return JSON.stringify([frame.language, frame.link, s.kind, s.uri, s.amount, s.payeeName, s.tr, s.expiresAt]);
  }
  return JSON.stringify([frame.language, frame.link, s]);
}
