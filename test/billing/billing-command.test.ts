import { PassThrough, Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT, billingCommand, type BillingCommandIo } from '../../cli/billing.js';
import type { BillingLink } from '../../core/billing/link.js';
import { ManualClock } from '../../core/clock.js';
import { DEFAULT_SERIAL_BAUD_RATE, deviceConfigSchema } from '../../core/config.js';
import { paise } from '../../core/money.js';
import { CounterOnBench } from './counter-on-bench.js';
import { TextCapture, nullModem } from './wire-tap.js';

const links: BillingLink[] = [];
const counters: CounterOnBench[] = [];
afterEach(() => {
  for (const link of links.splice(0)) link.stop();
  for (const counter of counters.splice(0)) counter.close();
});

/** A device on the other end of a null-modem cable, and the client's view of the world. */
function bench() {
  const deviceClock = new ManualClock();
  const counter = CounterOnBench.open(deviceClock, { limit: paise(50_000_00) });
  counters.push(counter);
  const link = counter.billingLink();
  links.push(link);
  link.start();
  const stdout = new TextCapture();
  const stderr = new TextCapture();
  const opened: string[] = [];
  const devices: Duplex[] = [];
  let closed = 0;
  const io: BillingCommandIo = {
    stdout,
    stderr,
    clock: new ManualClock(),
    openPort: (path, baudRate) => {
      opened.push(`${path}@${baudRate}`);
      const { device, pc } = nullModem();
      devices.push(device);
      link.attach(device);
      return Promise.resolve({
        stream: pc,
        close: () => {
          closed++;
          return Promise.resolve();
        },
      });
    },
  };
  return { counter, deviceClock, io, stdout, stderr, opened, devices, closedCount: () => closed };
}

const port = ['--port', '/dev/ttyUSB0'];

describe('dakbox billing: arguments', () => {
  it.each([
    [[], 'command'],
    [['refund', ...port], 'command'],
    [['sale', ...port], 'amount'],
    [['sale', '-5', ...port], 'amount'],
    [['sale', 'abc', ...port], 'amount'],
    [['sale', '250.555', ...port], 'amount'],
    [['sale', '1e3', ...port], 'amount'],
    [['sale', '250.00'], '--port'],
    [['sale', '250.00', '--port'], '--port'],
    [['sale', '250.00', ...port, '--baud', 'fast'], '--baud'],
    [['sale', '250.00', ...port, '--baud', '0'], '--baud'],
    [['sale', '250.00', ...port, '--expires', '5'], '--expires'],
    [['sale', '250.00', ...port, '--expires', '1.5'], '--expires'],
    [['sale', '250.00', ...port, '--timeout', 'soon'], '--timeout'],
    [['sale', '250.00', ...port, '--colour', 'red'], '--colour'],
    [['sale', '250.00', ...port, '--wait=yes'], '--wait'],
    [['sale', '250.00', '99', ...port], 'amount'],
    [['status', ...port, '--wait'], '--wait'],
    [['status', ...port, '--tr', 'X', '--ref', 'Y'], '--ref'],
    [['ping', ...port, '--ref', 'INV-1'], '--ref'],
    [['events', ...port], '--after'],
    [['events', ...port, '--after', '-1'], '--after'],
    [['events', ...port, '--after', 'last'], '--after'],
    [['events', ...port, '--after', '3', '--count', '2'], '--count'],
    [['cancel', 'now', ...port], 'cancel'],
    [['listen', ...port, '--count', '0'], '--count'],
    [['ping', ...port, ...port], '--port'],
  ])('%j: exit 2 and one line naming %s', async (argv, field) => {
    const { io, stdout, stderr, opened } = bench();
    expect(await billingCommand(argv, io)).toBe(EXIT.usage);
    expect(stderr.lines).toHaveLength(1);
    expect(stderr.lines[0]).toMatch(new RegExp(`^dakbox billing: ${field.replace(/[-]/g, '\\-')}: `));
    expect(stderr.text).not.toMatch(/\n\s+at /);
    expect(stdout.text).toBe('');
    expect(opened).toEqual([]);
  });

  it('prints usage for --help', async () => {
    const { io, stdout } = bench();
    expect(await billingCommand(['--help'], io)).toBe(EXIT.ok);
    expect(stdout.text).toMatch(/^usage: dakbox billing <command>/);
  });

  it('--help lists every option and what every exit code means', async () => {
    const { io, stdout, stderr } = bench();
    expect(await billingCommand(['--help'], io)).toBe(EXIT.ok);
    for (const option of ['--port', '--baud', '--json', '--timeout', '--ref', '--note', '--expires', '--wait', '--tr', '--count', '--after']) {
      expect(stdout.text).toMatch(new RegExp(`${option}\\b`));
    }
    for (const code of Object.values(EXIT)) expect(stdout.text).toMatch(new RegExp(`^ +${code}  \\S`, 'm'));
    expect(stdout.text).toContain('  130  interrupted while waiting\n');
    expect(stderr.text).toBe('');
  });

  it('says in one line when the port cannot be opened', async () => {
    const { io, stderr } = bench();
    io.openPort = () => Promise.reject(new Error("cannot open /dev/ttyUSB9: Error: No such file or directory, cannot open /dev/ttyUSB9"));
    expect(await billingCommand(['ping', '--port', '/dev/ttyUSB9'], io)).toBe(EXIT.link);
    expect(stderr.lines).toEqual(['dakbox billing: cannot open /dev/ttyUSB9: Error: No such file or directory, cannot open /dev/ttyUSB9']);
  });
});

