import type { CanvasRenderingContext2D } from 'canvas';
import type { Language } from '../../core/language.js';
import { LruCache } from './lru.js';
import { cssFont, type TextStyle } from './theme.js';

/**
 * Where a string's ink falls, relative to its origin on the alphabetic
 * baseline, in whole pixels as Pango reports them.
 */
export interface Ink {
  /** Advance width. */
  readonly advance: number;
  /** Ink to the left of the origin (positive = left of it). */
  readonly left: number;
  /** Ink to the right of the origin. */
  readonly right: number;
  readonly ascent: number;
  readonly descent: number;
}

export function inkWidth(ink: Ink): number {
  return ink.left + ink.right;
}

export interface TextMeasure {
  measure(font: string, text: string): Ink;
}

/**
 * Measures with a canvas context, remembering results: layout asks for the
 * same strings at the same sizes on every repaint, and each Pango layout
 * costs tens of microseconds.
 */
export class CanvasTextMeasure implements TextMeasure {
  private readonly cache = new LruCache<string, Ink>(512);

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  measure(font: string, text: string): Ink {
    return this.cache.getOrCreate(`${font}\n${text}`, () => {
      this.ctx.font = font;
      const m = this.ctx.measureText(text);
      return {
        advance: m.width,
        left: Math.max(0, Math.ceil(m.actualBoundingBoxLeft)),
        right: Math.max(0, Math.ceil(m.actualBoundingBoxRight)),
        ascent: Math.max(0, Math.ceil(m.actualBoundingBoxAscent)),
        descent: Math.max(0, Math.ceil(m.actualBoundingBoxDescent)),
      };
    });
  }
}

/** What to write and how big it may be. */
export interface TextSpec {
  /** One string, or alternatives from longest to shortest. */
  readonly text: string | readonly string[];
  readonly style: TextStyle;
  readonly language: Language;
  /** Preferred size in px; the text shrinks towards `minSize` to fit. */
  readonly size: number;
  readonly minSize: number;
  /** Wrap onto at most this many lines before shrinking further (default 1). */
  readonly maxLines?: number;
  /**
   * Let a wrapped line break inside a word (between graphemes). For
   * addresses and ids, which have no spaces but must be shown whole.
   */
  readonly breakWords?: boolean;
}

export interface FittedLine {
  readonly text: string;
  readonly ink: Ink;
}

export interface FittedText {
  readonly font: string;
  readonly size: number;
  readonly lines: readonly FittedLine[];
  /** Distance between baselines. */
  readonly pitch: number;
  /** Largest ink ascent and descent over the lines. */
  readonly ascent: number;
  readonly descent: number;
  /** Height from the first line's ink top to the last line's ink bottom. */
  readonly height: number;
  readonly width: number;
  /** True when nothing fitted whole and the text was cut with an ellipsis. */
  readonly ellipsized: boolean;
}

/**
 * Anti-aliasing can tint a pixel next to the reported ink, so text is fitted
 * with this much room to spare on each side.
 */
export const INK_GUARD = 1;

const ELLIPSIS = '…';
/**
 * Made when a word first has to be split (a screen's usual words fit whole):
 * building it loads ICU's break rules, 2.5 MB resident and about 10 ms at
 * start.
 */
