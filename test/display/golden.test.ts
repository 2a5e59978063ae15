/*
 * Golden images of every screen at every panel size, compared with a small
 * tolerance (font rasterising differs slightly between FreeType builds).
 *
 * After an intended change to the look of a screen, regenerate them with:
 *
 *     UPDATE_GOLDEN=1 npx vitest run test/display/golden.test.ts
 *
 * and look at the changed files in test/golden/ before committing them.
 * A failing comparison leaves the actual picture and a diff in the folder
 * named in the failure message.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pixelmatch from 'pixelmatch';
import { describe, expect, it } from 'vitest';
import { renderFramePng } from '../../adapters/display/png.js';
import type { Frame, PanelSize } from '../../core/ports/display.js';
import { PANEL_SIZES } from '../../adapters/display/panels.js';
import { decodePng, encodePng, frame, SCREENS, SIZES } from './fixtures.js';

const GOLDEN = fileURLToPath(new URL('../golden/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
/** Share of pixels allowed to differ beyond pixelmatch's colour threshold. */
const TOLERANCE = 0.001;

interface Golden {
  readonly name: string;
  readonly frame: Frame;
  readonly size: PanelSize;
}

function goldens(): Golden[] {
  const list: Golden[] = [];
  for (const [sizeName, size] of SIZES) {
    for (const [screenName, screen] of Object.entries(SCREENS)) {
      list.push({ name: `${screenName}-${sizeName}-en`, frame: frame(screen), size });
    }
  }
  const small = PANEL_SIZES['320x240']!;
  for (const language of ['hi', 'bn', 'kn'] as const) {
    for (const screenName of ['idle', 'collect', 'paid', 'mismatch', 'info', 'fault-storage'] as const) {
      list.push({ name: `${screenName}-320x240-${language}`, frame: frame(SCREENS[screenName]!, language), size: small });
    }
  }
  const mid = PANEL_SIZES['480x320']!;
  for (const link of ['offline', 'connecting'] as const) {
    for (const screenName of ['idle', 'collect'] as const) {
      list.push({ name: `${screenName}-480x320-en-${link}`, frame: frame(SCREENS[screenName]!, 'en', link), size: mid });
    }
  }
  return list;
}

let failures: string | undefined;
async function failureFolder(): Promise<string> {
  failures ??= await mkdtemp(join(tmpdir(), 'dakbox-golden-'));
  return failures;
}

describe('golden images', () => {
  it.each(goldens())('$name', async ({ name, frame: f, size }) => {
    const actualPng = renderFramePng(f, size);
    const file = join(GOLDEN, `${name}.png`);
    if (UPDATE) {
      await mkdir(GOLDEN, { recursive: true });
      await writeFile(file, actualPng);
      return;
    }
    expect(existsSync(file), `${file} is missing: run UPDATE_GOLDEN=1 npx vitest run test/display/golden.test.ts`).toBe(true);
    const expected = decodePng(await readFile(file));
    const actual = decodePng(actualPng);
    expect([actual.width, actual.height]).toEqual([expected.width, expected.height]);
    const diff = new Uint8Array(actual.data.length);
    const mismatched = pixelmatch(expected.data, actual.data, diff, actual.width, actual.height, { threshold: 0.1 });
    const allowed = Math.floor(actual.width * actual.height * TOLERANCE);
    if (mismatched > allowed) {
      const folder = await failureFolder();
      await writeFile(join(folder, `${name}.actual.png`), actualPng);
      await writeFile(join(folder, `${name}.diff.png`), encodePng({ width: actual.width, height: actual.height, data: diff }));
      expect.fail(`${name}: ${mismatched} pixels differ (allowed ${allowed}); actual and diff in ${folder}`);
    }
  });
});
