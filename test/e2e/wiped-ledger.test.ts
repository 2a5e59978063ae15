/**
 * What happens to a device whose ledger is lost or damaged, with the built
 * `dakbox run` against a real mosquitto: a wiped ledger never repeats a
 * transaction reference and never announces an old confirmation again; a
 * damaged or foreign file is refused at start, named in one line, and left
 * exactly as it was.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFramePng } from '../../adapters/display/png.js';
import { formatIst } from '../../core/clock.js';
import type { DeviceSettingsInput } from '../../core/config.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { decodePng } from '../display/fixtures.js';
import { DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { LedgerReader } from '../support/ledger-reader.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';

const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;

let broker: Mosquitto;
let watch: MqttWatch;
const fixtures: DeviceFixture[] = [];
const processes: DeviceProcess[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
  watch = await MqttWatch.connect(broker.url, [topic('#')], { clientId: 'wiped-backend', protocolVersion: 5 });
});

afterAll(async () => {
  for (const p of processes) await p.kill();
  await watch?.close();
  await broker?.stop();
  for (const f of fixtures) f.cleanup();
});

function fixture(display: DeviceSettingsInput['display'] = { kind: 'none' }): DeviceFixture {
  const f = deviceFixture({
    mqtt: { url: broker.url, protocolVersion: 5 },
    announce: { prompts: false },
    sale: { limit: '100000.00', expirySeconds: 300, resultSeconds: 2, chimeOnQr: false },
    display,
  });
  fixtures.push(f);
  return f;
}

function start(f: DeviceFixture): DeviceProcess {
  const p = new DeviceProcess(f.configPath);
  processes.push(p);
  return p;
}

function spoken(f: DeviceFixture): string[] {
  try {
    return readdirSync(join(f.dir, 'sounds')).filter((name) => name.endsWith('.wav'));
  } catch {
    return [];
  }
}

/** Rings up `count` sales as quickly as the backend can ask; resolves with their references in order. */
async function quickSales(round: string, count: number): Promise<string[]> {
  const before = watch.on('qr').length;
  for (let i = 1; i <= count; i++) await watch.publish(topic('collect'), JSON.stringify({ v: 1, id: `${round}-${i}`, amount: `${i}.00` }));
  await watch.waitFor((m) => m.topic === topic('qr') && watch.on('qr').indexOf(m) >= before && m.json<{ amount: string }>().amount === `${count}.00`, 30_000, `qr for sale ${count}`);
  const byAmount = new Map(watch.on('qr').slice(before).map((m) => [m.json<{ amount: string }>().amount, m.json<{ tr: string }>().tr]));
  return Array.from({ length: count }, (_, i) => byAmount.get(`${i + 1}.00`) ?? `missing ${i + 1}`);
}

function wipe(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('a wiped ledger', () => {
  it('issues no reference again and does not announce a confirmation replayed from before the wipe', async () => {
    const f = fixture();
    const ledgerPath = join(f.dir, 'ledger.sqlite');
    const first = start(f);
    await first.waitForLog('subscribed');
    const before = await quickSales('before', 60);
    const paid = before.at(-1)!;
    const confirmation = JSON.stringify(
      signConfirmation({ deviceId: 'MYS01', tr: paid, utr: 'WIPED1', amount: '60.00', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, f.keys.privateKey),
    );
    await watch.publish(topic('payment'), confirmation);
    await watch.waitFor((m) => m.topic === topic('receipt') && m.json<{ utr: string; outcome: string }>().utr === 'WIPED1' && m.json<{ outcome: string }>().outcome === 'announced', 20_000, 'announced receipt');
    expect(spoken(f)).toHaveLength(1);
    expect(await first.stop()).toBe(0);
    const firstLedger = new LedgerReader(ledgerPath);
    const firstTrs = firstLedger.trs();
    firstLedger.close();
    expect(firstTrs).toEqual(before);

    wipe(ledgerPath);
    const second = start(f);
    await second.waitForLog('subscribed');
    const after = await quickSales('after', 60);
    const receiptsBefore = watch.on('receipt').length;
    await watch.publish(topic('payment'), confirmation);
    const receipt = await watch.waitFor(
      (m) => m.topic === topic('receipt') && watch.on('receipt').indexOf(m) >= receiptsBefore && m.json<{ utr: string }>().utr === 'WIPED1',
      20_000,
      'receipt for the replayed confirmation',
    );
    expect(receipt.json()).toMatchObject({ tr: paid, utr: 'WIPED1', outcome: 'rejected', reason: expect.stringMatching(/^unknown-tr: /) as unknown });
    // Give a wrong announcement every chance to happen.
    await new Promise((r) => setTimeout(r, 1000));
    expect(spoken(f)).toHaveLength(1);

    const secondLedger = new LedgerReader(ledgerPath);
    const secondTrs = secondLedger.trs();
    expect(secondLedger.payments()).toEqual([]);
    expect(secondLedger.rejections()).toMatchObject([{ tr: paid, utr: 'WIPED1', reason: expect.stringMatching(/^unknown-tr: /) as unknown }]);
    secondLedger.close();
    expect(secondTrs).toEqual(after);
    const all = [...firstTrs, ...secondTrs];
    expect(all).toHaveLength(120);
    expect(new Set(all).size).toBe(120);
    for (const tr of all) expect(tr).toMatch(/^MYS01-[0-9A-HJKMNP-TV-Z]{7}-\d+$/);
    expect(await second.stop()).toBe(0);
  });
});

describe('a ledger that is not this device’s sound ledger', () => {
  async function refusedAtStart(f: DeviceFixture, ledgerPath: string): Promise<string> {
    const hash = sha256(ledgerPath);
    const size = statSync(ledgerPath).size;
    const p = start(f);
    expect(await p.exit()).not.toBe(0);
    const lines = p.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(ledgerPath);
    expect(lines[0]).toContain('kept');
    expect(sha256(ledgerPath)).toBe(hash);
    expect(statSync(ledgerPath).size).toBe(size);
    return lines[0]!;
  }

  it('refuses a ledger with a page of zeros, and leaves the file as it was', async () => {
    const f = fixture();
    const ledgerPath = join(f.dir, 'ledger.sqlite');
    const device = start(f);
    await device.waitForLog('subscribed');
    await quickSales('zeroed', 5);
    expect(await device.stop()).toBe(0);
    // The third page of the file, as a failing SD card might return it.
    const fd = openSync(ledgerPath, 'r+');
    writeSync(fd, Buffer.alloc(4096), 0, 4096, 2 * 4096);
    closeSync(fd);
    expect(await refusedAtStart(f, ledgerPath)).toMatch(/damaged/);
  });

  it('refuses a SQLite file that is not a dakbox ledger, leaves it as it was, and says so on the screen', async () => {
    const f = fixture({ kind: 'png', dir: 'frames', width: 480, height: 320, history: false });
    const ledgerPath = join(f.dir, 'ledger.sqlite');
    const db = new Database(ledgerPath);
    db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('not a ledger')`);
    db.close();
    expect(await refusedAtStart(f, ledgerPath)).toMatch(/not a dakbox ledger/);
    // The panel shows the ledger fault, pixel for pixel as the device draws it.
    const shown = decodePng(readFileSync(join(f.dir, 'frames', 'screen.png')));
    const expected = decodePng(renderFramePng({ screen: { kind: 'fault', fault: 'ledger', deviceId: 'MYS01' }, language: 'en', link: 'offline' }, { width: 480, height: 320 }));
    expect(Buffer.from(shown.data).equals(Buffer.from(expected.data))).toBe(true);
  });
});
