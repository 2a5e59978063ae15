import { createCanvas } from 'canvas';
import { describe, expect, it } from 'vitest';
import { contains, intersects, rect } from '../../adapters/display/geometry.js';
import { drawFrame } from '../../adapters/display/paint.js';
import { FrameRenderer } from '../../adapters/display/renderer.js';
import type { Frame, PanelSize } from '../../core/ports/display.js';
import { collect, frame, LANGUAGES, pixelsOf, SCREENS, SIZES, type Rgba } from './fixtures.js';

function tick(f: Frame, seconds: number): Frame {
  const s = f.screen;
  if (s.kind !== 'collect') throw new Error('not a sale');
  return { ...f, screen: { ...s, now: s.now + seconds * 1000 } };
}

/** The same frame drawn from nothing, with no caches. */
function fresh(f: Frame, size: PanelSize): Rgba {
  const canvas = createCanvas(size.width, size.height);
  drawFrame(canvas.getContext('2d'), f, size);
  return pixelsOf(canvas);
}

function differingPixels(a: Rgba, b: Rgba): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  const pa = new Uint32Array(a.data.buffer, a.data.byteOffset, a.width * a.height);
  const pb = new Uint32Array(b.data.buffer, b.data.byteOffset, b.width * b.height);
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) out.push({ x: i % a.width, y: Math.floor(i / a.width) });
  return out;
}

describe.each(SIZES)('frame renderer on a %s panel', (_name, size) => {
  const full = rect(0, 0, size.width, size.height);

  it('repaints the whole panel for a new screen and nothing for the same frame again', () => {
    const renderer = new FrameRenderer(size);
    const first = frame(SCREENS.idle!);
    expect(renderer.render(first)).toEqual([full]);
    expect(renderer.render({ ...first })).toEqual([]);
    expect(renderer.render(frame(SCREENS.collect!))).toEqual([full]);
    expect(renderer.render(frame(SCREENS.collect!, 'hi'))).toEqual([full]);
    expect(renderer.render(frame(SCREENS.collect!, 'hi', 'offline'))).toEqual([full]);
  });

  it('a countdown tick damages only countdown cells, never the QR or the amount, and only the pixels inside change', () => {
    const renderer = new FrameRenderer(size);
    let current = frame(collect(undefined, { secondsLeft: 200 }));
    renderer.render(current);
    const blocks = renderer.composition?.blocks ?? [];
    const countdown = blocks.find((b) => b.kind === 'countdown');
    const qr = blocks.find((b) => b.kind === 'qr');
    const amount = blocks.find((b) => b.role === 'amount');
    expect(countdown && qr && amount).toBeTruthy();
    if (!countdown || !qr || !amount) return;
    for (let i = 0; i < 70; i++) {
      const before = pixelsOf(renderer.canvas);
      const next = tick(current, 1);
      const damage = renderer.render(next);
      expect(damage).toHaveLength(1);
      const area = damage[0] ?? full;
      expect(contains(countdown.rect, area)).toBe(true);
      expect(intersects(area, qr.rect) || intersects(area, amount.rect)).toBe(false);
      // Most ticks change only the last digit: the damage is that one cell.
      if (i % 10 !== 0 && countdown.kind === 'countdown') expect(area).toEqual(countdown.cells[4]);
      const changed = differingPixels(before, pixelsOf(renderer.canvas));
      expect(changed.length).toBeGreaterThan(0);
      for (const p of changed) expect(contains(area, rect(p.x, p.y, 1, 1)), `pixel ${p.x},${p.y} changed outside ${JSON.stringify(area)}`).toBe(true);
      current = next;
    }
  });

  it('after many ticks, including turning red for the last seconds, the panel equals the frame drawn from scratch', () => {
    for (const language of LANGUAGES) {
      const renderer = new FrameRenderer(size);
      let current = frame(collect(undefined, { secondsLeft: 75 }), language);
      renderer.render(current);
      for (let i = 0; i < 80; i++) {
        current = tick(current, 1);
        renderer.render(current);
      }
      expect(differingPixels(pixelsOf(renderer.canvas), fresh(current, size))).toEqual([]);
    }
  });

  it('draws every screen exactly as the stateless drawing function does', () => {
    const renderer = new FrameRenderer(size);
    for (const screen of Object.values(SCREENS)) {
      for (const link of ['online', 'offline'] as const) {
        const f = frame(screen, 'bn', link);
        renderer.render(f);
        expect(differingPixels(pixelsOf(renderer.canvas), fresh(f, size)), `${screen.kind} ${link}`).toEqual([]);
      }
    }
  });

  it('repaints everything after invalidate', () => {
    const renderer = new FrameRenderer(size);
    const f = frame(SCREENS.collect!);
    renderer.render(f);
    renderer.invalidate();
    expect(renderer.render(f)).toEqual([full]);
  });
});

describe('frame renderer', () => {
  it('refuses a panel size that is not whole positive pixels', () => {
    expect(() => new FrameRenderer({ width: 0, height: 240 })).toThrow(TypeError);
    expect(() => new FrameRenderer({ width: 320.5, height: 240 })).toThrow(TypeError);
  });

  it('shows 00:00 only once the QR has expired, and never a negative time', () => {
    const renderer = new FrameRenderer({ width: 320, height: 240 });
    renderer.render(frame(collect(undefined, { secondsLeft: 1 })));
    const f = frame(collect(undefined, { secondsLeft: 1 }));
    expect(renderer.render(tick(f, 0.5))).toEqual([]);
    expect(renderer.render(tick(f, 1))).toHaveLength(1);
    expect(renderer.render(tick(f, 60))).toEqual([]);
  });
});