let segmenter: Intl.Segmenter | undefined;
function graphemes(text: string): string[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/**
 * Fits text into `width` pixels: the first alternative at the largest size
 * that fits on one line (not below 80 % of the preferred size unless it is
 * the last alternative), then wrapped, then smaller; as a last resort the
 * last alternative is cut at a grapheme boundary with an ellipsis, so an
 * Indic conjunct is never split.
 */
export function fitText(measure: TextMeasure, spec: TextSpec, width: number): FittedText {
  const alternatives = typeof spec.text === 'string' ? [spec.text] : spec.text;
  const maxLines = Math.max(1, spec.maxLines ?? 1);
  const room = width - 2 * INK_GUARD;
  // Indic letters sit smaller in the em than Latin ones; give them a
  // little more size so they read as well from across the counter.
  const indic = spec.style.role === 'ui' && spec.language !== 'en';
  const minSize = Math.max(1, Math.round(spec.minSize) + (indic ? 2 : 0));
  const preferred = Math.max(minSize, Math.round(spec.size * (indic ? 1.08 : 1)));
  const comfortable = Math.max(minSize, Math.round(preferred * 0.8));

  for (let i = 0; i < alternatives.length; i++) {
    const text = alternatives[i] ?? '';
    const last = i === alternatives.length - 1;
    const single = largestSingleLine(measure, spec, text, room, preferred, maxLines > 1 || !last ? comfortable : minSize);
    if (single) return single;
    if (maxLines > 1) {
      for (let size = preferred; size >= (last ? minSize : comfortable); size--) {
        const wrapped = wrap(measure, spec, text, room, size, maxLines);
        if (wrapped) return wrapped;
      }
    }
    if (last && maxLines > 1 && comfortable > minSize) {
      const small = largestSingleLine(measure, spec, text, room, comfortable - 1, minSize);
      if (small) return small;
    }
  }
  return ellipsize(measure, spec, alternatives[alternatives.length - 1] ?? '', room, minSize);
}

function largestSingleLine(measure: TextMeasure, spec: TextSpec, text: string, room: number, from: number, to: number): FittedText | undefined {
  let size = from;
  const first = measure.measure(cssFont(spec.style, size, spec.language), text);
  if (inkWidth(first) > room) {
    // Width grows almost linearly with size: jump near the answer, then step.
    size = Math.min(size - 1, Math.floor((size * room) / Math.max(1, inkWidth(first))));
  }
  for (; size >= to; size--) {
    const font = cssFont(spec.style, size, spec.language);
    const ink = measure.measure(font, text);
    if (inkWidth(ink) <= room) return assemble(font, size, [{ text, ink }], false);
  }
  return undefined;
}

function wrap(measure: TextMeasure, spec: TextSpec, text: string, room: number, size: number, maxLines: number): FittedText | undefined {
  const font = cssFont(spec.style, size, spec.language);
  const words = spec.breakWords ? breakable(measure, font, text, room) : text.split(' ').filter((w) => w !== '');
  const lines: FittedLine[] = [];
  let current = '';
  for (const word of words) {
    const candidate = current === '' ? word : `${current} ${word}`;
    const ink = measure.measure(font, candidate);
    if (inkWidth(ink) <= room) {
      current = candidate;
      continue;
    }
    if (current === '') return undefined;
    lines.push({ text: current, ink: measure.measure(font, current) });
    current = word;
    if (inkWidth(measure.measure(font, current)) > room) return undefined;
    if (lines.length >= maxLines) return undefined;
  }
  if (current !== '') lines.push({ text: current, ink: measure.measure(font, current) });
  if (lines.length > maxLines || lines.length === 0) return undefined;
  return assemble(font, size, lines, false);
}

/** Words, with any word wider than `room` cut into pieces that fit. */
function breakable(measure: TextMeasure, font: string, text: string, room: number): string[] {
  const pieces: string[] = [];
  for (const word of text.split(' ').filter((w) => w !== '')) {
    if (inkWidth(measure.measure(font, word)) <= room) {
      pieces.push(word);
      continue;
    }
    let piece = '';
    for (const segment of graphemes(word)) {
      if (piece !== '' && inkWidth(measure.measure(font, piece + segment)) > room) {
        pieces.push(piece);
        piece = '';
      }
      piece += segment;
    }
    if (piece !== '') pieces.push(piece);
  }
  return pieces;
}

function ellipsize(measure: TextMeasure, spec: TextSpec, text: string, room: number, size: number): FittedText {
  const font = cssFont(spec.style, size, spec.language);
  const parts = graphemes(text);
  let low = 0;
  let high = parts.length;
  // Largest prefix whose ellipsized form fits.
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    const candidate = parts.slice(0, mid).join('').trimEnd() + ELLIPSIS;
    if (inkWidth(measure.measure(font, candidate)) <= room) low = mid;
    else high = mid - 1;
  }
  const shown = low === 0 ? ELLIPSIS : parts.slice(0, low).join('').trimEnd() + ELLIPSIS;
  return assemble(font, size, [{ text: shown, ink: measure.measure(font, shown) }], true);
}

function assemble(font: string, size: number, lines: FittedLine[], ellipsized: boolean): FittedText {
  let ascent = 0;
  let descent = 0;
  let width = 0;
  for (const line of lines) {
    ascent = Math.max(ascent, line.ink.ascent);
    descent = Math.max(descent, line.ink.descent);
    width = Math.max(width, inkWidth(line.ink));
  }
  const pitch = ascent + descent + Math.max(2, Math.round(size * 0.2));
  const height = ascent + descent + pitch * (lines.length - 1);
  return { font, size, lines, pitch, ascent, descent, height, width, ellipsized };
}
