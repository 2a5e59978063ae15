import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EARLIEST_BUILD, firmwareBuild } from '../core/firmware-build.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dakbox-build-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"dakbox","type":"module"}\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the firmware build time', () => {
  it('is written by the build beside dist and read from the package root, from the compiled code or the source', () => {
    mkdirSync(join(dir, 'scripts'));
    copyFileSync(join(repo, 'scripts', 'stamp-build.js'), join(dir, 'scripts', 'stamp-build.js'));
    const before = Date.now();
    execFileSync(process.execPath, [join(dir, 'scripts', 'stamp-build.js')], { cwd: tmpdir() });
    const after = Date.now();
    for (const module of [join(dir, 'dist', 'core', 'firmware-build.js'), join(dir, 'core', 'firmware-build.ts')]) {
      const build = firmwareBuild(module);
      expect(build.stamp).toBe(join(dir, 'dist', 'build.json'));
      expect(build.builtAt).toBeGreaterThanOrEqual(before);
      expect(build.builtAt).toBeLessThanOrEqual(after);
    }
  });

  it('falls back to the earliest possible build, saying why, when there is no stamp or it is not one', () => {
    const module = join(dir, 'core', 'firmware-build.ts');
    expect(firmwareBuild(module)).toEqual({ builtAt: EARLIEST_BUILD, problem: `${join(dir, 'dist', 'build.json')} is missing: run npm run build` });
    mkdirSync(join(dir, 'dist'));
    for (const text of ['{"builtAt": 1764547200000}', '{"builtAt": "yesterday"}', 'not json']) {
      writeFileSync(join(dir, 'dist', 'build.json'), text);
      expect(firmwareBuild(module)).toMatchObject({ builtAt: EARLIEST_BUILD, problem: expect.stringContaining('does not hold') as unknown });
    }
  });

  it.skipIf(!existsSync(join(repo, 'dist', 'core', 'firmware-build.js')))('is the same for the built firmware and for tests run from the source', async () => {
    const compiled = (await import(pathToFileURL(join(repo, 'dist', 'core', 'firmware-build.js')).href)) as { firmwareBuild: typeof firmwareBuild };
    const fromDist = compiled.firmwareBuild();
    expect(fromDist.stamp).toBe(join(repo, 'dist', 'build.json'));
    expect(firmwareBuild()).toEqual(fromDist);
  });
});
