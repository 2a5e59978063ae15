import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { istDayStart, type Clock } from '../clock.js';
import type { SaleSnapshot, SaleSource, SaleState } from '../sale/counter-port.js';
import { paise, type Paise } from '../money.js';

/**
 * The device's durable memory: every QR issued, every confirmation received
 * (accepted or rejected), and every message still owed to the backend.
 * Each step of a payment is its own committed transaction so that a power
 * cut at any instant leaves a state the boot sequence can finish.
 */

export type PaymentStatus = 'SUCCESS' | 'FAILED';

export interface PaymentRecord {
  utr: string;
  tr: string;
  status: PaymentStatus;
  amount: Paise;
  asked: Paise;
  payer?: string;
  paidAt: string;
  receivedAt: number;
  late: boolean;
  mismatch: boolean;
  announced: boolean;
}

export interface OutboxMessage {
  id: number;
  /** Topic below the device's prefix, e.g. "receipt". */
  topic: string;
  payload: string;
}

export interface RejectionRecord {
  reason: string;
  tr?: string | undefined;
  utr?: string | undefined;
  size: number;
  sha256: string;
  /** The first bytes of the payload, for the engineer who investigates. */
  excerpt: string;
}

export interface NewSale {
  source: SaleSource;
  amount: Paise;
  ref?: string | undefined;
  note?: string | undefined;
  collectId?: string | undefined;
  shownAt: number;
  expiresAt: number;
}

