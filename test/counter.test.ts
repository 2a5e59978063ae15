import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { loadConfig, saveSecrets, type DeviceConfig } from '../core/config.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import { Counter } from '../core/sale/counter.js';
import type { CounterEvent } from '../core/sale/counter-port.js';
import { InputError } from '../core/errors.js';
import { Lcd } from '../core/sale/lcd.js';
import { Ledger } from '../core/payment/ledger.js';
import { silentLogger } from '../core/log.js';
import { paise } from '../core/money.js';
import { Outbox } from '../core/payment/outbox.js';
import { parseUpiUri, verifySignedUri } from '../core/sale/dynamic-qr.js';
import { deviceFixture, type DeviceFixture } from './support/fixtures.js';
import { FakePublisher, RecordingDisplay, ScriptedAnnouncer, settle } from './support/stand-ins.js';

let fixture: DeviceFixture;
let config: DeviceConfig;
let clock: ManualClock;
let ledger: Ledger;
let display: RecordingDisplay;
let announcer: ScriptedAnnouncer;
let publisher: FakePublisher;
let counter: Counter;
let events: CounterEvent[];

function build(): Counter {
  const log = silentLogger();
  const lcd = new Lcd(display, clock, log, () => config.settings.language, { kind: 'boot', firmware: 'test', deviceId: 'MYS01' });
  const c = new Counter({ config, ledger, lcd, announcer, outbox: new Outbox(ledger, publisher, log), clock, log, firmware: 'test' });
  c.subscribe((e) => events.push(e));
  return c;
}

beforeEach(() => {
  fixture = deviceFixture({ sale: { limit: '5000.00', expirySeconds: 120, resultSeconds: 5, chimeOnQr: true } });
  config = loadConfig(fixture.configPath);
  clock = new ManualClock();
  ledger = new Ledger(config.ledgerPath, clock, { deviceId: config.settings.deviceId, retention: config.settings.retention });
  display = new RecordingDisplay();
  announcer = new ScriptedAnnouncer();
  publisher = new FakePublisher();
  events = [];
  counter = build();
  counter.boot();
});

afterEach(() => {
  counter.stop();
  ledger.close();
  fixture.cleanup();
});

function pay(tr: string, fields: { amount: string; status?: 'SUCCESS' | 'FAILED'; utr?: string; payer?: string; deviceId?: string; paidAt?: string }): Buffer {
  const body = signConfirmation(
    {
      deviceId: fields.deviceId ?? 'MYS01',
      tr,
      utr: fields.utr ?? 'UTR1',
      amount: fields.amount,
      status: fields.status ?? 'SUCCESS',
      paidAt: fields.paidAt ?? '2026-01-15T10:01:00+05:30',
      ...(fields.payer ? { payer: fields.payer } : {}),
    },
    fixture.keys.privateKey,
  );
  return Buffer.from(JSON.stringify(body));
}

