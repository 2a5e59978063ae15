/**
 * `dakbox run` as a device starts it: bin/dakbox.js runs the bundle that
 * `npm run build` makes of the run command (dist/bundle/run.js). Against a
 * real mosquitto, the bundled device finds what it reads beside itself as
 * the compiled modules do (the firmware build stamp, the voice packs, the
 * QR encoder and node-canvas from node_modules), subscribes, and takes a
 * sale through to a payment announced.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatIst } from '../../core/clock.js';
import { BUILD_STAMP_PATH } from '../../core/firmware-build.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { defaultVoiceRoot, packDir } from '../../adapters/speaker/voice-pack.js';
import { DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { decodeWithJsQr } from '../support/frames.js';
import { LedgerReader, eventually } from '../support/ledger-reader.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = join(PROJECT, 'dist', 'bundle', 'run.js');
const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;

let broker: Mosquitto;
let fixture: DeviceFixture;
let device: DeviceProcess;
let watch: MqttWatch;

beforeAll(async () => {
  expect(existsSync(BUNDLE), `${BUNDLE} is missing: npm run build makes it`).toBe(true);
  broker = await Mosquitto.start();
  fixture = deviceFixture({ mqtt: { url: broker.url, protocolVersion: 5 }, announce: { prompts: false } });
  watch = await MqttWatch.connect(broker.url, [topic('#')], { clientId: 'e2e-bundle-backend', protocolVersion: 5 });
  device = new DeviceProcess(fixture.configPath);
});

afterAll(async () => {
  await device?.stop();
  await watch?.close();
  await broker?.stop();
  fixture?.cleanup();
});

it('starts from the bundle, finds the firmware build stamp, and subscribes', async () => {
  const starting = await device.waitForLog('starting');
  expect(starting.code).toBe(BUNDLE);
  await device.waitForLog('subscribed');
  expect(existsSync(join(PROJECT, BUILD_STAMP_PATH))).toBe(true);
  expect(device.lines.filter((l) => l.msg.startsWith('no firmware build stamp'))).toEqual([]);
  // Nothing on stderr: in particular no word that the bundle is missing.
  expect(device.stderr).toBe('');
});

it('takes a sale through to a payment announced, with the voice packs found where the compiled modules find them', async () => {
  await watch.publish(topic('collect'), JSON.stringify({ v: 1, id: 'b-1', amount: '120.00', note: 'Speed post', ref: 'REF-b-1' }));
  const qr = await watch.waitFor((m) => m.topic === topic('qr') && m.json<{ amount: string }>().amount === '120.00', 20_000, 'qr');
  const { tr, uri } = qr.json<{ tr: string; uri: string }>();
  // Drawn by node-canvas with qrcode's encoder, both loaded from node_modules by the bundle.
  const screen = join(fixture.dir, 'frames', 'screen.png');
  await eventually(() => existsSync(screen) && decodeWithJsQr(screen) === uri, 10_000, 'the QR on screen');

  const paidAt = formatIst(Date.now());
  const confirmation = signConfirmation({ deviceId: 'MYS01', tr, utr: '512345678901', amount: '120.00', status: 'SUCCESS', paidAt, payer: 'ravi@okaxis' }, fixture.keys.privateKey);
  await watch.publish(topic('payment'), JSON.stringify(confirmation));
  const receipt = await watch.waitFor((m) => m.topic === topic('receipt') && m.json<{ utr: string }>().utr === '512345678901', 20_000, 'receipt');
  expect(receipt.json()).toMatchObject({ v: 1, tr, utr: '512345678901', outcome: 'announced' });

  const ledger = new LedgerReader(join(fixture.dir, 'ledger.sqlite'));
  try {
    expect(ledger.payment('512345678901')).toMatchObject({ status: 'SUCCESS', amount_paise: 12000, announced: 1 });
    expect(ledger.sale(tr)?.state).toBe('paid');
  } finally {
    ledger.close();
  }
  expect(readdirSync(join(fixture.dir, 'sounds')).filter((f) => f.endsWith('.wav') && !f.includes('chime'))).toHaveLength(1);
  const pack = device.lines.find((l) => l.msg === 'en voice pack loaded' || l.msg.startsWith('no usable en voice pack'));
  expect(pack?.dir).toBe(packDir(defaultVoiceRoot(), 'en'));
  expect(device.errors()).toEqual([]);
});
