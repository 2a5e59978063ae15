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

/** The volume the fault runs speak at; their sound files are judged at it. */
export const FAULT_RUN_VOLUME = 7;

/**
 * A device for the long fault runs (broker killed, power cut): Hindi
 * sentences written as WAV files as fast as espeak-ng makes them, no screen,
 * no prompts, and QRs that outlast the run.
 */
export function faultRunFixture(brokerUrl: string): DeviceFixture {
  return deviceFixture({
    mqtt: { url: brokerUrl, protocolVersion: 5 },
    language: 'hi',
    volume: FAULT_RUN_VOLUME,
    announce: { prompts: false },
    sale: { limit: '100000.00', expirySeconds: 3600, resultSeconds: 2, chimeOnQr: false },
    display: { kind: 'none' },
    // espeak-ng writes a Hindi sentence in tens of milliseconds; the
    // announcer, the ledger marks and the receipts are the device's own.
    speaker: { kind: 'wav', dir: 'sounds', realtime: false },
  });
}
