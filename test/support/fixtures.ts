import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceSettingsInput } from '../../core/config.js';
import { generateNotifierKeys, type NotifierKeys } from '../../simulator/backend.js';

export interface DeviceFixture {
  dir: string;
  configPath: string;
  keys: NotifierKeys;
  settings: DeviceSettingsInput;
  cleanup(): void;
}

/**
 * A device config folder in a fresh temp dir (inside `parent`, the system's
 * temp folder unless given), with a notifier key pair the test can sign with.
 */
export function deviceFixture(overrides: Partial<DeviceSettingsInput> = {}, keys = generateNotifierKeys(), parent = tmpdir()): DeviceFixture {
  const dir = mkdtempSync(join(parent, 'dakbox-test-'));
  const settings: DeviceSettingsInput = {
    deviceId: 'MYS01',
    language: 'en',
    payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO' },
    mqtt: { url: 'mqtt://127.0.0.1:1', protocolVersion: 5 },
    notifierKeys: [keys.publicKeyBase64],
    display: { kind: 'png', dir: 'frames', width: 480, height: 320 },
    speaker: { kind: 'wav', dir: 'sounds', realtime: false },
    ...overrides,
  };
  const configPath = join(dir, 'device.json');
  writeFileSync(configPath, JSON.stringify(settings, null, 2), { mode: 0o600 });
  return { dir, configPath, keys, settings, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