describe('a sale from QR to paid', () => {
  it('shows a fresh QR, publishes qr, then on a valid confirmation shows paid, announces once and receipts', async () => {
    const sale = await counter.startSale({ amount: paise(25000), ref: 'INV-42', source: 'serial' });
    expect(sale.state).toBe('showing');
    expect(display.last?.screen).toMatchObject({ kind: 'collect', uri: sale.uri, amount: 25000, tr: sale.tr });
    expect(parseUpiUri(sale.uri).params.get('am')).toBe('250.00');
    expect(publisher.on('qr')).toEqual([
      expect.objectContaining({ v: 1, tr: sale.tr, amount: '250.00', uri: sale.uri, source: 'serial', shownAt: '2026-01-15T10:00:00+05:30', expiresAt: '2026-01-15T10:02:00+05:30' }),
    ]);
    expect(events[0]).toMatchObject({ type: 'qr', sale: { tr: sale.tr } });

    clock.advance(10_000);
    counter.handlePayment(pay(sale.tr, { amount: '250.00', payer: 'ravi.kumar@okaxis' }));
    await settle();
    expect(display.last?.screen).toEqual({ kind: 'paid', amount: 25000, utr: 'UTR1', late: false, payer: 'ra****@okaxis' });
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 25000 }]);
    expect(events.at(-1)).toEqual({ type: 'paid', tr: sale.tr, utr: 'UTR1', amount: 25000, asked: 25000, mismatch: false, late: false, ref: 'INV-42' });
    expect(publisher.on('receipt')).toEqual([{ v: 1, tr: sale.tr, utr: 'UTR1', outcome: 'announced', at: '2026-01-15T10:00:10+05:30' }]);
    expect(ledger.findPayment('UTR1')?.announced).toBe(true);
    expect(ledger.findSale(sale.tr)?.state).toBe('paid');

    clock.advance(5_000);
    expect(display.last?.screen.kind).toBe('idle');
  });

  it('counts down once a second while the QR is up, and expires it', async () => {
    const sale = await counter.startSale({ amount: paise(100), source: 'cli' });
    await settle();
    const before = display.frames.length;
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      await settle();
    }
    const ticks = display.frames.slice(before).map((f) => (f.screen.kind === 'collect' ? (f.screen.expiresAt - f.screen.now) / 1000 : null));
    expect(ticks).toEqual([119, 118, 117]);
    clock.advance(117_000);
    await settle();
    expect(display.last?.screen).toEqual({ kind: 'expired', amount: 100, tr: sale.tr });
    expect(events.at(-1)).toEqual({ type: 'expired', tr: sale.tr, amount: 100 });
    expect(ledger.findSale(sale.tr)?.state).toBe('expired');
    clock.advance(5_000);
    expect(display.last?.screen.kind).toBe('idle');
    expect(clock.pending()).toBe(0);
  });

  it('announces a payment after expiry as late, and still records it', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    clock.advance(121_000);
    counter.handlePayment(pay(sale.tr, { amount: '250.00' }));
    await settle();
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 25000 }]);
    expect(events.at(-1)).toMatchObject({ type: 'paid', late: true });
    expect(display.last?.screen).toMatchObject({ kind: 'paid', late: true });
  });

  it('announces only the amount credited when it differs, and flags the mismatch', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '200.00' }));
    await settle();
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 20000 }]);
    expect(display.last?.screen).toEqual({ kind: 'mismatch', asked: 25000, received: 20000, utr: 'UTR1' });
    expect(events.at(-1)).toMatchObject({ type: 'paid', amount: 20000, asked: 25000, mismatch: true });
    // The clerk needs longer to notice a mismatch than a plain result.
    clock.advance(5_000);
    expect(display.last?.screen.kind).toBe('mismatch');
    clock.advance(10_000);
    expect(display.last?.screen.kind).toBe('idle');
  });

  it('shows and reports a failed payment', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '250.00', status: 'FAILED' }));
    await settle();
    expect(display.last?.screen).toEqual({ kind: 'failed', amount: 25000, tr: sale.tr });
    expect(events.at(-1)).toMatchObject({ type: 'failed', tr: sale.tr });
    expect(announcer.spoken).toEqual([{ kind: 'payment-failed' }]);
    expect(ledger.findSale(sale.tr)?.state).toBe('failed');
  });

  it('cancels the sale on screen, and refuses to cancel when none is', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    await expect(counter.cancelSale('MYS01-1')).rejects.toThrow('tr: MYS01-1 is not the sale on screen');
    await expect(counter.cancelSale(sale.tr)).resolves.toMatchObject({ state: 'cancelled' });
    expect(display.last?.screen.kind).toBe('cancelled');
    expect(events.at(-1)).toEqual({ type: 'cancelled', tr: sale.tr, amount: 25000, reason: 'clerk' });
    await expect(counter.cancelSale()).rejects.toThrow(new InputError('tr', 'no sale is on screen'));
  });

  it('replaces a sale still on screen; a payment on the old QR is still money, late', async () => {
    const first = await counter.startSale({ amount: paise(25000), source: 'serial' });
    const second = await counter.startSale({ amount: paise(30000), source: 'serial' });
    expect(first.tr).not.toBe(second.tr);
    expect(events.map((e) => e.type)).toEqual(['qr', 'cancelled', 'qr']);
    expect(events[1]).toMatchObject({ reason: 'superseded', tr: first.tr });
    counter.handlePayment(pay(first.tr, { amount: '250.00' }));
    await settle();
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 25000 }]);
    // The customer scanning the new QR keeps seeing it.
    expect(display.last?.screen).toMatchObject({ kind: 'collect', tr: second.tr });
    expect(events.at(-1)).toMatchObject({ type: 'paid', tr: first.tr, late: true });
  });

  it.each<[Parameters<Counter['startSale']>[0], string]>([
    [{ amount: paise(0), source: 'serial' }, 'amount: must be more than zero'],
    [{ amount: paise(500001), source: 'serial' }, 'amount: 5000.01 is over the per-sale limit of 5000.00'],
    [{ amount: paise(100), note: 'n'.repeat(51), source: 'serial' }, 'note: is longer than 50 characters'],
    [{ amount: paise(100), ref: 'INV\n42', source: 'serial' }, 'ref: must be printable ASCII'],
    [{ amount: paise(100), expiresInSeconds: 5, source: 'serial' }, 'expiresIn: must be a whole number of seconds from 30 to 3600'],
  ])('refuses a bad sale %j with a clear message and no QR', async (request, message) => {
    await expect(counter.startSale(request)).rejects.toThrow(message);
    expect(publisher.on('qr')).toEqual([]);
    expect(display.last?.screen.kind).toBe('idle');
  });
});

