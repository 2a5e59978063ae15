/**
 * A billing PC that sends anything: at least 100,000 lines over an
 * in-memory serial cable into the real billing link on a whole device (real
 * Counter, Ledger, Announcer with a recording speaker). Random bytes,
 * over-long lines, lines split at any byte, NUL and CR, requests with wrong
 * types, unknown operations, huge ids, every kind of Unicode. Each line is
 * judged by docs/billing-protocol.md (test/support/contract-oracle.ts): a
 * blank line gets nothing, every other line exactly one reply, a bad one
 * `ok: false` with the code the protocol names, and nothing is heard but the
 * chime of a QR a good sale put up.
 *
 *   DAKBOX_FUZZ_SEED=<seed> replays a run; DAKBOX_FUZZ_RUNS=<n> sets its size.
 */
import { formatIst } from '../../core/clock.js';
import fc, { type Arbitrary } from 'fast-check';
import { sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sentence } from '../../core/announce/words.js';
import { ERROR_CODES } from '../../core/billing/protocol.js';
import { formatWireAmount, paise } from '../../core/money.js';
import { contractSignedText, judgeLine, splitLines, type LineVerdict } from '../support/contract-oracle.js';
import { FuzzDevice, runCount, runSeed } from '../support/fuzz-device.js';
import {
  RAW_NOT_JSON,
  RAW_NUMBERS,
  anyValue,
  applyDamage,
  awkwardText,
  badAmount,
  damage,
  goodAmount,
  json,
  nested,
  objectText,
  raw,
  rawBytes,
  strangeNumber,
  type Piece,
} from '../support/hostile-inputs.js';

const SEED = runSeed();
const RUNS = runCount(100_000);
const SALE_LIMIT = 100_000_00;

// ---------------------------------------------------------------- lines

type Message = Record<string, unknown>;

/** Good values for each field of each operation. */
const goodId: Arbitrary<Piece> = fc.oneof(fc.nat().map(json), fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/).map(json), fc.constantFrom(json(0), json('INV-42/1'), json('बिल-1')));
const goodRef = fc.oneof(fc.stringMatching(/^[\x20-\x7e]{1,64}$/), fc.constantFrom('INV-42', ''));
const goodNote = fc.oneof(fc.constantFrom('Speed post', 'स्पीड पोस्ट', 'রেজিস্টার্ড পোস্ট', 'ಸ್ಪೀಡ್ ಪೋಸ್ಟ್', ''), fc.string({ minLength: 1, maxLength: 50 }));

function orBad(good: Arbitrary<Piece>, bad: Arbitrary<Piece> = anyValue, goodWeight = 6): Arbitrary<Piece> {
  return fc.oneof({ weight: goodWeight, arbitrary: good }, { weight: 1, arbitrary: bad });
}

function optional(field: Arbitrary<Piece>, absent = 1, present = 1): Arbitrary<Piece | undefined> {
  return fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: present, arbitrary: field });
}

const hugeId: Arbitrary<Piece> = fc.oneof(
  fc.constantFrom(...RAW_NUMBERS).map(raw),
  fc.constantFrom(json(2 ** 53), json(Number.MAX_SAFE_INTEGER), json(-1), json(1.5), json(1e308), json(-0)),
  fc.string({ minLength: 60, maxLength: 70 }).map(json),
  fc.string({ unit: 'grapheme', minLength: 30, maxLength: 70 }).map(json),
  awkwardText.map(json),
);

const operation: Arbitrary<Piece> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('sale', 'sale', 'sale', 'cancel', 'status', 'ping').map(json) },
  { weight: 1, arbitrary: fc.constantFrom('refund', 'SALE', 'Sale', 'sale ', 'pay', 'ping\u0000', 'ｓａｌｅ', 'sal\u200be', '__proto__', 'constructor', 'toString').map(json) },
  { weight: 1, arbitrary: fc.oneof(anyValue, awkwardText.map(json)) },
);

