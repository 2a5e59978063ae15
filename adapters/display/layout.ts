import type { Language } from '../../core/language.js';
import type { PanelSize } from '../../core/ports/display.js';
import { rect, type Rect } from './geometry.js';
import type { QrPlan } from './qr.js';
import { fitText, INK_GUARD, type FittedText, type TextMeasure, type TextSpec } from './text.js';
import { cssFont, type Colour, type TextStyle } from './theme.js';

export type Align = 'left' | 'centre' | 'right';
export type IconKind = 'tick' | 'cross' | 'warning' | 'clock' | 'cancelled';
export type PatternKind = 'colour-bars' | 'gamma-steps' | 'grid';

/** A coloured area painted under the blocks (bands, banner background). */
export interface Surface {
  readonly rect: Rect;
  readonly colour: Colour;
}

interface BlockBase {
  /** What the block shows, for tests and for finding the countdown. */
  readonly role: string;
  /** Everything the block paints lies inside this rectangle. */
  readonly rect: Rect;
}

export interface PlacedLine {
  readonly text: string;
  /** Origin on the alphabetic baseline. */
  readonly x: number;
  readonly y: number;
}

export interface TextBlock extends BlockBase {
  readonly kind: 'text';
  readonly font: string;
  readonly colour: Colour;
  readonly lines: readonly PlacedLine[];
  readonly ellipsized: boolean;
}

export interface IconBlock extends BlockBase {
  readonly kind: 'icon';
  readonly icon: IconKind;
  readonly colour: Colour;
  /** The icon's own square inside `rect`. */
  readonly square: Rect;
}

export interface QrBlock extends BlockBase {
  readonly kind: 'qr';
  readonly plan: QrPlan;
}

/**
 * mm:ss in fixed cells: every digit has the same width so the text never
 * moves, and a tick repaints only the cells whose character changed.
 */
export interface CountdownBlock extends BlockBase {
  readonly kind: 'countdown';
  readonly font: string;
  readonly size: number;
  readonly colour: Colour;
  readonly urgentColour: Colour;
  readonly paper: Colour;
  /** Five cells: m, m, colon, s, s. */
  readonly cells: readonly Rect[];
  /** Baseline of the glyphs, from the top of a cell. */
  readonly baseline: number;
  /** Where each character's origin sits in its cell (by character). */
  readonly glyphX: Readonly<Record<string, number>>;
}

export interface PatternBlock extends BlockBase {
  readonly kind: 'pattern';
  readonly pattern: PatternKind;
}

export type Block = TextBlock | IconBlock | QrBlock | CountdownBlock | PatternBlock;

/**
 * A screen laid out for one panel: surfaces first, then blocks, which never
 * intersect each other and all lie inside the panel.
 */
export interface Composition {
  readonly size: PanelSize;
  readonly paper: Colour;
  readonly surfaces: readonly Surface[];
  readonly blocks: readonly Block[];
}

/** What a screen's layout needs besides the screen itself. */
export interface LayoutKit {
  readonly measure: TextMeasure;
  readonly language: Language;
  /** Size unit: 1 on a 240-pixel short side, scaling with the panel. */
  readonly unit: number;
  readonly panel: PanelSize;
}

export function unitFor(size: PanelSize): number {
  return Math.min(size.width, size.height) / 240;
}

/** One line (or wrapped paragraph) of a stack. */
export interface TextItem {
  readonly kind: 'text';
  readonly role: string;
  readonly text: string | readonly string[];
  readonly style: TextStyle;
  readonly size: number;
  readonly minSize: number;
  readonly colour: Colour;
  readonly maxLines?: number;
  readonly breakWords?: boolean;
  /** Show this optional text cut with an ellipsis rather than leave it out (a payee name). */
  readonly allowCut?: boolean;
  readonly align?: Align;
  /** 0 is never dropped; higher numbers go first when space runs out. */
  readonly priority: number;
}

export interface IconItem {
  readonly kind: 'icon';
  readonly role: string;
  readonly icon: IconKind;
  readonly size: number;
  readonly minSize: number;
  readonly colour: Colour;
  readonly priority: number;
}

