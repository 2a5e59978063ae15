/**
 * A broker that cannot be trusted: at least 100,000 hostile messages on the
 * device's three inbound topics (payment, collect, config/set), handed to
 * the handlers the MQTT link calls, on a whole device (real Counter, Ledger
 * on a SQLite file, Announcer with a recording speaker); then a smaller
 * sample over a real mosquitto. Every message is judged by the contract as
 * written in docs/contracts.md (test/support/contract-oracle.ts) and the
 * device must have done exactly that: refused with a reason and in silence,
 * or accepted and spoken once. Nothing may throw.
 *
 *   DAKBOX_FUZZ_SEED=<seed> replays a run; DAKBOX_FUZZ_RUNS=<n> sets its size.
 */
import { formatIst } from '../../core/clock.js';
import fc, { type Arbitrary } from 'fast-check';
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sentence } from '../../core/announce/words.js';
import type { Language } from '../../core/language.js';
import type { InboundTopic } from '../../core/link/topics.js';
import { formatWireAmount, paise } from '../../core/money.js';
import { remoteView } from '../../core/config.js';
import {
  LANGUAGE_CODES,
  contractSignedText,
  judgeCollect,
  judgeConfigSet,
  judgePayment,
  type CollectVerdict,
  type ConfigVerdict,
  type PaymentVerdict,
  type RemoteChange,
} from '../support/contract-oracle.js';
import { FuzzDevice, runCount, runSeed, seededNotifierKeys, type Effects } from '../support/fuzz-device.js';
import {
  anyValue,
  applyDamage,
  awkwardCharacter,
  awkwardText,
  badAmount,
  badInstant,
  damage,
  deepNesting,
  goodAmount,
  goodInstant,
  json,
  nested,
  objectText,
  raw,
  rawBytes,
  strangeNumber,
  zeroLedAmount,
  type Damage,
  type Piece,
} from '../support/hostile-inputs.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';

const SEED = runSeed();
const RUNS = runCount(100_000);
const WIRE_RUNS = Math.min(2_000, RUNS);
const DEVICE_ID = 'MYS01';

// ---------------------------------------------------------------- inputs

/** Either `some` or nothing, `none` times in `none + some`. */
function maybe<T>(arbitrary: Arbitrary<T>, none: number, some = 1): Arbitrary<T | undefined> {
  return fc.oneof({ weight: none, arbitrary: fc.constant(undefined) }, { weight: some, arbitrary });
}

function mostly<T>(good: Arbitrary<T>, bad: Arbitrary<T>, goodWeight = 9, badWeight = 1): Arbitrary<T> {
  return fc.oneof({ weight: goodWeight, arbitrary: good }, { weight: badWeight, arbitrary: bad });
}

const noDamage = fc.oneof({ weight: 19, arbitrary: fc.constant<Damage[]>([]) }, { weight: 1, arbitrary: fc.array(damage, { minLength: 1, maxLength: 3 }) });

const SIGNATURE_DAMAGE = ['flip', 'random', 'short', 'long', 'url-safe', 'unpadded', 'spaced', 'other-fields', 'empty', 'stranger'] as const;
type SignatureDamage = 'none' | (typeof SIGNATURE_DAMAGE)[number];
const PAYMENT_FIELDS = ['v', 'deviceId', 'tr', 'utr', 'amount', 'status', 'paidAt', 'payer', 'sig'] as const;

const freshUtr = fc.oneof(fc.bigInt({ min: 10n ** 11n, max: 10n ** 12n - 1n }).map(String), fc.stringMatching(/^[A-Za-z0-9]{1,35}$/));
const badUtr = fc.oneof(fc.constantFrom('', 'UTR-1', 'UTR 1', 'UTR_1', 'x'.repeat(36), '４１２', '412\u200b345'), awkwardText);
const foreignTr = fc.oneof(
  fc.nat({ max: 1_000_000 }).map((n) => `${DEVICE_ID}-${n}`),
  fc.constantFrom('MYS02-1768451400', 'mys01-1768451400', `${DEVICE_ID}-1768451400x`),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,35}$/),
);
const badTr = fc.oneof(fc.constantFrom('', `${DEVICE_ID} 1768451400`, 'x'.repeat(36), `${DEVICE_ID}-१`, `${DEVICE_ID}-1768451400\n`), awkwardText);

interface SignedRecipe {
  tr: { pick: number } | { text: string };
  utr: { reuse: number } | { text: string };
  deviceId: string;
  amount: string;
  status: string;
  paidAt: string;
  payer: string | undefined;
  signature: SignatureDamage;
  v: Piece;
  drop: string | undefined;
  override: [string, Piece] | undefined;
  dup: { key: string; value: Piece; after: boolean } | undefined;
  extra: [string, Piece][];
  reverse: boolean;
  damage: Damage[];
}

