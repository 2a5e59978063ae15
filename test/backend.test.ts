/**
 * The stand-in payments backend keeps publishing a confirmation until a
 * receipt for its utr comes back, as docs/contracts.md asks of the real
 * notifier: a broker that crashes loses what it had queued, and only a
 * receipt proves the device holds the payment.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { PaymentsBackend, generateNotifierKeys } from '../simulator/backend.js';
import { EmbeddedBroker } from '../simulator/broker.js';
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
