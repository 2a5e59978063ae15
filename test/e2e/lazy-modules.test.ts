/**
 * `dakbox run` loads the modules of the hardware its config names and no
 * others: a headless counter does not load johnny-five, node-canvas,
 * serialport, the simulator's broker or the `say` package. The device is
 * started from the built command line in a fresh node, and the packages
 * node has loaded are read once its ledger is open (after every part was
 * built). A panel loads qrcode's encoder and not its image renderers (nor
 * pngjs), an mqtt:// link does not load mqtt.js's WebSocket and SOCKS
 * transports, and the MQTT link does not have mqtt-packet build its table of
 * 65,536 packet-identifier buffers (6 MB of heap kept for good).
 *
 * A device starts `dakbox run` from the bundle `npm run build` makes of it
 * (dist/bundle/): the packages it leaves outside are loaded from
 * node_modules the same way, only when the config uses them, and the
 * bundle holds none of the simulator's, the fleet's or the benchmarks' code.
 */
import { spawnSync } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeviceSettingsInput } from '../../core/config.js';
import { generateNotifierKeys } from '../../simulator/backend.js';

const dir = mkdtempSync(join(tmpdir(), 'dakbox-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = pathToFileURL(join(import.meta.dirname, '../../dist/cli/main.js')).href;
const BUNDLE_DIR = join(import.meta.dirname, '../../dist/bundle');
const BUNDLE = pathToFileURL(join(BUNDLE_DIR, 'run.js')).href;
const HARDWARE = ['johnny-five', 'canvas', 'serialport', '@serialport/stream', 'aedes', 'say', 'qrcode', 'pino-pretty'];

interface Loaded {
  /** The npm packages node has loaded. */
  readonly packages: string[];
  /** The qrcode files among them, relative to the package. */
  readonly qrcodeFiles: string[];
  /** Whether mqtt-packet writes packet identifiers from its prebuilt table. */
  readonly mqttNumberCache: boolean;
}

/** What a `dakbox run` started from `entry` with these settings has loaded once its parts are built. */
function packagesLoaded(name: string, settings: Partial<DeviceSettingsInput>, entry = MAIN): Loaded {
  const folder = join(dir, name);
  const config: DeviceSettingsInput = {
    deviceId: 'LAZY01',
    payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' },
    mqtt: { url: 'mqtt://127.0.0.1:1', protocolVersion: 5 },
    notifierKeys: [generateNotifierKeys().publicKeyBase64],
    speaker: { kind: 'wav', dir: 'sounds' },
    ...settings,
  };
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'device.json'), JSON.stringify(config), { mode: 0o600 });
  const ledger = join(folder, 'ledger.sqlite');
  const script = `
    import { createRequire } from 'node:module';
    import { existsSync } from 'node:fs';
    const require = createRequire(${JSON.stringify(entry)});
    const cache = require.cache;
    const report = () => {
      const names = new Set(Object.keys(cache).map((k) => (k.match(/node_modules\\/((@[^/]+\\/)?[^/]+)/) ?? [])[1]).filter(Boolean));
      const qrcodeFiles = Object.keys(cache).map((k) => (k.match(/node_modules\\/qrcode\\/(.*)$/) ?? [])[1]).filter(Boolean);
      const mqttNumberCache = require('mqtt-packet').writeToStream.cacheNumbers;
      process.stderr.write(JSON.stringify({ packages: [...names], qrcodeFiles, mqttNumberCache }) + '\\n');
      process.exit(0);
    };
    const poll = setInterval(() => { if (existsSync(${JSON.stringify(ledger)})) { clearInterval(poll); setTimeout(report, 100); } }, 20);
    const { main } = await import(${JSON.stringify(entry)});
    await main(['run', '--config', ${JSON.stringify(join(folder, 'device.json'))}]);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(existsSync(ledger)).toBe(true);
  const last = run.stderr.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Loaded;
}

it('a headless counter loads none of the hardware, drawing or simulator packages', () => {
  const { packages, mqttNumberCache } = packagesLoaded('headless', { display: { kind: 'none' }, controls: { kind: 'none' } });
  expect(packages).toContain('better-sqlite3');
  expect(packages).toContain('mqtt');
  expect(packages.filter((p) => HARDWARE.includes(p))).toEqual([]);
  // An mqtt:// broker is reached over node's own socket, without mqtt.js's WebSocket and SOCKS transports.
  expect(packages.filter((p) => ['ws', 'socks', 'ip-address'].includes(p))).toEqual([]);
  expect(mqttNumberCache).toBe(false);
});

it.each([
  ['the compiled modules', MAIN],
  ['the bundle', BUNDLE],
])('a counter with a display and buttons started from %s loads node-canvas, johnny-five and the QR encoder, and still not serialport or the QR image renderers', (_from, entry) => {
  const { packages, qrcodeFiles } = packagesLoaded(entry === MAIN ? 'panel' : 'bundle-panel', { display: { kind: 'png', dir: 'frames', width: 480, height: 320 }, controls: { kind: 'virtual' } }, entry);
  expect(packages).toContain('canvas');
  expect(packages).toContain('johnny-five');
  expect(packages).toContain('qrcode');
  expect(packages.filter((p) => ['serialport', '@serialport/stream', 'aedes', 'say', 'pngjs'].includes(p))).toEqual([]);
  expect(qrcodeFiles).toContain('lib/core/qrcode.js');
  expect(qrcodeFiles.filter((f) => f.startsWith('lib/renderer/'))).toEqual([]);
});

describe('the bundle a device starts from', () => {
  interface Output {
    inputs: Record<string, unknown>;
    imports: { path: string; kind: string; external?: boolean }[];
  }
  /** What esbuild wrote (scripts/bundle.js keeps its metafile beside the bundle). */
  const meta = () => JSON.parse(readFileSync(join(BUNDLE_DIR, 'meta.json'), 'utf8')) as { outputs: Record<string, Output> };
  const files = () => Object.entries(meta().outputs).filter(([file]) => file.endsWith('.js'));
  const packageOf = (path: string) => (path.match(/node_modules\/((@[^/]+\/)?[^/]+)/) ?? [])[1];

  it('holds none of the simulator, fleet, benchmark or broker code', () => {
    const inputs = files().flatMap(([, output]) => Object.keys(output.inputs));
    expect(inputs.some((input) => input.startsWith('dist/cli/run'))).toBe(true);
    expect(inputs.filter((input) => /^dist\/(simulator|fleet|bench|billing-client)\//.test(input))).toEqual([]);
    expect(inputs.filter((input) => /^dist\/cli\//.test(input) && !/^dist\/cli\/(run-main|run|command|args)\.js$/.test(input))).toEqual([]);
    const packages = new Set(inputs.map(packageOf).filter(Boolean));
    expect([...packages].filter((p) => ['aedes', 'playwright-core', 'ws', 'socks', 'canvas', 'better-sqlite3', 'johnny-five', 'serialport', 'pino'].includes(p ?? ''))).toEqual([]);
    expect(packages.has('mqtt')).toBe(true);
  });

  it('imports at start only the ledger\'s SQLite and the logger from node_modules, and node-canvas, johnny-five and serialport only from the chunk of the part that uses them', () => {
    const { outputs } = meta();
    // The files node reads at every start: run.js and what it imports, not what it imports when a part is used.
    const atStart = new Set<string>();
    const visit = (file: string) => {
      if (atStart.has(file)) return;
      atStart.add(file);
      for (const imported of outputs[file]?.imports ?? []) if (!imported.external && imported.kind === 'import-statement') visit(imported.path);
    };
    visit('dist/bundle/run.js');
    const packagesFrom = (files: Iterable<string>, imported: (kind: string) => boolean) =>
      new Set([...files].flatMap((file) => outputs[file]?.imports ?? []).filter((i) => i.external && !isBuiltin(i.path) && imported(i.kind)).map((i) => i.path));
    expect(packagesFrom(atStart, (kind) => kind === 'import-statement')).toEqual(new Set(['better-sqlite3', 'pino']));
    // Loaded only when called: the speech synthesiser, and mqtt.js's WebSocket and SOCKS transports.
    expect(packagesFrom(atStart, (kind) => kind !== 'import-statement')).toEqual(new Set(['say', 'ws', 'socks']));
    const later = Object.keys(outputs).filter((file) => file.endsWith('.js') && !atStart.has(file));
    expect(packagesFrom(later, () => true)).toEqual(new Set(['canvas', 'johnny-five', 'serialport', '@serialport/stream']));
  });

  it('started headless, loads none of the hardware, drawing or simulator packages', () => {
    const { packages } = packagesLoaded('bundle-headless', { display: { kind: 'none' }, controls: { kind: 'none' } }, BUNDLE);
    expect(packages).toContain('better-sqlite3');
    expect(packages.filter((p) => HARDWARE.includes(p))).toEqual([]);
    expect(packages.filter((p) => ['ws', 'socks', 'ip-address'].includes(p))).toEqual([]);
  });
});