const SCHEMA_VERSION = 1;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE sales (
     tr TEXT PRIMARY KEY,
     seq INTEGER NOT NULL UNIQUE,
     source TEXT NOT NULL,
     collect_id TEXT UNIQUE,
     ref TEXT,
     note TEXT,
     amount_paise INTEGER NOT NULL CHECK (amount_paise > 0),
     uri TEXT NOT NULL,
     shown_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('showing','paid','failed','expired','cancelled')),
     close_reason TEXT,
     closed_at INTEGER
   );
   CREATE TABLE payments (
     utr TEXT PRIMARY KEY,
     tr TEXT NOT NULL REFERENCES sales(tr),
     status TEXT NOT NULL CHECK (status IN ('SUCCESS','FAILED')),
     amount_paise INTEGER NOT NULL CHECK (amount_paise >= 0),
     payer TEXT,
     paid_at TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     late INTEGER NOT NULL,
     mismatch INTEGER NOT NULL,
     announced INTEGER NOT NULL DEFAULT 0,
     announced_at INTEGER
   );
   CREATE INDEX payments_pending ON payments(announced) WHERE announced = 0;
   CREATE INDEX payments_received ON payments(received_at);
   CREATE TABLE rejections (
     id INTEGER PRIMARY KEY,
     received_at INTEGER NOT NULL,
     reason TEXT NOT NULL,
     tr TEXT,
     utr TEXT,
     size INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     excerpt TEXT NOT NULL
   );
   CREATE TABLE outbox (
     id INTEGER PRIMARY KEY,
     topic TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     sent_at INTEGER
   );
   CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_at IS NULL;`,
];

interface SaleRow {
  tr: string;
  source: SaleSource;
  ref: string | null;
  note: string | null;
  amount_paise: number;
  uri: string;
  shown_at: number;
  expires_at: number;
  state: SaleState;
}

interface PaymentRow {
  utr: string;
  tr: string;
  status: PaymentStatus;
  amount_paise: number;
  asked_paise: number;
  payer: string | null;
  paid_at: string;
  received_at: number;
  late: number;
  mismatch: number;
  announced: number;
}

export class Ledger {
  private readonly db: Database.Database;

  constructor(
    path: string,
    private readonly clock: Clock,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // WAL lets the field engineer's tools read while the device writes;
    // FULL makes every commit survive a power cut, which the exactly-once
    // announcement relies on.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(`ledger schema version ${current} is newer than this firmware understands (${SCHEMA_VERSION})`);
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v] ?? '');
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /**
   * Reserves the next transaction reference and records the sale with the
   * URI built for it, in one transaction. The counter lives in the ledger,
   * so a reference is never issued twice, across restarts. A new ledger
   * seeds it from the clock (seconds), so even a wiped device does not
   * repeat references it issued before.
   */
  issueSale(deviceId: string, sale: NewSale, buildUri: (tr: string) => string): SaleSnapshot {
    return this.db.transaction((): SaleSnapshot => {
      const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'tr_seq'`).get() as { value: string } | undefined;
      const seq = row ? Number(row.value) + 1 : Math.floor(this.clock.now() / 1000);
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('tr_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(seq));
      const tr = `${deviceId}-${seq}`;
      const uri = buildUri(tr);
      this.db
        .prepare(
          `INSERT INTO sales (tr, seq, source, collect_id, ref, note, amount_paise, uri, shown_at, expires_at, state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'showing')`,
        )
        .run(tr, seq, sale.source, sale.collectId ?? null, sale.ref ?? null, sale.note ?? null, sale.amount, uri, sale.shownAt, sale.expiresAt);
      return snapshot({
        tr,
        source: sale.source,
        ref: sale.ref ?? null,
        note: sale.note ?? null,
        amount_paise: sale.amount,
        uri,
        shown_at: sale.shownAt,
        expires_at: sale.expiresAt,
        state: 'showing',
      });
    })();
  }

  findSale(tr: string): SaleSnapshot | undefined {
    const row = this.db.prepare(`SELECT * FROM sales WHERE tr = ?`).get(tr) as SaleRow | undefined;
    return row && snapshot(row);
  }

  findSaleByCollectId(collectId: string): SaleSnapshot | undefined {
    const row = this.db.prepare(`SELECT * FROM sales WHERE collect_id = ?`).get(collectId) as SaleRow | undefined;
    return row && snapshot(row);
  }

  /** Sales that were on screen when the device last stopped. */
  showingSales(): SaleSnapshot[] {
    return (this.db.prepare(`SELECT * FROM sales WHERE state = 'showing' ORDER BY seq`).all() as SaleRow[]).map(snapshot);
  }

  /** Moves a sale out of 'showing'. Returns false if it had already left it. */
  closeSale(tr: string, state: Exclude<SaleState, 'showing'>, reason?: string): boolean {
    const result = this.db
      .prepare(`UPDATE sales SET state = ?, close_reason = ?, closed_at = ? WHERE tr = ? AND state = 'showing'`)
      .run(state, reason ?? null, this.clock.now(), tr);
    return result.changes === 1;
  }

  /**
   * Records a verified confirmation. Returns the stored record and whether
   * it is new; a utr seen before is a duplicate and changes nothing.
   * A SUCCESS also closes the sale as paid, a FAILED as failed, if it is
   * still on screen; `late` is decided here, inside the same transaction.
   * `lifetimeOver` is the caller's word on whether the QR's lifetime has run
   * out, when it timed the QR itself; without it the wall clock is compared
   * with the QR's expiry.
   */
  acceptPayment(
    p: {
      utr: string;
      tr: string;
      status: PaymentStatus;
      amount: Paise;
      payer?: string | undefined;
      paidAt: string;
    },
    lifetimeOver?: boolean,
  ): { record: PaymentRecord; fresh: boolean } {
    return this.db.transaction(() => {
      const existing = this.findPayment(p.utr);
      if (existing) return { record: existing, fresh: false };
      const sale = this.db.prepare(`SELECT * FROM sales WHERE tr = ?`).get(p.tr) as SaleRow | undefined;
      if (!sale) throw new Error(`sale ${p.tr} is not in the ledger`);
      const now = this.clock.now();
      // Late: the QR had expired or been taken off screen. A second payment
      // on a sale already paid is not late, just more money.
      const late = (lifetimeOver ?? now > sale.expires_at) || sale.state === 'expired' || sale.state === 'cancelled';
      const mismatch = p.status === 'SUCCESS' && p.amount !== sale.amount_paise;
      this.db
        .prepare(
          `INSERT INTO payments (utr, tr, status, amount_paise, payer, paid_at, received_at, late, mismatch, announced)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
        )
        .run(p.utr, p.tr, p.status, p.amount, p.payer ?? null, p.paidAt, now, late ? 1 : 0, mismatch ? 1 : 0);
      if (sale.state === 'showing') this.closeSale(p.tr, p.status === 'SUCCESS' ? 'paid' : 'failed', p.status.toLowerCase());
      const record = this.findPayment(p.utr);
      if (!record) throw new Error(`payment ${p.utr} vanished inside its own transaction`);
      return { record, fresh: true };
    })();
  }

  findPayment(utr: string): PaymentRecord | undefined {
    const row = this.db
      .prepare(`SELECT p.*, s.amount_paise AS asked_paise FROM payments p JOIN sales s ON s.tr = p.tr WHERE p.utr = ?`)
      .get(utr) as PaymentRow | undefined;
    return row && payment(row);
  }

  /** Accepted confirmations whose announcement has not finished, oldest first. */
  pendingAnnouncements(): PaymentRecord[] {
    return (
      this.db
        .prepare(
          `SELECT p.*, s.amount_paise AS asked_paise FROM payments p JOIN sales s ON s.tr = p.tr
           WHERE p.announced = 0 ORDER BY p.received_at, p.rowid`,
        )
        .all() as PaymentRow[]
    ).map(payment);
  }

  /** Marks the announcement done and queues the receipt, atomically. */
  markAnnounced(utr: string, receipt: { topic: string; payload: string }): void {
    this.db.transaction(() => {
      const result = this.db.prepare(`UPDATE payments SET announced = 1, announced_at = ? WHERE utr = ? AND announced = 0`).run(this.clock.now(), utr);
      if (result.changes === 1) this.enqueue(receipt.topic, receipt.payload);
    })();
  }

  /** Records a refused message and queues its receipt, atomically. */
  recordRejection(rejection: RejectionRecord, receipt?: { topic: string; payload: string }): void {
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO rejections (received_at, reason, tr, utr, size, sha256, excerpt) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        .run(this.clock.now(), rejection.reason, rejection.tr ?? null, rejection.utr ?? null, rejection.size, rejection.sha256, rejection.excerpt);
      if (receipt) this.enqueue(receipt.topic, receipt.payload);
    })();
  }

  rejections(): (RejectionRecord & { receivedAt: number })[] {
    const rows = this.db.prepare(`SELECT * FROM rejections ORDER BY id`).all() as {
      received_at: number;
      reason: string;
      tr: string | null;
      utr: string | null;
      size: number;
      sha256: string;
      excerpt: string;
    }[];
    return rows.map((r) => ({ receivedAt: r.received_at, reason: r.reason, tr: r.tr ?? undefined, utr: r.utr ?? undefined, size: r.size, sha256: r.sha256, excerpt: r.excerpt }));
  }

  /** Queues a message for the backend; it stays until the broker acknowledges it. */
  enqueue(topic: string, payload: string): number {
    const result = this.db.prepare(`INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)`).run(topic, payload, this.clock.now());
    return Number(result.lastInsertRowid);
  }

  unsent(limit = 500): OutboxMessage[] {
    return this.db.prepare(`SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?`).all(limit) as OutboxMessage[];
  }

  unsentCount(): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL`).get() as { n: number }).n;
  }

  markSent(id: number): void {
    this.db.prepare(`UPDATE outbox SET sent_at = ? WHERE id = ?`).run(this.clock.now(), id);
  }

  /** Successful payments received since midnight IST. */
  today(): { count: number; total: Paise } {
    const midnight = istDayStart(this.clock.now());
    const row = this.db
      .prepare(`SELECT count(*) AS n, coalesce(sum(amount_paise), 0) AS total FROM payments WHERE status = 'SUCCESS' AND received_at >= ?`)
      .get(midnight) as { n: number; total: number };
    return { count: row.n, total: paise(row.total) };
  }

  lastPayment(): PaymentRecord | undefined {
    const row = this.db
      .prepare(
        `SELECT p.*, s.amount_paise AS asked_paise FROM payments p JOIN sales s ON s.tr = p.tr
         WHERE p.status = 'SUCCESS' ORDER BY p.received_at DESC, p.rowid DESC LIMIT 1`,
      )
      .get() as PaymentRow | undefined;
    return row && payment(row);
  }

  /** What a field engineer checks: the file is sound, and how much is in it and still owed. */
  health(): { integrity: string; sales: number; payments: number; unannounced: number; unsent: number; rejections: number } {
    const count = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      integrity: String(this.db.pragma('integrity_check', { simple: true })),
      sales: count(`SELECT count(*) AS n FROM sales`),
      payments: count(`SELECT count(*) AS n FROM payments`),
      unannounced: count(`SELECT count(*) AS n FROM payments WHERE announced = 0`),
      unsent: count(`SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL`),
      rejections: count(`SELECT count(*) AS n FROM rejections`),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function snapshot(row: SaleRow): SaleSnapshot {
  const s: SaleSnapshot = {
    tr: row.tr,
    amount: paise(row.amount_paise),
    uri: row.uri,
    state: row.state,
    source: row.source,
    shownAt: row.shown_at,
    expiresAt: row.expires_at,
  };
  if (row.ref !== null) s.ref = row.ref;
  if (row.note !== null) s.note = row.note;
  return s;
}

function payment(row: PaymentRow): PaymentRecord {
  const p: PaymentRecord = {
    utr: row.utr,
    tr: row.tr,
    status: row.status,
    amount: paise(row.amount_paise),
    asked: paise(row.asked_paise),
    paidAt: row.paid_at,
    receivedAt: row.received_at,
    late: row.late === 1,
    mismatch: row.mismatch === 1,
    announced: row.announced === 1,
  };
  if (row.payer !== null) p.payer = row.payer;
  return p;
}
