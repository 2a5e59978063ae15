/**
 * The broker dies without warning, again and again, while the counter takes
 * payments: mosquitto with its store on, killed with SIGKILL 20 times during
 * 2,000 payments and started again on the same port each time, coming back
 * with whatever it last saved. A real device process takes the payments, a
 * stand-in backend that republishes each confirmation until its receipt
 * pays them. Every payment must be in the ledger, announced exactly once,
 * and receipted.
 *
 * The kill points come from a seeded generator; the seed is printed, and
 * DAKBOX_FAULT_SEED=<seed> runs the same plan again.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sentence } from '../../core/announce/words.js';
import { PaymentsBackend } from '../../simulator/backend.js';
import { CrashingBroker } from '../support/crashing-broker.js';
import { FAULT_RUN_VOLUME, faultRunFixture, type DeviceFixture } from '../support/fixtures.js';
import { LedgerReader, eventually } from '../support/ledger-reader.js';
import { PaymentDriver } from '../support/payment-driver.js';
import { PoweredDevice } from '../support/powered-device.js';
import { SeededRandom, seedFrom } from '../support/seeded-random.js';
import { soundFiles, spokenFiles } from '../support/spoken.js';

const PAYMENTS = 2000;
const CRASHES = 20;
const IN_FLIGHT = 4;

const seed = seedFrom('DAKBOX_FAULT_SEED', 20260115);

let broker: CrashingBroker;
let fixture: DeviceFixture;
let backend: PaymentsBackend;
let device: PoweredDevice;
let finished = false;

beforeAll(async () => {
  broker = await CrashingBroker.start();
  fixture = faultRunFixture(broker.url);
  backend = new PaymentsBackend({ url: broker.url, keys: fixture.keys, clientId: 'broker-kill-backend', republish: { firstMs: 2000, maxMs: 10_000 } });
  await backend.start();
  device = new PoweredDevice(fixture.configPath);
  await device.waitForLog('subscribed');
});

afterAll(async () => {
  finished = true;
  await device?.powerCut();
  await backend?.stop();
  await broker?.stop();
  fixture?.cleanup();
});

it(`loses no payment and announces none twice while the broker is killed ${CRASHES} times in ${PAYMENTS} payments`, async () => {
  const random = new SeededRandom(seed);
  const plan = Array.from({ length: CRASHES }, (_, k) => ({
    afterPayments: k * (PAYMENTS / CRASHES) + random.int(10, PAYMENTS / CRASHES - 10),
    delayMs: random.int(0, 300),
    downMs: random.int(0, 800),
  }));
  console.log(`broker kill: seed ${seed} (DAKBOX_FAULT_SEED=${seed} replays it); kills after payments ${plan.map((p) => p.afterPayments).join(', ')}`);

  const driver = new PaymentDriver({ backend, deviceId: 'MYS01', label: 'BK', payments: PAYMENTS, inFlight: IN_FLIGHT });
  const started = Date.now();
  const crashing = (async () => {
    for (const crash of plan) {
      await driver.reached(crash.afterPayments);
      if (finished || driver.failed || driver.completed >= PAYMENTS) return;
      await new Promise((r) => setTimeout(r, crash.delayMs));
      await broker.crash(crash.downMs);
    }
  })();
  await Promise.all([driver.run(), crashing]);
  // A `duplicate` receipt ends the backend's wait while the sentence may
  // still be queued behind others: the device has it and will say it.
  const ledger = new LedgerReader(join(fixture.dir, 'ledger.sqlite'));
  await eventually(() => ledger.payments().every((p) => p.announced === 1), 120_000, 'every payment announced');
  const seconds = Math.round((Date.now() - started) / 1000);
  const sounds = join(fixture.dir, 'sounds');
  await eventually(() => device.lines.filter((l) => l.msg === 'sentence spoken').length >= soundFiles(sounds).length, 10_000, 'the last sentences logged');

  // What the customer heard: each sound file, named by its sentence.
  const utrBySentence = new Map([...driver.paid.values()].map((p) => [sentence({ kind: 'payment', amount: p.paise }, 'hi'), p.utr]));
  const files = await spokenFiles(sounds, [device.lines], { language: 'hi', volume: FAULT_RUN_VOLUME, candidates: () => [...utrBySentence.keys()] });
  const heard = new Map<string, number>();
  const strange = files.filter((f) => f.text === undefined || !utrBySentence.has(f.text));
  for (const f of files) {
    const utr = f.text !== undefined ? utrBySentence.get(f.text) : undefined;
    if (utr) heard.set(utr, (heard.get(utr) ?? 0) + 1);
  }

  const lost = [...driver.paid.keys()].filter((utr) => ledger.payment(utr)?.announced !== 1 || !heard.has(utr));
  const doubled = [...heard].filter(([, n]) => n > 1).map(([utr]) => utr);
  const unreceipted = [...driver.paid.keys()].filter((utr) => !driver.outcomes.has(utr));
  const redelivered = device.lines.filter((l) => l.msg === 'duplicate confirmation acknowledged, not announced again').length;
  ledger.close();

  console.log(
    `broker kill: ${driver.paid.size} payments, ${broker.crashes} kills, ${lost.length} lost, ${doubled.length} announced twice, ` +
      `${unreceipted.length} without a receipt; ${backend.republished} confirmations republished, ${redelivered} received again and receipted as duplicates, ` +
      `${driver.collectsRepeated} collects asked again; ${seconds} s (seed ${seed})`,
  );
  expect(broker.crashes).toBe(CRASHES);
  expect(driver.paid.size).toBe(PAYMENTS);
  expect(strange.map((f) => f.file)).toEqual([]);
  expect(lost).toEqual([]);
  expect(doubled).toEqual([]);
  expect(unreceipted).toEqual([]);
  expect(files).toHaveLength(PAYMENTS);
  expect(device.running).toBe(true);
}, 360_000);
