import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCanvas } from 'canvas';
import jsQRModule from 'jsqr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QrBlock } from '../../adapters/display/layout.js';
import { renderFramePng } from '../../adapters/display/png.js';
import QRCode from 'qrcode';
import { BYTE_CAPACITY, QUIET_MODULES, qrVersionFor } from '../../adapters/display/qr.js';
import { compose } from '../../adapters/display/screens.js';
import type { Frame, PanelSize } from '../../core/ports/display.js';
import { CanvasTextMeasure } from '../../adapters/display/text.js';
import { collect, decodePng, frame, LANGUAGES, LINKS, SCREENS, SIZES, URI_COUNTER, URI_LONG, URI_SIGNED, type Rgba } from './fixtures.js';

const run = promisify(execFile);
// jsqr is a CommonJS bundle whose types declare an ES default export; under
// NodeNext that default arrives as the module object, which is the function
// and also carries it as `.default`.
const jsQR = jsQRModule.default;
const measure = new CanvasTextMeasure(createCanvas(1, 1).getContext('2d'));

interface Case {
  readonly name: string;
  readonly frame: Frame;
  readonly size: PanelSize;
  readonly expected: string;
}

const URIS = [URI_COUNTER, URI_LONG, URI_SIGNED] as const;

function collectCases(): Case[] {
  const cases: Case[] = [];
  for (const [sizeName, size] of SIZES) {
    for (const language of LANGUAGES) {
      for (const link of LINKS) {
        URIS.forEach((uri, u) => {
          // The last seconds too: the countdown turns red, the QR must not change.
          const screen = collect(uri, { secondsLeft: u === 1 ? 9 : 240 });
          cases.push({ name: `collect-${u}-${sizeName}-${language}-${link}`, frame: frame(screen, language, link), size, expected: uri });
        });
      }
    }
    const info = SCREENS.info;
    if (info?.kind === 'info') cases.push({ name: `info-${sizeName}`, frame: frame(info), size, expected: info.identity });
  }
  return cases;
}

const cases = collectCases();
let folder: string;
const images = new Map<string, Rgba>();

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'dakbox-qr-'));
  for (const c of cases) {
    const png = renderFramePng(c.frame, c.size);
    images.set(c.name, decodePng(png));
    await writeFile(join(folder, `${c.name}.png`), png);
  }
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('the QR on every collect screen and the identity QR', () => {
  it('decode with jsQR to exactly the URI the ledger recorded', () => {
    for (const c of cases) {
      const image = images.get(c.name);
      expect(image, c.name).toBeDefined();
      if (!image) continue;
      const decoded = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.width, image.height);
      expect(decoded?.data, c.name).toBe(c.expected);
    }
  });

  it('decode with zbarimg to exactly the URI the ledger recorded', async () => {
    // One zbarimg run for all images; its XML names the file each symbol came from.
    const files = cases.map((c) => join(folder, `${c.name}.png`));
    const { stdout } = await run('zbarimg', ['--nodbus', '-q', '--xml', ...files], { maxBuffer: 16 * 1024 * 1024 }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
    );
    const found = new Map<string, string[]>();
    for (const source of stdout.matchAll(/<source href='([^']*)'>([\s\S]*?)<\/source>/g)) {
      const data = [...(source[2] ?? '').matchAll(/<data><!\[CDATA\[([\s\S]*?)\]\]><\/data>/g)].map((m) => m[1] ?? '');
      found.set(source[1] ?? '', data);
    }
    for (const c of cases) {
      expect(found.get(join(folder, `${c.name}.png`)), c.name).toEqual([c.expected]);
    }
  });

  it('is drawn crisp: every module a solid square of whole pixels, the quiet zone pure white', () => {
    for (const c of cases) {
      const image = images.get(c.name);
      const block = compose(c.frame, c.size, measure).blocks.find((b): b is QrBlock => b.kind === 'qr');
      expect(block, c.name).toBeDefined();
      if (!image || !block) continue;
      const { modulePx, modules } = block.plan;
      const luma = (x: number, y: number): number => {
        const i = (y * image.width + x) * 4;
        return ((image.data[i] ?? 0) + (image.data[i + 1] ?? 0) + (image.data[i + 2] ?? 0)) / 3;
      };
      const side = modules + 2 * QUIET_MODULES;
      let mixed = 0;
      let darkInQuietZone = 0;
      for (let row = 0; row < side; row++) {
        for (let col = 0; col < side; col++) {
          const x0 = block.rect.x + col * modulePx;
          const y0 = block.rect.y + row * modulePx;
          const first = luma(x0, y0);
          if (first !== 0 && first !== 255) mixed++;
          for (let dy = 0; dy < modulePx; dy++) for (let dx = 0; dx < modulePx; dx++) if (luma(x0 + dx, y0 + dy) !== first) mixed++;
          const quiet = row < QUIET_MODULES || col < QUIET_MODULES || row >= side - QUIET_MODULES || col >= side - QUIET_MODULES;
          if (quiet && first !== 255) darkInQuietZone++;
        }
      }
      expect(mixed, `${c.name}: modules that are not one solid colour`).toBe(0);
      expect(darkInQuietZone, `${c.name}: dark modules in the quiet zone`).toBe(0);
    }
  });
});

describe('the byte-mode capacity table', () => {
  it('matches the encoder at every version and level: the capacity fits, one byte more does not', () => {
    for (const level of ['M', 'Q', 'H'] as const) {
      BYTE_CAPACITY[level].forEach((capacity, index) => {
        const version = index + 1;
        const fits = QRCode.create([{ data: Buffer.alloc(capacity, 0x78), mode: 'byte' }], { errorCorrectionLevel: level, version });
        expect(fits.version).toBe(version);
        expect(() => QRCode.create([{ data: Buffer.alloc(capacity + 1, 0x78), mode: 'byte' }], { errorCorrectionLevel: level, version })).toThrow(/cannot contain|too big/);
      });
    }
  });

  it('chooses the smallest version that holds the text', () => {
    expect(qrVersionFor('x'.repeat(14), 'M')).toBe(1);
    expect(qrVersionFor('x'.repeat(15), 'M')).toBe(2);
    expect(() => qrVersionFor('x'.repeat(2332), 'M')).toThrow(RangeError);
  });
});