const signedRecipe: Arbitrary<SignedRecipe> = fc.record({
  tr: fc.oneof(
    { weight: 16, arbitrary: fc.nat().map((pick) => ({ pick })) },
    { weight: 2, arbitrary: foreignTr.map((text) => ({ text })) },
    { weight: 1, arbitrary: badTr.map((text) => ({ text })) },
  ),
  utr: fc.oneof(
    { weight: 16, arbitrary: freshUtr.map((text) => ({ text })) },
    { weight: 2, arbitrary: fc.nat().map((reuse) => ({ reuse })) },
    { weight: 1, arbitrary: badUtr.map((text) => ({ text })) },
  ),
  deviceId: mostly(fc.constant(DEVICE_ID), fc.oneof(fc.constantFrom('MYS02', 'mys01', 'MYS01 ', ' MYS01', 'MYS010', 'MYS0', '', 'x'.repeat(21)), awkwardText), 19, 1),
  amount: fc.oneof({ weight: 16, arbitrary: goodAmount }, { weight: 1, arbitrary: zeroLedAmount }, { weight: 3, arbitrary: badAmount }),
  status: mostly(fc.constantFrom('SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILED'), fc.constantFrom('success', 'PENDING', 'SUCCESS ', '', 'SUCCES', 'FAILED\n', 'ＳＵＣＣＥＳＳ'), 19, 1),
  paidAt: mostly(goodInstant, badInstant, 17, 3),
  payer: maybe(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('ravi.kumar@okaxis', '9876543210@ybl', 'a@b', '', 'no-at-sign') },
      { weight: 2, arbitrary: awkwardText },
      { weight: 1, arbitrary: fc.string({ unit: awkwardCharacter, minLength: 40, maxLength: 120 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 90, maxLength: 110 }) },
    ),
    1,
    2,
  ),
  signature: fc.oneof({ weight: 17, arbitrary: fc.constant<SignatureDamage>('none') }, { weight: 3, arbitrary: fc.constantFrom(...SIGNATURE_DAMAGE) }),
  v: mostly(fc.constant(json(1)), fc.oneof(anyValue, fc.constantFrom(json(2), json('1'), json(1.5), raw('1.0'), raw('1e0'), raw('-0'))), 39, 1),
  drop: maybe(fc.constantFrom(...PAYMENT_FIELDS), 39),
  override: maybe(fc.tuple(fc.constantFrom(...PAYMENT_FIELDS), anyValue), 29),
  dup: maybe(
    fc.record({
      key: fc.constantFrom(...PAYMENT_FIELDS),
      value: fc.oneof(anyValue, goodAmount.map(json), fc.constantFrom(json('MYS02'), json('FAILED'), json('SUCCESS'), json('99999.00'), json(1))),
      after: fc.boolean(),
    }),
    9,
  ),
  extra: fc.oneof({ weight: 9, arbitrary: fc.constant<[string, Piece][]>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom('note', 'ref', 'rrn', '__proto__', 'constructor', 'Amount', 'amount '), awkwardText), anyValue), { maxLength: 3 }) }),
  reverse: fc.boolean(),
  damage: noDamage,
});

const collectId = fc.oneof(fc.constantFrom('c-1', 'c-2', 'c-3', 'order:42', 'a.b_c-d'), fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/));
const goodNote = fc.oneof(fc.constantFrom('Speed post', 'स्पीड पोस्ट', 'রেজিস্টার্ড পোস্ট', 'ಸ್ಪೀಡ್ ಪೋಸ್ಟ್', 'Money order 42', ''), fc.string({ minLength: 1, maxLength: 50 }));

interface PairsRecipe {
  pairs: [string, Piece][];
  drop: string | undefined;
  dup: { key: string; value: Piece; after: boolean } | undefined;
  extra: [string, Piece][];
  damage: Damage[];
}

function pairsRecipe(fields: Record<string, Arbitrary<Piece | undefined>>, unknownKeys: readonly string[]): Arbitrary<PairsRecipe> {
  const keys = Object.keys(fields);
  return fc.record({
    pairs: fc.record(fields).map((values) => Object.entries(values).filter((e): e is [string, Piece] => e[1] !== undefined)),
    drop: maybe(fc.constantFrom(...keys), 19),
    dup: maybe(fc.record({ key: fc.constantFrom(...keys), value: anyValue, after: fc.boolean() }), 9),
    extra: fc.oneof({ weight: 9, arbitrary: fc.constant<[string, Piece][]>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...unknownKeys), awkwardText), anyValue), { minLength: 1, maxLength: 2 }) }),
    damage: noDamage,
  });
}

const collectRecipe = pairsRecipe(
  {
    v: mostly(fc.constant(json(1)), anyValue, 19, 1),
    id: mostly(collectId.map(json), fc.oneof(anyValue, fc.constantFrom(json(''), json('x'.repeat(65)), json('c 1'), json('c/1'), json('c-1\n')))),
    amount: fc.oneof({ weight: 12, arbitrary: goodAmount.map(json) }, { weight: 1, arbitrary: zeroLedAmount.map(json) }, { weight: 2, arbitrary: badAmount.map(json) }, { weight: 1, arbitrary: anyValue }),
    note: maybe(fc.oneof({ weight: 4, arbitrary: goodNote.map(json) }, { weight: 2, arbitrary: awkwardText.map(json) }, { weight: 1, arbitrary: anyValue }), 1),
    ref: maybe(fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[\x20-\x7e]{1,64}$/).map(json) }, { weight: 1, arbitrary: awkwardText.map(json) }, { weight: 1, arbitrary: fc.string({ minLength: 65, maxLength: 80 }).map(json) }, { weight: 1, arbitrary: anyValue }), 1),
    expiresIn: maybe(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 30, max: 3600 }).map(json) }, { weight: 2, arbitrary: strangeNumber.map(json) }, { weight: 1, arbitrary: anyValue }), 1),
  },
  ['tr', 'source', 'sale', '__proto__', 'constructor', 'Amount', 'expires'],
);

const configRecipe = pairsRecipe(
  {
    language: maybe(mostly(fc.constantFrom(...LANGUAGE_CODES).map(json), fc.oneof(fc.constantFrom(json('EN'), json('ta'), json('hi ')), anyValue), 3, 1), 2),
    volume: maybe(mostly(fc.integer({ min: 0, max: 10 }).map(json), fc.oneof(strangeNumber.map(json), anyValue), 3, 1), 2),
    expirySeconds: maybe(mostly(fc.integer({ min: 30, max: 3600 }).map(json), fc.oneof(strangeNumber.map(json), anyValue), 3, 1), 3),
    resultSeconds: maybe(mostly(fc.integer({ min: 1, max: 120 }).map(json), fc.oneof(strangeNumber.map(json), anyValue), 3, 1), 3),
    saleLimit: maybe(mostly(fc.oneof(fc.constantFrom('100000.00', '50000.00', '1000.00', '99999.99'), goodAmount).map(json), fc.oneof(badAmount.map(json), zeroLedAmount.map(json), anyValue), 3, 1), 3),
    chimeOnQr: maybe(mostly(fc.boolean().map(json), anyValue, 3, 1), 3),
    telemetrySeconds: maybe(mostly(fc.integer({ min: 5, max: 3600 }).map(json), fc.oneof(strangeNumber.map(json), anyValue), 3, 1), 3),
  },
  ['v', 'payee', 'notifierKeys', 'deviceId', 'mqtt', '__proto__', 'constructor', 'Volume', 'volume ', 'sale', 'limit', 'vpa'],
);

