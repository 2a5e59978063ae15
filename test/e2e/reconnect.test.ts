/**
 * What the persistent session is for: a confirmation published while the
 * device was away (restarting, or its broker restarting) reaches it when it
 * is back, and is announced once.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIst } from '../../core/clock.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { LedgerReader, eventually } from '../support/ledger-reader.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';

const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;

let broker: Mosquitto;
let fixture: DeviceFixture;
let watch: MqttWatch;
const devices: DeviceProcess[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
  fixture = deviceFixture({ mqtt: { url: broker.url, protocolVersion: 5 }, announce: { prompts: false }, display: { kind: 'none' } });
  watch = await MqttWatch.connect(broker.url, [topic('#')], { clientId: 'reconnect-backend', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
});

afterAll(async () => {
  for (const d of devices) await d.stop();
  await watch?.close();
  await broker?.stop();
  fixture?.cleanup();
});

function start(): DeviceProcess {
  const d = new DeviceProcess(fixture.configPath);
  devices.push(d);
  return d;
}

async function showQr(id: string, amount: string): Promise<string> {
  const before = watch.on('qr').length;
  await watch.publish(topic('collect'), JSON.stringify({ v: 1, id, amount }));
  const qr = await watch.waitFor((m) => m.topic === topic('qr') && watch.on('qr').indexOf(m) >= before, 20_000, 'qr');
  return qr.json<{ tr: string }>().tr;
}

function confirm(tr: string, utr: string, amount: string): string {
  return JSON.stringify(signConfirmation({ deviceId: 'MYS01', tr, utr, amount, status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey));
}

describe('a device that was away', () => {
  it('gets the confirmation published while it was stopped, and announces it once', async () => {
    const first = start();
    await first.waitForLog('subscribed');
    const tr = await showQr('away-1', '75.00');
    expect(await first.stop()).toBe(0);
    await watch.waitFor((m) => m.topic === topic('status') && m.json<{ online: boolean }>().online === false, 10_000, 'offline status');

    await watch.publish(topic('payment'), confirm(tr, 'AWAY1', '75.00'));
    const second = start();
    await watch.waitFor((m) => m.topic === topic('receipt') && m.json<{ utr: string; outcome: string }>().utr === 'AWAY1', 20_000, 'receipt');
    expect(watch.on('receipt').map((m) => m.json<{ outcome: string }>().outcome)).toEqual(['announced']);
    // The payment arrived after the device came back, for a QR that was on screen when it stopped.
    const ledger = new LedgerReader(join(fixture.dir, 'ledger.sqlite'));
    expect(ledger.payment('AWAY1')).toMatchObject({ announced: 1, amount_paise: 7500 });
    ledger.close();
    await second.waitForLog((l) => l.msg === 'connected to broker' && l.sessionPresent === true);
  });

  it('comes back by itself after the broker restarts, with its session', async () => {
    const device = devices.at(-1)!;
    const tr = await showQr('away-2', '12.00');
    const connects = () => device.lines.filter((l) => l.msg === 'subscribed').length;
    const before = connects();
    await broker.restart();
    await device.waitForLog('reconnecting to broker', 20_000);
    await eventually(() => connects() > before, 20_000, 'the device subscribed again');
    await watch.publish(topic('payment'), confirm(tr, 'AWAY2', '12.00'));
    await watch.waitFor((m) => m.topic === topic('receipt') && m.json<{ utr: string; outcome: string }>().utr === 'AWAY2' && m.json<{ outcome: string }>().outcome === 'announced', 30_000, 'receipt after broker restart');
    await eventually(() => device.running, 1000, 'device still running');
    expect(device.errors()).toEqual([]);
  });
});
