/**
 * bin/dakbox.js starts `dakbox run` from the bundle (dist/bundle/run.js)
 * only when the bundle is at least as new as the compiled module it is made
 * from (dist/cli/run-main.js). After a build by tsc alone the bundle is
 * older and holds old code: the start then loads the compiled modules and
 * says on stderr, in one line, that the bundle is older and to run
 * `npm run build`. Each case runs a copy of bin/ and dist/ in a folder of its
 * own, with the bundle's time set, so the project's own dist/ is left as the
 * other tests use it.
 */
import { cpSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
let project: string;
let fixture: DeviceFixture;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'dakbox-bundle-choice-'));
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(PROJECT, part), join(project, part), { recursive: true });
  symlinkSync(join(PROJECT, 'node_modules'), join(project, 'node_modules'));
  // No broker: the start is all these tests look at.
  fixture = deviceFixture({ display: { kind: 'none' }, controls: { kind: 'none' } });
});

afterAll(() => {
  fixture?.cleanup();
  if (project) rmSync(project, { recursive: true, force: true });
});

const bundle = () => join(project, 'dist', 'bundle', 'run.js');
const source = () => join(project, 'dist', 'cli', 'run-main.js');

/** Sets the source's modification time to a whole second, and the bundle's `offsetMs` from it. */
function bundleAged(offsetMs: number): void {
  const sourceTime = new Date(Math.floor(Date.now() / 1000) * 1000);
  utimesSync(source(), sourceTime, sourceTime);
  const bundleTime = new Date(sourceTime.getTime() + offsetMs);
  utimesSync(bundle(), bundleTime, bundleTime);
  expect(statSync(bundle()).mtimeMs - statSync(source()).mtimeMs).toBe(offsetMs);
}

/** Starts the copy's `dakbox run`, and stops it once it has said what code it runs. */
async function start(): Promise<{ code: unknown; stderr: string }> {
  const device = new DeviceProcess(fixture.configPath, {}, join(project, 'bin', 'dakbox.js'));
  try {
    const starting = await device.waitForLog('starting');
    // Stopped once it runs (it has tried the broker, which is not there),
    // so that it stops as it does in service.
    await device.waitForLog('reconnecting to broker');
    return { code: starting.code, stderr: device.stderr };
  } finally {
    expect(await device.stop()).toBe(0);
  }
}

it('starts from the bundle, silently, when it is newer than the compiled modules', async () => {
  bundleAged(1_000);
  expect(await start()).toEqual({ code: bundle(), stderr: '' });
});

it('starts from the bundle when it has the very time of its source', async () => {
  bundleAged(0);
  expect(await start()).toEqual({ code: bundle(), stderr: '' });
});

it('starts from the compiled modules, saying so in one line, when the bundle is older than they are', async () => {
  bundleAged(-60_000);
  const { code, stderr } = await start();
  expect(code).toBe(join(project, 'dist', 'cli', 'run.js'));
  expect(stderr).toBe(
    'dakbox: dist/bundle/run.js is older than the compiled code in dist/, so this start loads the compiled modules one by one (slower, more memory): run `npm run build` in the project folder\n',
  );
});

it('starts from the compiled modules, saying the bundle is missing, when there is none', async () => {
  rmSync(join(project, 'dist', 'bundle'), { recursive: true });
  const { code, stderr } = await start();
  expect(code).toBe(join(project, 'dist', 'cli', 'run.js'));
  expect(stderr).toMatch(/^dakbox: dist\/bundle\/run\.js is missing, .*run `npm run build` in the project folder\n$/);
});
