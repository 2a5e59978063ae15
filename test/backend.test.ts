/**
 * The stand-in payments backend keeps publishing a confirmation until a
 * receipt for its utr comes back, as docs/contracts.md asks of the real
 * notifier: a broker that crashes loses what it had queued, and only a
 * receipt proves the device holds the payment.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { PaymentsBackend, generateNotifierKeys } from '../simulator/backend.js';
import { EmbeddedBroker } from '../simulator/broker.js';
import { SqlitePendingStore } from '../simulator/pending-store.js';
import { eventually } from './support/ledger-reader.js';
import { MqttWatch } from './support/mqtt-watch.js';

const keys = generateNotifierKeys();
const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;

let broker: EmbeddedBroker;
let device: MqttWatch;
let clock: ManualClock;
let backend: PaymentsBackend;

beforeAll(async () => {
  broker = await EmbeddedBroker.start(0);
});

afterAll(async () => {
  await broker?.stop();
});

beforeEach(async () => {
  clock = new ManualClock();
  // Exact waits: no jitter.
  backend = new PaymentsBackend({ url: broker.url, keys, clock, clientId: 'backend-under-test', republish: { firstMs: 1000, maxMs: 4000, random: () => 0 } });
  await backend.start();
  // The device's side of the broker, answering by hand.
  device = await MqttWatch.connect(broker.url, [topic('payment')], { clientId: 'device-stand-in', protocolVersion: 4 });
});

afterEach(async () => {
  await backend.stop();
  await device.close();
});

function confirmations(utr: string): string[] {
  return device
    .on('payment')
    .filter((m) => m.json<{ utr: string }>().utr === utr)
    .map((m) => m.payload.toString('utf8'));
}

async function receipt(utr: string, outcome: 'announced' | 'duplicate' | 'rejected'): Promise<void> {
  const seen = new Promise<void>((resolve) => backend.once('receipt', () => resolve()));
  await device.publish(topic('receipt'), JSON.stringify({ v: 1, tr: 'MYS01-1', utr, outcome, ...(outcome === 'rejected' ? { reason: 'unknown-tr: never issued' } : {}), at: '2026-01-15T10:00:00+05:30' }));
  await seen;
}

/** Moves the clock on and lets the publishes it caused reach the device. */
async function advance(ms: number): Promise<void> {
  clock.advance(ms);
  await new Promise((r) => setTimeout(r, 150));
}

describe('the stand-in backend republishes a confirmation', () => {
  it('with a growing, bounded wait, the same bytes each time, until a receipt comes', async () => {
    await backend.pay('MYS01', 'MYS01-1', { amount: '10.00', utr: 'UTR1' });
    await eventually(() => confirmations('UTR1').length === 1, 5000, 'the first publish');
    expect(backend.awaitingReceipt).toBe(1);

    // Waits of 1 s, 2 s, 4 s, then 4 s again: the wait stops growing at maxMs.
    const at: number[] = [];
    backend.on('republish', ({ attempt }) => at.push(attempt));
    await advance(999);
    expect(confirmations('UTR1')).toHaveLength(1);
    await advance(1);
    await eventually(() => confirmations('UTR1').length === 2, 5000, 'the second publish');
    await advance(2000);
    await eventually(() => confirmations('UTR1').length === 3, 5000, 'the third publish');
    await advance(3999);
    expect(confirmations('UTR1')).toHaveLength(3);
    await advance(1);
    await eventually(() => confirmations('UTR1').length === 4, 5000, 'the fourth publish');
    await advance(4000);
    await eventually(() => confirmations('UTR1').length === 5, 5000, 'the fifth publish');
    expect(at).toEqual([2, 3, 4, 5]);
    expect(backend.republished).toBe(4);
    expect(new Set(confirmations('UTR1')).size).toBe(1);

    await receipt('UTR1', 'announced');
    expect(backend.awaitingReceipt).toBe(0);
    await advance(60_000);
    expect(confirmations('UTR1')).toHaveLength(5);
  });

  it.each(['duplicate', 'rejected'] as const)('stops on a %s receipt too', async (outcome) => {
    await backend.pay('MYS01', 'MYS01-2', { amount: '20.00', utr: `UTR${outcome}` });
    await eventually(() => confirmations(`UTR${outcome}`).length === 1, 5000, 'the first publish');
    await receipt(`UTR${outcome}`, outcome);
    await advance(60_000);
    expect(confirmations(`UTR${outcome}`)).toHaveLength(1);
    expect(backend.awaitingReceipt).toBe(0);
  });

  it('stops only the confirmation whose utr was receipted', async () => {
    await backend.pay('MYS01', 'MYS01-3', { amount: '30.00', utr: 'UTRA' });
    await backend.pay('MYS01', 'MYS01-4', { amount: '40.00', utr: 'UTRB' });
    await receipt('UTRA', 'announced');
    await advance(1000);
    await eventually(() => confirmations('UTRB').length === 2, 5000, 'UTRB again');
    expect(confirmations('UTRA')).toHaveLength(1);
    expect(backend.awaitingReceipt).toBe(1);
  });

  it('stops everything when the backend stops', async () => {
    await backend.pay('MYS01', 'MYS01-5', { amount: '50.00', utr: 'UTRSTOP' });
    await backend.stop();
    expect(backend.awaitingReceipt).toBe(0);
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 150));
    expect(confirmations('UTRSTOP')).toHaveLength(1);
  });

  it('publishes once when told not to republish', async () => {
    const once = new PaymentsBackend({ url: broker.url, keys, clock, clientId: 'backend-once', republish: false });
    await once.start();
    await once.pay('MYS01', 'MYS01-6', { amount: '60.00', utr: 'UTRONCE' });
    expect(once.awaitingReceipt).toBe(0);
    await advance(60_000);
    expect(confirmations('UTRONCE')).toHaveLength(1);
    await once.stop();
  });
});