type Shape =
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'json'; text: string }
  | { kind: 'deep'; depth: number; style: 'array' | 'object'; inField: boolean }
  | { kind: 'oversize'; size: number }
  | { kind: 'concat'; separator: string; second: 'same' | '{}' | '[]' | '1' };

const genericShape: Arbitrary<Shape> = fc.oneof(
  { weight: 4, arbitrary: rawBytes.map((bytes) => ({ kind: 'bytes' as const, bytes })) },
  { weight: 2, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.object().map((v) => JSON.stringify(v) ?? 'null')).map((text) => ({ kind: 'json' as const, text })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), depth: deepNesting.map((d) => d.depth), style: fc.constantFrom('array' as const, 'object' as const), inField: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('oversize' as const), size: fc.oneof(fc.constantFrom(4095, 4096, 4097), fc.integer({ min: 4097, max: 70_000 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('concat' as const), separator: fc.constantFrom('', ' ', '\n', ','), second: fc.constantFrom('same' as const, '{}' as const, '[]' as const, '1' as const) }) },
);

type MqttCase = { advanceMs: number } & (
  | { topic: 'payment'; input: { kind: 'signed'; recipe: SignedRecipe } | Shape }
  | { topic: 'collect'; input: { kind: 'fields'; recipe: PairsRecipe } | Shape }
  | { topic: 'config/set'; input: { kind: 'fields'; recipe: PairsRecipe } | Shape }
);

/** Time passing between messages: mostly none, sometimes seconds, now and then long enough for a QR to expire. */
const advance = fc.oneof({ weight: 150, arbitrary: fc.constant(0) }, { weight: 20, arbitrary: fc.integer({ min: 1, max: 5_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 400_000 }) });

const mqttCase: Arbitrary<MqttCase> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({ topic: fc.constant('payment' as const), advanceMs: advance, input: fc.oneof({ weight: 3, arbitrary: signedRecipe.map((recipe) => ({ kind: 'signed' as const, recipe })) }, { weight: 1, arbitrary: genericShape }) }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ topic: fc.constant('collect' as const), advanceMs: advance, input: fc.oneof({ weight: 3, arbitrary: collectRecipe.map((recipe) => ({ kind: 'fields' as const, recipe })) }, { weight: 1, arbitrary: genericShape }) }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ topic: fc.constant('config/set' as const), advanceMs: advance, input: fc.oneof({ weight: 3, arbitrary: configRecipe.map((recipe) => ({ kind: 'fields' as const, recipe })) }, { weight: 1, arbitrary: genericShape }) }),
  },
);

// ---------------------------------------------------------------- the model

/** What the test knows of the device, kept from what the contract says each accepted message does. */
interface Model {
  issued: string[];
  /** When each QR was shown, by reference. */
  shownAt: Map<string, number>;
  accepted: string[];
  acceptedSet: Set<string>;
  collects: Map<string, string>;
  settings: { language: Language; volume: number; expirySeconds: number; resultSeconds: number; saleLimit: number; chimeOnQr: boolean; telemetrySeconds: number };
}

function newModel(fuzz: FuzzDevice): Model {
  const view = remoteView(fuzz.device.settings);
  return {
    issued: [],
    shownAt: new Map(),
    accepted: [],
    acceptedSet: new Set(),
    collects: new Map(),
    settings: { ...view, saleLimit: Math.round(Number(view.saleLimit) * 100) },
  };
}

/** The device's notifier key, and a stranger's that no device holds. */
function signers(fuzz: FuzzDevice, seed: number): { notifier: KeyObject; stranger: KeyObject } {
  return { notifier: fuzz.keys.privateKey, stranger: seededNotifierKeys(seed, 'stranger').privateKey };
}

function arrange(base: [string, Piece][], r: { drop: string | undefined; dup: PairsRecipe['dup']; extra: [string, Piece][] }, override?: [string, Piece]): [string, Piece][] {
  let pairs = base.filter(([k]) => k !== r.drop);
  if (override) {
    const at = pairs.findIndex(([k]) => k === override[0]);
    if (at >= 0) pairs[at] = override;
    else pairs.push(override);
  }
  if (r.dup) pairs = r.dup.after ? [...pairs, [r.dup.key, r.dup.value]] : [[r.dup.key, r.dup.value], ...pairs];
  return [...pairs, ...r.extra];
}

function damageSignature(signature: Buffer, how: SignatureDamage, resign: () => Buffer, stranger: () => Buffer): string {
  switch (how) {
    case 'none':
      return signature.toString('base64');
    case 'flip': {
      const copy = Buffer.from(signature);
      copy[copy.length >> 1] = (copy[copy.length >> 1] as number) ^ 0x10;
      return copy.toString('base64');
    }
    case 'random':
      return Buffer.from(signature.map((b, i) => (b * 31 + i * 17 + 7) & 0xff)).toString('base64');
    case 'short':
      return signature.subarray(0, 63).toString('base64');
    case 'long':
      return Buffer.concat([signature, Buffer.of(0)]).toString('base64');
    case 'url-safe':
      return signature.toString('base64url');
    case 'unpadded':
      return signature.toString('base64').replace(/=+$/, '');
    case 'spaced':
      return signature.toString('base64').replace(/(.{16})/g, '$1 ');
    case 'other-fields':
      return resign().toString('base64');
    case 'empty':
      return '';
    case 'stranger':
      return stranger().toString('base64');
  }
}

