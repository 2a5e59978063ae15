/**
 * A power cut between the ledger commit and the announcement: the device
 * process is killed while the confirmation is committed but not yet
 * announced. On restart it announces it exactly once.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
const processes: DeviceProcess[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
  fixture = deviceFixture({
    mqtt: { url: broker.url, protocolVersion: 5 },
    announce: { prompts: false },
    sale: { limit: '100000.00', expirySeconds: 300, resultSeconds: 2, chimeOnQr: false },
    display: { kind: 'none' },
    // A real speaker takes as long as the sentence lasts; that is the window
    // in which the power fails.
    speaker: { kind: 'wav', dir: 'sounds', realtime: true },
  });
  watch = await MqttWatch.connect(broker.url, [topic('#')], { clientId: 'crash-backend', protocolVersion: 5 });
});

afterAll(async () => {
  for (const p of processes) await p.kill();
  await watch?.close();
  await broker?.stop();
  fixture?.cleanup();
});

function start(): DeviceProcess {
  const p = new DeviceProcess(fixture.configPath);
  processes.push(p);
  return p;
}

function spoken(): string[] {
  try {
    return readdirSync(join(fixture.dir, 'sounds')).filter((f) => f.endsWith('.wav'));
  } catch {
    return [];
  }
}

it('announces a payment committed before a power cut once, after the restart', async () => {
  const first = start();
  await first.waitForLog('subscribed');
  await watch.publish(topic('collect'), JSON.stringify({ v: 1, id: 'crash-1', amount: '1234.50' }));
  const qr = await watch.waitFor((m) => m.topic === topic('qr'), 20_000, 'qr');
  const { tr } = qr.json<{ tr: string }>();

  await watch.publish(
    topic('payment'),
    JSON.stringify(signConfirmation({ deviceId: 'MYS01', tr, utr: 'CRASH1', amount: '1234.50', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey)),
  );
  const reader = new LedgerReader(join(fixture.dir, 'ledger.sqlite'));
  const committed = await eventually(() => reader.payment('CRASH1'), 15_000, 'the payment committed');
  await first.kill();
  // The broker tells the backend the device died, by its last will.
  await watch.waitFor((m) => m.topic === topic('status') && m.json<{ online: boolean }>().online === false, 20_000, 'last will');
  expect(committed.announced).toBe(0);
  expect(reader.payment('CRASH1')?.announced).toBe(0);
  expect(watch.on('receipt')).toEqual([]);
  const soundsBeforeRestart = spoken().length;

  const second = start();
  // The broker may also redeliver the confirmation (its acknowledgement died
  // with the process); that is receipted as a duplicate, never spoken.
  await watch.waitFor(
    (m) => m.topic === topic('receipt') && m.json<{ utr: string; outcome: string }>().utr === 'CRASH1' && m.json<{ outcome: string }>().outcome === 'announced',
    30_000,
    'announced receipt after restart',
  );
  expect(reader.payment('CRASH1')?.announced).toBe(1);
  expect(spoken().length - soundsBeforeRestart).toBe(1);
  expect(second.lines.some((l) => l.msg === 'announcing payments accepted before the last stop' && l.count === 1)).toBe(true);

  // A broker redelivery or a second restart adds nothing.
  await second.stop();
  const third = start();
  await third.waitForLog('subscribed');
  await new Promise((r) => setTimeout(r, 1500));
  expect(spoken().length - soundsBeforeRestart).toBe(1);
  const receipts = watch.on('receipt').map((m) => m.json<{ utr: string; outcome: string }>());
  expect(receipts.filter((r) => r.utr === 'CRASH1' && r.outcome === 'announced')).toHaveLength(1);
  reader.close();
});
