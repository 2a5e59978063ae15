import { PassThrough, Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import * as billingClient from '../../billing-client/index.js';
import { BillingClient, EventInbox, LinkError, awaitOutcome, isEvent, isReply, missedEvents, openBillingPort, type WireSale } from '../../billing-client/index.js';
import type { BillingLink } from '../../core/billing/link.js';
import { ManualClock } from '../../core/clock.js';
import { paise } from '../../core/money.js';
import { CounterOnBench } from './counter-on-bench.js';
import { nullModem } from './wire-tap.js';

/** The library a billing application imports, without the command line around it. */

const links: BillingLink[] = [];
const clients: BillingClient[] = [];
const counters: CounterOnBench[] = [];
afterEach(() => {
  for (const link of links.splice(0)) link.stop();
  for (const client of clients.splice(0)) client.close();
  for (const counter of counters.splice(0)) counter.close();
});

/** A device on the other end of a null-modem cable, and a client on this end. */
function bench() {
  const deviceClock = new ManualClock();
  const counter = CounterOnBench.open(deviceClock, { limit: paise(50_000_00) });
  counters.push(counter);
  const link = counter.billingLink();
  links.push(link);
  link.start();
  const { device, pc } = nullModem();
  link.attach(device);
  const clock = new ManualClock();
  const client = new BillingClient(pc, clock);
  clients.push(client);
  return { counter, deviceClock, device, client, clock };
}

describe('billing-client/index.ts', () => {
  it('exposes the client, its waits, the guards and the port opener', () => {
    expect(Object.keys(billingClient).sort()).toEqual([
      'BillingClient',
      'EventInbox',
      'LinkError',
      'OUTCOME_GRACE_MS',
      'awaitOutcome',
      'isEvent',
      'isOutcome',
      'isReply',
      'missedEvents',
      'openBillingPort',
    ]);
  });

  it('does not carry the command line', () => {
    expect(billingClient).not.toHaveProperty('EXIT');
    expect(billingClient).not.toHaveProperty('billingCommand');
  });
});

describe('BillingClient', () => {
  it('matches a reply to its request by id', async () => {
    const { client } = bench();
    const [ping, status] = await Promise.all([client.request({ op: 'ping' }, 5_000), client.request({ op: 'status' }, 5_000)]);
    expect(ping).toMatchObject({ ok: true, op: 'ping', deviceId: 'DAK0042' });
    expect(status).toMatchObject({ ok: true, op: 'status' });
    expect(ping.id).not.toBe(status.id);
  });

  it('hands a refusal back as a reply, not an error', async () => {
    const { client } = bench();
    expect(await client.request({ op: 'cancel' }, 5_000)).toMatchObject({ ok: false, op: 'cancel', code: 'NOT_SHOWING' });
  });

  it('rejects with LinkError when no reply comes in time', async () => {
    const clock = new ManualClock();
    const silentDevice = new PassThrough();
    silentDevice.on('data', (chunk: Buffer) => {
      if (chunk.includes('"op":"ping"')) clock.advance(2_000);
    });
    const client = new BillingClient(Duplex.from({ readable: new PassThrough(), writable: silentDevice }), clock);
    clients.push(client);
    await expect(client.request({ op: 'ping' }, 2_000)).rejects.toThrow(new LinkError('no reply to ping within 2 s'));
  });

  it('rejects with LinkError once the port has closed', async () => {
    const { client, device } = bench();
    const gone = new Promise<string>((resolve) => client.onGone(resolve));
    device.end();
    expect(await gone).toBe('the port closed');
    await expect(client.request({ op: 'ping' }, 5_000)).rejects.toBeInstanceOf(LinkError);
  });
});

describe('waiting for a sale', () => {
  const sale = async (client: BillingClient, expiresIn?: number): Promise<WireSale> => {
    const reply = await client.request({ op: 'sale', amount: '250.00', ...(expiresIn === undefined ? {} : { expiresIn }) }, 5_000);
    if (!reply.ok || reply.op !== 'sale') throw new Error(`sale refused: ${JSON.stringify(reply)}`);
    return reply.sale;
  };

  it('keeps the qr event that arrives on the heels of the reply, and gives it out once', async () => {
    const { client, clock } = bench();
    const inbox = new EventInbox(client, clock);
    const { tr } = await sale(client);
    await expect(inbox.take((e) => e.event === 'qr' && e.tr === tr, 1_000)).resolves.toMatchObject({ kind: 'event', event: { event: 'qr', tr } });
    const again = inbox.take((e) => e.event === 'qr', 1_000);
    clock.advance(1_000);
    expect(await again).toEqual({ kind: 'timeout' });
    inbox.close();
  });

  it('a wait that starts after the port has gone ends at once, saying so', async () => {
    const { client, clock, device } = bench();
    const inbox = new EventInbox(client, clock);
    const gone = new Promise<string>((resolve) => client.onGone(resolve));
    device.end();
    await gone;
    expect(await inbox.take((e) => e.event === 'qr', 1_000)).toEqual({ kind: 'gone', reason: 'the port closed' });
    inbox.close();
  });

  it('awaitOutcome resolves with the event that ends the sale', async () => {
    const { client, clock, counter } = bench();
    const inbox = new EventInbox(client, clock);
    const shown = await sale(client);
    const outcome = awaitOutcome(inbox, shown);
    counter.pay(shown.tr, 'UTR9');
    expect(await outcome).toMatchObject({ event: 'paid', tr: shown.tr, utr: 'UTR9', mismatch: false });
    inbox.close();
  });

  it('awaitOutcome says "aborted" when the signal fires first', async () => {
    const { client, clock } = bench();
    const inbox = new EventInbox(client, clock);
    const interrupt = new AbortController();
    const outcome = awaitOutcome(inbox, await sale(client), interrupt.signal);
    interrupt.abort();
    expect(await outcome).toBe('aborted');
    inbox.close();
  });

  it('awaitOutcome gives up with LinkError a grace period after the QR should have expired', async () => {
    const { client, clock } = bench();
    const inbox = new EventInbox(client, clock);
    const shown = await sale(client, 30);
    const outcome = awaitOutcome(inbox, shown);
    clock.advance(30_000 + billingClient.OUTCOME_GRACE_MS);
    await expect(outcome).rejects.toThrow(new LinkError(`no outcome for ${shown.tr}: the QR should have expired by now`));
    inbox.close();
  });
});

describe('catching up after a restart', () => {
  it('missedEvents gathers every event after a seq, a reply at a time, oldest first', async () => {
    const { client, counter } = bench();
    await client.request({ op: 'sale', amount: '10.00', ref: 'INV-1' }, 5_000);
    for (let i = 1; i <= 29; i++) counter.pay(counter.tr(1), `U${i}`);
    const asked: unknown[] = [];
    const request = client.request.bind(client);
    client.request = (r, timeoutMs) => {
      asked.push(r);
      return request(r, timeoutMs);
    };
    const missed = await missedEvents(client, 2, 5_000);
    expect(missed).toMatchObject({ ok: true, lastSeq: 30 });
    if (!missed.ok) throw new Error('refused');
    expect(missed.events.map((e) => e.seq)).toEqual(Array.from({ length: 28 }, (_, i) => i + 3));
    expect(missed.events[0]).toMatchObject({ event: 'paid', utr: 'U2', ref: 'INV-1' });
    expect(asked).toEqual([
      { op: 'events', after: 2 },
      { op: 'events', after: 22 },
    ]);
    expect(await missedEvents(client, 30, 5_000)).toEqual({ ok: true, events: [], lastSeq: 30 });
  });

  it('missedEvents hands back the refusal of a device that does not know events', async () => {
    const toPc = new PassThrough();
    const fromPc = new PassThrough();
    fromPc.on('data', (chunk: Buffer) => {
      const id = /"id":"([^"]+)"/.exec(chunk.toString())?.[1];
      if (id !== undefined) toPc.write(`${JSON.stringify({ id, ok: false, code: 'UNKNOWN_OP', message: '"events" is not an operation' })}\n`);
    });
    const client = new BillingClient(Duplex.from({ readable: toPc, writable: fromPc }), new ManualClock());
    clients.push(client);
    expect(await missedEvents(client, 0, 5_000)).toMatchObject({ ok: false, code: 'UNKNOWN_OP' });
  });

  it('asks the device about a sale by its ref', async () => {
    const { client, counter } = bench();
    await client.request({ op: 'sale', amount: '250.00', ref: 'INV-42' }, 5_000);
    counter.pay(counter.tr(1), 'UTR42');
    expect(await client.request({ op: 'status', ref: 'INV-42' }, 5_000)).toMatchObject({
      ok: true,
      op: 'status',
      sale: { tr: counter.tr(1), state: 'paid', payments: [{ utr: 'UTR42', result: 'paid', amount: '250.00', mismatch: false, late: false }] },
    });
  });
});

describe('telling replies from events', () => {
  it.each([
    [{ event: 'paid', tr: 'T1' }, true, false],
    [{ event: 'hello', protocol: 1 }, true, false],
    [{ event: 'party' }, false, false],
    [{ id: 'a-1', ok: true, op: 'ping' }, false, true],
    [{ id: null, ok: false, code: 'BAD_JSON' }, false, true],
    [{ ok: true }, false, false],
    [['event', 'paid'], false, false],
    [null, false, false],
  ])('%j: event %s, reply %s', (message, event, reply) => {
    expect(isEvent(message)).toBe(event);
    expect(isReply(message)).toBe(reply);
  });
});

describe('openBillingPort', () => {
  it('rejects with the reason when the port is not there', async () => {
    await expect(openBillingPort('/dev/dakbox-no-such-port', 115_200)).rejects.toThrow(/^cannot open \/dev\/dakbox-no-such-port: /);
  });
});
