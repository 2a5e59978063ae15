/**
 * Building blocks for hostile input: text that breaks naive text handling,
 * numbers at the edges of what JSON and doubles can say, JSON text no
 * serialiser would write (duplicate keys, NaN, deep nesting), and byte-level
 * damage (truncation, flipped bits, stray bytes).
 */
import fc, { type Arbitrary } from 'fast-check';

/** A piece of JSON text: a value as JSON.stringify writes it, or raw text no serialiser would write. */
export type Piece = { json: unknown } | { raw: string };

export const json = (value: unknown): Piece => ({ json: value });
export const raw = (text: string): Piece => ({ raw: text });

export function pieceText(piece: Piece): string {
  return 'raw' in piece ? piece.raw : (JSON.stringify(piece.json) ?? 'null');
}

/** `{"k":v,…}` from pairs in order, keys repeated as given (JSON.parse keeps the last). */
export function objectText(pairs: readonly (readonly [string, Piece])[]): string {
  return `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${pieceText(value)}`).join(',')}}`;
}

/** Direction overrides and isolates, zero-width and invisible characters, astral characters, lone surrogates, controls, JSON punctuation. */
export const AWKWARD_CHARACTERS = [
  '\u202e', '\u202d', '\u202a', '\u202b', '\u202c', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c',
  '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u180e', '\u034f',
  '\u{1F600}', '\u{1F1EE}\u{1F1F3}', '\u{10FFFF}', '\u{E0001}', '\u{1D11E}', '\u{20000}',
  '\ud800', '\udbff', '\udc00', '\udfff',
  '\u0000', '\u0007', '\b', '\t', '\n', '\r', '\u000b', '\f', '\u001b', '\u007f', '\u0085', '\u009b', '\u2028', '\u2029',
  '\ue000', '\uf8ff', '\ufffe', '\uffff', '\u0378', '\ufffd',
  'é', 'e\u0301', 'क्ष', 'क\u094d\u200dष', 'ರೂ', 'টাকা', '₹', '١', '१', '１',
  '"', '\\', '/', '{', '}', '[', ']', ',', ':', ' ', '\u00a0', '\u3000', '%', '&', '=', '?', '@',
] as const;

export const awkwardCharacter: Arbitrary<string> = fc.constantFrom(...AWKWARD_CHARACTERS);

/** Text of every kind, weighted towards the characters that have broken text handling elsewhere. */
export const awkwardText: Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.oneof(awkwardCharacter, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
);

/** Numbers at the edges: signed zero, the largest double, beyond 2^53, fractions, boundary values of the settings. */
export const strangeNumber: Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 1.5, 4, 5, 10, 11, 29, 30, 120, 121, 300, 3600, 3601, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 5e-324, 1e21),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Number text JSON.parse accepts but turns into something else (1e400 is Infinity, 9007199254740993 is …992), and number text it refuses. */
export const RAW_NUMBERS = ['1e400', '-1e400', '-0', '-0.0', '1.0', '1E0', '10e-1', '0.1e1', '9007199254740993', '-9007199254740993', '1e308', '123456789012345678901234567890', '1.0000000000000001'] as const;
export const RAW_NOT_JSON = ['NaN', 'Infinity', '-Infinity', '+1', '01', '.5', '1.', '0x10', '1_000', 'undefined', "'1'", 'True', 'nul'] as const;
const RAW_STRINGS = ['"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\u202e"', '"a\\nb"', '"a\\rb"', '"\\ufeff"', '"\\u0031.00"'] as const;

/** A value of the wrong type for almost any field, or the right type with an edge value. */
export const anyValue: Arbitrary<Piece> = fc.oneof(
  strangeNumber.map(json),
  awkwardText.map(json),
  fc.boolean().map(json),
  fc.constant(json(null)),
  fc.constantFrom(json([]), json({}), json(['1.00']), json({ amount: '1.00' })),
  fc.jsonValue({ maxDepth: 2 }).map(json),
  fc.constantFrom(...RAW_NUMBERS, ...RAW_NOT_JSON, ...RAW_STRINGS).map(raw),
);

/** Amount text the contract refuses, or that looks like an amount in some other convention. */
export const AMOUNT_SHAPES = [
  '1e3', '1E3', '1e3.00', '-1.00', '+1.00', '-0.00', '1.0', '1.000', '1', '.50', '1.', ' 1.00', '1.00 ', '1,000.00', '1 000.00', '1_000.00',
  '१००.००', '１.００', '١.٠٠', 'NaN', 'Infinity', '0x10.00', '9007199254740993.00', '9007199254740992.00', '1000000000.00', '1e308',
  '1.00\n', '1.00\u0000', '1.00\u200b', '\u202e00.1', '', ' ',
] as const;

/** Amount text the contract accepts, from the smallest to the largest. */
export const goodAmount: Arbitrary<string> = fc.oneof(
  fc.constantFrom('0.01', '0.50', '1.00', '250.00', '99999.99', '100000.00', '999999999.99'),
  fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 99 })).map(([r, p]) => `${r}.${String(p).padStart(2, '0')}`),
);

/** Amounts with leading zeros: the contract does not forbid them; the firmware reads "01.00" as one rupee. */
export const zeroLedAmount: Arbitrary<string> = fc.tuple(fc.integer({ min: 1, max: 12 }), goodAmount).map(([zeros, a]) => `${'0'.repeat(zeros)}${a}`);

export const badAmount: Arbitrary<string> = fc.oneof(
  fc.constantFrom(...AMOUNT_SHAPES),
  fc.tuple(fc.nat(), fc.nat({ max: 9999 })).map(([r, p]) => `${r}.${p}`),
  fc.bigInt({ min: 10n ** 9n, max: 10n ** 30n }).map((r) => `${r}.00`),
  awkwardText,
);

const two = (n: number) => String(n).padStart(2, '0');

/** A date and time with an offset that name a real instant. */
export const goodInstant: Arbitrary<string> = fc
  .tuple(
    fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
    fc.constantFrom('+05:30', 'Z', '+00:00', '-08:00', '+14:00', '-12:00'),
    fc.constantFrom('', '.250', '.1', '.123456789'),
  )
  .map(([d, offset, fraction]) => `${d.toISOString().slice(0, 19)}${fraction}${offset}`);

/** Times in the right shape that are no real instant, and times in the wrong shape. */
export const badInstant: Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '2026-13-15T10:01:07+05:30', '2026-00-15T10:01:07+05:30', '2026-01-00T10:01:07+05:30', '2026-01-32T10:01:07+05:30',
    '2026-02-29T10:01:07+05:30', '2026-02-30T10:01:07+05:30', '2026-04-31T10:01:07+05:30', '2100-02-29T10:01:07Z',
    '2026-01-15T24:00:00+05:30', '2026-01-15T23:60:00+05:30', '2026-01-15T23:59:61+05:30', '2026-01-15T99:99:99+05:30',
    '2026-01-15T10:01:07+24:00', '2026-01-15T10:01:07+05:60', '2026-01-15T10:01:07+99:99',
    '2026-01-15T10:01:07', '2026-01-15 10:01:07+05:30', '2026-01-15t10:01:07z', '2026-01-15T10:01+05:30',
    '2026-01-15T10:01:07.1234567890+05:30', '2026-01-15T10:01:07+0530', '२०२६-०१-१५T१०:०१:०७+०५:३०', '1768451467', '',
  ),
  fc
    .record({ y: fc.integer({ min: 0, max: 9999 }), mo: fc.integer({ min: 0, max: 19 }), d: fc.integer({ min: 0, max: 39 }), h: fc.integer({ min: 0, max: 29 }), mi: fc.integer({ min: 0, max: 69 }), s: fc.integer({ min: 0, max: 69 }) })
    .map(({ y, mo, d, h, mi, s }) => `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}+05:30`),
);

/** Deep nesting: arrays or objects `depth` levels down around `inner`. */
export function nested(depth: number, style: 'array' | 'object', inner = '1'): string {
  return style === 'array' ? `${'['.repeat(depth)}${inner}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
}

