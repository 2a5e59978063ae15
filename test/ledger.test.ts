import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import {
  BILLING_EVENTS_KEPT,
  LEDGER_APPLICATION_ID,
  LEDGER_CACHE_KIB,
  Ledger,
  LedgerRefused,
  QueryByLimit,
  SCHEMA_VERSION,
  STATEMENTS_PER_QUERY,
  type LedgerRefusalReason, type LedgerRetention, type NewSale } from '../core/payment/ledger.js';
import { TR_PATTERN } from '../core/sale/dynamic-qr.js';
import { paise } from '../core/money.js';
import type { CounterEvent } from '../core/sale/counter-port.js';
import { walFrames } from './support/wal-frames.js';

let dir: string;
let path: string;
let clock: ManualClock;
let ledger: Ledger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dakbox-ledger-'));
  path = join(dir, 'ledger.sqlite');
  clock = new ManualClock(Date.UTC(2026, 0, 15, 4, 30, 0));
  ledger = open();
});
afterEach(() => {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(deviceId = 'MYS01', retention?: LedgerRetention): Ledger {
  return new Ledger(path, clock, { deviceId, retention });
}

function wipe(): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function sale(amount = 25000, extra: Partial<NewSale> = {}): NewSale {
  return { source: 'serial', amount: paise(amount), shownAt: clock.now(), expiresAt: clock.now() + 300_000, ...extra };
}

const uriFor = (tr: string) => `upi://pay?tr=${tr}`;

describe('ledger', () => {
  it('runs in WAL mode with synchronous=FULL', () => {
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    // synchronous is per connection; the ledger's own connection is the one that matters.
    const internal = (ledger as unknown as { db: Database.Database }).db;
    expect(internal.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('writes the marks as light commits and goes back to synchronous=FULL for everything else, even when a mark fails', () => {
    const internal = (ledger as unknown as { db: Database.Database }).db;
    const issued = ledger.issueSale(sale(), uriFor);
    ledger.acceptPayment({ utr: 'U1', tr: issued.tr, status: 'SUCCESS', amount: paise(25000), paidAt: '2026-01-15T10:00:00+05:30' });
    const id = ledger.enqueue('qr', '{}');
    ledger.markSent([id]);
    ledger.markAnnounced('U1', { topic: 'receipt', payload: '{}' });
    ledger.markEventsDelivered(3);
    expect(internal.pragma('synchronous', { simple: true })).toBe(2);
    expect(ledger.findPayment('U1')?.announced).toBe(true);
    expect(ledger.unsent().map((m) => m.topic)).toEqual(['receipt']);
    expect(ledger.deliveredEventSeq()).toBe(3);
    internal.exec(`CREATE TRIGGER refuse BEFORE UPDATE ON outbox BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    expect(() => ledger.markSent([id + 1])).toThrow('refused');
    expect(internal.pragma('synchronous', { simple: true })).toBe(2);
    // Inside a transaction a mark is part of it, whose level is the connection's.
    ledger.transaction(() => ledger.markEventsDelivered(4));
    expect(ledger.deliveredEventSeq()).toBe(4);
  });

  it("keeps SQLite's page cache to 512 KiB, not better-sqlite3's 16 MB that fills as the ledger grows", () => {
    const internal = (ledger as unknown as { db: Database.Database }).db;
    expect(LEDGER_CACHE_KIB).toBe(512);
    expect(internal.pragma('cache_size', { simple: true })).toBe(-LEDGER_CACHE_KIB);
    // A connection opened without it gets the larger default.
    const plain = new Database(path, { readonly: true });
    expect(plain.pragma('cache_size', { simple: true })).toBe(-16000);
    plain.close();
  });

  it('records the URI built for the reference inside the same transaction', () => {
    expect(() =>
      ledger.issueSale(sale(), () => {
        throw new Error('bad note');
      }),
    ).toThrow('bad note');
    expect(ledger.showingSales()).toEqual([]);
  });

  it('keys collect requests by id', () => {
    const s = ledger.issueSale(sale(25000, { source: 'mqtt', collectId: 'c-1' }), uriFor);
    expect(ledger.findSaleByCollectId('c-1')?.tr).toBe(s.tr);
    expect(() => ledger.issueSale(sale(25000, { source: 'mqtt', collectId: 'c-1' }), uriFor)).toThrow(/UNIQUE/);
  });

  it('accepts a payment once; the same utr again is a duplicate', () => {
    const s = ledger.issueSale(sale(), uriFor);
    const p = { utr: '4123', tr: s.tr, status: 'SUCCESS' as const, amount: paise(25000), paidAt: '2026-01-15T10:01:00+05:30' };
    const first = ledger.acceptPayment(p);
    expect(first.fresh).toBe(true);
    expect(first.record).toMatchObject({ late: false, mismatch: false, announced: false, asked: 25000 });
    expect(ledger.findSale(s.tr)?.state).toBe('paid');
    const again = ledger.acceptPayment({ ...p, amount: paise(1) });
    expect(again.fresh).toBe(false);
    expect(again.record.amount).toBe(25000);
  });

  it('returns a new payment and its sale exactly as the ledger then reads them back', () => {
    // acceptPayment builds what it returns from what it wrote, without
    // reading the rows again: each shape of payment must match the rows.
    const paid = ledger.issueSale(sale(25000), uriFor);
    const failed = ledger.issueSale(sale(9900), uriFor);
    const cancelled = ledger.issueSale(sale(5000), uriFor);
    ledger.closeSale(cancelled.tr, 'cancelled', 'clerk');
    clock.advance(60_000);
    const accepts = [
      ledger.acceptPayment({ utr: 'R1', tr: paid.tr, status: 'SUCCESS', amount: paise(25001), payer: 'ravi@okbank', paidAt: '2026-01-15T10:01:00+05:30' }),
      ledger.acceptPayment({ utr: 'R2', tr: failed.tr, status: 'FAILED', amount: paise(9900), paidAt: '2026-01-15T10:01:00+05:30' }),
      ledger.acceptPayment({ utr: 'R3', tr: cancelled.tr, status: 'SUCCESS', amount: paise(5000), paidAt: '2026-01-15T10:01:00+05:30' }),
    ];
    for (const { record, fresh, sale: accepted } of accepts) {
      expect(fresh).toBe(true);
      expect(record).toEqual(ledger.findPayment(record.utr));
      expect(accepted).toEqual(ledger.findSale(record.tr));
    }
    expect(accepts.map((a) => a.sale?.state)).toEqual(['paid', 'failed', 'cancelled']);
    expect(accepts.map((a) => [a.record.mismatch, a.record.late])).toEqual([[true, false], [false, false], [false, true]]);
  });

  it('flags a different amount as a mismatch, and a payment after expiry as late', () => {
    const s = ledger.issueSale(sale(), uriFor);
    clock.advance(301_000);
    const { record } = ledger.acceptPayment({ utr: '1', tr: s.tr, status: 'SUCCESS', amount: paise(20000), paidAt: 'x' });
    expect(record).toMatchObject({ late: true, mismatch: true, amount: 20000, asked: 25000 });
  });

  it('flags a payment on a cancelled sale as late, but not a second payment on a paid one', () => {
    const a = ledger.issueSale(sale(), uriFor);
    ledger.closeSale(a.tr, 'cancelled', 'clerk');
    expect(ledger.acceptPayment({ utr: '1', tr: a.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' }).record.late).toBe(true);
    const b = ledger.issueSale(sale(), uriFor);
    ledger.acceptPayment({ utr: '2', tr: b.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    expect(ledger.acceptPayment({ utr: '3', tr: b.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' }).record.late).toBe(false);
  });

  it('keeps accepted-but-unannounced payments across a restart, and queues the receipt with the mark', () => {
    const s = ledger.issueSale(sale(), uriFor);
    ledger.acceptPayment({ utr: '9', tr: s.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    ledger.close();
    ledger = open();
    expect(ledger.pendingAnnouncements().map((p) => p.utr)).toEqual(['9']);
    ledger.markAnnounced('9', { topic: 'receipt', payload: '{"outcome":"announced"}' });
    ledger.markAnnounced('9', { topic: 'receipt', payload: '{"outcome":"announced"}' });
    expect(ledger.pendingAnnouncements()).toEqual([]);
    expect(ledger.unsent().map((m) => m.payload)).toEqual(['{"outcome":"announced"}']);
  });

  it('keeps outbox messages until marked sent', () => {
    const a = ledger.enqueue('qr', '{"a":1}');
    ledger.enqueue('receipt', '{"b":2}');
    ledger.markSent([a]);
    expect(ledger.unsent().map((m) => m.topic)).toEqual(['receipt']);
    expect(ledger.unsentCount()).toBe(1);
  });

  it('hands out unsent messages oldest first, at most the batch asked for, whatever batch sizes were asked before', () => {
    const ids = [1, 2, 3, 4, 5].map((n) => ledger.enqueue('receipt', `{"n":${n}}`));
    expect(ledger.unsent(2).map((m) => m.id)).toEqual(ids.slice(0, 2));
    expect(ledger.unsent(3).map((m) => m.id)).toEqual(ids.slice(0, 3));
    ledger.markSent(ids.slice(0, 2));
    expect(ledger.unsent(2).map((m) => m.id)).toEqual(ids.slice(2, 4));
    expect(ledger.unsent().map((m) => m.id)).toEqual(ids.slice(2));
    expect(() => ledger.unsent(0)).toThrow(RangeError);
    expect(() => ledger.unsent(1.5)).toThrow(RangeError);
  });

  it('records rejections with their receipt', () => {
    ledger.recordRejection({ reason: 'bad-signature: x', tr: 'MYS01-1', size: 10, sha256: 'ab', excerpt: '{}' }, { topic: 'receipt', payload: '{}' });
    expect(ledger.rejections()).toMatchObject([{ reason: 'bad-signature: x', tr: 'MYS01-1', utr: undefined }]);
    expect(ledger.unsentCount()).toBe(1);
  });

  it("totals today's successful payments from midnight IST", () => {
    // 23:50 IST on the 15th
    clock = new ManualClock(Date.UTC(2026, 0, 15, 18, 20, 0));
    ledger.close();
    ledger = open();
    const a = ledger.issueSale(sale(), uriFor);
    ledger.acceptPayment({ utr: '1', tr: a.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    expect(ledger.today()).toEqual({ count: 1, total: 25000 });
    clock.advance(20 * 60_000); // 00:10 IST on the 16th
    const b = ledger.issueSale(sale(), uriFor);
    ledger.acceptPayment({ utr: '2', tr: b.tr, status: 'SUCCESS', amount: paise(1050), paidAt: 'x' });
    const c = ledger.issueSale(sale(), uriFor);
    ledger.acceptPayment({ utr: '3', tr: c.tr, status: 'FAILED', amount: paise(9900), paidAt: 'x' });
    expect(ledger.today()).toEqual({ count: 1, total: 1050 });
    expect(ledger.lastPayment()?.utr).toBe('2');
  });
});

/** A ledger as firmware with schema version 1 left it: no application id, no device id, references `{deviceId}-{seconds}`. */
function makeV1Ledger(file: string, trs: string[]): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sales (tr TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, source TEXT NOT NULL, collect_id TEXT UNIQUE, ref TEXT, note TEXT,
      amount_paise INTEGER NOT NULL CHECK (amount_paise > 0), uri TEXT NOT NULL, shown_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('showing','paid','failed','expired','cancelled')), close_reason TEXT, closed_at INTEGER);
    CREATE TABLE payments (utr TEXT PRIMARY KEY, tr TEXT NOT NULL REFERENCES sales(tr), status TEXT NOT NULL CHECK (status IN ('SUCCESS','FAILED')),
      amount_paise INTEGER NOT NULL CHECK (amount_paise >= 0), payer TEXT, paid_at TEXT NOT NULL, received_at INTEGER NOT NULL, late INTEGER NOT NULL,
      mismatch INTEGER NOT NULL, announced INTEGER NOT NULL DEFAULT 0, announced_at INTEGER);
    CREATE INDEX payments_pending ON payments(announced) WHERE announced = 0;
    CREATE INDEX payments_received ON payments(received_at);
    CREATE TABLE rejections (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, reason TEXT NOT NULL, tr TEXT, utr TEXT, size INTEGER NOT NULL,
      sha256 TEXT NOT NULL, excerpt TEXT NOT NULL);
    CREATE TABLE outbox (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER);
    CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_at IS NULL;`);
  trs.forEach((tr, i) => {
    const seq = Number(tr.split('-').at(-1));
    db.prepare(`INSERT INTO sales (tr, seq, source, amount_paise, uri, shown_at, expires_at, state) VALUES (?, ?, 'serial', 100, ?, 0, 1, 'expired')`).run(tr, seq, `upi://pay?tr=${tr}`);
    db.prepare(`INSERT INTO meta (key, value) VALUES ('tr_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(seq));
    if (i === 0) db.prepare(`INSERT INTO payments (utr, tr, status, amount_paise, paid_at, received_at, late, mismatch, announced) VALUES ('V1UTR', ?, 'SUCCESS', 100, 'x', 0, 0, 0, 1)`).run(tr);
  });
  db.pragma('user_version = 1');
  db.close();
}

describe('transaction references', () => {
  const FORM = /^MYS01-[0-9A-HJKMNP-TV-Z]{7}-\d+$/;

  it('are {deviceId}-{epoch}-{n}: n counts on across restarts, the epoch is drawn again each run', () => {
    const first = ledger.issueSale(sale(), uriFor);
    const second = ledger.issueSale(sale(), uriFor);
    ledger.close();
    ledger = open();
    const third = ledger.issueSale(sale(), uriFor);
    expect([first.tr, second.tr, third.tr].map((tr) => FORM.test(tr))).toEqual([true, true, true]);
    const parts = [first, second, third].map((s) => s.tr.split('-'));
    expect(parts.map((p) => p[2])).toEqual(['1', '2', '3']);
    expect(parts[0]![1]).toBe(parts[1]![1]);
    expect(parts[2]![1]).not.toBe(parts[1]![1]);
    expect(ledger.findSale(third.tr)?.uri).toBe(uriFor(third.tr));
    expect(ledger.showingSales().map((s) => s.tr)).toEqual([first.tr, second.tr, third.tr]);
  });

  it('never repeat after the ledger is wiped, even with the clock set back', () => {
    const before = Array.from({ length: 200 }, () => ledger.issueSale(sale(), uriFor).tr);
    ledger.close();
    wipe();
    // A board without a battery clock, started before it synced its time.
    clock = new ManualClock(clock.now() - 60_000);
    ledger = open();
    const after = Array.from({ length: 200 }, () => ledger.issueSale(sale(), uriFor).tr);
    expect(new Set([...before, ...after]).size).toBe(400);
  });

  it('never repeat when an old copy of the ledger is put back', () => {
    for (let i = 0; i < 10; i++) ledger.issueSale(sale(), uriFor);
    ledger.close();
    const backup = join(dir, 'backup.sqlite');
    copyFileSync(path, backup);
    ledger = open();
    const afterBackup = Array.from({ length: 10 }, () => ledger.issueSale(sale(), uriFor).tr);
    ledger.close();
    wipe();
    copyFileSync(backup, path);
    ledger = open();
    const afterRestore = Array.from({ length: 10 }, () => ledger.issueSale(sale(), uriFor).tr);
    expect(afterRestore.filter((tr) => afterBackup.includes(tr))).toEqual([]);
  });

  it('fit the 35 characters of tr with a 20-character device id, drawing a new epoch when n outgrows them', () => {
    ledger.close();
    wipe();
    const id = 'KA-MYSURU-HO-COUNT01';
    expect(id).toHaveLength(20);
    ledger = open(id);
    const first = ledger.issueSale(sale(), uriFor);
    expect(first.tr).toMatch(TR_PATTERN);
    expect(first.tr).toMatch(/^KA-MYSURU-HO-COUNT01-[0-9A-Z]{7}-1$/);
    const internal = (ledger as unknown as { db: Database.Database }).db;
    internal.prepare(`UPDATE meta SET value = '999998' WHERE key = 'tr_count'`).run();
    const longest = ledger.issueSale(sale(), uriFor);
    expect(longest.tr).toHaveLength(35);
    const next = ledger.issueSale(sale(), uriFor);
    expect(next.tr).toMatch(TR_PATTERN);
    expect(next.tr.endsWith('-1')).toBe(true);
    expect(next.tr.split('-')[4]).not.toBe(longest.tr.split('-')[4]);
  });

  it('of a version 1 ledger carry on in the new form, with an epoch, after the upgrade', () => {
    ledger.close();
    wipe();
    makeV1Ledger(path, ['MYS01-1768451402', 'MYS01-1768451403']);
    ledger = open();
    const next = ledger.issueSale(sale(), uriFor);
    expect(next.tr).toMatch(FORM);
    expect(ledger.findSale('MYS01-1768451403')?.state).toBe('expired');
    expect(ledger.findPayment('V1UTR')?.announced).toBe(true);
    expect(ledger.showingSales().map((s) => s.tr)).toEqual([next.tr]);
    ledger.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(LEDGER_APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const meta = Object.fromEntries((db.prepare(`SELECT key, value FROM meta`).all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    expect(meta).toMatchObject({ device_id: 'MYS01', tr_epoch: next.tr.split('-')[1], tr_count: '1', tr_seq: '1768451404' });
    db.close();
    ledger = open();
  });
});

describe('a ledger checked at open', () => {
  /** Opening `path` must fail with this reason and leave the file exactly as it was. */
  function refused(reason: LedgerRefusalReason, deviceId = 'MYS01'): LedgerRefused {
    const before = sha256(path);
    let error: unknown;
    try {
      open(deviceId).close();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LedgerRefused);
    const refusal = error as LedgerRefused;
    expect(refusal.reason).toBe(reason);
    expect(refusal.path).toBe(path);
    expect(refusal.message).toContain(path);
    expect(refusal.message).toMatch(/the file was kept as it is for inspection$/);
    expect(refusal.message).not.toContain('\n');
    expect(sha256(path)).toBe(before);
    return refusal;
  }

  beforeEach(() => {
    ledger.close();
    wipe();
  });
  afterEach(() => {
    ledger = open();
  });

  it('makes a new ledger, marked as dakbox and as this device’s, where there is no file', () => {
    const fresh = open();
    fresh.issueSale(sale(), uriFor);
    fresh.close();
    expect(readdirSync(dir).filter((f) => f.includes('.new'))).toEqual([]);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(LEDGER_APPLICATION_ID);
    expect(db.prepare(`SELECT value FROM meta WHERE key = 'device_id'`).get()).toEqual({ value: 'MYS01' });
    db.close();
    wipe();
  });

  it('finishes a first start that was cut short, rather than refusing what it left', () => {
    writeFileSync(`${path}.new`, 'half-made');
    open().close();
    expect(existsSync(`${path}.new`)).toBe(false);
    wipe();
    // Older firmware made the file in place: a power cut could leave it with nothing in it.
    new Database(path).pragma('journal_mode = WAL');
    open().close();
    wipe();
  });

  it('refuses a zero-length file', () => {
    writeFileSync(path, '');
    expect(refused('empty').message).toBe(`ledger ${path} refused: the file is empty (0 bytes); the file was kept as it is for inspection`);
    wipe();
  });

  it('refuses a file that is not SQLite', () => {
    writeFileSync(path, 'date,amount\n2026-01-15,250.00\n'.repeat(200));
    refused('not-sqlite');
    wipe();
  });

  it('refuses a SQLite file that is not a dakbox ledger', () => {
    const db = new Database(path);
    db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('hello')`);
    db.close();
    expect(refused('not-a-ledger').message).toContain('is a SQLite database but not a dakbox ledger');
    db.close();
    const other = new Database(path);
    other.pragma('application_id = 1234');
    other.close();
    refused('not-a-ledger');
    wipe();
  });

  it('refuses the ledger of another device', () => {
    const theirs = open('MYS02');
    theirs.issueSale(sale(), uriFor);
    theirs.close();
    expect(refused('other-device').message).toContain('it is the ledger of device MYS02, and this device is MYS01');
    wipe();
  });

  it('refuses a version 1 ledger whose references are another device’s', () => {
    makeV1Ledger(path, ['MYS02-1768451402']);
    refused('other-device');
    wipe();
  });

  it('recognises a version 1 ledger by its tables, and marks it as this device’s', () => {
    makeV1Ledger(path, ['MYS01-1768451402', 'MYS01-1768451403']);
    const upgraded = open();
    expect(upgraded.findSale('MYS01-1768451403')?.state).toBe('expired');
    expect(upgraded.findPayment('V1UTR')?.announced).toBe(true);
    upgraded.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(LEDGER_APPLICATION_ID);
    expect(db.prepare(`SELECT value FROM meta WHERE key = 'device_id'`).get()).toEqual({ value: 'MYS01' });
    db.close();
    refused('other-device', 'MYS02');
    wipe();
  });

  it('refuses a ledger with a page of zeros', () => {
    const db = open();
    for (let i = 0; i < 200; i++) db.issueSale(sale(), (tr) => `upi://pay?tr=${tr}&pad=${'x'.repeat(200)}`);
    db.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096), 0, 4096, 3 * 4096);
    closeSync(fd);
    expect(refused('damaged').message).toMatch(/the file is damaged \(.+\)/);
    wipe();
  });

  it('refuses a ledger written by newer firmware', () => {
    open().close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(refused('newer-schema').message).toContain(`ledger schema version 99; this firmware understands up to ${SCHEMA_VERSION}`);
    wipe();
  });

  it('refuses to start a new ledger beside the write-ahead log of a missing one', () => {
    const db = open();
    const internal = (db as unknown as { db: Database.Database }).db;
    internal.pragma('wal_autocheckpoint = 0');
    db.issueSale(sale(), uriFor);
    const walCopy = readFileSync(`${path}-wal`);
    db.close();
    wipe();
    writeFileSync(`${path}-wal`, walCopy);
    expect(() => open()).toThrow(LedgerRefused);
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(`${path}-wal`).equals(walCopy)).toBe(true);
    wipe();
  });
});

describe('retention', () => {
  const keep: LedgerRetention = { rejectionDays: 30, maxRejections: 100, sentDays: 7, maxSent: 100 };
  const DAY = 24 * 60 * 60 * 1000;

  function reject(n: number): void {
    for (let i = 0; i < n; i++) ledger.recordRejection({ reason: `bad-signature: ${i}`, size: 2, sha256: 'ab', excerpt: '{}' }, { topic: 'receipt', payload: `{"r":${i}}` });
  }

  it('prunes old and surplus rejections and sent messages at open, and never sales, payments or unsent messages', () => {
    const s = ledger.issueSale(sale(), uriFor);
    ledger.acceptPayment({ utr: 'KEEP1', tr: s.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    reject(50);
    ledger.markSent(ledger.unsent().map((m) => m.id));
    clock.advance(40 * DAY);
    reject(150);
    const unsent = ledger.enqueue('qr', '{"owed":true}');
    clock.advance(8 * DAY);
    ledger.markSent(ledger.unsent().filter((m) => m.id !== unsent).map((m) => m.id).slice(0, 120));
    ledger.close();
    ledger = open('MYS01', keep);
    const rejections = ledger.rejections();
    expect(rejections).toHaveLength(100);
    expect(rejections[0]?.reason).toBe('bad-signature: 50');
    const db = (ledger as unknown as { db: Database.Database }).db;
    const sent = db.prepare(`SELECT count(*) AS n FROM outbox WHERE sent_at IS NOT NULL`).get() as { n: number };
    expect(sent.n).toBe(100);
    expect(ledger.unsent().map((m) => m.id)).toContain(unsent);
    expect(ledger.unsentCount()).toBe(31);
    expect(ledger.findSale(s.tr)).toBeDefined();
    expect(ledger.findPayment('KEEP1')).toBeDefined();
  });

  it('prunes by age once the rows are older than kept', () => {
    ledger.close();
    ledger = open('MYS01', keep);
    reject(3);
    ledger.markSent(ledger.unsent().map((m) => m.id));
    clock.advance(31 * DAY);
    reject(1);
    expect(ledger.rejections().map((r) => r.reason)).toEqual(['bad-signature: 0']);
    expect(ledger.prune()).toEqual({ rejections: 0, sent: 0 });
    const db = (ledger as unknown as { db: Database.Database }).db;
    expect((db.prepare(`SELECT count(*) AS n FROM outbox`).get() as { n: number }).n).toBe(1);
  });

  it('prunes at most once an hour on the clock', () => {
    ledger.close();
    ledger = open('MYS01', keep);
    reject(100);
    clock.advance(59 * 60 * 1000);
    reject(20);
    expect(ledger.rejections()).toHaveLength(120);
    clock.advance(60 * 1000);
    reject(1);
    expect(ledger.rejections()).toHaveLength(100);
    expect(ledger.rejections().at(-1)?.reason).toBe('bad-signature: 0');
  });

  it('keeps everything without retention settings', () => {
    reject(150);
    clock.advance(400 * DAY);
    ledger.close();
    ledger = open();
    reject(1);
    expect(ledger.rejections()).toHaveLength(151);
  });
});

describe('outbox acknowledgements', () => {
  it('strike off many messages in one transaction, and only those named', () => {
    const ids = Array.from({ length: 450 }, (_, i) => ledger.enqueue('receipt', `{"n":${i}}`));
    const frames = walFrames(ledger);
    ledger.markSent(ids.slice(0, 449));
    expect(ledger.unsent().map((m) => m.payload)).toEqual(['{"n":449}']);
    // One commit writes each changed page once; one per message would write at least 449 frames.
    expect(frames()).toBeLessThan(50);
  });
});

describe('billing events', () => {
  const expired = (tr: string): CounterEvent => ({ type: 'expired', tr, amount: paise(25000) });

  it('numbers events from 1 and hands back exactly those after a seq, oldest first, as many as asked', () => {
    const s = ledger.issueSale(sale(25000, { ref: 'INV-1' }), uriFor);
    expect(ledger.lastEventSeq()).toBe(0);
    expect(ledger.recordEvent({ type: 'qr', sale: s })).toBe(1);
    clock.advance(1_000);
    expect(ledger.recordEvent({ type: 'paid', tr: s.tr, utr: 'U1', amount: paise(25000), asked: paise(25000), mismatch: false, late: false, ref: 'INV-1' })).toBe(2);
    expect(ledger.recordEvent(expired(s.tr))).toBe(3);
    expect(ledger.lastEventSeq()).toBe(3);
    expect(ledger.eventsAfter(0, 2)).toEqual([
      { seq: 1, at: clock.now() - 1_000, event: { type: 'qr', sale: s } },
      { seq: 2, at: clock.now(), event: { type: 'paid', tr: s.tr, utr: 'U1', amount: 25000, asked: 25000, mismatch: false, late: false, ref: 'INV-1' } },
    ]);
    expect(ledger.eventsAfter(2, 10).map((e) => e.seq)).toEqual([3]);
    expect(ledger.eventsAfter(3, 10)).toEqual([]);
  });

  it('keeps counting across a restart and never goes back, even once old events are dropped', () => {
    const s = ledger.issueSale(sale(), uriFor);
    ledger.recordEvent(expired(s.tr));
    ledger.recordEvent(expired(s.tr));
    ledger.close();
    ledger = open();
    expect(ledger.lastEventSeq()).toBe(2);
    expect(ledger.recordEvent(expired(s.tr))).toBe(3);
    ledger.transaction(() => {
      for (let i = 0; i < BILLING_EVENTS_KEPT + 2; i++) ledger.recordEvent(expired(s.tr));
    });
    const last = 3 + BILLING_EVENTS_KEPT + 2;
    ledger.close();
    ledger = open();
    expect(ledger.lastEventSeq()).toBe(last);
    // Only the newest are kept: the oldest still there is BILLING_EVENTS_KEPT from the end.
    expect(ledger.eventsAfter(0, 1)[0]?.seq).toBe(last - BILLING_EVENTS_KEPT + 1);
    expect(ledger.recordEvent(expired(s.tr))).toBe(last + 1);
  });

  it('leaves no event behind when the change it reports is rolled back', () => {
    const s = ledger.issueSale(sale(), uriFor);
    expect(() =>
      ledger.transaction(() => {
        ledger.closeSale(s.tr, 'expired', 'QR lifetime over');
        ledger.recordEvent(expired(s.tr));
        throw new Error('power cut');
      }),
    ).toThrow('power cut');
    expect(ledger.findSale(s.tr)?.state).toBe('showing');
    expect(ledger.eventsAfter(0, 10)).toEqual([]);
    expect(ledger.lastEventSeq()).toBe(0);
  });

  it('remembers how far the billing PC port has taken events, across a restart, never moving back', () => {
    expect(ledger.deliveredEventSeq()).toBe(0);
    ledger.markEventsDelivered(5);
    ledger.markEventsDelivered(3);
    ledger.close();
    ledger = open();
    expect(ledger.deliveredEventSeq()).toBe(5);
    ledger.markEventsDelivered(12);
    expect(ledger.deliveredEventSeq()).toBe(12);
  });

  it('finds sales by the billing reference, newest first, with every payment on a sale', () => {
    const first = ledger.issueSale(sale(25000, { ref: 'INV-42' }), uriFor);
    ledger.acceptPayment({ utr: 'F1', tr: first.tr, status: 'FAILED', amount: paise(25000), paidAt: 'x' });
    clock.advance(1_000);
    const second = ledger.issueSale(sale(25000, { ref: 'INV-42' }), uriFor);
    ledger.issueSale(sale(100, { ref: 'INV-43' }), uriFor);
    ledger.acceptPayment({ utr: 'P1', tr: second.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    clock.advance(400_000);
    ledger.acceptPayment({ utr: 'P2', tr: second.tr, status: 'SUCCESS', amount: paise(100), paidAt: 'x' });
    expect(ledger.salesByRef('INV-42', 10).map((s) => [s.tr, s.state])).toEqual([
      [second.tr, 'paid'],
      [first.tr, 'failed'],
    ]);
    expect(ledger.salesByRef('INV-42', 1).map((s) => s.tr)).toEqual([second.tr]);
    expect(ledger.salesByRef('INV-99', 10)).toEqual([]);
    expect(ledger.paymentsForSale(second.tr).map((p) => [p.utr, p.status, p.amount, p.mismatch, p.late])).toEqual([
      ['P1', 'SUCCESS', 25000, false, false],
      ['P2', 'SUCCESS', 100, true, true],
    ]);
    expect(ledger.paymentsForSale(first.tr).map((p) => p.status)).toEqual(['FAILED']);
  });

  it('hands back the same events and sales for every limit, with a statement kept for at most a few limits', () => {
    const issued = Array.from({ length: 12 }, (_, i) => {
      clock.advance(1_000);
      const s = ledger.issueSale(sale(100 + i, { ref: i % 2 === 0 ? 'INV-EVEN' : 'INV-ODD' }), uriFor);
      ledger.recordEvent({ type: 'qr', sale: s });
      return s;
    });
    const even = issued.filter((_, i) => i % 2 === 0).reverse();
    // The billing PC chooses its limit: many different ones, each asked twice.
    for (let round = 0; round < 2; round++) {
      for (let limit = 1; limit <= 3 * STATEMENTS_PER_QUERY; limit++) {
        expect(ledger.eventsAfter(2, limit).map((e) => e.seq)).toEqual(Array.from({ length: Math.min(limit, 10) }, (_, i) => 3 + i));
        expect(ledger.salesByRef('INV-EVEN', limit).map((s) => s.tr)).toEqual(even.slice(0, limit).map((s) => s.tr));
      }
    }
    expect(ledger.eventsAfter(12, 5)).toEqual([]);
    const internal = ledger as unknown as Record<'eventsAfterQuery' | 'salesByRefQuery' | 'unsentQuery', QueryByLimit<unknown[], unknown>>;
    expect(internal.eventsAfterQuery.limitsKept()).toHaveLength(STATEMENTS_PER_QUERY);
    expect(internal.salesByRefQuery.limitsKept()).toHaveLength(STATEMENTS_PER_QUERY);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => ledger.eventsAfter(0, bad)).toThrow(RangeError);
      expect(() => ledger.salesByRef('INV-EVEN', bad)).toThrow(RangeError);
    }
  });

  it('adds the event log to a ledger written by the previous firmware, keeping its sales', () => {
    const s = ledger.issueSale(sale(25000, { ref: 'INV-7' }), uriFor);
    ledger.close();
    // The ledger as the previous firmware left it: schema 2, no event log.
    const db = new Database(path);
    db.exec(`DROP TABLE billing_events; DROP INDEX sales_ref;
             ALTER TABLE payments DROP COLUMN announce_attempts; ALTER TABLE payments DROP COLUMN announce_given_up_at;`);
    db.pragma('user_version = 2');
    db.close();
    ledger = open();
    expect(ledger.findSale(s.tr)?.state).toBe('showing');
    expect(ledger.salesByRef('INV-7', 10).map((x) => x.tr)).toEqual([s.tr]);
    expect(ledger.recordEvent(expired(s.tr))).toBe(1);
  });
});

describe('a query with its limit written into the SQL', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
    db.exec(`CREATE TABLE n (v INTEGER PRIMARY KEY)`);
    const insert = db.prepare<[number]>(`INSERT INTO n (v) VALUES (?)`);
    for (let v = 1; v <= 100; v++) insert.run(v);
  });
  afterEach(() => db.close());

  it('prepares one statement per limit and keeps the most recently used up to its cap, dropping the least recent', () => {
    const query = new QueryByLimit<[number], { v: number }>(db, 'a batch', (limit) => `SELECT v FROM n WHERE v > ? ORDER BY v LIMIT ${limit}`, 3);
    const first = query.limitedTo(5);
    expect(query.limitedTo(5)).toBe(first);
    query.limitedTo(6);
    query.limitedTo(7);
    expect(query.limitsKept()).toEqual([5, 6, 7]);
    // Using 5 again makes 6 the least recent: it is the one dropped for 8.
    query.limitedTo(5);
    query.limitedTo(8);
    expect(query.limitsKept()).toEqual([7, 5, 8]);
    expect(query.limitedTo(5)).toBe(first);
    for (let limit = 1; limit <= 500; limit++) {
      expect(query.limitedTo(limit).all(90).map((row) => row.v)).toEqual(Array.from({ length: Math.min(limit, 10) }, (_, i) => 91 + i));
      expect(query.limitsKept().length).toBeLessThanOrEqual(3);
    }
    expect(query.limitsKept()).toEqual([498, 499, 500]);
    // A dropped limit is prepared again and answers as before.
    expect(query.limitedTo(6).all(0).map((row) => row.v)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a limit that is not a whole number from 1, naming what it counts', () => {
    const query = new QueryByLimit<[], { v: number }>(db, 'an outbox batch', (limit) => `SELECT v FROM n LIMIT ${limit}`);
    expect(() => query.limitedTo(0)).toThrow('an outbox batch is a whole number from 1, not 0');
    expect(() => query.limitedTo(2.5)).toThrow(RangeError);
    expect(query.limitsKept()).toEqual([]);
  });
});
