/**
 * A counter whose clock cannot be trusted: a board without a battery clock
 * that started before reaching a time server, or a clock that reads earlier
 * than the firmware was built. No QR goes up until it can be trusted; money
 * that arrives meanwhile is still announced.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BillingLink } from '../core/billing/link.js';
import { ClockTrustRule } from '../core/clock-trust.js';
import type { Logger } from '../core/log.js';
import { paise } from '../core/money.js';
import { ClockNotSetError } from '../core/sale/counter-port.js';
import { cable, WireTap } from './billing/wire-tap.js';
import { CounterBench } from './support/counter-bench.js';
import { StandInTimeSync, recordingLogger } from './support/clock-stand-ins.js';
import { settle } from './support/stand-ins.js';

const DAY = 86_400_000;
const FAULT = { kind: 'fault', fault: 'clock', deviceId: 'MYS01' } as const;

let bench: CounterBench;
let sync: StandInTimeSync;
let log: Logger;
let lines: { msg: string; [key: string]: unknown }[];
let links: BillingLink[];

beforeEach(() => {
  ({ log, lines } = recordingLogger());
  bench = new CounterBench({ log });
  sync = new StandInTimeSync();
  sync.say('unsynchronised');
  links = [];
});
afterEach(() => {
  for (const link of links) link.stop();
  bench.close();
});

/** The device's clock check, with the firmware built `builtAgo` before the test's clock reads. */
function trust(builtAgo = DAY): ClockTrustRule {
  return new ClockTrustRule({ clock: bench.clock, sync, builtAt: bench.clock.now() - builtAgo, log });
}

/** The billing PC on the serial link to the counter now running. */
function billingPc() {
  const link = new BillingLink({ counter: bench.counter, clock: bench.clock, log });
  links.push(link);
  link.start();
  const { device, pc } = cable();
  const tap = new WireTap(pc.output);
  link.attach(device);
  return { tap, send: (request: object) => pc.write(`${JSON.stringify(request)}\n`) };
}

const collect = (id: string, amount = '99.00') => Buffer.from(JSON.stringify({ v: 1, id, amount }));

async function waitOut(ms: number): Promise<void> {
  bench.clock.advance(ms);
  await settle();
}

describe('a counter that starts before its clock is synchronised', () => {
  it('shows the clock fault, says so once, refuses sales on both links, and takes sales by itself once synchronised', async () => {
    bench.counter = bench.build(trust());
    bench.counter.boot();
    const { tap, send } = billingPc();
    await settle();
    expect(bench.display.last?.screen).toEqual(FAULT);
    expect(bench.announcer.spoken).toEqual([{ kind: 'fault', fault: 'clock' }]);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'the clock cannot be trusted; no QR is shown and new sales are refused until it can', reason: 'not synchronised with a time server yet (stand-in: unsynchronised)' }));

    send({ id: 's1', op: 'sale', amount: '250.00', ref: 'INV-42' });
    expect(await tap.reply('s1')).toEqual({
      id: 's1',
      ok: false,
      op: 'sale',
      code: 'CLOCK_NOT_SET',
      message: 'clock not set: not synchronised with a time server yet (stand-in: unsynchronised); new sales resume when it is',
    });
    bench.counter.handleCollect(collect('c-1'));
    expect(bench.counter.health().rejected).toMatchObject({ collects: 1, lastReason: expect.stringMatching(/^collect: clock not set: not synchronised/) as unknown });
    expect(bench.publisher.on('qr')).toEqual([]);
    expect(bench.ledger.showingSales()).toEqual([]);
    expect(bench.display.last?.screen).toEqual(FAULT);

    // Asked again every ten seconds; the prompt is not repeated.
    const asked = sync.asked;
    for (let i = 0; i < 3; i++) await waitOut(10_000);
    expect(sync.asked).toBe(asked + 3);
    expect(bench.announcer.spoken).toHaveLength(1);
    expect(bench.display.last?.screen).toEqual(FAULT);

    sync.say('synchronised');
    await waitOut(10_000);
    expect(bench.display.last?.screen).toEqual({ kind: 'idle', payeeName: 'Mysuru HO', deviceId: 'MYS01' });
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'the clock can be trusted now; new sales resume', reason: 'stand-in: synchronised' }));
    const askedWhenTrusted = sync.asked;
    await waitOut(60_000);
    expect(sync.asked).toBe(askedWhenTrusted);

    send({ id: 's2', op: 'sale', amount: '250.00', ref: 'INV-42' });
    expect(await tap.reply('s2')).toMatchObject({ ok: true, op: 'sale', sale: { amount: '250.00', state: 'showing', shownAt: '2026-01-15T10:01:40+05:30' } });
    expect(await tap.event('qr')).toMatchObject({ amount: '250.00', ref: 'INV-42' });
    // The refused collect left nothing behind: the backend may send the same id again.
    bench.counter.handleCollect(collect('c-1'));
    expect(bench.publisher.on('qr')).toMatchObject([{ source: 'serial' }, { source: 'mqtt', amount: '99.00' }]);
    expect(bench.announcer.spoken).toEqual([{ kind: 'fault', fault: 'clock' }]);
  });

  it('does not trust a clock that reads earlier than the firmware build, even one the system calls synchronised', async () => {
    sync.say('synchronised');
    bench.counter = bench.build(trust(-DAY));
    bench.counter.boot();
    await settle();
    expect(bench.display.last?.screen).toEqual(FAULT);
    await expect(bench.counter.startSale({ amount: paise(100), source: 'cli' })).rejects.toThrow(ClockNotSetError);
    expect(lines).toContainEqual(expect.objectContaining({ reason: 'it reads 2026-01-15T10:00:00+05:30, earlier than this firmware was built (2026-01-16T10:00:00+05:30)' }));

    bench.clock.stepWall(2 * DAY);
    await waitOut(10_000);
    expect(bench.display.last?.screen.kind).toBe('idle');
    await expect(bench.counter.startSale({ amount: paise(100), source: 'cli' })).resolves.toMatchObject({ state: 'showing' });
  });

  it('does not speak the prompt on a counter with spoken prompts switched off, but still shows the fault', async () => {
    bench.config.settings.announce.prompts = false;
    bench.counter = bench.build(trust());
    bench.counter.boot();
    await settle();
    expect(bench.display.last?.screen).toEqual(FAULT);
    expect(bench.announcer.spoken).toEqual([]);
  });

  it('keeps the boot screen while the clock is first being asked, and a sale asked for meanwhile waits for the answer', async () => {
    sync.hold();
    bench.counter = bench.build(trust());
    bench.counter.boot();
    const { tap, send } = billingPc();
    send({ id: 's1', op: 'sale', amount: '10.00' });
    bench.counter.handleCollect(collect('c-1'));
    await settle();
    expect(bench.display.frames.map((f) => f.screen.kind)).not.toContain('idle');
    expect(tap.lines.filter((l) => l.id === 's1')).toEqual([]);
    sync.say('synchronised');
    sync.answer();
    expect(await tap.reply('s1')).toMatchObject({ ok: true, sale: { amount: '10.00' } });
    await settle();
    expect((bench.publisher.on('qr') as { amount: string }[]).map((q) => q.amount).sort()).toEqual(['10.00', '99.00']);
  });
});

