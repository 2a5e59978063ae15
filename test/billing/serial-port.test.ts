import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/log.js';
import { BillingSerialPort, type SerialPortState } from '../../adapters/serial/billing-serial-port.js';
import { CounterOnBench } from './counter-on-bench.js';
import { UsbSerialAdapter } from './usb-serial-adapter.js';
import { WireTap } from './wire-tap.js';

const running: { stop(): unknown }[] = [];
const counters: CounterOnBench[] = [];
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop();
  for (const counter of counters.splice(0)) counter.close();
});

let portNumber = 0;

function setUp(options: { plugged?: boolean; retry?: { firstDelayMs?: number; maxDelayMs?: number } } = {}) {
  const clock = new ManualClock();
  const counter = CounterOnBench.open(clock);
  counters.push(counter);
  const log = silentLogger();
  const link = counter.billingLink();
  const adapter = new UsbSerialAdapter(`/dev/ttyUSB-bench-${++portNumber}`, () => clock.now(), options);
  const serial = new BillingSerialPort({
    path: adapter.path,
    baudRate: 115_200,
    clock,
    log,
    binding: adapter.binding,
    identify: adapter.identify,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const states: SerialPortState[] = [];
  serial.subscribe((state) => states.push(state));
  const tap = new WireTap(adapter.toPc);
  link.start();
  running.push(link, serial);
  return { clock, counter, link, adapter, serial, states, tap };
}

/** Resolves when the port is in `state`, now or later. */
function reach(serial: BillingSerialPort, state: SerialPortState): Promise<void> {
  if (serial.state === state) return Promise.resolve();
  return becomes(serial, state);
}

/** Resolves at the next change into `state`. */
function becomes(serial: BillingSerialPort, state: SerialPortState): Promise<void> {
  return new Promise((resolve) => {
    const off = serial.subscribe((now) => {
      if (now !== state) return;
      off();
      resolve();
    });
  });
}

describe('BillingSerialPort', () => {
  it('opens the port and puts the billing link on it', async () => {
    const { serial, adapter, tap, link } = setUp();
    serial.start(link);
    await reach(serial, 'open');
    expect(link.attached).toBe(true);
    expect(await tap.next()).toEqual([expect.objectContaining({ event: 'hello', protocol: 1 })]);
    adapter.send('{"id":"p","op":"ping"}\r\n');
    expect(await tap.reply('p')).toMatchObject({ ok: true, op: 'ping' });
  });

  it('reopens after the adapter is pulled and put back, and delivers what happened meanwhile', async () => {
    const { serial, adapter, tap, link, counter, clock, states } = setUp();
    serial.start(link);
    await reach(serial, 'open');
    adapter.send('{"id":1,"op":"sale","amount":"250.00","ref":"INV-42"}\n');
    await tap.event('qr');

    adapter.unplug();
    await reach(serial, 'waiting');
    expect(link.attached).toBe(false);
    counter.pay(counter.tr(1), 'UTRAWAY');

    // Still out at the first retry.
    const failed = becomes(serial, 'waiting');
    clock.advance(500);
    await failed;
    expect(adapter.isOpen).toBe(false);

    adapter.plugIn();
    const reopened = becomes(serial, 'open');
    clock.advance(1_000);
    await reopened;
    const [hello, paid] = await tap.next(5).then((lines) => lines.slice(3));
    expect(hello).toMatchObject({ event: 'hello' });
    expect(paid).toMatchObject({ event: 'paid', tr: counter.tr(1), utr: 'UTRAWAY', ref: 'INV-42', seq: 2 });
    adapter.send('{"id":2,"op":"status"}\n');
    expect(await tap.reply(2)).toMatchObject({ ok: true, status: { todayCount: 1, todayTotal: '250.00' } });
    expect(states).toEqual(['opening', 'open', 'waiting', 'opening', 'waiting', 'opening', 'open']);
  });

  it('notices an adapter pulled out while the port is idle, with no failed read to tell it', async () => {
    const { serial, adapter, clock, link, tap } = setUp();
    serial.start(link);
    await reach(serial, 'open');
    await tap.next(1);
    adapter.vanish();
    clock.advance(1_999);
    expect(serial.state).toBe('open');
    const gone = becomes(serial, 'waiting');
    clock.advance(1);
    await gone;
    expect(link.attached).toBe(false);
    adapter.plugIn();
    const back = becomes(serial, 'open');
    clock.advance(500);
    await back;
    expect(await tap.next(1)).toEqual([expect.objectContaining({ event: 'hello' })]);
  });

  it('notices an adapter swapped for another between two looks', async () => {
    const { serial, adapter, clock, link } = setUp();
    serial.start(link);
    await reach(serial, 'open');
    adapter.vanish();
    adapter.plugIn();
    const gone = becomes(serial, 'waiting');
    clock.advance(2_000);
    await gone;
    const back = becomes(serial, 'open');
    clock.advance(500);
    await back;
  });

  it('keeps looking while the adapter stays in', async () => {
    const { serial, clock, link } = setUp();
    serial.start(link);
    await reach(serial, 'open');
    for (let look = 0; look < 5; look++) {
      clock.advance(2_000);
      // Let the look finish before the next; the port stays open throughout.
      await new Promise((resolve) => setImmediate(resolve));
      expect(serial.state).toBe('open');
    }
    expect(link.attached).toBe(true);
    expect(clock.pending()).toBe(1);
  });

  it('waits longer between attempts while the adapter stays out, up to a ceiling', async () => {
    const { serial, adapter, clock, link } = setUp({ plugged: false, retry: { firstDelayMs: 500, maxDelayMs: 8_000 } });
    const start = clock.now();
    serial.start(link);
    await reach(serial, 'waiting');
    const delays = [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000];
    for (const [attempt, delay] of delays.entries()) {
      clock.advance(delay - 1);
      expect(adapter.openAttempts).toHaveLength(attempt + 1);
      const failedAgain = becomes(serial, 'waiting');
      clock.advance(1);
      await failedAgain;
    }
    expect(adapter.openAttempts.map((at) => at - start)).toEqual([0, 500, 1_500, 3_500, 7_500, 15_500, 23_500, 31_500]);
  });

  it('starts without the adapter and opens once it is plugged in', async () => {
    const { serial, adapter, clock, tap, link } = setUp({ plugged: false });
    serial.start(link);
    await reach(serial, 'waiting');
    adapter.plugIn();
    const opened = becomes(serial, 'open');
    clock.advance(500);
    await opened;
    expect(await tap.next()).toEqual([expect.objectContaining({ event: 'hello' })]);
  });

  it('starts again from the first delay after a successful open', async () => {
    const { serial, adapter, clock, link } = setUp({ plugged: false });
    serial.start(link);
    await reach(serial, 'waiting');
    for (const delay of [500, 1_000]) {
      const next = becomes(serial, 'waiting');
      clock.advance(delay);
      await next;
    }
    adapter.plugIn();
    const opened = becomes(serial, 'open');
    clock.advance(2_000);
    await opened;
    const attemptsBefore = adapter.openAttempts.length;
    adapter.unplug();
    await reach(serial, 'waiting');
    adapter.plugIn();
    const reopened = becomes(serial, 'open');
    clock.advance(500);
    await reopened;
    expect(adapter.openAttempts).toHaveLength(attemptsBefore + 1);
  });

  it('delivers a burst of events whole and in order: the port queues writes the hardware takes one at a time', async () => {
    const { serial, adapter, tap, counter, link } = setUp();
    serial.start(link);
    await reach(serial, 'open');
    adapter.send('{"id":1,"op":"sale","amount":"10.00"}\n');
    await tap.event('qr');
    for (let i = 0; i < 50; i++) counter.pay(counter.tr(1), `UTR${i}`);
    const lines = await tap.next(3 + 50);
    expect(lines.slice(3).map((m) => m.utr)).toEqual(Array.from({ length: 50 }, (_, i) => `UTR${i}`));
  });

  it('stops: closes the port, cancels a pending retry, lets go of the link', async () => {
    const { serial, adapter, clock, link } = setUp();
    serial.start(link);
    await reach(serial, 'open');
    await serial.stop();
    expect(serial.state).toBe('stopped');
    expect(adapter.isOpen).toBe(false);
    expect(link.attached).toBe(false);

    serial.start(link);
    await reach(serial, 'open');
    adapter.unplug();
    await reach(serial, 'waiting');
    expect(clock.pending()).toBe(1);
    await serial.stop();
    expect(clock.pending()).toBe(0);
    const attempts = adapter.openAttempts.length;
    clock.advance(60_000);
    expect(adapter.openAttempts).toHaveLength(attempts);
  });

  it('stops cleanly while an open is under way', async () => {
    const { serial, adapter, link } = setUp();
    serial.start(link);
    expect(serial.state).toBe('opening');
    await serial.stop();
    expect(serial.state).toBe('stopped');
    expect(adapter.isOpen).toBe(false);
  });

  it('refuses bad settings at construction, before touching anything', () => {
    const clock = new ManualClock();
    const base = { clock, log: silentLogger() };
    expect(() => new BillingSerialPort({ ...base, path: '', baudRate: 115_200 })).toThrow(TypeError);
    expect(() => new BillingSerialPort({ ...base, path: '/dev/ttyUSB0', baudRate: 0 })).toThrow(TypeError);
    expect(() => new BillingSerialPort({ ...base, path: '/dev/ttyUSB0', baudRate: 9600.5 })).toThrow(TypeError);
    expect(() => new BillingSerialPort({ ...base, path: '/dev/ttyUSB0', baudRate: 9600, retry: { firstDelayMs: 0 } })).toThrow(TypeError);
    expect(() => new BillingSerialPort({ ...base, path: '/dev/ttyUSB0', baudRate: 9600, watchIntervalMs: 0 })).toThrow(TypeError);
  });
});
