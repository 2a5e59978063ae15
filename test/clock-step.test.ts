/**
 * A time server correcting the wall clock while a QR is up: the QR's
 * lifetime and its countdown are timed on the monotonic clock, so a step
 * an hour either way neither ends the sale early nor keeps it up longer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paise } from '../core/money.js';
import { parseUpiUri } from '../core/sale/dynamic-qr.js';
import { Lcd } from '../core/sale/lcd.js';
import { silentLogger } from '../core/log.js';
import { CounterBench } from './support/counter-bench.js';
import { settle } from './support/stand-ins.js';

const HOUR = 3_600_000;
let bench: CounterBench;

beforeEach(() => {
  bench = new CounterBench();
  bench.counter.boot();
});
afterEach(() => bench.close());

describe.each([
  ['forward', HOUR],
  ['back', -HOUR],
])('the wall clock stepped an hour %s while a QR is up', (_way, step) => {
  it('expires the sale exactly when its lifetime has elapsed, and the countdown keeps counting', async () => {
    const sale = await bench.counter.startSale({ amount: paise(25000), source: 'serial' });
    const uri = sale.uri;
    bench.clock.advance(30_000);
    await settle();
    const from = bench.display.frames.length;
    bench.clock.stepWall(step);
    for (let i = 0; i < 3; i++) {
      bench.clock.advance(1_000);
      await settle();
    }
    expect(bench.countdowns(from)).toEqual([89, 88, 87]);

    bench.clock.advance(86_999);
    await settle();
    expect(bench.display.last?.screen).toMatchObject({ kind: 'collect', tr: sale.tr });
    expect(bench.ledger.findSale(sale.tr)?.state).toBe('showing');
    expect(bench.countdowns().at(-1)).toBe(1);

    bench.clock.advance(1);
    await settle();
    expect(bench.events.at(-1)).toEqual({ type: 'expired', tr: sale.tr, amount: 25000 });
    expect(bench.display.last?.screen).toEqual({ kind: 'expired', amount: 25000, tr: sale.tr });
    // What the customer's app checks was fixed when the QR went up.
    expect(bench.ledger.findSale(sale.tr)?.uri).toBe(uri);
    expect(parseUpiUri(uri).params.get('QRexpire')).toBe('2026-01-15T10:02:00+05:30');
  });

  it('takes a payment on the QR still up as on time, and one after its lifetime as late', async () => {
    const first = await bench.counter.startSale({ amount: paise(25000), source: 'serial' });
    bench.clock.advance(10_000);
    bench.clock.stepWall(step);
    bench.clock.advance(50_000);
    // The bank's clock is right whichever way the device's stepped: it stamps the payment a minute after the QR went up.
    bench.counter.handlePayment(bench.pay(first.tr, { amount: '250.00', utr: 'U1', paidAt: first.shownAt + 60_000 }));
    await settle();
    expect(bench.events.at(-1)).toMatchObject({ type: 'paid', tr: first.tr, late: false });

    // The next QR's times come from the wall clock as it now is.
    const second = await bench.counter.startSale({ amount: paise(100), source: 'serial' });
    expect(second.shownAt).toBe(bench.clock.now());
    bench.clock.stepWall(-step);
    bench.clock.advance(121_000);
    bench.counter.handlePayment(bench.pay(second.tr, { amount: '1.00', utr: 'U2', paidAt: second.shownAt + 121_000 }));
    await settle();
    expect(bench.events.at(-1)).toMatchObject({ type: 'paid', tr: second.tr, late: true });
    expect(bench.announcer.spoken).toEqual([
      { kind: 'payment', amount: 25000 },
      { kind: 'payment', amount: 100 },
    ]);
  });
});

describe('the countdown', () => {
  it('keeps the QR own timeline when the same QR is shown again with the wall clock’s now', async () => {
    const clock = bench.clock;
    const display = bench.display;
    const lcd = new Lcd(display, clock, silentLogger(), () => 'en', { kind: 'boot', firmware: 'test', deviceId: 'MYS01' });
    const expiresAt = clock.now() + 120_000;
    const qr = { kind: 'collect', uri: 'upi://pay?tr=MYS01-1', amount: paise(100), payeeName: 'Mysuru HO', tr: 'MYS01-1', expiresAt, now: clock.now() } as const;
    lcd.show(qr);
    clock.advance(20_000);
    clock.stepWall(HOUR);
    // As the information screen hands the QR back: with the wall clock's now.
    lcd.show({ kind: 'idle', payeeName: 'Mysuru HO', deviceId: 'MYS01' });
    lcd.show({ ...qr, now: clock.now() });
    await lcd.settled();
    await settle();
    expect(display.last?.screen).toMatchObject({ kind: 'collect', now: qr.now + 20_000 });
    lcd.stop();
  });
});