describe('confirmations that must not be announced', () => {
  it('acknowledges a duplicate utr without a second announcement', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '250.00' }));
    counter.handlePayment(pay(sale.tr, { amount: '250.00' }));
    await settle();
    expect(announcer.spoken).toHaveLength(1);
    expect(publisher.on('receipt').map((r) => (r as { outcome: string }).outcome).sort()).toEqual(['announced', 'duplicate']);
  });

  it.each([
    ['another device', (tr: string) => pay(tr, { amount: '250.00', deviceId: 'MYS02' }), 'wrong-device'],
    ['an unknown tr', () => pay('MYS01-42', { amount: '250.00' }), 'unknown-tr'],
    ['a forged signature', (tr: string) => Buffer.from(JSON.stringify({ ...JSON.parse(pay(tr, { amount: '250.00' }).toString()), amount: '2500.00' })), 'bad-signature'],
    ['malformed JSON', () => Buffer.from('{"v":1,"tr":'), 'malformed-json'],
    ['a megabyte', () => Buffer.alloc(1 << 20, 0x7b), 'payload-too-large'],
    ['a signed paidAt that is no real instant', (tr: string) => pay(tr, { amount: '250.00', paidAt: '2026-13-45T99:99:99+05:30' }), 'bad-paid-at'],
    // The QR went up at 10:00:00; five minutes of clock skew are allowed.
    ['a payment dated before its QR was shown', (tr: string) => pay(tr, { amount: '250.00', paidAt: '2026-01-15T09:54:59+05:30' }), 'paid-before-shown'],
  ])('rejects %s: recorded, receipted with the reason, never announced', async (_name, make, code) => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    counter.handlePayment(make(sale.tr));
    await settle();
    expect(announcer.spoken).toEqual([]);
    const [receipt] = publisher.on('receipt') as { outcome: string; reason: string }[];
    expect(receipt?.outcome).toBe('rejected');
    expect(receipt?.reason).toMatch(new RegExp(`^${code}: `));
    expect(ledger.rejections()).toHaveLength(1);
    expect(display.last?.screen.kind).toBe('collect');
    expect(ledger.findSale(sale.tr)?.state).toBe('showing');
  });
});