function signedPayload(r: SignedRecipe, model: Model, keys: { notifier: KeyObject; stranger: KeyObject }): Buffer {
  const tr = 'pick' in r.tr ? (model.issued[r.tr.pick % Math.max(1, model.issued.length)] ?? `${DEVICE_ID}-0`) : r.tr.text;
  const utr = 'reuse' in r.utr ? (model.accepted[r.utr.reuse % Math.max(1, model.accepted.length)] ?? '412345678901') : r.utr.text;
  const fields = { deviceId: r.deviceId, tr, utr, amount: r.amount, status: r.status, paidAt: r.paidAt };
  const signature = sign(null, contractSignedText(fields), keys.notifier);
  const sig = damageSignature(
    signature,
    r.signature,
    () => sign(null, contractSignedText({ ...fields, amount: fields.amount === '1.00' ? '2.00' : '1.00' }), keys.notifier),
    () => sign(null, contractSignedText(fields), keys.stranger),
  );
  const base: [string, Piece][] = [
    ['v', r.v],
    ['deviceId', json(fields.deviceId)],
    ['tr', json(tr)],
    ['utr', json(utr)],
    ['amount', json(fields.amount)],
    ['status', json(fields.status)],
    ['paidAt', json(fields.paidAt)],
    ...(r.payer === undefined ? [] : [['payer', json(r.payer)] as [string, Piece]]),
    ['sig', json(sig)],
  ];
  if (r.reverse) base.reverse();
  return applyDamage(Buffer.from(objectText(arrange(base, r, r.override))), r.damage);
}

/** A message of the topic's usual form, valid as far as the device's state allows, to pad, nest or repeat. */
function typicalPayload(topic: InboundTopic, model: Model, keys: { notifier: KeyObject; stranger: KeyObject }, counter: number): [string, Piece][] {
  switch (topic) {
    case 'payment': {
      const tr = model.issued[counter % Math.max(1, model.issued.length)] ?? `${DEVICE_ID}-0`;
      const fields = { deviceId: DEVICE_ID, tr, utr: `PAD${counter}`, amount: '10.00', status: 'SUCCESS', paidAt: '2099-01-01T00:00:00+05:30' };
      const sig = sign(null, contractSignedText(fields), keys.notifier).toString('base64');
      return [['v', json(1)], ...Object.entries(fields).map(([k, v]) => [k, json(v)] as [string, Piece]), ['sig', json(sig)]];
    }
    case 'collect':
      return [['v', json(1)], ['id', json(`pad-${counter}`)], ['amount', json('10.00')]];
    case 'config/set':
      return [['volume', json(model.settings.volume)]];
  }
}

function shapePayload(shape: Shape, topic: InboundTopic, model: Model, keys: { notifier: KeyObject; stranger: KeyObject }, counter: number): Buffer {
  switch (shape.kind) {
    case 'bytes':
      return shape.bytes;
    case 'json':
      return Buffer.from(shape.text);
    case 'deep': {
      const deep = nested(shape.depth, shape.style);
      if (!shape.inField) return Buffer.from(deep);
      const pairs = typicalPayload(topic, model, keys, counter);
      const at = counter % pairs.length;
      pairs[at] = [(pairs[at] as [string, Piece])[0], raw(deep)];
      return Buffer.from(objectText(pairs));
    }
    case 'oversize': {
      const pairs = typicalPayload(topic, model, keys, counter);
      const bare = Buffer.byteLength(objectText([...pairs, ['pad', json('')]]));
      return Buffer.from(objectText([...pairs, ['pad', json('x'.repeat(Math.max(0, shape.size - bare)))]]));
    }
    case 'concat': {
      const one = objectText(typicalPayload(topic, model, keys, counter));
      return Buffer.from(`${one}${shape.separator}${shape.second === 'same' ? one : shape.second}`);
    }
  }
}

function payloadOf(c: MqttCase, model: Model, keys: { notifier: KeyObject; stranger: KeyObject }, counter: number): Buffer {
  const input = c.input;
  if (input.kind === 'signed') return signedPayload(input.recipe, model, keys);
  if (input.kind === 'fields') return applyDamage(Buffer.from(objectText(arrange(input.recipe.pairs, input.recipe))), input.recipe.damage);
  return shapePayload(input, c.topic, model, keys, counter);
}

// ---------------------------------------------------------------- checks

function shown(payload: Buffer): string {
  const text = payload.subarray(0, 300).toString('utf8');
  return `${payload.length} bytes: ${JSON.stringify(text)}${payload.length > 300 ? '…' : ''} (base64 ${payload.subarray(0, 300).toString('base64')})`;
}

function must(condition: boolean, what: string, payload: Buffer, fx: Effects): asserts condition {
  if (!condition) {
    const seen = JSON.stringify({ posted: fx.posted, rejections: fx.rejections, events: fx.events, heard: fx.heard }).slice(0, 1500);
    throw new Error(`${what}\n  input: ${shown(payload)}\n  device did: ${seen}\n  replay: DAKBOX_FUZZ_SEED=${SEED} DAKBOX_FUZZ_RUNS=${RUNS}`);
  }
}

const WELL_FORMED_REFERENCE = /^[A-Za-z0-9_-]{1,35}$/;

type Rejected = { confirmations: number; collects: number; lastReason: string | null };

