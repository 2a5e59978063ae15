/**
 * The whole counter flow against a real mosquitto and a real device
 * process: collect → QR on the LCD (decoded from the rendered frame) →
 * signed confirmation → one announcement, ledger row paid, receipt. Then
 * everything that must not be announced.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIst } from '../../core/clock.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { generateNotifierKeys } from '../../simulator/backend.js';
import { DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { LedgerReader, eventually } from '../support/ledger-reader.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch, type Seen } from '../support/mqtt-watch.js';
import { decodeWithJsQr, decodeWithZbar } from '../support/frames.js';

const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;

let broker: Mosquitto;
let fixture: DeviceFixture;
let device: DeviceProcess;
let watch: MqttWatch;
let ledger: LedgerReader;

function announcements(): string[] {
  return readdirSync(join(fixture.dir, 'sounds')).filter((f) => f.endsWith('.wav') && !f.includes('chime'));
}

function receiptFor(utr: string | null, outcome: string): (m: Seen) => boolean {
  return (m) => m.topic === topic('receipt') && m.json<{ utr: string | null; outcome: string }>().utr === utr && m.json<{ outcome: string }>().outcome === outcome;
}

async function showQr(id: string, amount: string): Promise<{ tr: string; uri: string; amount: string }> {
  await watch.publish(topic('collect'), JSON.stringify({ v: 1, id, amount, note: 'Speed post', ref: `REF-${id}` }));
  const qr = await watch.waitFor((m) => m.topic === topic('qr') && m.json<{ amount: string }>().amount === amount && !usedTrs.has(m.json<{ tr: string }>().tr), 20_000, `qr for ${id}`);
  const body = qr.json<{ tr: string; uri: string; amount: string }>();
  usedTrs.add(body.tr);
  return body;
}
const usedTrs = new Set<string>();

beforeAll(async () => {
  broker = await Mosquitto.start();
  fixture = deviceFixture({
    mqtt: { url: broker.url, protocolVersion: 5, telemetrySeconds: 5 },
    announce: { prompts: false },
    sale: { limit: '100000.00', expirySeconds: 300, resultSeconds: 2, chimeOnQr: true },
  });
  watch = await MqttWatch.connect(broker.url, [topic('#')], { clientId: 'e2e-backend', protocolVersion: 5 });
  device = new DeviceProcess(fixture.configPath);
  await watch.waitFor((m) => m.topic === topic('status') && m.json<{ online: boolean }>().online, 20_000, 'online status');
  ledger = new LedgerReader(join(fixture.dir, 'ledger.sqlite'));
});

afterAll(async () => {
  ledger?.close();
  await device?.stop();
  await watch?.close();
  await broker?.stop();
  fixture?.cleanup();
});

describe('a sale paid end to end through a real broker', () => {
  let sale: { tr: string; uri: string; amount: string };
  let confirmation: Record<string, unknown>;

  it('shows a QR whose rendered frame decodes to exactly the URI in the ledger', async () => {
    sale = await showQr('c-1', '250.00');
    expect(ledger.sale(sale.tr)).toMatchObject({ uri: sale.uri, state: 'showing', amount_paise: 25000 });
    // What the LCD shows now, as the PNG adapter keeps it.
    const screen = join(fixture.dir, 'frames', 'screen.png');
    await eventually(() => existsSync(screen) && decodeWithJsQr(screen) === sale.uri, 10_000, 'the QR on screen');
    expect(await decodeWithZbar(screen)).toBe(sale.uri);
    expect(decodeWithJsQr(screen)).toBe(sale.uri);
  });

  it('on a signed confirmation: ledger paid, one announcement, receipt announced', async () => {
    confirmation = signConfirmation(
      { deviceId: 'MYS01', tr: sale.tr, utr: '412345678901', amount: '250.00', status: 'SUCCESS', paidAt: formatIst(Date.now()), payer: 'ravi@okaxis' },
      fixture.keys.privateKey,
    );
    await watch.publish(topic('payment'), JSON.stringify(confirmation));
    const receipt = await watch.waitFor(receiptFor('412345678901', 'announced'), 20_000, 'announced receipt');
    expect(receipt.json()).toMatchObject({ v: 1, tr: sale.tr, utr: '412345678901', outcome: 'announced' });
    expect(ledger.payment('412345678901')).toMatchObject({ status: 'SUCCESS', amount_paise: 25000, announced: 1, late: 0, mismatch: 0 });
    expect(ledger.sale(sale.tr)?.state).toBe('paid');
    expect(announcements()).toHaveLength(1);
    // The QR leaves the screen once paid: a paid QR must not be scanned again.
    const screen = join(fixture.dir, 'frames', 'screen.png');
    await eventually(() => decodeWithJsQr(screen) === undefined, 10_000, 'the QR gone from the screen');
  });

  it('the same confirmation again is acknowledged as a duplicate, not announced again', async () => {
    await watch.publish(topic('payment'), JSON.stringify(confirmation));
    await watch.waitFor(receiptFor('412345678901', 'duplicate'), 20_000, 'duplicate receipt');
    expect(announcements()).toHaveLength(1);
    expect(ledger.payments()).toEqual([{ utr: '412345678901', announced: 1 }]);
  });
});

describe('confirmations that must never be announced', () => {
  let sale: { tr: string; uri: string; amount: string };

  beforeAll(async () => {
    sale = await showQr('c-2', '99.50');
  });

  const stranger = generateNotifierKeys();
  const cases: [string, () => string | Buffer, string | null, string][] = [
    [
      'a forged signature',
      () => JSON.stringify(signConfirmation({ deviceId: 'MYS01', tr: sale.tr, utr: 'FORGED1', amount: '99.50', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, stranger.privateKey)),
      'FORGED1',
      'bad-signature',
    ],
    [
      "another device's id",
      () => JSON.stringify(signConfirmation({ deviceId: 'MYS02', tr: sale.tr, utr: 'OTHERDEV1', amount: '99.50', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey)),
      'OTHERDEV1',
      'wrong-device',
    ],
    [
      'an unknown tr',
      () => JSON.stringify(signConfirmation({ deviceId: 'MYS01', tr: 'MYS01-42', utr: 'UNKNOWNTR1', amount: '99.50', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey)),
      'UNKNOWNTR1',
      'unknown-tr',
    ],
    ['malformed JSON', () => '{"v":1,"deviceId":"MYS01","tr":', null, 'malformed-json'],
    ['a 1 MB payload', () => Buffer.alloc(1024 * 1024, 0x41), null, 'payload-too-large'],
  ];

  it.each(cases)('%s: recorded, receipted with the reason, not announced', async (_name, make, utr, code) => {
    const before = watch.on('receipt').length;
    const rejectionsBefore = ledger.rejections().length;
    await watch.publish(topic('payment'), make());
    const receipt = await watch.waitFor(
      (m) => m.topic === topic('receipt') && watch.on('receipt').indexOf(m) >= before && m.json<{ outcome: string }>().outcome === 'rejected',
      20_000,
      `rejected receipt for ${code}`,
    );
    expect(receipt.json<{ utr: string | null; reason: string }>()).toMatchObject({ utr, reason: expect.stringMatching(new RegExp(`^${code}: `)) as unknown });
    expect(ledger.rejections()).toHaveLength(rejectionsBefore + 1);
    expect(ledger.rejections().at(-1)?.reason).toMatch(new RegExp(`^${code}: `));
    expect(announcements()).toHaveLength(1);
    expect(ledger.sale(sale.tr)?.state).toBe('showing');
    expect(device.running).toBe(true);
  });

  it('keeps running and still takes a real payment afterwards', async () => {
    const confirmation = signConfirmation({ deviceId: 'MYS01', tr: sale.tr, utr: 'GOOD2', amount: '99.50', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey);
    await watch.publish(topic('payment'), JSON.stringify(confirmation));
    await watch.waitFor(receiptFor('GOOD2', 'announced'), 20_000, 'announced receipt');
    expect(announcements()).toHaveLength(2);
    expect(device.errors()).toEqual([]);
  });

  it('reports health on telemetry, counting the rejections', async () => {
    const t = await watch.waitFor((m) => m.topic === topic('telemetry') && m.json<{ rejected: { confirmations: number } }>().rejected.confirmations >= 5, 20_000, 'telemetry');
    expect(t.json()).toMatchObject({ v: 1, link: { state: 'online' }, today: { count: 2, total: '349.50' }, queueDepth: { outbox: expect.any(Number) as unknown } });
  });
});

describe('settings from the backend', () => {
  it('applies config/set, persists it, and reports the settings in force', async () => {
    const before = watch.on('config/state').length;
    await watch.publish(topic('config/set'), JSON.stringify({ language: 'hi', volume: 4, expirySeconds: 120 }));
    const state = await watch.waitFor((m) => m.topic === topic('config/state') && watch.on('config/state').indexOf(m) >= before, 20_000, 'config/state');
    expect(state.json()).toMatchObject({ v: 1, settings: { language: 'hi', volume: 4, expirySeconds: 120 } });
    expect(state.json<{ error?: string }>().error).toBeUndefined();
    const saved = JSON.parse(readFileSync(fixture.configPath, 'utf8')) as { language: string; volume: number; sale: { expirySeconds: number } };
    expect([saved.language, saved.volume, saved.sale.expirySeconds]).toEqual(['hi', 4, 120]);
    const sale = await showQr('c-3', '10.00');
    expect(decodeURIComponent(/QRexpire=([^&]+)/.exec(sale.uri)?.[1] ?? '')).toMatch(/\+05:30$/);
    expect(Date.parse(decodeURIComponent(/QRexpire=([^&]+)/.exec(sale.uri)?.[1] ?? '')) - Date.parse(decodeURIComponent(/QRts=([^&]+)/.exec(sale.uri)?.[1] ?? ''))).toBe(120_000);
  });

  it.each([
    [{ payee: { vpa: 'thief@bank' } }, 'config/set: payee: is not a known setting'],
    [{ volume: 11 }, 'config/set: volume: must be at most 10'],
    ['{"language":', 'config/set: is not JSON'],
  ])('refuses %j and says why on config/state', async (change, error) => {
    const before = watch.on('config/state').length;
    await watch.publish(topic('config/set'), typeof change === 'string' ? change : JSON.stringify(change));
    const state = await watch.waitFor((m) => m.topic === topic('config/state') && watch.on('config/state').indexOf(m) >= before, 20_000, 'config/state');
    expect(state.json()).toMatchObject({ error, settings: { language: 'hi', volume: 4 } });
    expect((JSON.parse(readFileSync(fixture.configPath, 'utf8')) as { payee: { vpa: string } }).payee.vpa).toBe('mysuruho@postbank');
  });
});