describe('when a payment was made', () => {
  it('accepts a paidAt up to five minutes before the QR was shown, for clocks that disagree', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '250.00', paidAt: '2026-01-15T04:25:00.000Z' }));
    await settle();
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 25000 }]);
    expect(ledger.findPayment('UTR1')?.paidAt).toBe('2026-01-15T04:25:00.000Z');
  });

  it('refuses a confirmation for an earlier sale replayed onto a reference shown later', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    clock.advance(24 * 60 * 60 * 1000);
    const later = await counter.startSale({ amount: paise(25000), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '250.00', utr: 'OLD1' }));
    counter.handlePayment(pay(later.tr, { amount: '250.00', utr: 'OLD2' }));
    await settle();
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 25000 }]);
    expect(ledger.findPayment('OLD2')).toBeUndefined();
    expect(ledger.rejections()).toMatchObject([{ tr: later.tr, utr: 'OLD2', reason: expect.stringMatching(/^paid-before-shown: paid at 2026-01-15T10:01:00\+05:30, but its QR was shown at 2026-01-16T10:00:00\+05:30$/) as unknown }]);
  });
});

describe('exactly-once announcement across a stop', () => {
  it('announces at boot what was accepted but not announced, once', async () => {
    announcer.manual = true;
    const sale = await counter.startSale({ amount: paise(12345), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '123.45' }));
    expect(announcer.inProgress).toBe(1);
    // The qr went out before the payment; this run's outbox has nothing left to do when the power goes.
    await settle();
    // Power cut: nothing after the commit happens.
    counter.stop();
    announcer = new ScriptedAnnouncer();
    counter = build();
    counter.boot();
    await settle();
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 12345 }]);
    expect(ledger.findPayment('UTR1')?.announced).toBe(true);
    expect(publisher.on('receipt')).toMatchObject([{ outcome: 'announced', utr: 'UTR1' }]);

    counter.stop();
    announcer = new ScriptedAnnouncer();
    counter = build();
    counter.boot();
    await settle();
    expect(announcer.spoken).toEqual([]);
  });

  it('marks a payment announced when the speaker failed and the chime sounded in its place', async () => {
    announcer.manual = true;
    const sale = await counter.startSale({ amount: paise(100), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '1.00' }));
    announcer.failNext();
    await settle();
    expect(announcer.chimed).toEqual([{ kind: 'payment', amount: 100 }]);
    expect(ledger.pendingAnnouncements()).toEqual([]);
    expect(publisher.on('receipt')).toMatchObject([{ outcome: 'announced', utr: 'UTR1' }]);
  });

  it('leaves a payment unannounced, for the next boot, when the announcer is already closed', async () => {
    const sale = await counter.startSale({ amount: paise(100), source: 'serial' });
    announcer.close();
    counter.handlePayment(pay(sale.tr, { amount: '1.00' }));
    await settle();
    expect(ledger.pendingAnnouncements().map((p) => p.utr)).toEqual(['UTR1']);
    expect(publisher.on('receipt')).toEqual([]);
  });

  it('announces a burst in arrival order, each once', async () => {
    const utrs: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const sale = await counter.startSale({ amount: paise(i * 100), source: 'serial' });
      counter.handlePayment(pay(sale.tr, { amount: `${i}.00`, utr: `U${i}` }));
      utrs.push(`U${i}`);
    }
    await settle();
    expect(announcer.spoken.map((a) => (a.kind === 'payment' ? a.amount : 0))).toEqual(utrs.map((_, i) => (i + 1) * 100));
  });

  it('resumes a QR still valid after a restart, and expires one that ran out', async () => {
    const sale = await counter.startSale({ amount: paise(100), source: 'serial' });
    counter.stop();
    clock.advance(60_000);
    await settle();
    counter = build();
    counter.boot();
    await settle();
    expect(display.last?.screen).toMatchObject({ kind: 'collect', tr: sale.tr });
    counter.stop();
    clock.advance(61_000);
    events = [];
    counter = build();
    counter.boot();
    await settle();
    expect(events).toEqual([{ type: 'expired', tr: sale.tr, amount: 100 }]);
    expect(display.last?.screen.kind).toBe('idle');
  });
});

