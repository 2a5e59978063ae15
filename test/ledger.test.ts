import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { Ledger, type NewSale } from '../core/payment/ledger.js';
import { paise } from '../core/money.js';

let dir: string;
let path: string;
let clock: ManualClock;
let ledger: Ledger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dakbox-ledger-'));
  path = join(dir, 'ledger.sqlite');
  clock = new ManualClock(Date.UTC(2026, 0, 15, 4, 30, 0));
  ledger = new Ledger(path, clock);
});
afterEach(() => {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

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

  it('issues transaction references that never repeat, across restarts', () => {
    const first = ledger.issueSale('MYS01', sale(), uriFor);
    expect(first.tr).toBe(`MYS01-${Math.floor(clock.now() / 1000)}`);
    const second = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.close();
    ledger = new Ledger(path, clock);
    const third = ledger.issueSale('MYS01', sale(), uriFor);
    const seqs = [first, second, third].map((s) => Number(s.tr.split('-')[1]));
    expect(seqs[1]).toBe(seqs[0]! + 1);
    expect(seqs[2]).toBe(seqs[1]! + 1);
    expect(ledger.findSale(third.tr)?.uri).toBe(uriFor(third.tr));
  });

  it('seeds a fresh ledger from the clock, so a wiped device does not repeat old references', () => {
    const old = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.close();
    rmSync(path);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    clock.advance(60_000);
    ledger = new Ledger(path, clock);
    expect(Number(ledger.issueSale('MYS01', sale(), uriFor).tr.split('-')[1])).toBeGreaterThan(Number(old.tr.split('-')[1]));
  });

  it('records the URI built for the reference inside the same transaction', () => {
    expect(() =>
      ledger.issueSale('MYS01', sale(), () => {
        throw new Error('bad note');
      }),
    ).toThrow('bad note');
    expect(ledger.showingSales()).toEqual([]);
  });

  it('keys collect requests by id', () => {
    const s = ledger.issueSale('MYS01', sale(25000, { source: 'mqtt', collectId: 'c-1' }), uriFor);
    expect(ledger.findSaleByCollectId('c-1')?.tr).toBe(s.tr);
    expect(() => ledger.issueSale('MYS01', sale(25000, { source: 'mqtt', collectId: 'c-1' }), uriFor)).toThrow(/UNIQUE/);
  });

  it('accepts a payment once; the same utr again is a duplicate', () => {
    const s = ledger.issueSale('MYS01', sale(), uriFor);
    const p = { utr: '4123', tr: s.tr, status: 'SUCCESS' as const, amount: paise(25000), paidAt: '2026-01-15T10:01:00+05:30' };
    const first = ledger.acceptPayment(p);
    expect(first.fresh).toBe(true);
    expect(first.record).toMatchObject({ late: false, mismatch: false, announced: false, asked: 25000 });
    expect(ledger.findSale(s.tr)?.state).toBe('paid');
    const again = ledger.acceptPayment({ ...p, amount: paise(1) });
    expect(again.fresh).toBe(false);
    expect(again.record.amount).toBe(25000);
  });

  it('flags a different amount as a mismatch, and a payment after expiry as late', () => {
    const s = ledger.issueSale('MYS01', sale(), uriFor);
    clock.advance(301_000);
    const { record } = ledger.acceptPayment({ utr: '1', tr: s.tr, status: 'SUCCESS', amount: paise(20000), paidAt: 'x' });
    expect(record).toMatchObject({ late: true, mismatch: true, amount: 20000, asked: 25000 });
  });

  it('flags a payment on a cancelled sale as late, but not a second payment on a paid one', () => {
    const a = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.closeSale(a.tr, 'cancelled', 'clerk');
    expect(ledger.acceptPayment({ utr: '1', tr: a.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' }).record.late).toBe(true);
    const b = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.acceptPayment({ utr: '2', tr: b.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    expect(ledger.acceptPayment({ utr: '3', tr: b.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' }).record.late).toBe(false);
  });

  it('keeps accepted-but-unannounced payments across a restart, and queues the receipt with the mark', () => {
    const s = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.acceptPayment({ utr: '9', tr: s.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    ledger.close();
    ledger = new Ledger(path, clock);
    expect(ledger.pendingAnnouncements().map((p) => p.utr)).toEqual(['9']);
    ledger.markAnnounced('9', { topic: 'receipt', payload: '{"outcome":"announced"}' });
    ledger.markAnnounced('9', { topic: 'receipt', payload: '{"outcome":"announced"}' });
    expect(ledger.pendingAnnouncements()).toEqual([]);
    expect(ledger.unsent().map((m) => m.payload)).toEqual(['{"outcome":"announced"}']);
  });

  it('keeps outbox messages until marked sent', () => {
    const a = ledger.enqueue('qr', '{"a":1}');
    ledger.enqueue('receipt', '{"b":2}');
    ledger.markSent(a);
    expect(ledger.unsent().map((m) => m.topic)).toEqual(['receipt']);
    expect(ledger.unsentCount()).toBe(1);
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
    ledger = new Ledger(path, clock);
    const a = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.acceptPayment({ utr: '1', tr: a.tr, status: 'SUCCESS', amount: paise(25000), paidAt: 'x' });
    expect(ledger.today()).toEqual({ count: 1, total: 25000 });
    clock.advance(20 * 60_000); // 00:10 IST on the 16th
    const b = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.acceptPayment({ utr: '2', tr: b.tr, status: 'SUCCESS', amount: paise(1050), paidAt: 'x' });
    const c = ledger.issueSale('MYS01', sale(), uriFor);
    ledger.acceptPayment({ utr: '3', tr: c.tr, status: 'FAILED', amount: paise(9900), paidAt: 'x' });
    expect(ledger.today()).toEqual({ count: 1, total: 1050 });
    expect(ledger.lastPayment()?.utr).toBe('2');
  });

  it('refuses a ledger written by newer firmware', () => {
    ledger.close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => new Ledger(path, clock)).toThrow('ledger schema version 99 is newer than this firmware understands (2)');
    ledger = new Ledger(':memory:', clock);
  });
});
