import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { SerialPortStream } from '@serialport/stream';
import { closeSerialPort, openSerialPort } from '../../adapters/serial/serial-port.js';
import { ManualClock } from '../../core/clock.js';
import { paise } from '../../core/money.js';
import { openUnreadPty, type UnreadPty } from '../support/unread-pty.js';
import { CounterOnBench } from './counter-on-bench.js';
import { WireTap, type WireMessage } from './wire-tap.js';

/**
 * A billing PC that writes and never reads, over a real pseudo-terminal: what the device queues for it must stay bounded, and nothing it is
 * owed may be lost once it reads again.
 */

const BAD_LINES = 100_000;
const LINES_PER_WRITE = 1_000;
const SALES = 5;

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

describe('billing link over a real pty pair whose billing PC never reads', () => {
  const clock = new ManualClock();
  const counter = CounterOnBench.open(clock);
  const link = counter.billingLink();
  let pty: UnreadPty | undefined;
  let device: SerialPortStream | undefined;

  afterAll(async () => {
    link.stop();
    if (device) await closeSerialPort(device);
    counter.close();
    await pty?.close();
  });

  it('keeps its output bounded through 100,000 bad lines, then answers every request and delivers every event', { timeout: 60_000 }, async () => {
    pty = await openUnreadPty();
    const pc = pty;
    link.start();
    device = await openSerialPort({ path: pty.devicePath, baudRate: 115_200 });
    device.on('error', () => undefined);
    link.attach(device);

    const heapBefore = heapUsed();
    let maxQueued = 0;
    const watchedDevice = device;
    const sampler = setInterval(() => {
      maxQueued = Math.max(maxQueued, watchedDevice.writableLength);
    }, 5);
    const started = Date.now();
    const sales: string[] = [];
    try {
      const chunk = 'AT\r\n'.repeat(LINES_PER_WRITE / 2) + '{"id":1,"op":"sale"\n'.repeat(LINES_PER_WRITE / 2);
      for (let written = 0; written < BAD_LINES; written += LINES_PER_WRITE) {
        await pc.write(chunk);
        // Let the device read while the flood goes on, as it would on a real line.
        await sleep(1);
        maxQueued = Math.max(maxQueued, device.writableLength);
        if (written % (BAD_LINES / SALES) === 0) {
          // Payments keep happening on the counter's other sources while the billing PC is not reading.
          const sale = await counter.startSale({ amount: paise(1_000 + sales.length), ref: `FLOOD-${sales.length}`, source: 'mqtt' });
          counter.pay(sale.tr, `UTRFLOOD${sales.length}`);
          sales.push(sale.tr);
          // Past the result screen, so the counter takes the next sale.
          clock.advance(10_000);
        }
      }
      // Requests the device must answer, sent while the PC is still not reading.
      for (let i = 0; i < 20; i++) await pc.write(`{"id":"p${i}","op":"ping"}\n`);
      await sleep(1_000);
      maxQueued = Math.max(maxQueued, device.writableLength);
    } finally {
      clearInterval(sampler);
    }
    const heapGrowth = heapUsed() - heapBefore;
    const floodMs = Date.now() - started;
    console.log(`flood of ${BAD_LINES} bad lines: ${floodMs} ms, most queued on the device ${maxQueued} bytes, heap growth ${(heapGrowth / 1e6).toFixed(1)} MB`);
    expect(maxQueued).toBeLessThan(2 * 1024 * 1024);
    // Without a forced collection the heap figure is noisy (10 to 19 MB here); the old unbounded queue grew it by 45 MB.
    expect(heapGrowth).toBeLessThan(32 * 1024 * 1024);

    // The billing PC reads at last.
    const tap = new WireTap(pc.output);
    pc.startReading();
    // Every request is answered: carried out, or refused BUSY past the 8 that may wait.
    for (let i = 0; i < 20; i++) {
      const reply = await tap.reply(`p${i}`);
      expect(reply.ok === true ? reply : { ...reply, ok: reply.code === 'BUSY' }).toMatchObject({ ok: true, op: 'ping' });
    }
    const summary = await tap.find((m) => m.id === null && typeof m.message === 'string' && m.message.includes('went unanswered'));
    expect(summary).toMatchObject({ ok: false });
    for (const [i, tr] of sales.entries()) {
      expect(await tap.event('qr', (m) => m.tr === tr)).toMatchObject({ ref: `FLOOD-${i}` });
      expect(await tap.event('paid', (m) => m.tr === tr)).toMatchObject({ utr: `UTRFLOOD${i}` });
    }
    const seqs = tap.lines.filter((m: WireMessage) => typeof m.event === 'string' && m.event !== 'hello').map((m) => m.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBe(SALES * 2);

    // A normal sale afterwards.
    void pc.write('{"id":"after","op":"sale","amount":"321.00","ref":"AFTER"}\n');
    expect(await tap.reply('after')).toMatchObject({ ok: true, op: 'sale', sale: { amount: '321.00' } });
    const qr = await tap.event('qr', (m) => m.ref === 'AFTER');
    counter.pay(qr.tr as string, 'UTRAFTER');
    expect(await tap.event('paid', (m) => m.tr === qr.tr)).toMatchObject({ utr: 'UTRAFTER', amount: '321.00' });
  });
});