describe('messages owed to the backend', () => {
  it('waits in the outbox while offline and goes out on reconnect', async () => {
    const outbox = new Outbox(ledger, publisher, silentLogger());
    publisher.state = 'offline';
    const sale = await counter.startSale({ amount: paise(100), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '1.00' }));
    await settle();
    expect(publisher.published).toEqual([]);
    expect(ledger.unsentCount()).toBe(2);
    publisher.state = 'online';
    outbox.reconnected();
    await settle();
    expect(publisher.published.map((p) => p.topic)).toEqual(['qr', 'receipt']);
    expect(ledger.unsentCount()).toBe(0);
  });
});

describe('collect requests from the backend', () => {
  it('shows a QR once per id, whatever the redelivery', () => {
    const body = Buffer.from(JSON.stringify({ v: 1, id: 'c-77', amount: '99.00', note: 'RD deposit', ref: 'RD/77' }));
    counter.handleCollect(body);
    counter.handleCollect(body);
    const qrs = publisher.on('qr') as { tr: string; source: string }[];
    expect(qrs).toHaveLength(2);
    expect(qrs[0]?.tr).toBe(qrs[1]?.tr);
    expect(qrs[0]?.source).toBe('mqtt');
    expect(events.filter((e) => e.type === 'qr')).toHaveLength(1);
  });

  it.each([
    ['{"v":1,"amount":"1.00"}', 'id'],
    ['{"v":1,"id":"x","amount":"1e3"}', 'amount'],
    ['{"v":1,"id":"x","amount":"999999.00"}', 'over the per-sale limit'],
    ['{"v":2,"id":"x","amount":"1.00"}', 'v: must be 1'],
    ['not json', 'collect: is not JSON'],
    // What the customer's app shows must be what the clerk sees: the same rule as the serial link and the config.
    [JSON.stringify({ v: 1, id: 'x', amount: '1.00', note: 'Speed\u0085post' }), 'note: contains a control or invisible character (U+0085)'],
    [JSON.stringify({ v: 1, id: 'x', amount: '1.00', note: 'Pay \u202eOH' }), 'note: contains a control or invisible character (U+202E)'],
    [JSON.stringify({ v: 1, id: 'x', amount: '1.00', note: 'Speed\u200bpost' }), 'note: contains a control or invisible character (U+200B)'],
  ])('refuses %s without showing anything', (payload, problem) => {
    counter.handleCollect(Buffer.from(payload));
    expect(publisher.on('qr')).toEqual([]);
    expect(counter.health().rejected.collects).toBe(1);
    expect(counter.health().rejected.lastReason).toContain(problem);
  });
});

describe('a long outage', () => {
  it('sends every message owed, in batches, once the broker is back', async () => {
    publisher.state = 'offline';
    for (let i = 0; i < 450; i++) ledger.enqueue('receipt', JSON.stringify({ n: i }));
    const outbox = new Outbox(ledger, publisher, silentLogger());
    publisher.state = 'online';
    outbox.reconnected();
    await settle();
    await settle();
    expect(publisher.on('receipt').map((r) => (r as { n: number }).n)).toEqual(Array.from({ length: 450 }, (_, i) => i));
    expect(ledger.unsentCount()).toBe(0);
  });
});