/** A request: every field good or bad, fields missing, unknown fields, keys twice. */
const request: Arbitrary<[string, Piece][]> = fc
  .record({
    id: optional(fc.oneof({ weight: 8, arbitrary: goodId }, { weight: 1, arbitrary: hugeId }, { weight: 1, arbitrary: anyValue }), 1, 30),
    op: optional(operation, 1, 40),
    v: optional(orBad(fc.constant(json(1)), fc.oneof(anyValue, fc.constantFrom(json(2), json('1'), raw('1.0')))), 8),
    amount: optional(fc.oneof({ weight: 8, arbitrary: goodAmount.map(json) }, { weight: 2, arbitrary: badAmount.map(json) }, { weight: 1, arbitrary: anyValue }), 1, 8),
    ref: optional(orBad(goodRef.map(json), fc.oneof(anyValue, awkwardText.map(json), fc.string({ minLength: 65, maxLength: 80 }).map(json)))),
    note: optional(orBad(goodNote.map(json), fc.oneof(anyValue, awkwardText.map(json), fc.string({ minLength: 51, maxLength: 60 }).map(json)))),
    expiresIn: optional(orBad(fc.integer({ min: 30, max: 3600 }).map(json), fc.oneof(strangeNumber.map(json), anyValue))),
    tr: optional(orBad(fc.stringMatching(/^[A-Za-z0-9_-]{1,35}$/).map(json), fc.oneof(anyValue, fc.constantFrom(json('has space'), json('x'.repeat(36)))))),
    extra: fc.oneof({ weight: 12, arbitrary: fc.constant<[string, Piece][]>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom('reference', 'Amount', '__proto__', 'constructor', 'amount '), awkwardText), anyValue), { minLength: 1, maxLength: 2 }) }),
    dup: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ key: fc.constantFrom('id', 'op', 'amount', 'v', 'tr'), value: anyValue, after: fc.boolean() }) }),
    reverse: fc.boolean(),
  })
  .map((r) => {
    // Fields that belong to the operation, mostly; now and then those of another.
    const op = r.op && 'json' in r.op ? r.op.json : undefined;
    const own = op === 'sale' ? ['amount', 'ref', 'note', 'expiresIn'] : op === 'cancel' ? ['tr'] : [];
    const fields: [string, Piece | undefined][] = [
      ['id', r.id],
      ['op', r.op],
      ['v', r.v],
      ...(['amount', 'ref', 'note', 'expiresIn', 'tr'] as const).map((k): [string, Piece | undefined] => [k, own.includes(k) || r.extra.length > 0 ? r[k] : undefined]),
    ];
    let pairs = fields.filter((f): f is [string, Piece] => f[1] !== undefined);
    if (r.reverse) pairs.reverse();
    if (r.dup) pairs = r.dup.after ? [...pairs, [r.dup.key, r.dup.value]] : [[r.dup.key, r.dup.value], ...pairs];
    return [...pairs, ...r.extra];
  });

const padding = fc.constantFrom('', '', '', ' ', '\t', '\r', '\u0000', '\u0000\u0000', '\u00ff', '\u007f', '\u0011', '\u0013', ' \r');

