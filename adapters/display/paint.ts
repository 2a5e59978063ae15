import { createCanvas, type Canvas, type CanvasRenderingContext2D } from 'canvas';
import { countdownFace, type CountdownFace } from './countdown.js';
import { contains, intersects, type Rect } from './geometry.js';
import type { Block, Composition, CountdownBlock, IconBlock, PatternBlock, TextBlock } from './layout.js';
import { LruCache, releaseCanvas } from './lru.js';
import { QrCodes } from './qr.js';
import { compose } from './screens.js';
import type { Frame, PanelSize } from '../../core/ports/display.js';
import { CanvasTextMeasure } from './text.js';
import { COLOURS } from './theme.js';

/**
 * Paints a laid-out screen. Kept apart from any output so the framebuffer,
 * the PNG files and the simulator all show the same pixels.
 */
export interface Painter {
  readonly qr: QrCodes;
  /** Pre-rendered countdown glyphs; painting without them draws the text directly. */
  readonly glyphs?: CountdownGlyphs;
  /** Pre-rendered text blocks; painting without them lays the text out each time. */
  readonly sprites?: TextSprites;
}

export function paintComposition(ctx: CanvasRenderingContext2D, composition: Composition, face: CountdownFace | undefined, painter: Painter): void {
  ctx.fillStyle = composition.paper;
  ctx.fillRect(0, 0, composition.size.width, composition.size.height);
  for (const surface of composition.surfaces) fillRect(ctx, surface.rect, surface.colour);
  for (const block of composition.blocks) paintBlock(ctx, block, face, painter, composition);
}

export function paintBlock(ctx: CanvasRenderingContext2D, block: Block, face: CountdownFace | undefined, painter: Painter, composition: Composition): void {
  switch (block.kind) {
    case 'text': {
      const background = painter.sprites ? backgroundUnder(composition, block.rect) : undefined;
      if (background !== undefined && painter.sprites) {
        ctx.drawImage(painter.sprites.sprite(block, background), block.rect.x, block.rect.y);
      } else {
        paintText(ctx, block);
      }
      return;
    }
    case 'qr':
      painter.qr.paint(ctx, block.plan, block.rect.x, block.rect.y);
      return;
    case 'countdown':
      if (face) paintCountdown(ctx, block, face, undefined, painter.glyphs);
      return;
    case 'icon':
      paintIcon(ctx, block);
      return;
    case 'pattern':
      paintPattern(ctx, block);
      return;
  }
}

function fillRect(ctx: CanvasRenderingContext2D, r: Rect, colour: string): void {
  ctx.fillStyle = colour;
  ctx.fillRect(r.x, r.y, r.width, r.height);
}

function paintText(ctx: CanvasRenderingContext2D, block: TextBlock, dx = 0, dy = 0): void {
  ctx.font = block.font;
  ctx.fillStyle = block.colour;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  for (const line of block.lines) ctx.fillText(line.text, line.x + dx, line.y + dy);
}

/**
 * The one colour under a block, or undefined when the block straddles
 * surfaces (then it cannot be pre-rendered on an opaque background).
 */
function backgroundUnder(composition: Composition, r: Rect): string | undefined {
  let colour: string = composition.paper;
  for (const surface of composition.surfaces) {
    if (contains(surface.rect, r)) colour = surface.colour;
    else if (intersects(surface.rect, r)) return undefined;
  }
  return colour;
}

/**
 * Text blocks drawn once onto their own background and then copied. Pango
 * shaping costs far more than a copy, and the same payee name, hints and
 * labels come back on every sale. Because the sprite is the block's whole
 * rectangle on the exact colour beneath it, copying it gives the same pixels
 * as drawing the text in place.
 */
export class TextSprites {
  private readonly cache: LruCache<string, Canvas>;

  constructor(capacity = 48) {
    this.cache = new LruCache<string, Canvas>(capacity, releaseCanvas);
  }

  sprite(block: TextBlock, background: string): Canvas {
    const { x, y, width, height } = block.rect;
    const key = `${width}x${height}|${block.font}|${block.colour}|${background}|${block.lines.map((l) => `${l.x - x},${l.y - y},${l.text}`).join('\n')}`;
    return this.cache.getOrCreate(key, () => {
      const canvas = createCanvas(Math.max(1, width), Math.max(1, height));
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = background;
      ctx.fillRect(0, 0, width, height);
      paintText(ctx, block, -x, -y);
      return canvas;
    });
  }
}

/**
 * Paints the countdown cells whose character differs from `previous` (all
 * of them when there is no previous face) and returns the cells painted.
 */