describe('dakbox billing: talking to the device', () => {
  it('sale prints the qr event and exits 0, opening the port at the baud rate asked', async () => {
    const { io, stdout, counter, opened, closedCount } = bench();
    const code = await billingCommand(['sale', '250', '--ref', 'INV-42', '--note', 'Speed post', '--baud', '9600', ...port], io);
    expect(code).toBe(EXIT.ok);
    expect(opened).toEqual(['/dev/ttyUSB0@9600']);
    expect(counter.requests).toEqual([{ amount: 25_000, ref: 'INV-42', note: 'Speed post', source: 'serial' }]);
    expect(stdout.lines).toHaveLength(1);
    expect(stdout.lines[0]).toMatch(
      new RegExp(String.raw`^qr seq=1 tr=${counter.tr(1)} amount=250\.00 uri=upi://pay\?\S+ source=serial ref=INV-42 note="Speed post" shownAt=2026-01-15T10:00:00\+05:30 expiresAt=2026-01-15T10:05:00\+05:30$`),
    );
    expect(closedCount()).toBe(1);
  });

  it('opens the port at the speed the device uses unless told otherwise', async () => {
    const { io, opened } = bench();
    expect(await billingCommand(['ping', ...port], io)).toBe(EXIT.ok);
    expect(opened).toEqual([`/dev/ttyUSB0@${DEFAULT_SERIAL_BAUD_RATE}`]);
    expect(deviceConfigSchema.shape.serial.parse({ path: '/dev/ttyS0' })?.baudRate).toBe(DEFAULT_SERIAL_BAUD_RATE);
  });

  it('--json prints the wire objects themselves', async () => {
    const { io, stdout } = bench();
    expect(await billingCommand(['sale', '99.5', '--expires', '60', '--json', ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ event: 'qr', seq: 1, amount: '99.50', expiresAt: '2026-01-15T10:01:00+05:30' }),
    ]);
  });

  it.each([
    ['paid as asked', EXIT.ok, (c: CounterOnBench): void => c.pay(c.tr(1), 'UTR1'), 'paid'],
    ['paid short', EXIT.mismatch, (c: CounterOnBench): void => c.pay(c.tr(1), 'UTR1', paise(20_000)), 'paid'],
    ['failed', EXIT.failed, (c: CounterOnBench): void => c.fail(c.tr(1), 'UTR1'), 'failed'],
    [
      'replaced by another sale',
      EXIT.cancelled,
      (c: CounterOnBench): void => void c.startSale({ amount: paise(100), source: 'mqtt' }),
      'cancelled',
    ],
  ])('sale --wait: %s exits %i', async (_, exit, outcome, event) => {
    const { io, stdout, counter } = bench();
    const run = billingCommand(['sale', '250.00', '--wait', '--json', ...port], io);
    await counter.saleRequested(1);
    outcome(counter);
    expect(await run).toBe(exit);
    const printed = stdout.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(printed.map((m) => m.event)).toEqual(['qr', event]);
    expect(printed[1]).toMatchObject({ tr: counter.tr(1) });
  });

  it('sale --wait: an expired QR exits 6, and human output reads as key=value', async () => {
    const { io, stdout, stderr, deviceClock, counter } = bench();
    const run = billingCommand(['sale', '10', '--expires', '30', '--wait', ...port], io);
    await stdout.printed(1);
    deviceClock.advance(30_000);
    const code = await run;
    expect(stderr.lines).toEqual([]);
    expect(code).toBe(EXIT.expired);
    expect(stdout.lines[1]).toBe(`expired seq=2 tr=${counter.tr(1)} amount=10.00`);
  });

  it('sale --wait ignores events and replies that are not its own', async () => {
    const { io, stdout, counter } = bench();
    await billingCommand(['sale', '1.00', ...port], io);
    stdout.text = '';
    const run = billingCommand(['sale', '2.00', '--wait', ...port], io);
    await counter.saleRequested(2);
    counter.pay(counter.tr(1), 'UTROLD');
    counter.pay(counter.tr(2), 'UTRNEW');
    expect(await run).toBe(EXIT.ok);
    expect(stdout.lines.map((line) => line.split(' ')[0])).toEqual(['qr', 'paid']);
    expect(stdout.lines[1]).toContain('utr=UTRNEW');
    expect(stdout.lines[1]).toContain('mismatch=no late=no');
  });

  it('a refused sale exits 1 with the device\'s reason in one line', async () => {
    const { io, stdout, stderr } = bench();
    expect(await billingCommand(['sale', '60000', ...port], io)).toBe(EXIT.refused);
    expect(stderr.lines).toEqual(['dakbox billing: amount: 60000.00 is over the per-sale limit of 50000.00 (BAD_FIELD)']);
    expect(stdout.text).toBe('');
  });

  it('a refused request in --json mode prints the error reply', async () => {
    const { io, stdout } = bench();
    expect(await billingCommand(['cancel', '--json', ...port], io)).toBe(EXIT.refused);
    expect(JSON.parse(stdout.lines[0] as string)).toMatchObject({ ok: false, code: 'NOT_SHOWING', op: 'cancel' });
  });

  it('cancel prints the cancelled event', async () => {
    const { io, stdout, counter } = bench();
    await billingCommand(['sale', '75.25', '--ref', 'INV-3', ...port], io);
    expect(await billingCommand(['cancel', '--tr', counter.tr(1), ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines[1]).toBe(`cancelled seq=2 tr=${counter.tr(1)} amount=75.25 reason=clerk ref=INV-3`);
  });

  it('status and ping print one line each (status adds the sale on screen)', async () => {
    const { io, stdout, counter } = bench();
    expect(await billingCommand(['ping', ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines).toEqual(['pong protocol=1 firmware=0.1.0-test deviceId=DAK0042 time=2026-01-15T10:00:00+05:30']);
    stdout.text = '';
    await billingCommand(['sale', '5', ...port], io);
    stdout.text = '';
    expect(await billingCommand(['status', ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines[0]).toBe('status deviceId=DAK0042 firmware=0.1.0-test link=online todayCount=0 todayTotal=0.00');
    expect(stdout.lines[1]).toMatch(new RegExp(String.raw`^sale tr=${counter.tr(1)} amount=5\.00 .*state=showing`));
  });

  it('status --ref prints the sale and each payment on it; an unknown one is refused', async () => {
    const { io, stdout, stderr, counter } = bench();
    await billingCommand(['sale', '250', '--ref', 'INV-42', ...port], io);
    counter.pay(counter.tr(1), 'UTR42', paise(20_000));
    stdout.text = '';
    expect(await billingCommand(['status', '--ref', 'INV-42', ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines).toEqual([
      expect.stringMatching(new RegExp(String.raw`^sale tr=${counter.tr(1)} amount=250\.00 uri=\S+ state=paid source=serial ref=INV-42 `)),
      `payment tr=${counter.tr(1)} utr=UTR42 result=paid amount=200.00 mismatch=yes late=no receivedAt=2026-01-15T10:00:00+05:30`,
    ]);
    stdout.text = '';
    expect(await billingCommand(['status', '--tr', counter.tr(1), '--json', ...port], io)).toBe(EXIT.ok);
    expect(JSON.parse(stdout.lines[0] as string)).toMatchObject({ ok: true, op: 'status', sale: { tr: counter.tr(1), payments: [{ utr: 'UTR42' }] } });
    expect(await billingCommand(['status', '--ref', 'INV-404', ...port], io)).toBe(EXIT.refused);
    expect(stderr.lines).toEqual(['dakbox billing: no sale with ref "INV-404" in this device\'s records (NOT_FOUND)']);
  });

  it('events --after prints every event after that seq, oldest first', async () => {
    const { io, stdout, counter } = bench();
    await billingCommand(['sale', '1.00', '--ref', 'INV-1', ...port], io);
    for (let i = 1; i <= 24; i++) counter.pay(counter.tr(1), `U${i}`);
    stdout.text = '';
    expect(await billingCommand(['events', '--after', '1', ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines).toHaveLength(24);
    expect(stdout.lines[0]).toBe(`paid seq=2 tr=${counter.tr(1)} utr=U1 amount=1.00 asked=1.00 mismatch=no late=no ref=INV-1`);
    expect(stdout.lines.map((line) => /seq=(\d+)/.exec(line)?.[1])).toEqual(Array.from({ length: 24 }, (_, i) => String(i + 2)));
    stdout.text = '';
    expect(await billingCommand(['events', '--after', '24', '--json', ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines.map((line) => JSON.parse(line) as unknown)).toEqual([expect.objectContaining({ event: 'paid', seq: 25, utr: 'U24' })]);
    stdout.text = '';
    expect(await billingCommand(['events', '--after', '25', ...port], io)).toBe(EXIT.ok);
    expect(stdout.text).toBe('');
  });

  it('listen --count prints events as they come', async () => {
    const { io, stdout, counter } = bench();
    const run = billingCommand(['listen', '--count', '3', '--json', ...port], io);
    void counter.startSale({ amount: paise(1234), source: 'mqtt', ref: 'M-1' });
    counter.pay(counter.tr(1), 'U1');
    expect(await run).toBe(EXIT.ok);
    // The bench attaches the link when the port opens, so its hello comes first.
    expect(stdout.lines.map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['hello', 'qr', 'paid']);
  });

  it('starts on a clean line even when the device holds half a line from before', async () => {
    const { io, stdout } = bench();
    const open = io.openPort;
    io.openPort = async (path, baud) => {
      const port = await open!(path, baud);
      // What a previous client killed mid-write leaves in the device's reader.
      port.stream.write('{"id":"old","op":"sa');
      return port;
    };
    expect(await billingCommand(['ping', ...port], io)).toBe(EXIT.ok);
    expect(stdout.lines[0]).toMatch(/^pong /);
  });

  it('exits 3 when no reply comes in time', async () => {
    const stdout = new TextCapture();
    const stderr = new TextCapture();
    const clock = new ManualClock();
    const silentDevice = new PassThrough();
    const stream = Duplex.from({ readable: new PassThrough(), writable: silentDevice });
    // Time passes once the request is on the wire, not at the newline the client sends first.
    silentDevice.on('data', (chunk: Buffer) => {
      if (chunk.includes('"op":"ping"')) clock.advance(5_000);
    });
    const code = await billingCommand(['ping', ...port], {
      stdout,
      stderr,
      clock,
      openPort: () => Promise.resolve({ stream, close: () => Promise.resolve() }),
    });
    expect(code).toBe(EXIT.link);
    expect(stderr.lines).toEqual(['dakbox billing: no reply to ping within 5 s']);
  });

  it('exits 3 when the port goes away while waiting for the outcome', async () => {
    const { io, stdout, stderr, devices, counter } = bench();
    const run = billingCommand(['sale', '1', '--wait', ...port], io);
    await stdout.printed(1);
    devices.at(-1)?.end();
    expect(await run).toBe(EXIT.link);
    expect(stderr.lines).toEqual([`dakbox billing: the port closed before sale ${counter.tr(1)} ended`]);
  });

  it('exits 3 when the port closes on the heels of the sale\'s reply', async () => {
    const stdout = new TextCapture();
    const stderr = new TextCapture();
    const toPc = new PassThrough();
    const fromPc = new PassThrough();
    const sale = { tr: 'DAK0042-000001', amount: '1.00', uri: 'upi://pay', state: 'showing', source: 'serial', shownAt: '2026-01-15T10:00:00+05:30', expiresAt: '2026-01-15T10:05:00+05:30' };
    fromPc.on('data', (chunk: Buffer) => {
      const id = /"id":"([^"]+)"/.exec(chunk.toString())?.[1];
      // The reply and the end of the stream arrive together, as when the cable is pulled right after.
      if (id !== undefined) toPc.end(`${JSON.stringify({ id, ok: true, op: 'sale', sale })}\n`);
    });
    const code = await billingCommand(['sale', '1', '--wait', ...port], {
      stdout,
      stderr,
      clock: new ManualClock(),
      openPort: () => Promise.resolve({ stream: Duplex.from({ readable: toPc, writable: fromPc }), close: () => Promise.resolve() }),
    });
    expect(stderr.lines).toEqual(['dakbox billing: the port closed before sale DAK0042-000001 ended']);
    expect(code).toBe(EXIT.link);
    expect(stdout.lines).toEqual([expect.stringMatching(/^qr tr=DAK0042-000001 amount=1\.00 /)]);
  });

  it('stops waiting when interrupted', async () => {
    const { io, stdout } = bench();
    const interrupt = new AbortController();
    io.signal = interrupt.signal;
    const run = billingCommand(['sale', '1', '--wait', ...port], io);
    await stdout.printed(1);
    interrupt.abort();
    expect(await run).toBe(EXIT.interrupted);
  });
});
