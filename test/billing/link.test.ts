import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BillingLink} from '../../core/billing/link.js';
import { type BillingLinkOptions } from '../../core/billing/link.js';
import { ManualClock } from '../../core/clock.js';
import { paise } from '../../core/money.js';
import { CounterOnBench, benchFixture } from './counter-on-bench.js';
import type { DeviceFixture } from '../support/fixtures.js';
import { settle } from '../support/stand-ins.js';
import { WireTap, cable, type WireMessage } from './wire-tap.js';

const links: BillingLink[] = [];
const counters: CounterOnBench[] = [];
afterEach(() => {
  for (const link of links.splice(0)) link.stop();
  for (const counter of counters.splice(0)) counter.close();
});

function setUp(options: Partial<BillingLinkOptions> = {}) {
  const clock = new ManualClock();
  const counter = CounterOnBench.open(clock, { limit: paise(50_000_00) });
  counters.push(counter);
  const link = counter.billingLink(options);
  links.push(link);
  link.start();
  const { device, pc } = cable();
  const tap = new WireTap(pc.output);
  const session = link.attach(device);
  const send = (request: object | string): void => pc.write(`${typeof request === 'string' ? request : JSON.stringify(request)}\n`);
  return { clock, counter, link, tap, pc, send, session, device };
}

const indexOf = (tap: WireTap, message: WireMessage): number => tap.lines.indexOf(message);