function checkPayment(v: PaymentVerdict, payload: Buffer, fx: Effects, before: Rejected, after: Rejected, fuzz: FuzzDevice, model: Model): void {
  const receipts = fx.posted.filter((p) => p.topic === 'receipt').map((p) => p.payload);
  if (v.outcome === 'reject') {
    must(fx.heard.length === 0, `a refused confirmation (${v.code}) made a sound`, payload, fx);
    must(fx.events.length === 0, `a refused confirmation (${v.code}) reached the counter`, payload, fx);
    must(fx.rejections.length === 1, `a confirmation the contract refuses (${v.code}) was not recorded as one rejection`, payload, fx);
    const reason = fx.rejections[0]?.reason ?? '';
    must(reason.startsWith(`${v.code}: `) && reason.length > v.code.length + 2, `expected a ${v.code} rejection with a reason, the device recorded "${reason}"`, payload, fx);
    must(after.confirmations === before.confirmations + 1 && after.lastReason === reason, 'the rejection was not counted for telemetry', payload, fx);
    const receipt = receipts[0];
    must(receipts.length === 1 && receipt?.outcome === 'rejected' && receipt.reason === reason, 'no rejected receipt with the reason', payload, fx);
    for (const key of ['tr', 'utr'] as const) {
      const value = receipt[key];
      must(value === null || (typeof value === 'string' && WELL_FORMED_REFERENCE.test(value)), `the receipt echoes a malformed ${key}`, payload, fx);
    }
    return;
  }
  must(fx.rejections.length === 0 && after.confirmations === before.confirmations, `a confirmation the contract accepts (${v.outcome}) was rejected`, payload, fx);
  if (v.outcome === 'duplicate') {
    must(fx.heard.length === 0 && fx.events.length === 0, 'a duplicate confirmation was announced or shown again', payload, fx);
    must(receipts.length === 1 && receipts[0]?.outcome === 'duplicate' && receipts[0].utr === v.utr, 'no duplicate receipt', payload, fx);
    return;
  }
  const event = fx.events.find((e) => e.type === 'paid' || e.type === 'failed');
  must(fx.events.length === 1 && event !== undefined && event.utr === v.utr && event.tr === v.tr, 'an accepted confirmation did not reach the counter once', payload, fx);
  if (v.status === 'SUCCESS') must(event.type === 'paid' && event.amount === v.amount, `the counter was told a different amount than the ${v.amount} paise signed`, payload, fx);
  else must(event.type === 'failed', 'a FAILED confirmation was reported as paid', payload, fx);
  const expected = sentence(v.status === 'SUCCESS' ? { kind: 'payment', amount: paise(v.amount) } : { kind: 'payment-failed' }, model.settings.language);
  const heard = fx.heard[0];
  must(fx.heard.length === 1 && heard?.sound === 'speech' && heard.utterance.text === expected, `expected one announcement "${expected}"`, payload, fx);
  must(fuzz.count(`SELECT count(*) AS n FROM payments WHERE utr = ? AND announced = 1 AND amount_paise = ?`, v.utr, v.amount) === 1, 'the ledger does not hold the payment as signed and announced', payload, fx);
  must(fuzz.lastReceipt(v.utr)?.outcome === 'announced', 'no announced receipt queued', payload, fx);
  model.accepted.push(v.utr);
  model.acceptedSet.add(v.utr);
}

function checkCollect(v: CollectVerdict, payload: Buffer, fx: Effects, before: Rejected, after: Rejected, model: Model): void {
  const qrs = fx.posted.filter((p) => p.topic === 'qr').map((p) => p.payload);
  const shownEvents = fx.events.filter((e) => e.type === 'qr');
  must(!fx.heard.some((h) => h.sound === 'speech'), 'a collect made the device speak', payload, fx);
  if (v.outcome === 'refuse') {
    must(fx.heard.length === 0 && qrs.length === 0 && fx.events.length === 0, 'a refused collect showed a QR or made a sound', payload, fx);
    must(after.collects === before.collects + 1 && after.lastReason?.startsWith('collect: ') === true && after.lastReason.length > 9, 'a refused collect was not counted with its reason', payload, fx);
    return;
  }
  must(after.collects === before.collects, `a collect the contract accepts (${v.outcome}) was refused: ${after.lastReason ?? ''}`, payload, fx);
  if (v.outcome === 'repeat') {
    must(fx.heard.length === 0 && shownEvents.length === 0, 'a collect id seen before made a second QR', payload, fx);
    must(qrs.length <= 1 && (qrs.length === 0 || qrs[0]?.tr === model.collects.get(v.id)), 'a repeated collect re-sent a different qr', payload, fx);
    return;
  }
  const qr = qrs[0];
  must(qrs.length === 1 && shownEvents.length === 1 && qr !== undefined, 'an accepted collect did not show exactly one QR', payload, fx);
  must(qr.amount === formatWireAmount(paise(v.amount)) && qr.source === 'mqtt', 'the QR is not for the amount asked', payload, fx);
  must(Date.parse(String(qr.expiresAt)) - Date.parse(String(qr.shownAt)) === v.lifetime * 1000, 'the QR does not live as long as asked', payload, fx);
  must(fx.heard.length === (model.settings.chimeOnQr ? 1 : 0) && fx.heard.every((h) => h.sound === 'chime'), 'the new QR was not signalled as configured', payload, fx);
  const tr = String(qr.tr);
  model.issued.push(tr);
  model.shownAt.set(tr, Date.parse(String(qr.shownAt)));
  model.collects.set(v.id, tr);
}