export const deepNesting: Arbitrary<{ depth: number; style: 'array' | 'object' }> = fc.record({
  depth: fc.oneof(fc.integer({ min: 1, max: 900 }), fc.constantFrom(1_000, 2_000, 5_000, 10_000)),
  style: fc.constantFrom('array' as const, 'object' as const),
});

/** Damage done to bytes on the way: cut short, a bit flipped, bytes inserted, dropped or repeated. Positions are fractions of the length. */
export type Damage =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number };

const position = fc.double({ min: 0, max: 1, noNaN: true });

export const damage: Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 6 }),
      fc.constantFrom(Uint8Array.of(0), Uint8Array.of(0x0d), Uint8Array.of(0x0a), Uint8Array.of(0xff), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xc0, 0xaf), Uint8Array.of(0xef, 0xbb, 0xbf)),
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: position, length: fc.integer({ min: 1, max: 40 }) }),
);

export function applyDamage(bytes: Buffer, damages: readonly Damage[]): Buffer {
  let out = bytes;
  for (const d of damages) {
    const at = Math.min(out.length, Math.floor(d.at * out.length));
    switch (d.kind) {
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'flip': {
        if (at >= out.length) break;
        const copy = Buffer.from(out);
        copy[at] = (copy[at] as number) ^ (1 << d.bit);
        out = copy;
        break;
      }
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), d.bytes, out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + d.length)]);
        break;
      case 'repeat':
        out = Buffer.concat([out.subarray(0, at + d.length), out.subarray(at)]);
        break;
    }
  }
  return out;
}

/** Raw bytes: short, long, or with the byte sequences that are not UTF-8 (lone surrogates, overlongs, stray continuations). */
export const rawBytes: Arbitrary<Buffer> = fc
  .oneof(
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 300, maxLength: 6_000 }) },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.constantFrom(Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xed, 0xbf, 0xbf), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0x80), Uint8Array.of(0xf4, 0x90, 0x80, 0x80), Uint8Array.of(0xfe), Uint8Array.of(0x7b), Uint8Array.of(0x22), Uint8Array.of(0x00)), { maxLength: 40 })
        .map((parts) => Buffer.concat(parts)),
    },
  )
  .map((b) => Buffer.from(b));