describe('BillingLink', () => {
  it('greets with the protocol version when a stream is attached', async () => {
    const { tap, link } = setUp();
    expect(await tap.next()).toEqual([{ event: 'hello', protocol: 1, firmware: '0.1.0-test', deviceId: 'DAK0042', maxLine: 1024, bootId: link.bootId, lastSeq: 0 }]);
  });

  it('answers ping with the protocol, firmware and device time', async () => {
    const { tap, send } = setUp();
    send({ id: 'p1', op: 'ping' });
    expect(await tap.reply('p1')).toEqual({
      id: 'p1',
      ok: true,
      op: 'ping',
      protocol: 1,
      firmware: '0.1.0-test',
      deviceId: 'DAK0042',
      time: '2026-01-15T10:00:00+05:30',
    });
  });

  it('shows a QR for a sale: the reply first, then the qr event', async () => {
    const { tap, send, counter } = setUp();
    send({ id: 's1', op: 'sale', amount: '250.00', ref: 'INV-42', note: 'Speed post', expiresIn: 120 });
    const reply = await tap.reply('s1');
    const qr = await tap.event('qr');
    expect(counter.requests).toEqual([{ amount: 25_000, ref: 'INV-42', note: 'Speed post', expiresInSeconds: 120, source: 'serial' }]);
    expect(reply).toEqual({
      id: 's1',
      ok: true,
      op: 'sale',
      sale: {
        tr: counter.tr(1),
        amount: '250.00',
        uri: expect.stringContaining('am=250.00') as unknown,
        state: 'showing',
        source: 'serial',
        ref: 'INV-42',
        note: 'Speed post',
        shownAt: '2026-01-15T10:00:00+05:30',
        expiresAt: '2026-01-15T10:02:00+05:30',
      },
    });
    expect(qr).toEqual({
      event: 'qr',
      seq: 1,
      tr: counter.tr(1),
      amount: '250.00',
      uri: (reply.sale as WireMessage).uri,
      source: 'serial',
      ref: 'INV-42',
      note: 'Speed post',
      shownAt: '2026-01-15T10:00:00+05:30',
      expiresAt: '2026-01-15T10:02:00+05:30',
    });
    expect(indexOf(tap, reply)).toBeLessThan(indexOf(tap, qr));
  });

  it('reports a new sale replacing the one on screen after the reply that caused it', async () => {
    const { tap, send, counter } = setUp();
    send({ id: 1, op: 'sale', amount: '10.00', ref: 'A' });
    await tap.event('qr');
    send({ id: 2, op: 'sale', amount: '20.00', ref: 'B' });
    const reply = await tap.reply(2);
    const cancelled = await tap.event('cancelled');
    const qr = await tap.event('qr', (m) => m.ref === 'B');
    expect(cancelled).toEqual({ event: 'cancelled', seq: 2, tr: counter.tr(1), amount: '10.00', reason: 'superseded', ref: 'A' });
    expect(qr).toMatchObject({ seq: 3, tr: counter.tr(2), amount: '20.00' });
    expect([indexOf(tap, reply), indexOf(tap, cancelled), indexOf(tap, qr)]).toEqual(
      [indexOf(tap, reply), indexOf(tap, reply) + 1, indexOf(tap, reply) + 2],
    );
  });

  it('passes the counter\'s refusals on as BAD_FIELD naming the wire field', async () => {
    const { tap, send } = setUp();
    send({ id: 1, op: 'sale', amount: '60000.00' });
    send({ id: 2, op: 'sale', amount: '0.00' });
    send({ id: 3, op: 'sale', amount: '10.00', expiresIn: 7200 });
    expect(await tap.reply(1)).toEqual({
      id: 1,
      ok: false,
      op: 'sale',
      code: 'BAD_FIELD',
      field: 'amount',
      message: 'amount: 60000.00 is over the per-sale limit of 50000.00',
    });
    expect(await tap.reply(2)).toMatchObject({ code: 'BAD_FIELD', field: 'amount', message: 'amount: must be more than zero' });
    expect(await tap.reply(3)).toMatchObject({ code: 'BAD_FIELD', field: 'expiresIn', message: 'expiresIn: must be between 30 and 3600 seconds, got 7200' });
    expect(tap.lines.filter((m) => m.event === 'qr')).toEqual([]);
  });

  it('answers a defect inside the counter with INTERNAL, no stack trace, and carries on', async () => {
    const { tap, send, counter } = setUp();
    counter.failNextSale = new TypeError("Cannot read properties of undefined (reading 'vpa')");
    send({ id: 1, op: 'sale', amount: '10.00' });
    send({ id: 2, op: 'ping' });
    const reply = await tap.reply(1);
    expect(reply).toEqual({
      id: 1,
      ok: false,
      op: 'sale',
      code: 'INTERNAL',
      message: "the device could not carry out sale: Cannot read properties of undefined (reading 'vpa')",
    });
    expect(await tap.reply(2)).toMatchObject({ ok: true, op: 'ping' });
  });

  it('cancels the sale on screen, and says NOT_SHOWING when there is none or it is another', async () => {
    const { tap, send, counter } = setUp();
    send({ id: 'c0', op: 'cancel' });
    expect(await tap.reply('c0')).toEqual({ id: 'c0', ok: false, op: 'cancel', code: 'NOT_SHOWING', message: 'no sale is on screen' });
    send({ id: 's', op: 'sale', amount: '99.50', ref: 'INV-7' });
    await tap.reply('s');
    send({ id: 'c1', op: 'cancel', tr: 'DAK0042-999999' });
    expect(await tap.reply('c1')).toMatchObject({ code: 'NOT_SHOWING', field: 'tr', message: `sale DAK0042-999999 is not on screen (${counter.tr(1)} is)` });
    send({ id: 'c2', op: 'cancel', tr: counter.tr(1) });
    expect(await tap.reply('c2')).toMatchObject({ ok: true, op: 'cancel', sale: { tr: counter.tr(1), state: 'cancelled', amount: '99.50' } });
    expect(await tap.event('cancelled')).toEqual({ event: 'cancelled', seq: 2, tr: counter.tr(1), amount: '99.50', reason: 'clerk', ref: 'INV-7' });
  });

  it('reports payments: as asked, short, after expiry, and failed', async () => {
    const { tap, send, counter, clock } = setUp();
    send({ id: 1, op: 'sale', amount: '250.00', ref: 'INV-1' });
    await tap.reply(1);
    counter.pay(counter.tr(1), 'UTR0001');
    expect(await tap.event('paid')).toEqual({
      event: 'paid',
      seq: 2,
      tr: counter.tr(1),
      utr: 'UTR0001',
      amount: '250.00',
      asked: '250.00',
      mismatch: false,
      late: false,
      ref: 'INV-1',
    });

    send({ id: 2, op: 'sale', amount: '100.00' });
    await tap.reply(2);
    counter.pay(counter.tr(2), 'UTR0002', paise(9_000));
    expect(await tap.event('paid', (m) => m.utr === 'UTR0002')).toMatchObject({ amount: '90.00', asked: '100.00', mismatch: true, late: false });

    send({ id: 3, op: 'sale', amount: '5.00', expiresIn: 60 });
    await tap.reply(3);
    clock.advance(60_000);
    expect(await tap.event('expired')).toEqual({ event: 'expired', seq: 6, tr: counter.tr(3), amount: '5.00' });
    counter.pay(counter.tr(3), 'UTR0003');
    expect(await tap.event('paid', (m) => m.utr === 'UTR0003')).toMatchObject({ late: true, mismatch: false });

    send({ id: 4, op: 'sale', amount: '7.00' });
    await tap.reply(4);
    counter.fail(counter.tr(4), 'UTR0004');
    expect(await tap.event('failed')).toEqual({ event: 'failed', seq: 9, tr: counter.tr(4), utr: 'UTR0004', amount: '7.00' });
  });

  it('answers status with the sale on screen and the day so far', async () => {
    const { tap, send, counter } = setUp();
    send({ id: 1, op: 'sale', amount: '250.00' });
    await tap.reply(1);
    counter.pay(counter.tr(1), 'UTR1');
    send({ id: 2, op: 'sale', amount: '40.00', ref: 'INV-9' });
    send({ id: 3, op: 'status' });
    expect(await tap.reply(3)).toEqual({
      id: 3,
      ok: true,
      op: 'status',
      status: {
        deviceId: 'DAK0042',
        firmware: '0.1.0-test',
        link: 'online',
        sale: expect.objectContaining({ tr: counter.tr(2), amount: '40.00', state: 'showing', ref: 'INV-9' }) as unknown,
        todayCount: 1,
        todayTotal: '250.00',
      },
    });
  });

  it('answers every broken line with a coded error and keeps serving', async () => {
    const { tap, pc, send } = setUp();
    pc.write('AT\r\n');
    pc.write(Buffer.from([0x00, 0xff, 0x0a]));
    pc.write('{"id":1,"op":"ping"\n');
    pc.write(Buffer.concat([Buffer.from('{"id":2,"op":"ping","x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}\n')]));
    pc.write(`{"id":3,"op":"sale","note":"${'x'.repeat(2000)}"}\n`);
    send({ id: 4, op: 'refund' });
    send({ id: 5, op: 'ping', extra: true });
    send({ id: 6, op: 'ping' });
    await tap.reply(6);
    const errors = tap.lines.filter((m) => m.ok === false).map((m) => [m.id, m.code, m.field]);
    expect(errors).toEqual([
      [null, 'BAD_FRAME', undefined],
      [null, 'BAD_JSON', undefined],
      [null, 'BAD_FRAME', undefined],
      [null, 'FRAME_TOO_LONG', undefined],
      [4, 'UNKNOWN_OP', undefined],
      [5, 'BAD_FIELD', 'extra'],
    ]);
    for (const line of tap.lines) expect(JSON.stringify(line)).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('carries out pipelined requests one at a time and answers in order', async () => {
    const { tap, pc } = setUp();
    pc.write(['{"id":1,"op":"sale","amount":"1.00"}', '{"id":2,"op":"status"}', '{"id":3,"op":"cancel"}', '{"id":4,"op":"status"}', ''].join('\n'));
    await tap.reply(4);
    const replies = tap.lines.filter((m) => 'ok' in m);
    expect(replies.map((m) => m.id)).toEqual([1, 2, 3, 4]);
    expect((replies[1]?.status as WireMessage).sale).toMatchObject({ state: 'showing' });
    expect(replies[2]).toMatchObject({ ok: true, op: 'cancel' });
    expect((replies[3]?.status as WireMessage).sale).toBeNull();
  });

  it('says TIMEOUT when the counter does not answer, then serves the requests behind it', async () => {
    const { tap, send, counter, clock } = setUp({ requestTimeoutMs: 2_000 });
    counter.hangNextSale = true;
    send({ id: 1, op: 'sale', amount: '10.00' });
    send({ id: 2, op: 'ping' });
    await counter.saleRequested(1);
    clock.advance(2_000);
    const timeout = await tap.reply(1);
    expect(timeout).toEqual({
      id: 1,
      ok: false,
      op: 'sale',
      code: 'TIMEOUT',
      message: 'the device did not finish sale within 2 s; ask status to see where it stands',
    });
    // The ping waited behind the stuck sale.
    const ping = await tap.reply(2);
    expect(ping).toMatchObject({ ok: true, op: 'ping' });
    expect(indexOf(tap, timeout)).toBeLessThan(indexOf(tap, ping));
    expect(clock.pending()).toBe(0); // no request timer left behind

  });

  it('says BUSY when too many requests wait behind a slow one', async () => {
    const { tap, send, counter, clock } = setUp({ maxWaitingRequests: 3, requestTimeoutMs: 1_000 });
    counter.hangNextSale = true;
    send({ id: 'slow', op: 'sale', amount: '10.00' });
    for (let i = 1; i <= 4; i++) send({ id: i, op: 'ping' });
    expect(await tap.reply(4)).toMatchObject({ ok: false, code: 'BUSY', op: 'ping' });
    clock.advance(1_000);
    expect(await tap.reply('slow')).toMatchObject({ code: 'TIMEOUT' });
    for (const id of [1, 2, 3]) expect(await tap.reply(id)).toMatchObject({ ok: true });
  });

  it('keeps events while no billing PC is attached and delivers them after hello', async () => {
    const { tap, send, counter, link, session } = setUp();
    send({ id: 1, op: 'sale', amount: '250.00', ref: 'INV-1' });
    await tap.reply(1);
    session.detach();
    expect(link.attached).toBe(false);
    counter.pay(counter.tr(1), 'UTR9');

    const { device, pc } = cable();
    const second = new WireTap(pc.output);
    link.attach(device);
    const [hello, paid] = await second.next(2);
    expect(hello).toMatchObject({ event: 'hello' });
    expect(paid).toMatchObject({ event: 'paid', seq: 2, utr: 'UTR9', ref: 'INV-1' });
    expect(tap.lines.some((m) => m.event === 'paid')).toBe(false);
  });

  it('drops the oldest kept events past the backlog limit, leaving a gap in seq', async () => {
    const { tap, send, counter, link, session } = setUp({ backlogLimit: 2 });
    send({ id: 1, op: 'sale', amount: '1.00' });
    await tap.reply(1);
    session.detach();
    counter.pay(counter.tr(1), 'U1');
    counter.pay(counter.tr(1), 'U2');
    counter.pay(counter.tr(1), 'U3');
    const { device, pc } = cable();
    const second = new WireTap(pc.output);
    link.attach(device);
    const lines = await second.next(3);
    expect(lines.map((m) => m.event ?? null)).toEqual(['hello', 'paid', 'paid']);
    expect(lines.slice(1).map((m) => [m.seq, m.utr])).toEqual([
      [3, 'U2'],
      [4, 'U3'],
    ]);
  });

  it('lets go of a stream that closes, and a new attach replaces the old stream', async () => {
    const { tap, link, device } = setUp();
    await tap.next();
    device.destroy();
    await new Promise((resolve) => device.once('close', resolve));
    expect(link.attached).toBe(false);
    const first = cable();
    const second = cable();
    const firstTap = new WireTap(first.pc.output);
    const secondTap = new WireTap(second.pc.output);
    link.attach(first.device);
    link.attach(second.device);
    second.pc.write('{"id":1,"op":"ping"}\n');
    expect(await secondTap.reply(1)).toMatchObject({ ok: true });
    expect(firstTap.lines.map((m) => m.event)).toEqual(['hello']);
  });

  it('stops listening to the counter on stop', () => {
    const { link, counter } = setUp();
    expect(counter.subscribers).toBe(1);
    link.stop();
    expect(counter.subscribers).toBe(0);
    expect(link.attached).toBe(false);
  });

  it('refuses nonsensical options at construction', () => {
    const clock = new ManualClock();
    const counter = CounterOnBench.open(clock);
    counters.push(counter);
    expect(() => counter.billingLink({ maxWaitingRequests: 0 })).toThrow(TypeError);
    expect(() => counter.billingLink({ maxLineBytes: 4 })).toThrow(TypeError);
    expect(counter.subscribers).toBe(0);
  });
});

describe('BillingLink: finding out what happened', () => {
  it('answers events after a seq with exactly the events after it, a page at a time', async () => {
    const { tap, send, counter } = setUp();
    send({ id: 's', op: 'sale', amount: '10.00', ref: 'INV-1' });
    await tap.reply('s');
    for (let i = 1; i <= 24; i++) counter.pay(counter.tr(1), `U${i}`);
    const live = await tap.find((m) => m.seq === 25);
    const sent = tap.lines.filter((m) => typeof m.seq === 'number');
    expect(sent.map((m) => m.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(live).toMatchObject({ event: 'paid', utr: 'U24' });

    send({ id: 'e1', op: 'events', after: 3 });
    expect(await tap.reply('e1')).toEqual({ id: 'e1', ok: true, op: 'events', events: sent.slice(3, 23), more: true, lastSeq: 25 });
    send({ id: 'e2', op: 'events', after: 23 });
    expect(await tap.reply('e2')).toEqual({ id: 'e2', ok: true, op: 'events', events: sent.slice(23), more: false, lastSeq: 25 });
    send({ id: 'e3', op: 'events', after: 25 });
    expect(await tap.reply('e3')).toEqual({ id: 'e3', ok: true, op: 'events', events: [], more: false, lastSeq: 25 });
    send({ id: 'e4', op: 'events', after: 0, limit: 2 });
    expect(await tap.reply('e4')).toMatchObject({ events: [{ event: 'qr', seq: 1, ref: 'INV-1' }, { event: 'paid', seq: 2, utr: 'U1' }], more: true });
  });

  it('looks a sale up by tr or by ref, with every payment on it; says NOT_FOUND for one it does not know', async () => {
    const { tap, send, counter, clock } = setUp();
    send({ id: 1, op: 'sale', amount: '250.00', ref: 'INV-42', expiresIn: 60 });
    await tap.reply(1);
    counter.fail(counter.tr(1), 'F1');
    send({ id: 2, op: 'sale', amount: '250.00', ref: 'INV-42', expiresIn: 60 });
    await tap.reply(2);
    clock.advance(60_000);
    counter.pay(counter.tr(2), 'P1', paise(20_000));

    send({ id: 3, op: 'status', ref: 'INV-42' });
    const byRef = await tap.reply(3);
    expect(byRef).toEqual({
      id: 3,
      ok: true,
      op: 'status',
      sale: expect.objectContaining({
        tr: counter.tr(2),
        amount: '250.00',
        state: 'expired',
        ref: 'INV-42',
        payments: [{ utr: 'P1', result: 'paid', amount: '200.00', mismatch: true, late: true, receivedAt: '2026-01-15T10:01:00+05:30' }],
      }) as unknown,
      earlier: [
        expect.objectContaining({
          tr: counter.tr(1),
          state: 'failed',
          payments: [{ utr: 'F1', result: 'failed', amount: '250.00', mismatch: false, late: false, receivedAt: '2026-01-15T10:00:00+05:30' }],
        }),
      ],
    });
    send({ id: 4, op: 'status', tr: counter.tr(1) });
    const byTr = await tap.reply(4);
    expect(byTr).toEqual({ id: 4, ok: true, op: 'status', sale: (byRef.earlier as WireMessage[])[0] });

    send({ id: 5, op: 'status', tr: 'DAK0042-1' });
    expect(await tap.reply(5)).toEqual({ id: 5, ok: false, op: 'status', code: 'NOT_FOUND', field: 'tr', message: "no sale DAK0042-1 in this device's records" });
    send({ id: 6, op: 'status', ref: 'INV-404' });
    expect(await tap.reply(6)).toEqual({ id: 6, ok: false, op: 'status', code: 'NOT_FOUND', field: 'ref', message: 'no sale with ref "INV-404" in this device\'s records' });
    send({ id: 7, op: 'status' });
    expect(await tap.reply(7)).toMatchObject({ ok: true, op: 'status', status: { deviceId: 'DAK0042', sale: null } });
  });
});

describe('BillingLink across a restart', () => {
  const fixtures: DeviceFixture[] = [];
  afterEach(() => {
    for (const fixture of fixtures.splice(0)) fixture.cleanup();
  });

  function device(): { clock: ManualClock; fixture: DeviceFixture } {
    const fixture = benchFixture();
    fixtures.push(fixture);
    return { clock: new ManualClock(), fixture };
  }

  /** One run of the device on a ledger file that outlives it: the counter boots, then the link starts and a billing PC stream is attached. */
  function run({ clock, fixture }: { clock: ManualClock; fixture: DeviceFixture }) {
    const counter = CounterOnBench.open(clock, { fixture, ledgerPath: join(fixture.dir, 'ledger.sqlite') });
    counters.push(counter);
    const link = counter.billingLink();
    links.push(link);
    link.start();
    const { device, pc } = cable();
    const tap = new WireTap(pc.output);
    link.attach(device);
    const send = (request: object): void => pc.write(`${JSON.stringify(request)}\n`);
    /** The device dies: nothing after this point is written anywhere. */
    const crash = (): void => {
      link.stop();
      counter.close();
    };
    return { counter, link, tap, send, crash };
  }

  it('keeps numbering from where the last run stopped, and says in hello that it restarted', async () => {
    const bench = device();
    const first = run(bench);
    const [hello] = await first.tap.next();
    expect(hello).toEqual(expect.objectContaining({ event: 'hello', bootId: first.link.bootId, lastSeq: 0 }));
    expect(first.link.bootId).toMatch(/^[0-9a-f]{16}$/);
    first.send({ id: 1, op: 'sale', amount: '10.00' });
    await first.tap.event('qr');
    first.counter.pay(first.counter.tr(1), 'UTR1');
    first.send({ id: 2, op: 'sale', amount: '20.00' });
    await first.tap.event('qr', (m) => m.seq === 3);
    await settle();
    first.crash();

    const second = run(bench);
    const [again] = await second.tap.next();
    expect(again).toEqual(expect.objectContaining({ event: 'hello', bootId: second.link.bootId, lastSeq: 3 }));
    expect(second.link.bootId).not.toBe(first.link.bootId);
    // The QR left on screen is resumed; a new sale replaces it.
    second.send({ id: 1, op: 'sale', amount: '30.00' });
    const [reply, cancelled, qr] = await second.tap.next(3);
    expect(reply).toMatchObject({ id: 1, ok: true });
    expect(cancelled).toMatchObject({ event: 'cancelled', seq: 4, reason: 'superseded', amount: '20.00' });
    expect(qr).toMatchObject({ event: 'qr', seq: 5, amount: '30.00' });
  });

  it('tells the billing PC of a payment committed just before the device died', async () => {
    const bench = device();
    const first = run(bench);
    first.send({ id: 1, op: 'sale', amount: '250.00', ref: 'INV-42' });
    const qr = await first.tap.event('qr');
    await settle();
    // The payment is committed, and the device dies while announcing it, before its link writes a word of it.
    first.link.stop();
    first.counter.announcer.manual = true;
    first.counter.pay(qr.tr as string, 'UTR42');
    first.crash();
    expect(first.tap.lines.some((m) => m.event === 'paid')).toBe(false);

    const second = run(bench);
    const [hello, paid] = await second.tap.next(2);
    expect(hello).toMatchObject({ event: 'hello', lastSeq: 2 });
    expect(paid).toEqual({ event: 'paid', seq: 2, tr: qr.tr, utr: 'UTR42', amount: '250.00', asked: '250.00', mismatch: false, late: false, ref: 'INV-42' });
    second.send({ id: 'p', op: 'ping' });
    await second.tap.reply('p');
    // The qr, which the billing PC had, is not sent again.
    expect(second.tap.lines.map((m) => m.event ?? m.op)).toEqual(['hello', 'paid', 'ping']);
  });

  it('tells the billing PC of a QR that ran out while the device was off', async () => {
    const bench = device();
    const first = run(bench);
    first.send({ id: 1, op: 'sale', amount: '99.00', ref: 'INV-7', expiresIn: 60 });
    const qr = await first.tap.event('qr');
    await settle();
    first.crash();
    bench.clock.advance(10 * 60_000);

    const second = run(bench);
    expect(await second.tap.next(2)).toEqual([
      expect.objectContaining({ event: 'hello', lastSeq: 2 }),
      { event: 'expired', seq: 2, tr: qr.tr, amount: '99.00', ref: 'INV-7' },
    ]);
  });

  it('sends again after a restart what a stream was handed but never took', async () => {
    const bench = device();
    const first = run(bench);
    await first.tap.next();
    // The billing PC's port is open but takes nothing: writes stay pending.
    const { device: stuck } = cable();
    stuck.cork();
    first.link.attach(stuck);
    await first.counter.startSale({ amount: paise(500), source: 'mqtt' });
    first.crash();

    const second = run(bench);
    expect((await second.tap.next(2)).map((m) => [m.event, m.seq])).toEqual([
      ['hello', undefined],
      ['qr', 1],
    ]);
  });
});