function checkConfig(v: ConfigVerdict, payload: Buffer, fx: Effects, model: Model): void {
  const states = fx.posted.filter((p) => p.topic === 'config/state').map((p) => p.payload);
  const state = states[0];
  must(states.length === 1 && state !== undefined, 'config/set was not answered with one config/state', payload, fx);
  if (v.outcome === 'refuse') {
    must(fx.heard.length === 0, 'a refused config/set made a sound', payload, fx);
    must(typeof state.error === 'string' && state.error.startsWith('config/set: ') && state.error.length > 12, `a refused config/set got no error naming the message: ${String(state.error)}`, payload, fx);
    let single: string | undefined;
    if (payload.length <= 4096) try {
      const body = JSON.parse(payload.toString('utf8')) as unknown;
      const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
      if (keys.length === 1 && keys[0] !== undefined && Object.hasOwn(model.settings, keys[0])) single = keys[0];
    } catch {
      // not JSON: nothing to name
    }
    must(single === undefined || String(state.error).includes(`${single}:`), `the error does not name the field ${single ?? ''}: ${String(state.error)}`, payload, fx);
  } else {
    must(state.error === undefined, `a config/set the contract accepts was refused: ${String(state.error)}`, payload, fx);
    const c: RemoteChange = v.change;
    const s = model.settings;
    if (c.language !== undefined) s.language = c.language;
    if (c.volume !== undefined) s.volume = c.volume === 0 ? 0 : c.volume;
    if (c.expirySeconds !== undefined) s.expirySeconds = c.expirySeconds;
    if (c.resultSeconds !== undefined) s.resultSeconds = c.resultSeconds;
    if (c.saleLimit !== undefined) s.saleLimit = Math.round(Number(c.saleLimit) * 100);
    if (c.chimeOnQr !== undefined) s.chimeOnQr = c.chimeOnQr;
    if (c.telemetrySeconds !== undefined) s.telemetrySeconds = c.telemetrySeconds;
    const expected = c.volume === undefined ? [] : [sentence({ kind: 'volume', level: s.volume }, s.language)];
    must(
      fx.heard.length === expected.length && fx.heard.every((h, i) => h.sound === 'speech' && h.utterance.text === expected[i]),
      `expected ${expected.length ? `"${expected[0]}"` : 'silence'}`,
      payload,
      fx,
    );
  }
  const s = model.settings;
  const want = { ...s, saleLimit: formatWireAmount(paise(s.saleLimit)) };
  must(JSON.stringify(state.settings) === JSON.stringify(want), `settings in force ${JSON.stringify(state.settings)}, the contract says ${JSON.stringify(want)}`, payload, fx);
}

// ---------------------------------------------------------------- the runs

const crashes: unknown[] = [];
const onRejection = (reason: unknown): void => void crashes.push(reason);
const onException = (err: unknown): void => void crashes.push(err);

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  console.log(`hostile MQTT input: seed ${SEED}, ${RUNS} messages in-process, ${WIRE_RUNS} over mosquitto (DAKBOX_FUZZ_SEED=${SEED} replays)`);
});

afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
});

afterEach(() => {
  expect(crashes, 'unhandled rejections or exceptions during the run').toEqual([]);
});

interface Tally {
  [key: string]: number;
}

function bump(tally: Tally, key: string): void {
  tally[key] = (tally[key] ?? 0) + 1;
}

/** Runs `count` cases, each delivered by `deliver`, judged and checked. */
async function fuzzDevice(fuzz: FuzzDevice, count: number, seed: number, deliver: (topic: InboundTopic, payload: Buffer) => Promise<void>): Promise<{ tally: Tally; model: Model }> {
  const model = newModel(fuzz);
  const keys = signers(fuzz, seed);
  const notifierPublic = [createPublicKey(fuzz.keys.privateKey)];
  const tally: Tally = {};
  // A few QRs to pay, before the noise starts.
  for (const [i, amount] of ['250.00', '99.50', '1.00'].entries()) {
    const payload = Buffer.from(JSON.stringify({ v: 1, id: `start-${i}`, amount }));
    const verdict = judgeCollect(payload, { saleLimit: model.settings.saleLimit, expirySeconds: model.settings.expirySeconds, known: (id) => model.collects.has(id) });
    const before = fuzz.device.counter.health().rejected;
    await deliver('collect', payload);
    checkCollect(verdict, payload, fuzz.take(), before, fuzz.device.counter.health().rejected, model);
  }
  let n = 0;
  await fc.assert(
    fc.asyncProperty(mqttCase, async (c) => {
      n++;
      if (c.advanceMs) fuzz.clock.advance(c.advanceMs);
      fuzz.take();
      const payload = payloadOf(c, model, keys, n);
      const before = fuzz.device.counter.health().rejected;
      switch (c.topic) {
        case 'payment': {
          const verdict = judgePayment(payload, { deviceId: DEVICE_ID, keys: notifierPublic, shownAt: (tr) => model.shownAt.get(tr), accepted: (utr) => model.acceptedSet.has(utr) });
          await deliver('payment', payload);
          checkPayment(verdict, payload, fuzz.take(), before, fuzz.device.counter.health().rejected, fuzz, model);
          bump(tally, `payment ${verdict.outcome === 'reject' ? verdict.code : verdict.outcome}`);
          break;
        }
        case 'collect': {
          const verdict = judgeCollect(payload, { saleLimit: model.settings.saleLimit, expirySeconds: model.settings.expirySeconds, known: (id) => model.collects.has(id) });
          await deliver('collect', payload);
          checkCollect(verdict, payload, fuzz.take(), before, fuzz.device.counter.health().rejected, model);
          bump(tally, `collect ${verdict.outcome}`);
          break;
        }
        case 'config/set': {
          const verdict = judgeConfigSet(payload);
          await deliver('config/set', payload);
          checkConfig(verdict, payload, fuzz.take(), model);
          bump(tally, `config/set ${verdict.outcome}`);
          break;
        }
      }
      bump(tally, `shape ${c.input.kind}`);
    }),
    { seed, numRuns: count, endOnFailure: true },
  );
  return { tally, model };
}

/**
 * The noise may leave a sale limit below one rupee in force (it sets limits
 * such as "0.50", which the contract allows), and then a one-rupee sale is
 * rightly refused. The backend sets the limit back, judged like every other
 * config/set, before the sales that follow the noise.
 */
