import { createCanvas, type CanvasRenderingContext2D } from 'canvas';
import { describe, expect, it } from 'vitest';
import { countdownFace } from '../../adapters/display/countdown.js';
import { contains, intersects, rect } from '../../adapters/display/geometry.js';
import type { Block, Composition } from '../../adapters/display/layout.js';
import { paintBlock } from '../../adapters/display/paint.js';
import { QrCodes, QUIET_MODULES } from '../../adapters/display/qr.js';
import { compose } from '../../adapters/display/screens.js';
import type { PanelSize, ScreenKind } from '../../core/ports/display.js';
import { CanvasTextMeasure } from '../../adapters/display/text.js';
import { formatRupees } from '../../core/money.js';
import { frame, LANGUAGES, LINKS, SCREENS, SIZES } from './fixtures.js';

const measure = new CanvasTextMeasure(createCanvas(1, 1).getContext('2d'));
const qr = new QrCodes();

/** What each screen must always show, however small the panel. */
const REQUIRED: Record<ScreenKind, readonly string[]> = {
  boot: ['product', 'status'],
  idle: ['payee', 'ready'],
  collect: ['qr', 'amount', 'countdown'],
  paid: ['title', 'amount'],
  mismatch: ['title', 'received', 'asked'],
  failed: ['title', 'amount'],
  expired: ['title', 'amount'],
  cancelled: ['title', 'amount'],
  info: ['title', 'device-id', 'ip', 'broker', 'identity-qr'],
  selftest: ['colour-bars', 'gamma-steps', 'grid', 'label'],
  fault: ['title', 'advice'],
};

const face = countdownFace(Date.UTC(2026, 0, 15, 4, 35), Date.UTC(2026, 0, 15, 4, 30, 1));

/** Paints one block alone on a transparent panel: does it paint inside its box, and nothing outside? */
function anyInk(pixels: Uint32Array): boolean {
  for (let i = 0; i < pixels.length; i++) if (pixels[i] !== 0) return true;
  return false;
}

const scratch = new Map<string, CanvasRenderingContext2D>();

function inkPlacement(composition: Composition, block: Block, size: PanelSize): { inside: boolean; outside: boolean } {
  const key = `${size.width}x${size.height}`;
  const ctx = scratch.get(key) ?? createCanvas(size.width, size.height).getContext('2d');
  scratch.set(key, ctx);
  ctx.clearRect(0, 0, size.width, size.height);
  paintBlock(ctx, block, face, { qr }, composition);
  const { x, y, width, height } = block.rect;
  const within = ctx.getImageData(x, y, width, height).data;
  const inside = anyInk(new Uint32Array(within.buffer, within.byteOffset, width * height));
  ctx.clearRect(x, y, width, height);
  const all = ctx.getImageData(0, 0, size.width, size.height).data;
  const outside = anyInk(new Uint32Array(all.buffer, all.byteOffset, size.width * size.height));
  return { inside, outside };
}

describe.each(SIZES)('layout on a %s panel', (_name, size) => {
  const panel = rect(0, 0, size.width, size.height);

  describe.each(LANGUAGES)('in %s', (language) => {
    it.each(Object.entries(SCREENS))('%s: every block inside the panel, none overlapping, nothing required dropped', (_kind, screen) => {
      for (const link of LINKS) {
        const composition = compose(frame(screen, language, link), size, measure);
        const where = `${screen.kind} ${language} ${link} ${size.width}x${size.height}`;
        for (const surface of composition.surfaces) expect(contains(panel, surface.rect), `${where}: surface ${JSON.stringify(surface.rect)}`).toBe(true);
        const blocks = composition.blocks;
        for (const block of blocks) {
          expect(contains(panel, block.rect), `${where}: ${block.role} ${JSON.stringify(block.rect)} leaves the panel`).toBe(true);
          expect(block.rect.width > 0 && block.rect.height > 0, `${where}: ${block.role} is empty`).toBe(true);
        }
        for (let i = 0; i < blocks.length; i++) {
          for (let j = i + 1; j < blocks.length; j++) {
            const a = blocks[i] as Block;
            const b = blocks[j] as Block;
            expect(intersects(a.rect, b.rect), `${where}: ${a.role} overlaps ${b.role}`).toBe(false);
          }
        }
        const roles = blocks.map((b) => b.role);
        expect(roles, where).toEqual(expect.arrayContaining([...REQUIRED[screen.kind], ...(link === 'online' ? [] : ['banner'])]));
        for (const block of blocks) {
          // Only a payee name may be too long to show whole; ids, amounts
          // and the engineer's addresses must never be cut.
          if (block.kind === 'text' && block.role !== 'payee') expect(block.ellipsized, `${where}: ${block.role} cut short`).toBe(false);
        }
      }
    });
  });

  it.each(Object.entries(SCREENS))('%s: the ink of every block stays inside its own box (nothing clipped or spilling)', (_kind, screen) => {
    for (const language of LANGUAGES) {
      for (const link of ['online', 'offline'] as const) {
        const composition = compose(frame(screen, language, link), size, measure);
        for (const block of composition.blocks) {
          const ink = inkPlacement(composition, block, size);
          expect(ink.inside, `${screen.kind} ${language} ${link}: ${block.role} painted nothing`).toBe(true);
          expect(ink.outside, `${screen.kind} ${language} ${link}: ${block.role} painted outside ${JSON.stringify(block.rect)}`).toBe(false);
        }
      }
    }
  });

  it('shows the sale amount in the largest type on the collect screen', () => {
    for (const language of LANGUAGES) {
      const composition = compose(frame(SCREENS.collect!, language), size, measure);
      const amount = composition.blocks.find((b) => b.role === 'amount');
      expect(amount?.kind === 'text' && amount.lines.map((l) => l.text).join(' ')).toBe(formatRupees(25000 as never));
      const sizeOf = (b: Block): number => (b.kind === 'text' ? Number(/(\d+)px/.exec(b.font)?.[1]) : 0);
      const largest = Math.max(...composition.blocks.filter((b) => b.kind === 'text').map(sizeOf));
      expect(amount && sizeOf(amount)).toBe(largest);
    }
  });

  it('gives the QR whole-pixel modules, a quiet zone of at least four modules and at least M error correction', () => {
    for (const [, screen] of Object.entries(SCREENS).filter(([, s]) => s.kind === 'collect')) {
      for (const link of LINKS) {
        const block = compose(frame(screen, 'en', link), size, measure).blocks.find((b) => b.kind === 'qr');
        expect(block?.kind).toBe('qr');
        if (block?.kind !== 'qr') continue;
        const { plan } = block;
        expect(Number.isInteger(plan.modulePx) && plan.modulePx >= 2).toBe(true);
        expect(plan.boxPx).toBe((plan.modules + 2 * QUIET_MODULES) * plan.modulePx);
        expect(block.rect.width).toBe(plan.boxPx);
        expect(['M', 'Q', 'H']).toContain(plan.level);
        // As large as the panel allows: one more pixel per module would not fit the short side.
        expect((plan.modules + 2 * QUIET_MODULES) * (plan.modulePx + 1)).toBeGreaterThan(Math.min(size.width, size.height));
      }
    }
  });
});
