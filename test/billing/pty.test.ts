import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingSerialPort, type SerialPortState } from '../../adapters/serial/billing-serial-port.js';
import { closeSerialPort, openSerialPort } from '../../adapters/serial/serial-port.js';
import { EXIT, billingCommand } from '../../cli/billing.js';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/log.js';
import { paise } from '../../core/money.js';
import { startCable, stopCable, unplugCable, type Cable } from '../support/serial-cable.js';
import { CounterOnBench } from './counter-on-bench.js';
import { TextCapture, WireTap } from './wire-tap.js';

/**
 * The whole path a billing application uses: `dakbox billing` on one end of
 * a real pseudo-terminal pair, the device's serial adapter and link on the
 * other, socat as the cable, and the firmware's counter behind the link.
 */

/** Read through a call, so the compiler does not assume the state from an earlier look. */
function stateOf(serial: BillingSerialPort): SerialPortState {
  return serial.state;
}

function nextChange(serial: BillingSerialPort): Promise<SerialPortState> {
  return new Promise((resolve) => {
    const off = serial.subscribe((state) => {
      off();
      resolve(state);
    });
  });
}

function reach(serial: BillingSerialPort, wanted: SerialPortState): Promise<void> {
  if (serial.state === wanted) return Promise.resolve();
  return new Promise((resolve) => {
    const off = serial.subscribe((state) => {
      if (state !== wanted) return;
      off();
      resolve();
    });
  });
}

describe('billing link over a real pty pair', () => {
  const clock = new ManualClock();
  const log = silentLogger();
  const counter = CounterOnBench.open(clock);
  const link = counter.billingLink();
  let cable: Cable | undefined;
  let serial: BillingSerialPort | undefined;

  beforeAll(async () => {
    cable = await startCable();
    link.start();
    serial = new BillingSerialPort({ path: cable.devicePath, baudRate: 115_200, clock, log });
    serial.start(link);
    await reach(serial, 'open');
  });

  afterAll(async () => {
    await serial?.stop();
    link.stop();
    counter.close();
    await stopCable(cable);
  });

  const client = (args: string[]) => {
    const stdout = new TextCapture();
    const stderr = new TextCapture();
    const run = billingCommand([...args, '--port', cable?.pcPath ?? '', '--timeout', '20'], { stdout, stderr });
    return { stdout, stderr, run };
  };

  it('round-trips a sale and its payment, Unicode note and all', async () => {
    const { stdout, stderr, run } = client(['sale', '250.00', '--ref', 'INV-42', '--note', 'स्पीड पोस्ट', '--wait', '--json']);
    await stdout.printed(1);
    const qr = JSON.parse(stdout.lines[0] as string) as Record<string, unknown>;
    expect(qr).toMatchObject({ event: 'qr', amount: '250.00', ref: 'INV-42', note: 'स्पीड पोस्ट', source: 'serial' });
    counter.pay(qr.tr as string, 'UTRPTY1');
    expect(await run).toBe(EXIT.ok);
    expect(stderr.text).toBe('');
    expect(JSON.parse(stdout.lines[1] as string)).toMatchObject({
      event: 'paid',
      tr: qr.tr,
      utr: 'UTRPTY1',
      amount: '250.00',
      asked: '250.00',
      mismatch: false,
      late: false,
      ref: 'INV-42',
    });
  });

  it('cancels the sale on screen', async () => {
    const sale = client(['sale', '99.50']);
    expect(await sale.run).toBe(EXIT.ok);
    const tr = /tr=(\S+)/.exec(sale.stdout.lines[0] ?? '')?.[1];
    expect(tr).toBeDefined();
    const cancel = client(['cancel', '--tr', tr as string]);
    expect(await cancel.run).toBe(EXIT.ok);
    expect(cancel.stdout.lines).toEqual([expect.stringMatching(new RegExp(`^cancelled seq=\\d+ tr=${tr as string} amount=99\\.50 reason=clerk$`))]);
    const again = client(['cancel']);
    expect(await again.run).toBe(EXIT.refused);
    expect(again.stderr.lines).toEqual(['dakbox billing: no sale is on screen (NOT_SHOWING)']);
  });

  it('reports a QR that expires unpaid', async () => {
    const { stdout, run } = client(['sale', '10', '--expires', '60', '--wait']);
    await stdout.printed(1);
    clock.advance(60_000);
    expect(await run).toBe(EXIT.expired);
    expect(stdout.lines[1]).toMatch(/^expired seq=\d+ tr=DAK0042-[0-9A-Z]{7}-\d+ amount=10\.00$/);
  });

  it('answers status and ping, and a bad request with a coded error', async () => {
    const status = client(['status', '--json']);
    expect(await status.run).toBe(EXIT.ok);
    expect(JSON.parse(status.stdout.lines[0] as string)).toMatchObject({ ok: true, op: 'status', status: { deviceId: 'DAK0042', todayCount: 1 } });
    const ping = client(['ping']);
    expect(await ping.run).toBe(EXIT.ok);
    expect(ping.stdout.lines[0]).toMatch(/^pong protocol=1 firmware=0\.1\.0-test deviceId=DAK0042 /);
    const over = client(['sale', '200000']);
    expect(await over.run).toBe(EXIT.refused);
    expect(over.stderr.lines).toEqual(['dakbox billing: amount: 200000.00 is over the per-sale limit of 100000.00 (BAD_FIELD)']);
  });
});

describe('billing link over a real pty pair that goes away and comes back', () => {
  const clock = new ManualClock();
  const log = silentLogger();
  const counter = CounterOnBench.open(clock);
  const link = counter.billingLink();
  let cable: Cable | undefined;
  let serial: BillingSerialPort | undefined;

  afterAll(async () => {
    await serial?.stop();
    link.stop();
    counter.close();
    await stopCable(cable);
  });

  it('reopens the port and delivers what happened while it was gone', async () => {
    cable = await startCable();
    link.start();
    serial = new BillingSerialPort({ path: cable.devicePath, baudRate: 115_200, clock, log });
    serial.start(link);
    await reach(serial, 'open');

    await unplugCable(cable);
    // Whether a failed read or the watch on the device node notices first
    // is the kernel's business; the device's clock moves until one has.
    while (stateOf(serial) === 'open') {
      const moved = nextChange(serial);
      clock.advance(2_000);
      await moved;
    }
    const sale = await counter.startSale({ amount: paise(4_000), ref: 'INV-46', source: 'mqtt' });
    counter.pay(sale.tr, 'UTRAWAY');

    cable = await startCable(cable);
    // The billing PC's end is open before the device comes back, so nothing the device sends is lost.
    const pc = await openSerialPort({ path: cable.pcPath, baudRate: 115_200 });
    try {
      const tap = new WireTap(pc);
      // Move the device's clock past each pending retry until the port is back.
      while (stateOf(serial) !== 'open') {
        const moved = nextChange(serial);
        clock.advance(30_000);
        await moved;
      }
      const [hello, qr, paid] = await tap.next(3);
      expect(hello).toMatchObject({ event: 'hello', protocol: 1 });
      expect(qr).toMatchObject({ event: 'qr', seq: 1, tr: sale.tr, ref: 'INV-46', source: 'mqtt' });
      expect(paid).toMatchObject({ event: 'paid', seq: 2, tr: sale.tr, utr: 'UTRAWAY', amount: '40.00' });
      pc.write('{"id":"after","op":"ping"}\n');
      expect(await tap.reply('after')).toMatchObject({ ok: true, op: 'ping' });
    } finally {
      await closeSerialPort(pc);
    }
  });
});