async function restoreSaleLimit(fuzz: FuzzDevice, model: Model, deliver: (topic: InboundTopic, payload: Buffer) => Promise<void>): Promise<void> {
  fuzz.take();
  const payload = Buffer.from(JSON.stringify({ saleLimit: '100000.00' }));
  const verdict = judgeConfigSet(payload);
  expect(verdict.outcome, 'the limit restored after the noise').toBe('apply');
  await deliver('config/set', payload);
  checkConfig(verdict, payload, fuzz.take(), model);
  expect(remoteView(fuzz.device.settings).saleLimit).toBe('100000.00');
}

/** After the noise: a normal sale still goes from QR to one announcement and a receipt. */
async function normalSale(fuzz: FuzzDevice, model: Model, deliver: (topic: InboundTopic, payload: Buffer) => Promise<void>): Promise<void> {
  await restoreSaleLimit(fuzz, model, deliver);
  fuzz.take();
  await deliver('collect', Buffer.from(JSON.stringify({ v: 1, id: 'after-the-noise', amount: '1.00', note: 'Speed post' })));
  const qr = fuzz.take().posted.find((p) => p.topic === 'qr')?.payload;
  expect(qr, 'a QR for the sale after the noise').toMatchObject({ amount: '1.00', source: 'mqtt' });
  const tr = String(qr?.tr);
  const fields = { deviceId: DEVICE_ID, tr, utr: '999000111222', amount: '1.00', status: 'SUCCESS', paidAt: formatIst(fuzz.clock.now()) };
  const sig = sign(null, contractSignedText(fields), fuzz.keys.privateKey).toString('base64');
  await deliver('payment', Buffer.from(JSON.stringify({ v: 1, ...fields, payer: 'ravi@okaxis', sig })));
  const fx = fuzz.take();
  expect(fx.heard).toEqual([{ sound: 'speech', utterance: expect.objectContaining({ text: sentence({ kind: 'payment', amount: paise(100) }, model.settings.language) }) as unknown }]);
  expect(fx.events).toEqual([expect.objectContaining({ type: 'paid', tr, utr: '999000111222', amount: 100, mismatch: false })]);
  expect(fuzz.lastReceipt('999000111222')).toMatchObject({ v: 1, tr, utr: '999000111222', outcome: 'announced' });
  expect(fuzz.count(`SELECT count(*) AS n FROM sales WHERE tr = ? AND state = 'paid'`, tr)).toBe(1);
}

/** What the ledger holds must add up to what the run sent. */
function ledgerAddsUp(fuzz: FuzzDevice, tally: Tally, model: Model): void {
  const rejected = Object.entries(tally)
    .filter(([k]) => k.startsWith('payment ') && !['payment announce', 'payment duplicate'].includes(k))
    .reduce((sum, [, n]) => sum + n, 0);
  expect(fuzz.count(`SELECT count(*) AS n FROM rejections`)).toBe(rejected);
  expect(fuzz.count(`SELECT count(*) AS n FROM payments`)).toBe(model.accepted.length);
  expect(fuzz.count(`SELECT count(*) AS n FROM payments WHERE announced = 0`)).toBe(0);
}

/** Wall and CPU time since `from`, in seconds: the CPU figure is steadier on a shared machine. */
function took(from: { wall: number; cpu: NodeJS.CpuUsage }): { wall: number; cpu: number } {
  const cpu = process.cpuUsage(from.cpu);
  return { wall: (performance.now() - from.wall) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
}

function report(what: string, count: number, time: { wall: number; cpu: number }, tally: Tally): void {
  const lines = Object.entries(tally)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `    ${k}: ${n}`);
  console.log(`${what}: ${count} messages in ${time.wall.toFixed(1)} s (${time.cpu.toFixed(1)} s of CPU), seed ${SEED}\n${lines.join('\n')}`);
}