export interface CountdownItem {
  readonly kind: 'countdown';
  readonly role: string;
  readonly size: number;
  readonly minSize: number;
  readonly colour: Colour;
  readonly urgentColour: Colour;
  readonly paper: Colour;
  readonly align?: Align;
  readonly priority: number;
}

export type StackItem = TextItem | IconItem | CountdownItem;

export interface StackOptions {
  /** Space between items at full size. */
  readonly gap: number;
  readonly valign?: 'top' | 'centre';
  readonly align?: Align;
}

interface Sized {
  readonly item: StackItem;
  readonly height: number;
  /** Text that only fitted with an ellipsis. */
  readonly cut?: boolean;
  readonly place: (line: Rect) => Block;
}

const SCALES = [1, 0.9, 0.8] as const;
const LAST_RESORT_SCALES = [0.7, 0.6, 0.5, 0.4] as const;

/**
 * Lays items out top to bottom in `area`. When they do not fit it first
 * shrinks everything a little, then drops the least important items, then
 * shrinks the rest towards their minimum sizes. Each item gets a band the
 * full width of the area, so bands never intersect.
 */
export function stack(kit: LayoutKit, area: Rect, items: readonly StackItem[], options: StackOptions): Block[] {
  let active = [...items];
  for (;;) {
    const scales = active.some((i) => i.priority > 0) ? SCALES : [...SCALES, ...LAST_RESORT_SCALES];
    let cut: StackItem[] = [];
    for (const scale of scales) {
      const sized = active.map((item) => sizeItem(kit, item, area.width, scale, options.align ?? 'centre'));
      const gap = Math.max(1, Math.round(options.gap * scale));
      const total = sized.reduce((sum, s) => sum + s.height, 0) + gap * Math.max(0, sized.length - 1);
      // An optional line that only fits cut short is better left out.
      cut = sized.filter((s) => s.cut && s.item.priority > 0 && !(s.item.kind === 'text' && s.item.allowCut === true)).map((s) => s.item);
      const last = scale === scales[scales.length - 1];
      if ((total <= area.height && cut.length === 0) || (active.length === 1 && last)) {
        return placeStack(area, sized, gap, total, options.valign ?? 'centre');
      }
    }
    const droppable = cut.length > 0 ? cut : active.filter((i) => i.priority > 0);
    const victims = droppable.length > 0 ? droppable : active.slice(1);
    const victim = victims.reduce((worst, i) => (i.priority >= worst.priority ? i : worst), victims[0] as StackItem);
    active = active.filter((i) => i !== victim);
  }
}

function placeStack(area: Rect, sized: readonly Sized[], gap: number, total: number, valign: 'top' | 'centre'): Block[] {
  let y = area.y + (valign === 'centre' ? Math.max(0, Math.floor((area.height - total) / 2)) : 0);
  const blocks: Block[] = [];
  for (const s of sized) {
    const height = Math.min(s.height, area.y + area.height - y);
    if (height <= 0) break;
    blocks.push(s.place(rect(area.x, y, area.width, height)));
    y += s.height + gap;
  }
  return blocks;
}

function sizeItem(kit: LayoutKit, item: StackItem, width: number, scale: number, defaultAlign: Align): Sized {
  const size = Math.max(item.minSize, Math.round(item.size * scale));
  switch (item.kind) {
    case 'text': {
      const fitted = fitText(kit.measure, textSpec(kit, item, size), width);
      const align = item.align ?? defaultAlign;
      return { item, height: fitted.height + 2 * INK_GUARD, cut: fitted.ellipsized, place: (line) => placeText(item, fitted, line, align) };
    }
    case 'icon': {
      const side = Math.min(size, width);
      return {
        item,
        height: side,
        place: (line) => ({ kind: 'icon', role: item.role, rect: line, icon: item.icon, colour: item.colour, square: rect(line.x + Math.floor((line.width - side) / 2), line.y, side, Math.min(side, line.height)) }),
      };
    }
    case 'countdown': {
      const cd = fitCountdown(kit, item, width, size);
      const align = item.align ?? defaultAlign;
      return { item, height: cd.height, place: (line) => placeCountdown(item, cd, line, align) };
    }
  }
}