export function paintCountdown(
  ctx: CanvasRenderingContext2D,
  block: CountdownBlock,
  face: CountdownFace,
  previous: CountdownFace | undefined,
  glyphs: CountdownGlyphs | undefined,
): Rect[] {
  const painted: Rect[] = [];
  const colourChanged = previous === undefined || previous.urgent !== face.urgent;
  for (let i = 0; i < block.cells.length; i++) {
    const ch = face.text[i] ?? ' ';
    if (!colourChanged && previous.text[i] === ch) continue;
    const cell = block.cells[i];
    if (!cell) continue;
    const sheet = glyphs?.sheetFor(block);
    if (sheet) {
      const source = sheet.source(ch, face.urgent);
      ctx.drawImage(sheet.canvas, source.x, source.y, source.width, source.height, cell.x, cell.y, cell.width, cell.height);
    } else {
      fillRect(ctx, cell, block.paper);
      ctx.font = block.font;
      ctx.fillStyle = face.urgent ? block.urgentColour : block.colour;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'alphabetic';
      ctx.fillText(ch, cell.x + (block.glyphX[ch] ?? 0), cell.y + block.baseline);
    }
    painted.push(cell);
  }
  return painted;
}

const SHEET_CHARS = '0123456789:';

/**
 * The eleven countdown characters in both colours, drawn once per font
 * size, so a tick is a couple of image copies instead of a text layout.
 */
export class CountdownGlyphs {
  private sheet: GlyphSheet | undefined;

  sheetFor(block: CountdownBlock): GlyphSheet {
    const key = `${block.font}|${block.colour}|${block.urgentColour}|${block.paper}|${block.cells.map((c) => `${c.width}x${c.height}`).join(',')}|${block.baseline}`;
    if (this.sheet?.key !== key) {
      if (this.sheet) releaseCanvas(this.sheet.canvas);
      this.sheet = new GlyphSheet(key, block);
    }
    return this.sheet;
  }
}

export class GlyphSheet {
  readonly canvas: Canvas;
  private readonly cellWidth: number;
  private readonly cellHeight: number;
  private readonly widths: Record<string, number> = {};

  constructor(
    readonly key: string,
    block: CountdownBlock,
  ) {
    this.cellWidth = Math.max(...block.cells.map((c) => c.width));
    this.cellHeight = Math.max(...block.cells.map((c) => c.height));
    const colonCell = block.cells[2];
    const digitCell = block.cells[0];
    this.canvas = createCanvas(this.cellWidth * SHEET_CHARS.length, this.cellHeight * 2);
    const ctx = this.canvas.getContext('2d');
    ctx.fillStyle = block.paper;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.font = block.font;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    for (let row = 0; row < 2; row++) {
      ctx.fillStyle = row === 0 ? block.colour : block.urgentColour;
      for (let i = 0; i < SHEET_CHARS.length; i++) {
        const ch = SHEET_CHARS[i] ?? '0';
        this.widths[ch] = (ch === ':' ? colonCell?.width : digitCell?.width) ?? this.cellWidth;
        ctx.fillText(ch, i * this.cellWidth + (block.glyphX[ch] ?? 0), row * this.cellHeight + block.baseline);
      }
    }
  }

  source(ch: string, urgent: boolean): Rect {
    const index = Math.max(0, SHEET_CHARS.indexOf(ch));
    return { x: index * this.cellWidth, y: urgent ? this.cellHeight : 0, width: this.widths[ch] ?? this.cellWidth, height: this.cellHeight };
  }
}

function paintIcon(ctx: CanvasRenderingContext2D, block: IconBlock): void {
  const { x, y, width } = block.square;
  // One pixel in from the square so anti-aliased edges stay inside it.
  const r = width / 2 - 1;
  const cx = x + width / 2;
  const cy = y + width / 2;
  const stroke = Math.max(2, width / 9);
  ctx.save();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  switch (block.icon) {
    case 'tick':
    case 'cross': {
      ctx.fillStyle = block.colour;
      ctx.beginPath();
      ctx.arc(cx, cy, r, 0, Math.PI * 2);
      ctx.fill();
      ctx.strokeStyle = COLOURS.paper;
      ctx.lineWidth = stroke;
      ctx.beginPath();
      if (block.icon === 'tick') {
        ctx.moveTo(cx - r * 0.45, cy + r * 0.02);
        ctx.lineTo(cx - r * 0.12, cy + r * 0.35);
        ctx.lineTo(cx + r * 0.48, cy - r * 0.3);
      } else {
        const d = r * 0.38;
        ctx.moveTo(cx - d, cy - d);
        ctx.lineTo(cx + d, cy + d);
        ctx.moveTo(cx + d, cy - d);
        ctx.lineTo(cx - d, cy + d);
      }
      ctx.stroke();
      break;
    }
    case 'warning': {
      ctx.fillStyle = block.colour;
      ctx.beginPath();
      ctx.moveTo(cx, y + 1 + stroke / 2);
      ctx.lineTo(x + width - 1 - stroke / 2, y + width - 1 - stroke / 2);
      ctx.lineTo(x + 1 + stroke / 2, y + width - 1 - stroke / 2);
      ctx.closePath();
      ctx.strokeStyle = block.colour;
      ctx.lineWidth = stroke;
      ctx.fill();
      ctx.stroke();
      ctx.strokeStyle = COLOURS.paper;
      ctx.beginPath();
      ctx.moveTo(cx, y + width * 0.38);
      ctx.lineTo(cx, y + width * 0.66);
      ctx.stroke();
      ctx.fillStyle = COLOURS.paper;
      ctx.beginPath();
      ctx.arc(cx, y + width * 0.8, stroke * 0.6, 0, Math.PI * 2);
      ctx.fill();
      break;
    }
    case 'clock':
    case 'cancelled': {
      ctx.strokeStyle = block.colour;
      ctx.lineWidth = stroke;
      ctx.beginPath();
      ctx.arc(cx, cy, r - stroke / 2, 0, Math.PI * 2);
      ctx.stroke();
      ctx.beginPath();
      if (block.icon === 'clock') {
        ctx.moveTo(cx, cy - r * 0.55);
        ctx.lineTo(cx, cy);
        ctx.lineTo(cx + r * 0.4, cy + r * 0.2);
      } else {
        const d = (r - stroke) * Math.SQRT1_2;
        ctx.moveTo(cx - d, cy + d);
        ctx.lineTo(cx + d, cy - d);
      }
      ctx.stroke();
      break;
    }
  }
  ctx.restore();
}