/** One line's bytes, without its newline. */
const line: Arbitrary<Buffer> = fc.oneof(
  // Requests, mostly well-formed, with line noise at the ends and a CRLF now and then.
  { weight: 12, arbitrary: fc.tuple(padding, request, padding).map(([a, pairs, b]) => Buffer.concat([latin1(a), Buffer.from(objectText(pairs)), latin1(b)])) },
  // Requests damaged on the way: cut short, a bit flipped, NUL or CR inside, bytes repeated.
  { weight: 3, arbitrary: fc.tuple(request, fc.array(damage, { minLength: 1, maxLength: 3 })).map(([pairs, d]) => applyDamage(Buffer.from(objectText(pairs)), d)) },
  // Random bytes, of any length.
  { weight: 3, arbitrary: rawBytes },
  // Blank lines, which are ignored.
  { weight: 1, arbitrary: fc.array(padding, { maxLength: 6 }).map((p) => latin1(p.join(''))) },
  // Over-long lines, and lines at the limit.
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer({ min: 1000, max: 1030 }).map((n) => sized(n)),
      fc.integer({ min: 1025, max: 5000 }).map((n) => sized(n)),
      fc.tuple(fc.integer({ min: 1020, max: 1030 }), fc.boolean()).map(([n, cr]) => Buffer.concat([sized(n), cr ? Buffer.from('\r') : Buffer.alloc(0)])),
      fc.uint8Array({ minLength: 1025, maxLength: 3000 }).map((b) => Buffer.from(b.map((x) => (x === 0x0a ? 0x20 : x)))),
    ),
  },
  // Not one JSON object: text, arrays, two objects, nesting, numbers JSON.parse cannot read.
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom('AT', 'ATZ', '+++', '[]', '{}', '{"id":1,"op":"ping"}{"id":2,"op":"ping"}', '{"id":1,"op":"ping"', 'null', '"ping"', '\ufeff{"id":1,"op":"ping"}').map((t) => Buffer.from(t)),
      fc.tuple(fc.integer({ min: 1, max: 600 }), fc.constantFrom('array' as const, 'object' as const)).map(([d, s]) => Buffer.from(nested(d, s))),
      fc.integer({ min: 1, max: 300 }).map((d) => Buffer.from(`{"id":1,"op":"ping","v":${nested(d, 'array')}}`)),
      fc.constantFrom(...RAW_NOT_JSON).map((t) => Buffer.from(`{"id":${t},"op":"ping"}`)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))),
    ),
  },
);

function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** A sale request padded out with its note to exactly `bytes`. */
function sized(bytes: number): Buffer {
  const bare = Buffer.byteLength(JSON.stringify({ id: 1, op: 'sale', amount: '1.00', ref: '' }));
  return Buffer.from(JSON.stringify({ id: 1, op: 'sale', amount: '1.00', ref: 'x'.repeat(Math.max(0, bytes - bare)) }));
}

interface SerialCase {
  lines: Buffer[];
  /** Where the bytes are cut into separate writes, as fractions of their length. */
  cuts: number[];
  /** Let the device run between the pieces, as a slow cable does. */
  pause: boolean;
  advanceMs: number;
}

const serialCase: Arbitrary<SerialCase> = fc.record({
  lines: fc.oneof(
    { weight: 20, arbitrary: fc.tuple(line).map((l) => l) },
    { weight: 2, arbitrary: fc.array(line, { minLength: 2, maxLength: 4 }) },
    // A burst of good requests without waiting: the ninth waiting is told BUSY.
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 14 }).map((n) => Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify({ id: `burst-${i}`, op: i % 3 ? 'ping' : 'status' })))) },
  ),
  cuts: fc.oneof({ weight: 3, arbitrary: fc.constant<number[]>([]) }, { weight: 2, arbitrary: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }) }),
  pause: fc.boolean(),
  advanceMs: fc.oneof({ weight: 40, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 5_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 400_000 }) }),
});

// ---------------------------------------------------------------- the billing PC's end

/** Reads what the device writes to the billing PC: replies and events, one JSON object a line. */
class BillingPc {
  readonly replies: Message[] = [];
  readonly events: Message[] = [];
  garbled: string[] = [];
  private buffer = '';
  private wake: (() => void) | undefined;

  constructor(output: NodeJS.ReadableStream) {
    output.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        const text = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        let message: Message;
        try {
          message = JSON.parse(text) as Message;
        } catch {
          this.garbled.push(text);
          continue;
        }
        if ('event' in message) this.events.push(message);
        else this.replies.push(message);
      }
      this.wake?.();
    });
  }

  /** Resolves when at least `count` replies have come, or after `ms` of real time. */
  async replyCount(count: number, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.replies.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    this.wake = undefined;
  }

  take(): { replies: Message[]; events: Message[] } {
    return { replies: this.replies.splice(0), events: this.events.splice(0) };
  }
}

// ---------------------------------------------------------------- the runs