describe('money that arrives while the clock cannot be trusted', () => {
  it('is accepted, shown and announced; late only if its QR had been replaced, expired or cancelled', async () => {
    // The last run: one sale replaced by another, which was on screen at the power cut.
    const replaced = await bench.counter.startSale({ amount: paise(25000), source: 'serial' });
    const onScreen = await bench.counter.startSale({ amount: paise(30000), source: 'serial' });
    bench.clock.advance(20_000);
    await bench.restart(trust());
    await settle();
    expect(bench.display.last?.screen).toEqual(FAULT);
    bench.events.length = 0;

    // The customer had scanned the QR that was up: the money arrives during the fault.
    bench.counter.handlePayment(bench.pay(onScreen.tr, { amount: '300.00', utr: 'U1' }));
    await settle();
    expect(bench.events).toEqual([{ type: 'paid', tr: onScreen.tr, utr: 'U1', amount: 30000, asked: 30000, mismatch: false, late: false }]);
    expect(bench.display.last?.screen).toEqual({ kind: 'paid', amount: 30000, utr: 'U1', late: false });
    expect(bench.ledger.findSale(onScreen.tr)?.state).toBe('paid');

    bench.counter.handlePayment(bench.pay(replaced.tr, { amount: '250.00', utr: 'U2' }));
    await settle();
    expect(bench.events.at(-1)).toMatchObject({ type: 'paid', tr: replaced.tr, late: true });
    expect(bench.announcer.spoken).toEqual([
      { kind: 'fault', fault: 'clock' },
      { kind: 'payment', amount: 30000 },
      { kind: 'payment', amount: 25000 },
    ]);
    expect(bench.publisher.on('receipt')).toMatchObject([
      { utr: 'U1', outcome: 'announced' },
      { utr: 'U2', outcome: 'announced' },
    ]);

    // After the result, back to the fault, not to idle.
    await waitOut(5_000);
    expect(bench.display.last?.screen).toEqual(FAULT);
  });

  it('leaves a QR from before the start to the trusted clock: back up with what is left of its lifetime', async () => {
    const sale = await bench.counter.startSale({ amount: paise(100), source: 'serial' });
    bench.clock.advance(30_000);
    await bench.restart(trust());
    await settle();
    expect(bench.display.last?.screen).toEqual(FAULT);
    bench.events.length = 0;
    await waitOut(10_000);
    sync.say('synchronised');
    await waitOut(10_000);
    expect(bench.display.last?.screen).toMatchObject({ kind: 'collect', tr: sale.tr });
    expect(bench.countdowns().at(-1)).toBe(70);
    await waitOut(69_999);
    expect(bench.events).toEqual([]);
    await waitOut(1);
    expect(bench.events).toEqual([{ type: 'expired', tr: sale.tr, amount: 100 }]);
  });
});