describe('hostile MQTT messages, in-process', () => {
  let fuzz: FuzzDevice;
  beforeAll(() => {
    fuzz = new FuzzDevice({ seed: SEED, brokerless: true });
  });
  afterAll(async () => {
    await fuzz?.stop();
  });

  it(`refuses every bad one with a reason and in silence, and announces every good one once (${RUNS} messages)`, async () => {
    const started = { wall: performance.now(), cpu: process.cpuUsage() };
    const deliver = (topic: InboundTopic, payload: Buffer) => fuzz.deliver(topic, payload);
    const { tally, model } = await fuzzDevice(fuzz, RUNS, SEED, deliver);
    report('in-process', RUNS, took(started), tally);
    ledgerAddsUp(fuzz, tally, model);
    await normalSale(fuzz, model, deliver);
  }, 600_000);

  it('reads a key given twice as JSON.parse does, and the signature covers what was read', async () => {
    await restoreSaleLimit(fuzz, newModel(fuzz), (topic, payload) => fuzz.deliver(topic, payload));
    fuzz.take();
    await fuzz.deliver('collect', Buffer.from(JSON.stringify({ v: 1, id: 'twice-keyed', amount: '1.00' })));
    const tr = String(fuzz.take().posted.find((p) => p.topic === 'qr')?.payload.tr);
    const confirmation = (utr: string, dup: [string, Piece], after: boolean): Buffer => {
      const fields = { deviceId: DEVICE_ID, tr, utr, amount: '1.00', status: 'SUCCESS', paidAt: formatIst(fuzz.clock.now()) };
      const sig = sign(null, contractSignedText(fields), fuzz.keys.privateKey).toString('base64');
      const pairs: [string, Piece][] = [['v', json(1)], ...Object.entries(fields).map(([k, v]) => [k, json(v)] as [string, Piece]), ['sig', json(sig)]];
      return Buffer.from(objectText(after ? [...pairs, dup] : [dup, ...pairs]));
    };
    const outcome = async (payload: Buffer): Promise<{ reason?: string; heard: string[]; amounts: number[] }> => {
      await fuzz.deliver('payment', payload);
      const fx = fuzz.take();
      return {
        ...(fx.rejections[0] ? { reason: fx.rejections[0].reason.split(':')[0] } : {}),
        heard: fx.heard.map((h) => (h.sound === 'speech' ? h.utterance.text : 'chime')),
        amounts: fx.events.flatMap((e) => (e.type === 'paid' ? [e.amount] : [])),
      };
    };
    const received = (amount: number) => sentence({ kind: 'payment', amount: paise(amount) }, fuzz.device.settings.language);
    // A larger amount after the signed one is what JSON.parse keeps: the signature does not cover it.
    expect(await outcome(confirmation('TWICE1', ['amount', json('99999.00')], true))).toEqual({ reason: 'bad-signature', heard: [], amounts: [] });
    // Before it, the signed one is kept, and exactly that is announced.
    expect(await outcome(confirmation('TWICE2', ['amount', json('99999.00')], false))).toEqual({ heard: [received(100)], amounts: [100] });
    expect(fuzz.count(`SELECT amount_paise AS n FROM payments WHERE utr = 'TWICE2'`)).toBe(100);
    expect(await outcome(confirmation('TWICE3', ['deviceId', json('MYS02')], true))).toEqual({ reason: 'wrong-device', heard: [], amounts: [] });
    expect(await outcome(confirmation('TWICE4', ['sig', json(Buffer.alloc(64, 7).toString('base64'))], true))).toEqual({ reason: 'bad-signature', heard: [], amounts: [] });
    expect(await outcome(confirmation('TWICE5', ['v', json(2)], true))).toEqual({ reason: 'unsupported-version', heard: [], amounts: [] });
    expect(await outcome(confirmation('TWICE6', ['utr', json('TWICE1')], false))).toEqual({ heard: [received(100)], amounts: [100] });
  });

  it('refuses nesting 10,000 levels deep on every topic unparsed, and as deep as fits in 4096 bytes once parsed', async () => {
    for (const topic of ['payment', 'collect', 'config/set'] as const) {
      for (const [depth, style] of [[10_000, 'array'], [10_000, 'object'], [2_000, 'array'], [680, 'object']] as const) {
        const payload = Buffer.from(nested(depth, style));
        const before = fuzz.device.counter.health().rejected;
        await fuzz.deliver(topic, payload);
        const fx = fuzz.take();
        const after = fuzz.device.counter.health().rejected;
        expect(fx.heard).toEqual([]);
        const refusal = topic === 'payment' ? fx.rejections[0]?.reason : topic === 'collect' ? after.lastReason : String(fx.posted.find((p) => p.topic === 'config/state')?.payload.error);
        if (topic === 'collect') expect(after.collects).toBe(before.collects + 1);
        expect(refusal, `${topic}, ${depth} levels of ${style}`).toMatch(
          payload.length > 4096 ? /payload-too-large|at most 4096/ : style === 'array' ? /malformed-json|not a JSON object/ : /unsupported-version|v: must be 1|a: is not a known setting/,
        );
      }
    }
  });
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('hostile MQTT messages over a real mosquitto', () => {
  let broker: Mosquitto;
  let fuzz: FuzzDevice;
  let backend: MqttWatch;
  let receipts: MqttWatch;
  const topic = (suffix: string) => `dakbox/v1/${DEVICE_ID}/${suffix}`;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    fuzz = new FuzzDevice({ seed: SEED + 1, settings: { mqtt: { url: broker.url, protocolVersion: 5 } } });
    // The backend publishes from a client that receives nothing: acknowledging
    // receipts on the same socket would hold each publish for a delayed ACK.
    backend = await MqttWatch.connect(broker.url, [], { clientId: 'fuzz-backend', protocolVersion: 5 });
    receipts = await MqttWatch.connect(broker.url, [topic('receipt')], { clientId: 'fuzz-receipts', protocolVersion: 5 });
    await until(() => fuzz.device.link.state === 'online', 'the device online');
  });
  afterAll(async () => {
    await backend?.close();
    await receipts?.close();
    await fuzz?.stop();
    await broker?.stop();
  });

  it(`holds on the wire too (${WIRE_RUNS} messages)`, async () => {
    const started = { wall: performance.now(), cpu: process.cpuUsage() };
    const deliver = async (suffix: InboundTopic, payload: Buffer): Promise<void> => {
      const got = await fuzz.arrival(() => backend.publish(topic(suffix), payload));
      if (got.topic !== suffix || !got.payload.equals(payload)) throw new Error(`the device received ${got.topic} ${shown(got.payload)} for ${suffix} ${shown(payload)}`);
    };
    const { tally, model } = await fuzzDevice(fuzz, WIRE_RUNS, SEED + 1, deliver);
    report('over mosquitto (device and test client; the broker not counted)', WIRE_RUNS, took(started), tally);
    ledgerAddsUp(fuzz, tally, model);
    await normalSale(fuzz, model, deliver);
    // Every confirmation got its receipt on the wire, the last one announced.
    const payments = Object.entries(tally).filter(([k]) => k.startsWith('payment ')).reduce((sum, [, n]) => sum + n, 0) + 1;
    await until(() => receipts.on('receipt').length >= payments, `${payments} receipts on the wire`);
    // At least once: a receipt may come twice if the link blinked, never not at all.
    expect(receipts.on('receipt').length).toBeGreaterThanOrEqual(payments);
    expect(receipts.on('receipt').some((m) => m.json<{ utr: string; outcome: string }>().utr === '999000111222' && m.json<{ outcome: string }>().outcome === 'announced')).toBe(true);
  }, 600_000);
});