const crashes: unknown[] = [];
const onRejection = (reason: unknown): void => void crashes.push(reason);
const onException = (err: unknown): void => void crashes.push(err);

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  console.log(`hostile serial input: seed ${SEED}, ${RUNS} cases (DAKBOX_FUZZ_SEED=${SEED} replays)`);
});

afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
});

afterEach(() => {
  expect(crashes, 'unhandled rejections or exceptions during the run').toEqual([]);
});

function shown(bytes: Buffer): string {
  const cut = bytes.subarray(0, 300);
  return `${bytes.length} bytes: ${JSON.stringify(cut.toString('latin1'))}${bytes.length > 300 ? '…' : ''} (base64 ${cut.toString('base64')})`;
}

function must(condition: boolean, what: string, bytes: Buffer, seen: unknown): asserts condition {
  if (!condition) throw new Error(`${what}\n  input: ${shown(bytes)}\n  device wrote: ${JSON.stringify(seen).slice(0, 1500)}\n  replay: DAKBOX_FUZZ_SEED=${SEED} DAKBOX_FUZZ_RUNS=${RUNS}`);
}

/** Writes the bytes in pieces, cut where the case says. */
async function send(fuzz: FuzzDevice, bytes: Buffer, cuts: number[], pause: boolean): Promise<void> {
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to <= from) continue;
    fuzz.pc?.write(bytes.subarray(from, to));
    from = to;
    if (pause) await new Promise((resolve) => setImmediate(resolve));
  }
}

function checkReply(v: LineVerdict, reply: Message | undefined, bytes: Buffer, seen: unknown, showing: { tr: string } | undefined, limit: number): void {
  must(reply !== undefined, 'a line got no reply', bytes, seen);
  if (v.reply === 'refuse') {
    must(reply.ok === false, `a line the protocol refuses (${v.code}) was carried out`, bytes, seen);
    must(reply.code === v.code, `expected ${v.code}, the device said ${String(reply.code)}`, bytes, seen);
    must(reply.id === v.id, `the refusal carries id ${JSON.stringify(reply.id)}, not ${JSON.stringify(v.id)}`, bytes, seen);
    must(typeof reply.message === 'string' && reply.message.length > 0, 'a refusal without a message', bytes, seen);
    if (v.code === 'BAD_FIELD') must(reply.field === v.field, `BAD_FIELD names ${String(reply.field)}, not ${String(v.field)}`, bytes, seen);
    return;
  }
  if (v.reply !== 'carry-out') throw new Error('a blank line has no reply to check');
  must(reply.id === v.id && reply.op === v.op, 'the reply does not answer the request', bytes, seen);
  switch (v.op) {
    case 'sale': {
      const sale = reply.sale as Message | undefined;
      must(reply.ok === true && sale?.amount === formatWireAmount(paise(v.amount ?? 0)) && sale.state === 'showing' && sale.source === 'serial', `a good sale (limit ${limit}) was not put up`, bytes, seen);
      return;
    }
    case 'cancel': {
      const possible = showing !== undefined && (v.tr === undefined || v.tr === showing.tr);
      if (possible) must(reply.ok === true && (reply.sale as Message | undefined)?.state === 'cancelled', 'a cancel of the sale on screen was not carried out', bytes, seen);
      else must(reply.ok === false && reply.code === 'NOT_SHOWING', 'a cancel with nothing to cancel was not refused as NOT_SHOWING', bytes, seen);
      return;
    }
    case 'status':
      // A sale looked up by tr or ref may be one this device never rang up.
      if (v.tr !== undefined || v.ref !== undefined) must(reply.ok === true || reply.code === 'NOT_FOUND', 'a status by tr or ref was neither answered nor NOT_FOUND', bytes, seen);
      else must(reply.ok === true, 'status was refused', bytes, seen);
      return;
    case 'events':
    case 'ping':
      must(reply.ok === true, `${v.op} was refused`, bytes, seen);
      return;
  }
}