describe('a device provisioned with a QR signing key', () => {
  it('shows signed (mode 16) QRs that verify with its public key and carry the org id', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    counter.stop();
    ledger.close();
    fixture.cleanup();
    fixture = deviceFixture({ payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO', orgId: '159012' } });
    saveSecrets(fixture.dir, { qrSigningKey: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
    config = loadConfig(fixture.configPath);
    ledger = new Ledger(config.ledgerPath, clock, { deviceId: config.settings.deviceId, retention: config.settings.retention });
    counter = build();
    counter.boot();
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    const params = parseUpiUri(sale.uri).params;
    expect([params.get('mode'), params.get('orgid')]).toEqual(['16', '159012']);
    expect(verifySignedUri(sale.uri, pair.publicKey)).toBe(true);
    expect(ledger.findSale(sale.tr)?.uri).toBe(sale.uri);
  });
});

describe('events for the billing PC', () => {
  it('records every event it reports in the ledger, in the order reported, numbered from 1', async () => {
    const first = await counter.startSale({ amount: paise(25000), ref: 'INV-1', source: 'serial' });
    const second = await counter.startSale({ amount: paise(30000), ref: 'INV-2', source: 'serial' });
    counter.handlePayment(pay(first.tr, { amount: '250.00', utr: 'LATE1' }));
    counter.handlePayment(pay(second.tr, { amount: '300.00', utr: 'FAIL1', status: 'FAILED' }));
    const third = await counter.startSale({ amount: paise(100), source: 'cli' });
    await counter.cancelSale(third.tr);
    const fourth = await counter.startSale({ amount: paise(200), source: 'cli' });
    clock.advance(120_000);
    await settle();
    expect(events.map((e) => e.type)).toEqual(['qr', 'cancelled', 'qr', 'paid', 'failed', 'qr', 'cancelled', 'qr', 'expired']);
    const logged = ledger.eventsAfter(0, 100);
    expect(logged.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(logged.map((e) => e.event)).toEqual(events);
    expect(logged.at(-1)?.event).toEqual({ type: 'expired', tr: fourth.tr, amount: 200 });
  });

  it('records a duplicate confirmation, a rejected one and a refused sale not at all', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '250.00' }));
    counter.handlePayment(pay(sale.tr, { amount: '250.00' }));
    counter.handlePayment(pay(sale.tr, { amount: '250.00', utr: 'OTHER', deviceId: 'MYS02' }));
    await expect(counter.startSale({ amount: paise(500001), source: 'serial' })).rejects.toThrow('over the per-sale limit');
    expect(ledger.eventsAfter(0, 100).map((e) => e.event.type)).toEqual(['qr', 'paid']);
  });

  it('has a payment committed just before a power cut in the ledger with its paid event', async () => {
    announcer.manual = true;
    const sale = await counter.startSale({ amount: paise(12345), ref: 'INV-9', source: 'serial' });
    counter.handlePayment(pay(sale.tr, { amount: '123.45' }));
    // Power cut: nothing after the commit happens, nobody was told.
    counter.stop();
    ledger.close();
    ledger = new Ledger(config.ledgerPath, clock, { deviceId: config.settings.deviceId, retention: config.settings.retention });
    expect(ledger.eventsAfter(1, 10)).toEqual([
      { seq: 2, at: clock.now(), event: { type: 'paid', tr: sale.tr, utr: 'UTR1', amount: 12345, asked: 12345, mismatch: false, late: false, ref: 'INV-9' } },
    ]);
    announcer = new ScriptedAnnouncer();
    counter = build();
    counter.boot();
  });

  it('records at boot the QRs that ran out while the device was off, before anyone listens', async () => {
    const sale = await counter.startSale({ amount: paise(100), ref: 'INV-5', source: 'serial' });
    counter.stop();
    clock.advance(300_000);
    counter = new Counter({
      config,
      ledger,
      lcd: new Lcd(display, clock, silentLogger(), () => config.settings.language, { kind: 'boot', firmware: 'test', deviceId: 'MYS01' }),
      announcer,
      outbox: new Outbox(ledger, publisher, silentLogger()),
      clock,
      log: silentLogger(),
      firmware: 'test',
    });
    counter.boot();
    expect(ledger.eventsAfter(1, 10).map((e) => e.event)).toEqual([{ type: 'expired', tr: sale.tr, amount: 100, ref: 'INV-5' }]);
  });
});