const BAR_COLOURS = ['#ffffff', '#ffff00', '#00ffff', '#00ff00', '#ff00ff', '#ff0000', '#0000ff', '#000000'] as const;

function paintPattern(ctx: CanvasRenderingContext2D, block: PatternBlock): void {
  const r = block.rect;
  switch (block.pattern) {
    case 'colour-bars':
      spread(r.x, r.width, BAR_COLOURS.length, (i, x, w) => fillRect(ctx, { x, y: r.y, width: w, height: r.height }, BAR_COLOURS[i] ?? '#000000'));
      return;
    case 'gamma-steps': {
      // Grey steps on top, then red, green and blue steps: a missing low bit
      // or a wrong gamma shows as two neighbouring steps looking the same.
      const greyHeight = Math.floor(r.height / 2);
      const primaryHeight = Math.floor((r.height - greyHeight) / 3);
      const rows: [number, number, (level: number) => string][] = [
        [r.y, greyHeight, (v) => rgb(v, v, v)],
        [r.y + greyHeight, primaryHeight, (v) => rgb(v, 0, 0)],
        [r.y + greyHeight + primaryHeight, primaryHeight, (v) => rgb(0, v, 0)],
        [r.y + greyHeight + 2 * primaryHeight, r.height - greyHeight - 2 * primaryHeight, (v) => rgb(0, 0, v)],
      ];
      for (const [y, height, colour] of rows) {
        spread(r.x, r.width, 16, (i, x, w) => fillRect(ctx, { x, y, width: w, height }, colour(Math.round((i * 255) / 15))));
      }
      return;
    }
    case 'grid': {
      fillRect(ctx, r, '#000000');
      const pitch = Math.max(8, Math.round(Math.min(r.width, r.height) / 12 / 2) * 2);
      ctx.fillStyle = '#808080';
      for (let x = r.x; x < r.x + r.width; x += pitch) ctx.fillRect(x, r.y, 1, r.height);
      for (let y = r.y; y < r.y + r.height; y += pitch) ctx.fillRect(r.x, y, r.width, 1);
      // A white frame on the outermost pixels: if any side is missing, the
      // panel crops or the geometry in sysfs is wrong.
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(r.x, r.y, r.width, 1);
      ctx.fillRect(r.x, r.y + r.height - 1, r.width, 1);
      ctx.fillRect(r.x, r.y, 1, r.height);
      ctx.fillRect(r.x + r.width - 1, r.y, 1, r.height);
      return;
    }
  }
}

/** Splits `width` pixels into `n` whole-pixel columns that cover it exactly. */
function spread(x0: number, width: number, n: number, each: (index: number, x: number, width: number) => void): void {
  for (let i = 0; i < n; i++) {
    const left = x0 + Math.round((i * width) / n);
    const right = x0 + Math.round(((i + 1) * width) / n);
    each(i, left, right - left);
  }
}

function rgb(r: number, g: number, b: number): string {
  return `rgb(${r},${g},${b})`;
}

const sharedQr = new QrCodes();

/**
 * Draws a whole frame onto any 2D context of the panel's size: the plain
 * `(ctx, state) => void` form for callers that keep no state between frames.
 */
export function drawFrame(ctx: CanvasRenderingContext2D, frame: Frame, size: PanelSize): void {
  const composition = compose(frame, size, new CanvasTextMeasure(ctx));
  const face = frame.screen.kind === 'collect' ? countdownFace(frame.screen.expiresAt, frame.screen.now) : undefined;
  paintComposition(ctx, composition, face, { qr: sharedQr });
}

