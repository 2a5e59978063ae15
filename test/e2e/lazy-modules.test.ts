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
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { DeviceSettingsInput } from '../../core/config.js';
import { generateNotifierKeys } from '../../simulator/backend.js';

const dir = mkdtempSync(join(tmpdir(), 'dakbox-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = pathToFileURL(join(import.meta.dirname, '../../dist/cli/main.js')).href;
const HARDWARE = ['johnny-five', 'canvas', 'serialport', '@serialport/stream', 'aedes', 'say', 'qrcode', 'pino-pretty'];

interface Loaded {
  /** The npm packages node has loaded. */
  readonly packages: string[];
  /** The qrcode files among them, relative to the package. */
  readonly qrcodeFiles: string[];
  /** Whether mqtt-packet writes packet identifiers from its prebuilt table. */
  readonly mqttNumberCache: boolean;
}

/** What a `dakbox run` with these settings has loaded once its parts are built. */
function packagesLoaded(name: string, settings: Partial<DeviceSettingsInput>): Loaded {
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
    const require = createRequire(${JSON.stringify(MAIN)});
    const cache = require.cache;
    const report = () => {
      const names = new Set(Object.keys(cache).map((k) => (k.match(/node_modules\\/((@[^/]+\\/)?[^/]+)/) ?? [])[1]).filter(Boolean));
      const qrcodeFiles = Object.keys(cache).map((k) => (k.match(/node_modules\\/qrcode\\/(.*)$/) ?? [])[1]).filter(Boolean);
      const mqttNumberCache = require('mqtt-packet').writeToStream.cacheNumbers;
      process.stderr.write(JSON.stringify({ packages: [...names], qrcodeFiles, mqttNumberCache }) + '\\n');
      process.exit(0);
    };
    const poll = setInterval(() => { if (existsSync(${JSON.stringify(ledger)})) { clearInterval(poll); setTimeout(report, 100); } }, 20);
    const { main } = await import(${JSON.stringify(MAIN)});
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

it('a counter with a display and buttons loads node-canvas, johnny-five and the QR encoder, and still not serialport or the QR image renderers', () => {
  const { packages, qrcodeFiles } = packagesLoaded('panel', { display: { kind: 'png', dir: 'frames', width: 480, height: 320 }, controls: { kind: 'virtual' } });
  expect(packages).toContain('canvas');
  expect(packages).toContain('johnny-five');
  expect(packages).toContain('qrcode');
  expect(packages.filter((p) => ['serialport', '@serialport/stream', 'aedes', 'say', 'pngjs'].includes(p))).toEqual([]);
  expect(qrcodeFiles).toContain('lib/core/qrcode.js');
  expect(qrcodeFiles.filter((f) => f.startsWith('lib/renderer/'))).toEqual([]);
});