describe('hostile lines from the billing PC', () => {
  let fuzz: FuzzDevice;
  let pc: BillingPc;
  beforeAll(async () => {
    fuzz = new FuzzDevice({ seed: SEED, billing: true, brokerless: true });
    if (!fuzz.pc) throw new Error('no billing cable');
    pc = new BillingPc(fuzz.pc.output);
    await fuzz.settled();
    expect(pc.take().events).toEqual([expect.objectContaining({ event: 'hello', protocol: 1, maxLine: 1024 })]);
  });
  afterAll(async () => {
    await fuzz?.stop();
  });

  it(`answers every line but blank ones exactly once, refuses the bad ones with their code, and stays silent (${RUNS} cases)`, async () => {
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    const tally: Record<string, number> = {};
    const bump = (key: string) => (tally[key] = (tally[key] ?? 0) + 1);
    let lines = 0;
    let seq = 0;
    let sales = 0;
    await fc.assert(
      fc.asyncProperty(serialCase, async (c) => {
        if (c.advanceMs) fuzz.clock.advance(c.advanceMs);
        await fuzz.settled();
        const before = pc.take();
        for (const e of before.events) must(e.seq === ++seq, 'an event out of sequence', Buffer.alloc(0), e);
        fuzz.take();
        const bytes = Buffer.concat([...c.lines.flatMap((l) => [l, Buffer.from('\n')])]);
        const { lines: parts } = splitLines(bytes);
        const verdicts = parts.map((p) => judgeLine(p, SALE_LIMIT));
        const answered = verdicts.filter((v) => v.reply !== 'none');
        const showing = fuzz.device.counter.status().sale;
        lines += parts.length;
        await send(fuzz, bytes, c.cuts, c.pause);
        await pc.replyCount(answered.length);
        await fuzz.settled();
        const { replies, events } = pc.take();
        const fx = fuzz.take();
        const seen = { replies, events, heard: fx.heard };
        must(pc.garbled.length === 0, `the device wrote a line that is not JSON: ${pc.garbled[0] ?? ''}`, bytes, seen);
        must(replies.length === answered.length, `${answered.length} replies due, ${replies.length} came`, bytes, seen);
        for (const r of replies) must(r.ok === true || (r.ok === false && (ERROR_CODES as readonly unknown[]).includes(r.code)), 'a reply that is neither ok nor a refusal with a known code', bytes, seen);
        if (answered.length === 1) {
          checkReply(answered[0] as LineVerdict, replies[0], bytes, seen, showing, SALE_LIMIT);
        } else {
          // Several lines at once: refusals of broken lines come at once, carried-out requests in turn; BUSY beyond eight waiting.
          const want = answered.filter((v) => v.reply === 'refuse').map((v) => (v.reply === 'refuse' ? v.code : '')).sort();
          // BUSY, NOT_SHOWING and NOT_FOUND answer good requests the device's state cannot carry out, not broken lines.
          const got = replies.filter((r) => r.ok === false && r.code !== 'BUSY' && r.code !== 'NOT_SHOWING' && r.code !== 'NOT_FOUND').map((r) => String(r.code)).sort();
          must(JSON.stringify(want) === JSON.stringify(got), `refusals ${JSON.stringify(got)}, the protocol says ${JSON.stringify(want)}`, bytes, seen);
        }
        const put = replies.filter((r) => r.ok === true && r.op === 'sale').length;
        sales += put;
        must(events.filter((e) => e.event === 'qr').length === put, 'a qr event for each sale put up, and none for anything else', bytes, seen);
        for (const e of events) must(e.seq === ++seq, 'an event out of sequence', bytes, seen);
        must(fx.heard.every((h) => h.sound === 'chime') && fx.heard.length === put, 'the device made a sound other than the chime of a new QR', bytes, seen);
        for (const v of verdicts) bump(v.reply === 'refuse' ? v.code : v.reply === 'carry-out' ? `ok ${v.op}` : 'blank');
        if (c.cuts.length) bump('cut into pieces');
        if (c.lines.length > 1) bump('several lines at once');
        for (const r of replies) if (r.code === 'BUSY') bump('BUSY');
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuAtStart);
    const table = Object.entries(tally)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `    ${k}: ${n}`);
    console.log(`serial: ${RUNS} cases, ${lines} lines in ${(ms / 1000).toFixed(1)} s (${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of CPU), ${sales} sales put up, seed ${SEED}\n${table.join('\n')}`);
    expect(lines).toBeGreaterThanOrEqual(RUNS);
    expect(fuzz.speaker.heard.filter((h) => h.sound === 'speech')).toEqual([]);

    // After the noise, a normal sale from the billing PC to the announcement.
    fuzz.take();
    pc.take();
    fuzz.pc?.write('{"id":"after","op":"sale","amount":"250.00","ref":"INV-42","note":"Speed post"}\n');
    await pc.replyCount(1);
    await fuzz.settled();
    const { replies, events } = pc.take();
    const sale = replies[0]?.sale as Message | undefined;
    expect(replies).toEqual([expect.objectContaining({ id: 'after', ok: true, op: 'sale' })]);
    expect(events.some((e) => e.event === 'qr' && e.tr === sale?.tr)).toBe(true);
    const tr = String(sale?.tr);
    const fields = { deviceId: 'MYS01', tr, utr: '888000111222', amount: '250.00', status: 'SUCCESS', paidAt: formatIst(fuzz.clock.now()) };
    const sig = sign(null, contractSignedText(fields), fuzz.keys.privateKey).toString('base64');
    fuzz.take();
    await fuzz.deliver('payment', Buffer.from(JSON.stringify({ v: 1, ...fields, sig })));
    await fuzz.settled();
    const fx = fuzz.take();
    expect(fx.heard).toEqual([{ sound: 'speech', utterance: expect.objectContaining({ text: sentence({ kind: 'payment', amount: paise(25_000) }, 'en') }) as unknown }]);
    expect(pc.take().events).toEqual([expect.objectContaining({ event: 'paid', tr, utr: '888000111222', amount: '250.00', mismatch: false, late: false, ref: 'INV-42' })]);
    expect(fuzz.lastReceipt('888000111222')).toMatchObject({ tr, outcome: 'announced' });
  }, 600_000);

  it('reads a line the same however it is cut, at every byte', async () => {
    const samples = [
      '{"id":"cut-1","op":"sale","amount":"12.50","note":"स्पीड पोस्ट ಸ್ಪೀಡ್","ref":"INV-7"}\r',
      '{"id":"cut-2","op":"sale","amount":"12.50","note":"\u{1F600}"}',
      '\u0000 {"id":"cut-3","op":"refund"} \u0000',
      '{"id":"cut-4","op":"ping"',
      '{"id":"cut-5","op":"ping",\u0001"v":1}',
    ].map((t) => Buffer.from(t));
    for (const sample of samples) {
      const whole = Buffer.concat([sample, Buffer.from('\n')]);
      fuzz.pc?.write(whole);
      await pc.replyCount(1);
      await fuzz.settled();
      const expected = pc.take().replies.map(strip);
      expect(expected).toHaveLength(1);
      for (let at = 1; at < whole.length; at++) {
        fuzz.pc?.write(whole.subarray(0, at));
        await new Promise((resolve) => setImmediate(resolve));
        fuzz.pc?.write(whole.subarray(at));
        await pc.replyCount(1);
        await fuzz.settled();
        expect(pc.take().replies.map(strip), `cut at byte ${at} of ${shown(whole)}`).toEqual(expected);
      }
      // And one byte at a time.
      for (const byte of whole) fuzz.pc?.write(Buffer.of(byte));
      await pc.replyCount(1);
      await fuzz.settled();
      expect(pc.take().replies.map(strip), `byte by byte: ${shown(whole)}`).toEqual(expected);
    }
  });
});

/** A reply without what changes from one sale to the next. */
function strip(reply: Message): Message {
  const sale = reply.sale as Message | undefined;
  if (!sale) return reply;
  const { tr: _tr, uri: _uri, shownAt: _s, expiresAt: _e, ...rest } = sale;
  return { ...reply, sale: rest };
}