describe('notifier instances sharing one store of confirmations awaiting a receipt', () => {
  let dir: string;
  let path: string;
  const stores: SqlitePendingStore[] = [];
  const instances: PaymentsBackend[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dakbox-pending-'));
    path = join(dir, 'pending.sqlite');
  });
  afterEach(async () => {
    for (const instance of instances.splice(0)) await instance.stop();
    for (const store of stores.splice(0)) store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An instance with its own connection to the shared file, as a separate process has. */
  async function instance(clientId: string): Promise<PaymentsBackend> {
    const store = new SqlitePendingStore(path);
    stores.push(store);
    const started = new PaymentsBackend({ url: broker.url, keys, clock, clientId, store, republish: { firstMs: 1000, maxMs: 4000, random: () => 0 }, adopt: { everyMs: 500, graceMs: 1500 } });
    await started.start();
    instances.push(started);
    return started;
  }

  it('a receipt taken by another instance ends the republishing', async () => {
    const a = await instance('notifier-a');
    await instance('notifier-b');
    await a.pay('MYS01', 'MYS01-7', { amount: '70.00', utr: 'UTRSHARED' });
    await eventually(() => confirmations('UTRSHARED').length === 1, 5000, 'the first publish');
    // The other instance's store connection deletes it, as on its receipt.
    expect(stores[1]!.remove('MYS01', 'UTRSHARED')).toBe(true);
    expect(a.awaitingReceipt).toBe(0);
    await advance(5000);
    expect(confirmations('UTRSHARED')).toHaveLength(1);
    expect(a.republished).toBe(0);
  });

  it('a surviving instance republishes, the same bytes, what a stopped one owed, until the receipt', async () => {
    const a = await instance('notifier-a');
    const b = await instance('notifier-b');
    await a.pay('MYS01', 'MYS01-8', { amount: '80.00', utr: 'UTROWED' });
    await eventually(() => confirmations('UTROWED').length === 1, 5000, 'the first publish');
    // Stopped without a word: the entry stays in the shared file.
    await a.stop();
    expect(b.awaitingReceipt).toBe(1);
    // Due at 1 s; not adopted while within the grace period of 1.5 s.
    await advance(2000);
    expect(confirmations('UTROWED')).toHaveLength(1);
    await advance(1000);
    await eventually(() => confirmations('UTROWED').length === 2, 5000, 'the adopted republish');
    expect(b.republished).toBe(1);
    expect(new Set(confirmations('UTROWED')).size).toBe(1);
    // Adopted: republished on b's own backoff from then on.
    await advance(1000);
    await eventually(() => confirmations('UTROWED').length === 3, 5000, 'the next republish');
    await receipt('UTROWED', 'announced');
    await eventually(() => b.awaitingReceipt === 0, 5000, 'the receipt taken by the survivor');
    await advance(60_000);
    expect(confirmations('UTROWED')).toHaveLength(3);
  });

  it('asked again to pay a utr one instance has published, another publishes the stored bytes and does not sign again', async () => {
    const a = await instance('notifier-a');
    const b = await instance('notifier-b');
    const first = await a.pay('MYS01', 'MYS01-9', { amount: '90.00', utr: 'UTRRETRY' });
    clock.advance(1000 * 60);
    const again = await b.pay('MYS01', 'MYS01-9', { amount: '90.00', utr: 'UTRRETRY' });
    expect(again).toEqual(first);
    await eventually(() => confirmations('UTRRETRY').length >= 2, 5000, 'both publishes');
    expect(new Set(confirmations('UTRRETRY')).size).toBe(1);
    expect(b.awaitingReceipt).toBe(1);
  });

  it('an overdue confirmation is claimed by one instance only', () => {
    const one = new SqlitePendingStore(path);
    const two = new SqlitePendingStore(path);
    stores.push(one, two);
    one.add({ deviceId: 'MYS01', utr: 'UTRCLAIM', payload: '{}', published: 1, dueAt: 1000 });
    expect(one.claimOverdue(10_000, 1500).map((e) => e.utr)).toEqual(['UTRCLAIM']);
    expect(two.claimOverdue(10_000, 1500)).toEqual([]);
    expect(two.claimOverdue(11_501, 1500).map((e) => e.utr)).toEqual(['UTRCLAIM']);
  });
});