export function placeText(item: Pick<TextItem, 'role' | 'colour'>, fitted: FittedText, line: Rect, align: Align): TextBlock {
  const top = line.y + INK_GUARD;
  const lines = fitted.lines.map((l, index) => {
    const ink = l.ink.left + l.ink.right;
    const left =
      align === 'left' ? line.x + INK_GUARD : align === 'right' ? line.x + line.width - INK_GUARD - ink : line.x + Math.floor((line.width - ink) / 2);
    return { text: l.text, x: left + l.ink.left, y: top + fitted.ascent + index * fitted.pitch };
  });
  return { kind: 'text', role: item.role, rect: line, font: fitted.font, colour: item.colour, lines, ellipsized: fitted.ellipsized };
}

interface CountdownMetrics {
  readonly font: string;
  readonly size: number;
  readonly digitWidth: number;
  readonly colonWidth: number;
  readonly width: number;
  readonly height: number;
  readonly baseline: number;
  readonly glyphX: Record<string, number>;
}

const COUNTDOWN_GLYPHS = '0123456789:';

function countdownMetrics(kit: LayoutKit, size: number): CountdownMetrics {
  const font = cssFont({ role: 'figures', bold: true }, size, kit.language);
  let digitWidth = 0;
  let ascent = 0;
  let descent = 0;
  const inks = new Map<string, ReturnType<TextMeasure['measure']>>();
  for (const ch of COUNTDOWN_GLYPHS) {
    const ink = kit.measure.measure(font, ch);
    inks.set(ch, ink);
    if (ch !== ':') digitWidth = Math.max(digitWidth, ink.left + ink.right, Math.ceil(ink.advance));
    ascent = Math.max(ascent, ink.ascent);
    descent = Math.max(descent, ink.descent);
  }
  const colon = inks.get(':');
  const colonWidth = colon ? Math.max(colon.left + colon.right, Math.ceil(colon.advance)) + 2 : digitWidth;
  digitWidth += 2;
  const glyphX: Record<string, number> = {};
  for (const [ch, ink] of inks) {
    const cell = ch === ':' ? colonWidth : digitWidth;
    glyphX[ch] = Math.floor((cell - (ink.left + ink.right)) / 2) + ink.left;
  }
  return { font, size, digitWidth, colonWidth, width: 4 * digitWidth + colonWidth, height: ascent + descent + 2 * INK_GUARD, baseline: INK_GUARD + ascent, glyphX };
}

function fitCountdown(kit: LayoutKit, item: CountdownItem, width: number, size: number): CountdownMetrics {
  let metrics = countdownMetrics(kit, size);
  for (let s = size - 1; metrics.width > width && s >= Math.min(item.minSize, size); s--) metrics = countdownMetrics(kit, s);
  return metrics;
}

function placeCountdown(item: CountdownItem, m: CountdownMetrics, line: Rect, align: Align): CountdownBlock {
  const left = align === 'left' ? line.x : align === 'right' ? line.x + line.width - m.width : line.x + Math.floor((line.width - m.width) / 2);
  const cells: Rect[] = [];
  let x = left;
  for (let i = 0; i < 5; i++) {
    const w = i === 2 ? m.colonWidth : m.digitWidth;
    cells.push(rect(x, line.y, w, Math.min(m.height, line.height)));
    x += w;
  }
  return {
    kind: 'countdown',
    role: item.role,
    rect: line,
    font: m.font,
    size: m.size,
    colour: item.colour,
    urgentColour: item.urgentColour,
    paper: item.paper,
    cells,
    baseline: m.baseline,
    glyphX: m.glyphX,
  };
}

/** Height a countdown needs at `size`, for layouts that must reserve room first. */
export function countdownHeight(kit: LayoutKit, size: number): number {
  return countdownMetrics(kit, size).height;
}

/** Height of text at its minimum size in `width`, for reserving room. */
export function textHeight(kit: LayoutKit, item: TextItem, width: number, size = item.minSize): number {
  return fitText(kit.measure, textSpec(kit, item, size), width).height + 2 * INK_GUARD;
}

function textSpec(kit: LayoutKit, item: TextItem, size: number): TextSpec {
  return { text: item.text, style: item.style, language: kit.language, size, minSize: item.minSize, maxLines: item.maxLines ?? 1, breakWords: item.breakWords ?? false };
}
