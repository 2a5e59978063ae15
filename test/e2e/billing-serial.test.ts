/**
 * The clerk's path through the whole product: the billing PC runs
 * `dakbox billing sale --wait` on its end of a serial cable (a real pty
 * pair), the device process shows the QR and tells the backend over a real
 * mosquitto, the bank confirms, and the billing PC hears "paid".
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIst } from '../../core/clock.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { DAKBOX_BIN, DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';
import { startCable, stopCable, type Cable } from '../support/serial-cable.js';

const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;

let broker: Mosquitto;
let cable: Cable;
let fixture: DeviceFixture;
let device: DeviceProcess;
let watch: MqttWatch;

beforeAll(async () => {
  broker = await Mosquitto.start();
  cable = await startCable();
  fixture = deviceFixture({
    mqtt: { url: broker.url, protocolVersion: 5 },
    announce: { prompts: false },
    display: { kind: 'none' },
    serial: { path: cable.devicePath, baudRate: 115200 },
  });
  watch = await MqttWatch.connect(broker.url, [topic('#')], { clientId: 'billing-e2e-backend' });
  device = new DeviceProcess(fixture.configPath);
  await watch.waitFor((m) => m.topic === topic('status') && m.json<{ online: boolean }>().online, 20_000, 'online');
  await device.waitForLog((l) => l.feature === 'billing' && /open/i.test(l.msg), 20_000);
});

afterAll(async () => {
  await device?.stop();
  await watch?.close();
  await stopCable(cable);
  await broker?.stop();
  fixture?.cleanup();
});

function billing(...args: string[]): { done: Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> } {
  const child = spawn(process.execPath, [DAKBOX_BIN, 'billing', ...args, '--port', cable.pcPath, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return {
    done: new Promise((resolve) =>
      child.once('exit', (code) =>
        resolve({
          code,
          lines: out
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>),
          stderr: err,
        }),
      ),
    ),
  };
}

async function payWhatIsShown(amount?: string): Promise<string> {
  const before = watch.on('qr').length;
  const qr = await watch.waitFor((m) => m.topic === topic('qr') && watch.on('qr').indexOf(m) >= before, 20_000, 'qr');
  const body = qr.json<{ tr: string; amount: string; source: string }>();
  expect(body.source).toBe('serial');
  const utr = `SER${Date.now()}`;
  await watch.publish(
    topic('payment'),
    JSON.stringify(signConfirmation({ deviceId: 'MYS01', tr: body.tr, utr, amount: amount ?? body.amount, status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey)),
  );
  return utr;
}

describe('a sale rung up on the billing PC', () => {
  it('is paid, and the billing PC hears it with the utr; exit 0', async () => {
    const run = billing('sale', '250.00', '--ref', 'INV-2026-0001', '--note', 'Speed post', '--wait');
    const utr = await payWhatIsShown();
    const result = await run.done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const paid = result.lines.find((l) => l.event === 'paid');
    expect(paid).toMatchObject({ utr, amount: '250.00', asked: '250.00', mismatch: false, ref: 'INV-2026-0001' });
    await watch.waitFor((m) => m.topic === topic('receipt') && m.json<{ utr: string }>().utr === utr, 20_000, 'receipt');
  });

  it('paid the wrong amount: the billing PC is told, exit 4', async () => {
    const run = billing('sale', '500.00', '--wait');
    await payWhatIsShown('50.00');
    const result = await run.done;
    expect(result.code).toBe(4);
    expect(result.lines.find((l) => l.event === 'paid')).toMatchObject({ amount: '50.00', asked: '500.00', mismatch: true });
  });

  it('an amount over the limit is refused by the device with the field named', async () => {
    const result = await billing('sale', '100000.01').done;
    expect(result.code).toBe(1);
    expect(JSON.stringify(result.lines)).toContain('over the per-sale limit');
    expect(device.running).toBe(true);
  });
});
