import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { SerialPortStream } from '@serialport/stream';
import { closeSerialPort, openSerialPort } from '../../adapters/serial/serial-port.js';
import { ManualClock } from '../../core/clock.js';
import { openUnreadPty, type UnreadPty } from '../support/unread-pty.js';
import { CounterOnBench } from './counter-on-bench.js';
import { WireTap } from './wire-tap.js';

/**
 * A burst whose replies fill the line while the billing PC is not yet
 * reading, then one more byte from the PC that needs no answer: the device
 * waits to write and to read at the same time. Once the PC reads, every
 * reply must arrive without the PC writing another byte. With the serial
 * library's poller alone, the wait to read replaced the wait to write, and
 * the replies sat unsent until the PC wrote again.
 */
describe('replies over a real pty after a burst the billing PC reads late', () => {
  const clock = new ManualClock();
  const counter = CounterOnBench.open(clock);
  const link = counter.billingLink();
  let pty: UnreadPty | undefined;
  let device: SerialPortStream | undefined;

  afterEach(async () => {
    link.stop();
    if (device) await closeSerialPort(device);
    await pty?.close();
  });

  it.each(Array.from({ length: 10 }, (_, i) => i + 1))('burst %i: every reply arrives with no further byte from the PC', { timeout: 10_000 }, async (burst) => {
    pty = await openUnreadPty();
    link.start();
    device = await openSerialPort({ path: pty.devicePath, baudRate: 115_200 });
    device.on('error', () => undefined);
    link.attach(device);
    // Refusals that fill the line (about 100 bytes each), requests between them.
    let text = '';
    for (let i = 0; i < 400; i++) text += i % 50 === 49 ? `{"id":"b${burst}-${i}","op":"ping"}\n` : 'AT\n';
    await pty.write(text);
    // The device now waits for room to write. Requests trickling in make it
    // read while that write waits: each read and each write that finds no
    // room ask the library to wait, and the last to ask must not win.
    await sleep(100);
    for (let i = 0; i < 20; i++) {
      await pty.write(`{"id":"t${burst}-${i}","op":"ping"}\n`);
      await sleep(10);
    }
    await sleep(100);
    const tap = new WireTap(pty.output);
    pty.startReading();
    for (let i = 49; i < 400; i += 50) expect(await tap.reply(`b${burst}-${i}`)).toMatchObject({ ok: true, op: 'ping' });
    for (let i = 0; i < 20; i++) expect(await tap.reply(`t${burst}-${i}`)).toMatchObject({ ok: true, op: 'ping' });
  });
});
