import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { LinkState } from '../core/link/link-state.js';
import type { DeviceTopic } from '../core/link/topics.js';
import { silentLogger } from '../core/log.js';
import { Ledger } from '../core/payment/ledger.js';
import { Outbox, type Publisher } from '../core/payment/outbox.js';
import { FakePublisher, settle } from './support/stand-ins.js';
import { walFrames } from './support/wal-frames.js';

/** A broker link whose acknowledgements arrive when the test says so. */
class SlowBroker implements Publisher {
  state: LinkState = 'online';
  readonly waiting: { payload: string; ack: () => void; fail: (err: Error) => void }[] = [];

  publish(_topic: DeviceTopic, payload: string): Promise<void> {
    return new Promise((ack, fail) => this.waiting.push({ payload, ack, fail }));
  }

  /** Acknowledges the oldest `n` messages in flight. */
  acknowledge(n: number): void {
    for (const m of this.waiting.splice(0, n)) m.ack();
  }
}

let dir: string;
let clock: ManualClock;
let ledger: Ledger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dakbox-outbox-'));
  clock = new ManualClock();
  ledger = new Ledger(join(dir, 'ledger.sqlite'), clock, { deviceId: 'MYS01' });
});

afterEach(() => {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

function owe(n: number): void {
  for (let i = 0; i < n; i++) ledger.enqueue('receipt', JSON.stringify({ n: i }));
}

describe('the outbox after an outage', () => {
  it('strikes off acknowledgements that arrive together in one transaction, not one each', async () => {
    owe(450);
    const broker = new FakePublisher();
    const frames = walFrames(ledger);
    new Outbox(ledger, broker, silentLogger()).reconnected();
    for (let i = 0; i < 5; i++) await settle();
    expect(broker.on('receipt')).toHaveLength(450);
    expect(ledger.unsentCount()).toBe(0);
    // Three batches of up to 200: a few pages each. One commit per message would be at least 450.
    expect(frames()).toBeLessThan(100);
  });

  it('never strikes off a message the broker has not acknowledged', async () => {
    owe(10);
    const broker = new SlowBroker();
    const outbox = new Outbox(ledger, broker, silentLogger());
    outbox.reconnected();
    await settle();
    expect(broker.waiting).toHaveLength(10);
    expect(ledger.unsentCount()).toBe(10);
    broker.acknowledge(4);
    await settle();
    expect(ledger.unsent().map((m) => JSON.parse(m.payload) as { n: number }).map((m) => m.n)).toEqual([4, 5, 6, 7, 8, 9]);
    // Messages acknowledged but not yet struck off are not sent twice by a flush in between.
    outbox.flush();
    expect(broker.waiting).toHaveLength(6);
    broker.acknowledge(6);
    await settle();
    expect(ledger.unsentCount()).toBe(0);
  });

  it('keeps a message the broker refused, and sends it again on the next connection', async () => {
    owe(3);
    const broker = new SlowBroker();
    const outbox = new Outbox(ledger, broker, silentLogger());
    outbox.reconnected();
    broker.acknowledge(1);
    broker.waiting.shift()?.fail(new Error('connection lost'));
    await settle();
    expect(ledger.unsentCount()).toBe(2);
    outbox.reconnected();
    expect(broker.waiting.map((m) => m.payload)).toEqual(['{"n":2}', '{"n":1}', '{"n":2}']);
    broker.acknowledge(3);
    await settle();
    expect(ledger.unsentCount()).toBe(0);
  });

  it('leaves acknowledged messages owed when the ledger closes first, to be sent again', async () => {
    owe(1);
    const broker = new SlowBroker();
    new Outbox(ledger, broker, silentLogger()).reconnected();
    broker.acknowledge(1);
    ledger.close();
    await settle();
    ledger = new Ledger(join(dir, 'ledger.sqlite'), clock, { deviceId: 'MYS01' });
    expect(ledger.unsentCount()).toBe(1);
  });
});
