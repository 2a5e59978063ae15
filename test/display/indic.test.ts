import { createCanvas } from 'canvas';
import { describe, expect, it } from 'vitest';
import { SCREEN_TEXT, type ScreenText } from '../../adapters/display/strings.js';
import { cssFont } from '../../adapters/display/theme.js';
import { LANGUAGES, type Language } from '../../core/language.js';

/*
 * Pango draws a character no installed font has as a "hex box": a
 * rectangle outlining the code point's digits. These tests render every
 * grapheme the screens use, in each language's font list, and check that
 * none came out as such a box, that each left ink, and that letters of one
 * script really have different shapes.
 */

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const SIDE = 96;
const canvas = createCanvas(SIDE, SIDE);
const ctx = canvas.getContext('2d');

interface Glyph {
  readonly ink: number;
  readonly width: number;
  readonly height: number;
  /** Share of the ink box's outline that is inked: 1 for a hex box. */
  readonly outline: number;
  readonly bitmap: Uint8Array;
}

function render(text: string, language: Language): Glyph {
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, SIDE, SIDE);
  ctx.fillStyle = '#000000';
  ctx.font = cssFont({ role: 'ui', bold: false }, 40, language);
  ctx.fillText(text, 20, 64);
  const { data } = ctx.getImageData(0, 0, SIDE, SIDE);
  const bitmap = new Uint8Array(SIDE * SIDE);
  let x0 = SIDE;
  let y0 = SIDE;
  let x1 = -1;
  let y1 = -1;
  let ink = 0;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      if ((data[(y * SIDE + x) * 4] ?? 255) >= 128) continue;
      bitmap[y * SIDE + x] = 1;
      ink++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  const width = x1 - x0 + 1;
  const height = y1 - y0 + 1;
  let on = 0;
  let total = 0;
  if (ink > 0) {
    for (let x = x0; x <= x1; x++) {
      on += (bitmap[y0 * SIDE + x] ?? 0) + (bitmap[y1 * SIDE + x] ?? 0);
      total += 2;
    }
    for (let y = y0 + 1; y < y1; y++) {
      on += (bitmap[y * SIDE + x0] ?? 0) + (bitmap[y * SIDE + x1] ?? 0);
      total += 2;
    }
  }
  return { ink, width: Math.max(0, width), height: Math.max(0, height), outline: total === 0 ? 0 : on / total, bitmap };
}

/** A hex box: an inked rectangle around the ink. Thin marks (a danda, "l") are too narrow to judge. */
function isHexBox(glyph: Glyph): boolean {
  return glyph.width >= 10 && glyph.height >= 10 && glyph.outline > 0.9;
}

function everyString(text: ScreenText): string[] {
  return Object.values(text).flatMap((value: unknown) => {
    if (typeof value === 'function') return [(value as (arg: string) => string)('MYS01')];
    if (Array.isArray(value)) return value as string[];
    return [value as string];
  });
}

function differentPixels(a: Glyph, b: Glyph): number {
  let n = 0;
  for (let i = 0; i < a.bitmap.length; i++) if (a.bitmap[i] !== b.bitmap[i]) n++;
  return n;
}

describe('glyphs on the LCD', () => {
  it('the hex-box detector does spot characters no font has', () => {
    for (const missing of ['\ue000', '\u0378', '\u{10fffd}']) expect(isHexBox(render(missing, 'en')), JSON.stringify(missing)).toBe(true);
  });

  it.each(LANGUAGES)('every grapheme of every %s screen string leaves ink and none is a hex box', (language) => {
    const strings = everyString(SCREEN_TEXT[language]);
    expect(strings.length).toBeGreaterThan(25);
    for (const text of strings) {
      for (const { segment } of graphemes.segment(text)) {
        if (segment.trim() === '' || segment === '\u200c') continue;
        const glyph = render(segment, language);
        expect(glyph.ink, `${language} ${JSON.stringify(segment)} in ${JSON.stringify(text)} left no ink`).toBeGreaterThan(0);
        expect(isHexBox(glyph), `${language} ${JSON.stringify(segment)} in ${JSON.stringify(text)} drew a hex box`).toBe(false);
      }
    }
  });

  it.each([
    ['hi', ['क', 'ख', 'ग', 'घ', 'च', 'ट', 'प', 'म', 'स', 'ह', 'क्ष', 'र्ग']],
    ['bn', ['ক', 'খ', 'গ', 'ঘ', 'চ', 'ট', 'প', 'ম', 'স', 'হ', 'ক্ষ', 'র্গ']],
    ['kn', ['ಕ', 'ಖ', 'ಗ', 'ಘ', 'ಚ', 'ಟ', 'ಪ', 'ಮ', 'ಸ', 'ಹ', 'ಕ್ಷ', 'ರ್ಗ']],
  ] as const)('%s letters and conjuncts have shapes of their own', (language, letters) => {
    const glyphs = letters.map((l) => render(l, language));
    const box = render('\ue000', language);
    glyphs.forEach((glyph, i) => {
      expect(glyph.ink, letters[i]).toBeGreaterThan(40);
      expect(differentPixels(glyph, box), `${letters[i]} looks like a hex box`).toBeGreaterThan(glyph.ink / 4);
      for (let j = i + 1; j < glyphs.length; j++) {
        const other = glyphs[j] as Glyph;
        expect(differentPixels(glyph, other), `${letters[i]} and ${letters[j]} drew the same`).toBeGreaterThan(Math.min(glyph.ink, other.ink) / 5);
      }
    });
  });

  it('a conjunct is shaped into one cluster, narrower than its letters side by side', () => {
    // Without shaping, क्ष would come out as क + virama + ष in a row.
    for (const [language, conjunct, parts] of [
      ['hi', 'क्ष', 'क् ष'],
      ['kn', 'ಕ್ಷ', 'ಕ್ ಷ'],
      ['bn', 'ক্ষ', 'ক্ ষ'],
    ] as const) {
      expect(render(conjunct, language).width, language).toBeLessThan(render(parts, language).width * 0.8);
    }
  });
});
