import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../core/billing/protocol.js';
import { parseRequestLine } from '../../core/billing/requests.js';
import { paise } from '../../core/money.js';

const sale = { id: 'r1', op: 'sale', amount: '250.00', ref: 'INV-42', note: 'Speed post', expiresIn: 300 };

function refusal(value: unknown): { code: string; field?: string; id: unknown; message: string } {
  const parsed = parseRequestLine(typeof value === 'string' ? value : JSON.stringify(value));
  if (parsed.ok) throw new Error(`expected a refusal, got ${JSON.stringify(parsed.request)}`);
  return parsed.reply;
}

describe('parseRequestLine', () => {
  it('reads a sale with amounts in paise', () => {
    expect(parseRequestLine(JSON.stringify(sale))).toEqual({
      ok: true,
      request: { id: 'r1', op: 'sale', amount: paise(25_000), ref: 'INV-42', note: 'Speed post', expiresIn: 300 },
    });
  });

  it('reads cancel, status and ping, with numeric ids and the protocol version', () => {
    expect(parseRequestLine('{"id":7,"op":"cancel","tr":"DAK0042-000001","v":1}')).toEqual({
      ok: true,
      request: { id: 7, op: 'cancel', tr: 'DAK0042-000001' },
    });
    expect(parseRequestLine('{"id":"a","op":"cancel"}')).toEqual({ ok: true, request: { id: 'a', op: 'cancel' } });
    expect(parseRequestLine('{"op":"status","id":0}')).toEqual({ ok: true, request: { id: 0, op: 'status' } });
    expect(parseRequestLine('{"id":"p","op":"ping"}')).toEqual({ ok: true, request: { id: 'p', op: 'ping' } });
  });

  it('reads status by tr or by ref, and events after a seq', () => {
    expect(parseRequestLine('{"id":1,"op":"status","tr":"DAK0042-1768451400"}')).toEqual({ ok: true, request: { id: 1, op: 'status', tr: 'DAK0042-1768451400' } });
    expect(parseRequestLine('{"id":2,"op":"status","ref":"INV-42"}')).toEqual({ ok: true, request: { id: 2, op: 'status', ref: 'INV-42' } });
    expect(parseRequestLine('{"id":3,"op":"status","tr":"","ref":null}')).toEqual({ ok: true, request: { id: 3, op: 'status' } });
    expect(parseRequestLine('{"id":4,"op":"events","after":41}')).toEqual({ ok: true, request: { id: 4, op: 'events', after: 41 } });
    expect(parseRequestLine('{"id":5,"op":"events","after":0,"limit":5}')).toEqual({ ok: true, request: { id: 5, op: 'events', after: 0, limit: 5 } });
  });

  it('treats null and empty optional fields as not given', () => {
    const parsed = parseRequestLine(JSON.stringify({ id: 1, op: 'sale', amount: '10.00', ref: '', note: null, expiresIn: null }));
    expect(parsed).toEqual({ ok: true, request: { id: 1, op: 'sale', amount: paise(1000) } });
  });

  it.each([
    ['amount', { ...sale, amount: '250' }],
    ['amount', { ...sale, amount: 250 }],
    ['amount', { ...sale, amount: '-5.00' }],
    ['amount', { ...sale, amount: '1e3.00' }],
    ['amount', { ...sale, amount: undefined }],
    ['ref', { ...sale, ref: 42 }],
    ['ref', { ...sale, ref: 'x'.repeat(65) }],
    ['ref', { ...sale, ref: 'INV\u000042' }],
    ['note', { ...sale, note: 'n'.repeat(51) }],
    ['note', { ...sale, note: ['Speed post'] }],
    ['note', { ...sale, note: 'line\nbreak' }],
    ['expiresIn', { ...sale, expiresIn: '300' }],
    ['expiresIn', { ...sale, expiresIn: 12.5 }],
    ['expiresIn', { ...sale, expiresIn: 5 }],
    ['expiresIn', { ...sale, expiresIn: 3_601 }],
    ['ref', { ...sale, ref: 'चालान-42' }],
    ['ammount', { ...sale, ammount: '250.00' }],
    ['tr', { id: 1, op: 'cancel', tr: 'has space' }],
    ['tr', { id: 1, op: 'cancel', tr: 17 }],
    ['tr', { id: 1, op: 'status', tr: 'has space' }],
    ['ref', { id: 1, op: 'status', ref: 'चालान-42' }],
    ['ref', { id: 1, op: 'status', tr: 'DAK-1', ref: 'INV-42' }],
    ['after', { id: 1, op: 'events' }],
    ['after', { id: 1, op: 'events', after: -1 }],
    ['after', { id: 1, op: 'events', after: 4.5 }],
    ['after', { id: 1, op: 'events', after: '41' }],
    ['limit', { id: 1, op: 'events', after: 0, limit: 0 }],
    ['limit', { id: 1, op: 'events', after: 0, limit: 21 }],
    ['since', { id: 1, op: 'events', since: 41 }],
    ['v', { id: 1, op: 'ping', v: 2 }],
    ['op', { id: 1 }],
    ['op', { id: 1, op: 3 }],
  ])('refuses a bad %s with BAD_FIELD naming it', (field, request) => {
    const reply = refusal(request);
    expect(reply).toMatchObject({ code: 'BAD_FIELD', field, id: request.id });
    expect(reply.message.startsWith(`${field}: `)).toBe(true);
  });

  it.each([
    [{ op: 'ping' }],
    [{ id: null, op: 'ping' }],
    [{ id: '', op: 'ping' }],
    [{ id: 'x'.repeat(65), op: 'ping' }],
    [{ id: -1, op: 'ping' }],
    [{ id: 1.5, op: 'ping' }],
    [{ id: { n: 1 }, op: 'ping' }],
    [{ id: 'tab\there', op: 'ping' }],
  ])('refuses a bad id %j with BAD_FIELD and no id to echo', (request) => {
    expect(refusal(request)).toMatchObject({ code: 'BAD_FIELD', field: 'id', id: null });
  });

  it('refuses an unknown operation, echoing the id', () => {
    expect(refusal({ id: 'q', op: 'refund' })).toMatchObject({ code: 'UNKNOWN_OP', id: 'q' });
  });

  it('refuses lines that are not JSON objects', () => {
    expect(refusal('AT')).toMatchObject({ code: 'BAD_FRAME', id: null });
    expect(refusal('[1,2]')).toMatchObject({ code: 'BAD_FRAME', id: null });
    expect(refusal('"ping"')).toMatchObject({ code: 'BAD_FRAME', id: null });
    expect(refusal('{"id":1,"op":"ping"')).toMatchObject({ code: 'BAD_JSON', id: null });
    expect(refusal('{"id":1}{"id":2}')).toMatchObject({ code: 'BAD_JSON', id: null });
    expect(refusal("{'id':1}")).toMatchObject({ code: 'BAD_JSON', id: null });
  });

  it('gives a field nobody asked for, even __proto__, no way in', () => {
    expect(refusal('{"id":1,"op":"ping","__proto__":{"op":"sale"}}')).toMatchObject({ code: 'BAD_FIELD', field: '__proto__' });
  });

  it('answers every mutation of a valid request with a request or a coded refusal, never a throw', () => {
    const base = JSON.stringify(sale);
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const alphabet = '{}[]":,.0123456789-eE tnrufalsid\\\u00e9';
    for (let round = 0; round < 2000; round++) {
      const chars = [...base];
      for (let edits = 1 + random(4); edits > 0; edits--) {
        const at = random(chars.length);
        const pick = random(3);
        if (pick === 0) chars.splice(at, 1);
        else if (pick === 1) chars.splice(at, 0, alphabet[random(alphabet.length)] as string);
        else chars[at] = alphabet[random(alphabet.length)] as string;
      }
      const parsed = parseRequestLine(chars.join(''));
      if (!parsed.ok) {
        expect(ERROR_CODES).toContain(parsed.reply.code);
        expect(parsed.reply.code).not.toBe('INTERNAL');
        expect(parsed.reply.message).not.toMatch(/\n\s+at /);
      }
    }
  });
});
