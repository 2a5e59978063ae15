import Database from 'better-sqlite3';
import { randomInt } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { istDayStart, type Clock, type TimerHandle } from '../clock.js';
import type { CounterEvent, SaleSnapshot, SaleSource, SaleState } from '../sale/counter-port.js';
import { paise, type Paise } from '../money.js';

/**
 * The device's durable memory: every QR issued, every confirmation received
 * (accepted or rejected), and every message still owed to the backend.
 * Each step of a payment is its own committed transaction so that a power
 * cut at any instant leaves a state the boot sequence can finish.
 *
 * Two kinds of commit. A durable one (synchronous = FULL, one fsync of the
 * write-ahead log) for what the exactly-once rules need on the storage
 * before the next step: a sale before its QR is shown, a payment (with the
 * first start of its announcement) before the broker's acknowledgement.
 * A light one (synchronous = NORMAL: written to the log, not fsynced) for
 * the marks whose loss those rules allow: "announced" (the payment is said
 * once more at the next start, within the cap on starts), "sent" (the
 * message is sent again; the backend takes a repeat as the same message)
 * and "delivered to the billing PC" (events sent again; the billing PC
 * keeps the last seq it handled). The log is written in order and each
 * frame's checksum covers the ones before it, so a power cut loses at most
 * the light commits after the last fsync of the log: the next durable
 * commit fsyncs them with it, and an "announced" mark is fsynced at most
 * SETTLE_MS after it is written even if nothing durable follows.
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

/**
 * Why a file was not opened as this device's ledger. The file is never
 * deleted, replaced or modified when it is refused: it may hold the only
 * record of payments, so it is kept for someone to inspect.
 */
export type LedgerRefusalReason = 'empty' | 'not-sqlite' | 'not-a-ledger' | 'other-device' | 'damaged' | 'newer-schema' | 'orphan-wal';

export class LedgerRefused extends Error {
  override readonly name = 'LedgerRefused';
  constructor(
    readonly path: string,
    readonly reason: LedgerRefusalReason,
    /** What is wrong, for people. */
    readonly detail: string,
  ) {
    super(`ledger ${path} refused: ${detail}; ${reason === 'orphan-wal' ? 'the log was' : 'the file was'} kept as it is for inspection`);
  }
}

/**
 * SQLite's page cache for the ledger, in KiB. In 20,000-sale memory soaks
 * (two runs each, on a shared machine) the device held 2–3 MB less with
 * 512 than with 2048 (median resident memory from the 5,000th sale on,
 * after a garbage collection: 102.7 and 101.9 MB against 105.0 and
 * 104.6 MB; one run with 256 read 102.5 MB), for 240 more reads of the
 * ledger file over 20,000 sales of the sale benchmark (31,652 against
 * 31,412, counted by strace; 33,242 with 256); CPU time per sale did
 * not change beyond the noise (0.84 to 0.96 ms in all three). The smaller cache lowered the readings
 * from the 1,000th sale on alike, so it did not remove the rise after it
 * (+4.6 and +4.1 MB to the 20,000th, against +3.3 and +6.1 MB with 2048).
 */
export const LEDGER_CACHE_KIB = 512;

/** Written into the SQLite header of every dakbox ledger (PRAGMA application_id): "DAKB". */
export const LEDGER_APPLICATION_ID = 0x44414b42;

/** What the ledger needs to know of its device. */
export interface LedgerOptions {
  /** A ledger belongs to one device: its id starts every reference the ledger issues. */
  deviceId: string;
  /** Without it nothing is pruned (e.g. a field engineer's check). */
  retention?: LedgerRetention | undefined;
}

/** How long rows kept only for inspection stay. Sales and payments are never pruned. */
export interface LedgerRetention {
  rejectionDays: number;
  maxRejections: number;
  sentDays: number;
  maxSent: number;
}

/** A step of the schema: SQL, or code for what SQL cannot know (the device id). */
type Migration = string | ((db: Database.Database, ledger: { deviceId: string }) => void);

const MIGRATIONS: readonly Migration[] = [
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
  // The ledger says whose it is and that it is a dakbox ledger, so that a
  // wrong or foreign file is refused at open instead of being written to.
  (db, { deviceId }) => {
    db.exec(`CREATE INDEX rejections_received ON rejections(received_at);
             CREATE INDEX outbox_sent ON outbox(sent_at) WHERE sent_at IS NOT NULL;`);
    db.prepare(`INSERT INTO meta (key, value) VALUES ('device_id', ?)`).run(deviceId);
    db.pragma(`application_id = ${LEDGER_APPLICATION_ID}`);
  },
  // The billing PC's event log (see "Billing events" below), and sales found by the billing PC's reference.
  `CREATE TABLE billing_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     type TEXT NOT NULL CHECK (type IN ('qr','paid','failed','expired','cancelled')),
     tr TEXT NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX sales_ref ON sales(ref) WHERE ref IS NOT NULL;`,
  // How often speaking each payment has started, so that a payment whose
  // end of speech is never recorded is not announced at every boot for ever.
  `ALTER TABLE payments ADD COLUMN announce_attempts INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE payments ADD COLUMN announce_given_up_at INTEGER;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
/** The tables of a version 1 ledger, made before ledgers carried an application id. */
const V1_TABLES = ['meta', 'sales', 'payments', 'rejections', 'outbox'];

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

/** What a storage probe writes: more than a payment and its receipt need, so a probe that passes means a payment can too. */
const PROBE_BYTES = 32 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
/** How long an "announced" mark may wait for a durable commit before the log is fsynced for it. */
export const SETTLE_MS = 1000;

/** The UPI limit on `tr`. */
const TR_MAX_LENGTH = 35;
/**
 * The random part of a transaction reference: 7 characters of Crockford's
 * base32 (digits and capitals without I, L, O and U, so none is misread as
 * another), 35 bits. `{deviceId}-{epoch}-{n}` with a 20-character device id
 * leaves 6 digits for n.
 */
const EPOCH_LENGTH = 7;
const EPOCH_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export class Ledger {
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly deviceId: string;
  private readonly retention: LedgerRetention | undefined;
  /** The epoch of this run of the ledger, drawn at its first sale. */
  private epoch: string | undefined;
  private prunedAt: number | undefined;
  /** The write-ahead log, fsynced to settle light commits; none in memory. */
  private readonly walPath: string | undefined;
  /** Set while an "announced" mark waits to be fsynced. */
  private settleTimer: TimerHandle | undefined;
  /**
   * Runs its argument as one transaction (a savepoint inside another). One
   * function for every transaction: better-sqlite3 builds a new wrapper
   * with four variants for each function handed to `db.transaction`, which
   * cost more than the statements of a light commit.
   */
  private readonly atomically: <T>(work: () => T) => T;
  /** The queries whose LIMIT is written into their SQL (see QueryByLimit). */
  private readonly unsentQuery: QueryByLimit<[], OutboxMessage>;
  private readonly eventsAfterQuery: QueryByLimit<[number], EventRow>;
  private readonly salesByRefQuery: QueryByLimit<[string], SaleRow>;

  /**
   * Opens the device's ledger, or makes a new one where there is no file
   * (the first start). Anything else that is not this device's sound ledger
   * is refused with LedgerRefused, and the file is left exactly as it was.
   */
  constructor(
    path: string,
    private readonly clock: Clock,
    options: LedgerOptions,
  ) {
    this.deviceId = options.deviceId;
    this.retention = options.retention;
    this.db = openLedger(path, options.deviceId);
    this.walPath = path === ':memory:' ? undefined : `${path}-wal`;
    this.sql = prepareStatements(this.db);
    this.unsentQuery = new QueryByLimit(this.db, 'an outbox batch', (limit) => `SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ${limit}`);
    this.eventsAfterQuery = new QueryByLimit(this.db, 'a batch of billing events', (limit) => `SELECT seq, at, type, body FROM billing_events WHERE seq > ? ORDER BY seq LIMIT ${limit}`);
    this.salesByRefQuery = new QueryByLimit(this.db, 'a list of sales by reference', (limit) => `SELECT * FROM sales WHERE ref = ? ORDER BY shown_at DESC, rowid DESC LIMIT ${limit}`);
    const inTransaction = this.db.transaction((work: () => unknown) => work());
    this.atomically = <T>(work: () => T): T => inTransaction(work) as T;
    if (this.retention) this.prune();
  }

  get open(): boolean {
    return this.db.open;
  }

  /**
   * Reserves the next transaction reference and records the sale with the
   * URI built for it, in one transaction.
   *
   * A reference is `{deviceId}-{epoch}-{n}`, e.g. `MYS01-7K3QD9M-1042`: n
   * counts this ledger's sales; the epoch is drawn at random at the first
   * sale of every run, and kept in meta. So a new ledger (wiped, replaced),
   * an old copy put back, or a clock that is behind cannot issue a reference
   * again: they draw a new epoch before their first sale.
   *
   * Chance of a repeat: within one ledger none (a drawn epoch is checked
   * against its sales), and none between devices (the device id). Across a
   * history the ledger cannot see (a wiped ledger's runs, or the runs after
   * the copy that was put back), a reference repeats only if a drawn epoch
   * equals one of those runs' and their counts overlap. Runs count on from
   * each other, so R runs on each side make at most 2R overlapping pairs,
   * each a 2^-35 chance: for a thousand runs each, under 1 in 17 million.
   */
  issueSale(sale: NewSale, buildUri: (tr: string) => string): SaleSnapshot {
    let epoch = this.epoch;
    const issued = this.durably((): SaleSnapshot => {
      const counts = this.sql.saleCounts.get();
      const seq = Number(counts?.seq ?? 0) + 1;
      let n = Number(counts?.count ?? 0) + 1;
      if (epoch === undefined) epoch = this.drawEpoch();
      if (reference(this.deviceId, epoch, n).length > TR_MAX_LENGTH) {
        // With a long device id n runs out of room: a fresh epoch, and n from 1 again.
        epoch = this.drawEpoch();
        n = 1;
      }
      const tr = reference(this.deviceId, epoch, n);
      if (tr.length > TR_MAX_LENGTH) throw new Error(`device id ${this.deviceId} leaves no room for a transaction reference`);
      this.sql.setSaleCounts.run(String(seq), String(n), epoch);
      const uri = buildUri(tr);
      this.sql.insertSale.run(tr, seq, sale.source, sale.collectId ?? null, sale.ref ?? null, sale.note ?? null, sale.amount, uri, sale.shownAt, sale.expiresAt);
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
    });
    this.epoch = epoch;
    return issued;
  }

  /** A random epoch no sale in this ledger carries. */
  private drawEpoch(): string {
    for (;;) {
      let epoch = '';
      for (let i = 0; i < EPOCH_LENGTH; i++) epoch += EPOCH_ALPHABET[randomInt(EPOCH_ALPHABET.length)];
      // '.' follows '-': every reference with this epoch sorts between the two bounds.
      if (!this.sql.epochUsed.get(`${this.deviceId}-${epoch}-`, `${this.deviceId}-${epoch}.`)) return epoch;
    }
  }

  findSale(tr: string): SaleSnapshot | undefined {
    const row = this.sql.saleByTr.get(tr);
    return row && snapshot(row);
  }

  findSaleByCollectId(collectId: string): SaleSnapshot | undefined {
    const row = this.sql.saleByCollectId.get(collectId);
    return row && snapshot(row);
  }

  /** Sales that were on screen when the device last stopped. */
  showingSales(): SaleSnapshot[] {
    return this.sql.showingSales.all().map(snapshot);
  }

  /** Moves a sale out of 'showing'. Returns false if it had already left it. */
  closeSale(tr: string, state: Exclude<SaleState, 'showing'>, reason?: string): boolean {
    const result = this.sql.closeSale.run(state, reason ?? null, this.clock.now(), tr);
    return result.changes === 1;
  }

  /**
   * Records a verified confirmation. Returns the stored record and whether
   * it is new, and for a new one its sale as it now stands; a utr seen
   * before is a duplicate and changes nothing.
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
  ): { record: PaymentRecord; fresh: boolean; sale?: SaleSnapshot } {
    return this.durably(() => {
      const existing = this.findPayment(p.utr);
      if (existing) return { record: existing, fresh: false };
      const sale = this.sql.saleByTr.get(p.tr);
      if (!sale) throw new Error(`sale ${p.tr} is not in the ledger`);
      const now = this.clock.now();
      // Late: the QR had expired or been taken off screen. A second payment
      // on a sale already paid is not late, just more money.
      const late = (lifetimeOver ?? now > sale.expires_at) || sale.state === 'expired' || sale.state === 'cancelled';
      const mismatch = p.status === 'SUCCESS' && p.amount !== sale.amount_paise;
      this.sql.insertPayment.run(p.utr, p.tr, p.status, p.amount, p.payer ?? null, p.paidAt, now, late ? 1 : 0, mismatch ? 1 : 0);
      const closedAs = p.status === 'SUCCESS' ? 'paid' : 'failed';
      const closed = sale.state === 'showing' && this.closeSale(p.tr, closedAs, p.status.toLowerCase());
      // The row as just inserted, without reading it back.
      const record = payment({
        utr: p.utr,
        tr: p.tr,
        status: p.status,
        amount_paise: p.amount,
        asked_paise: sale.amount_paise,
        payer: p.payer ?? null,
        paid_at: p.paidAt,
        received_at: now,
        late: late ? 1 : 0,
        mismatch: mismatch ? 1 : 0,
        announced: 0,
      });
      return { record, fresh: true, sale: snapshot(closed ? { ...sale, state: closedAs } : sale) };
    });
  }

  findPayment(utr: string): PaymentRecord | undefined {
    const row = this.sql.paymentByUtr.get(utr);
    return row && payment(row);
  }

  /** Accepted confirmations whose announcement has not finished, oldest first. */
  pendingAnnouncements(): PaymentRecord[] {
    return this.sql.pendingAnnouncements.all().map(payment);
  }

  /**
   * Marks the announcement done and queues the receipt, atomically, in a
   * light commit fsynced within SETTLE_MS: a power cut before that means the
   * payment is said once more at the next start (its starts are counted
   * durably, so the cap holds), and its receipt is queued again then.
   */
  markAnnounced(utr: string, receipt: { topic: string; payload: string }): void {
    this.lightly(() => {
      const result = this.sql.markAnnounced.run(this.clock.now(), utr);
      if (result.changes === 1) this.enqueue(receipt.topic, receipt.payload);
    });
    this.settleSoon();
  }

  /** Records a refused message and queues its receipt, atomically. */
  recordRejection(rejection: RejectionRecord, receipt?: { topic: string; payload: string }): void {
    this.durably(() => {
      this.sql.insertRejection.run(this.clock.now(), rejection.reason, rejection.tr ?? null, rejection.utr ?? null, rejection.size, rejection.sha256, rejection.excerpt);
      if (receipt) this.enqueue(receipt.topic, receipt.payload);
      this.pruneIfDue();
    });
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
    const result = this.sql.enqueue.run(topic, payload, this.clock.now());
    return Number(result.lastInsertRowid);
  }

  unsent(limit = 500): OutboxMessage[] {
    return this.unsentQuery.limitedTo(limit).all();
  }

  unsentCount(): number {
    return this.sql.unsentCount.get()?.n ?? 0;
  }

  /**
   * Strikes off messages the broker acknowledged, all in one light commit:
   * no fsync of its own. Lost to a power cut, they are sent again, which
   * QoS 1 allows anyway.
   */
  markSent(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.lightly(() => {
      const now = this.clock.now();
      for (const id of ids) this.sql.markSent.run(now, id);
      this.pruneIfDue();
    });
  }

  /**
   * Deletes what is kept only for inspection once it is too old or too
   * many: rejected confirmations, and outbox messages the broker has
   * acknowledged. Sales, payments and messages not yet sent are never
   * deleted. One transaction; runs at open and then at most once an hour.
   */
  prune(): { rejections: number; sent: number } {
    const keep = this.retention;
    if (!keep) return { rejections: 0, sent: 0 };
    return this.durably(() => {
      const now = this.clock.now();
      const rejections = this.sql.pruneOldRejections.run(now - keep.rejectionDays * DAY_MS).changes + this.sql.pruneExtraRejections.run(keep.maxRejections).changes;
      const sent = this.sql.pruneOldSent.run(now - keep.sentDays * DAY_MS).changes + this.sql.pruneExtraSent.run(keep.maxSent).changes;
      this.prunedAt = now;
      return { rejections, sent };
    });
  }

  /** Prunes if the last prune was an hour ago on the ledger's clock, or the clock has been set back since. */
  private pruneIfDue(): void {
    if (this.retention && (this.prunedAt === undefined || Math.abs(this.clock.now() - this.prunedAt) >= HOUR_MS)) this.prune();
  }

  /** Successful payments received since midnight IST. */
  today(): { count: number; total: Paise } {
    const midnight = istDayStart(this.clock.now());
    const row = this.sql.paidSince.get(midnight) ?? { n: 0, total: 0 };
    return { count: row.n, total: paise(row.total) };
  }

  lastPayment(): PaymentRecord | undefined {
    const row = this.sql.lastPayment.get();
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
    this.clock.clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    // Closing checkpoints the log into the database file and fsyncs it.
    if (this.db.open) this.db.close();
  }

  /** Whether a transaction is open on the ledger (SQLite ends one by itself after some storage errors). */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /**
   * A durable commit: with synchronous = FULL the log is fsynced, and with
   * it every light commit before; nothing waits to be settled any more.
   * Inside another transaction, part of that one.
   */
  private durably<T>(work: () => T): T {
    const outermost = !this.db.inTransaction;
    const result = this.atomically(work);
    if (outermost) {
      this.clock.clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
    }
    return result;
  }

  /**
   * A light commit (synchronous = NORMAL): written to the log, not fsynced.
   * The level is a setting of the connection that SQLite refuses to change
   * inside a transaction; inside one, the work is part of it.
   */
  private lightly<T>(work: () => T): T {
    // An in-memory ledger has no log to sync: the level would change nothing.
    if (this.db.inTransaction || this.walPath === undefined) return this.atomically(work);
    // Not a prepared statement: SQLite applies this pragma when it compiles it.
    this.db.exec('PRAGMA synchronous = NORMAL');
    try {
      return this.atomically(work);
    } finally {
      this.db.exec('PRAGMA synchronous = FULL');
    }
  }

  /** Fsyncs the log SETTLE_MS from now, unless a durable commit does it first. */
  private settleSoon(): void {
    if (this.settleTimer !== undefined || this.walPath === undefined) return;
    this.settleTimer = this.clock.setTimeout(() => {
      this.settleTimer = undefined;
      this.settle();
    }, SETTLE_MS);
  }

  /**
   * Makes every commit so far durable: fsyncs the write-ahead log, as a
   * durable commit does. A log that cannot be fsynced is left as it is: the
   * next durable commit fails on it too, and the counter pauses sales then.
   */
  private settle(): void {
    if (!this.db.open || this.walPath === undefined) return;
    try {
      fsyncPath(this.walPath);
    } catch {
      // Left for the next durable commit, as said above.
    }
  }

  /**
   * A committed write about the size of a payment's: throws while the
   * ledger cannot take one (disk full, read-only, failing, at its size
   * limit). Within one transaction it stores PROBE_BYTES, which needs pages
   * as a payment does, then only the time, which frees them again for the
   * next probe or payment.
   */
  probeWrite(): void {
    this.durably(() => {
      this.sql.setMeta.run('write_probe', Buffer.alloc(PROBE_BYTES));
      this.sql.setMeta.run('write_probe', String(this.clock.now()));
    });
  }

  // ── Announcement attempts ─────────────────────────────────────────────
  //
  // A payment's sentence may start and never be marked finished: the power
  // goes mid-sentence, or the process dies before the mark. The boot
  // sequence then says it again. Each start is counted here before the
  // speaker begins, so the counter can stop after a fixed number of starts
  // instead of repeating the amount at every boot.

  /** Counts one more start of speaking for a payment; returns the starts so far, this one included. */
  countAnnouncementAttempt(utr: string): number {
    return this.durably(() => this.sql.countAttempt.get(utr)?.n ?? 0);
  }

  /** How many times speaking this payment has started. */
  announcementAttempts(utr: string): number {
    const row = this.sql.attempts.get(utr);
    return row?.n ?? 0;
  }

  /**
   * Stops announcing a payment: marks it announced, notes that this was a
   * giving up, and queues its receipt, atomically. Returns false if it was
   * already marked.
   */
  giveUpAnnouncement(utr: string, receipt: { topic: string; payload: string }): boolean {
    return this.durably(() => {
      const now = this.clock.now();
      const result = this.sql.giveUp.run(now, now, utr);
      if (result.changes === 1) this.enqueue(receipt.topic, receipt.payload);
      return result.changes === 1;
    });
  }

  // ── Billing events ────────────────────────────────────────────────────
  //
  // Everything the billing PC is told about sales (qr, paid, failed, expired,
  // cancelled), numbered by `seq`: one series per device that only goes up,
  // across restarts (AUTOINCREMENT never hands out a number twice, even after
  // old rows are deleted). The counter records each event in the same
  // transaction as the change it reports, so an outcome is never committed
  // without its event; the billing link sends events from here, and the
  // billing PC can ask for the ones after a seq. The newest
  // BILLING_EVENTS_KEPT events are kept.

  /** Runs `work` as one durable transaction; inside another transaction it is a savepoint of it. */
  transaction<T>(work: () => T): T {
    return this.durably(work);
  }

  /** Records an event for the billing PC and returns its seq. Call it inside the transaction of the change it reports. */
  recordEvent(event: CounterEvent): number {
    const tr = event.type === 'qr' ? event.sale.tr : event.tr;
    const result = this.sql.insertEvent.run(this.clock.now(), event.type, tr, JSON.stringify(event));
    const seq = Number(result.lastInsertRowid);
    // Until there are more than BILLING_EVENTS_KEPT there is nothing to delete.
    if (seq > BILLING_EVENTS_KEPT) this.sql.pruneEvents.run(seq - BILLING_EVENTS_KEPT);
    return seq;
  }

  /** Events with a seq above `after`, oldest first, at most `limit`. */
  eventsAfter(after: number, limit: number): LoggedEvent[] {
    return this.eventsAfterQuery.limitedTo(limit).all(after).map(loggedEvent);
  }

  /** The seq of the newest event recorded, 0 before the first. */
  lastEventSeq(): number {
    const row = this.sql.lastEventSeq.get();
    return row?.seq ?? 0;
  }

  /** The newest event the billing PC's port has taken, as last recorded; 0 before the first. */
  deliveredEventSeq(): number {
    const row = this.sql.meta.get('billing_delivered_seq');
    return row ? Number(row.value) : 0;
  }

  /**
   * Records that the port has taken events up to `seq`; never moves back.
   * A light commit: lost to a power cut, the events are sent again and the
   * billing PC, which keeps the last seq it handled, passes over them.
   */
  markEventsDelivered(seq: number): void {
    this.lightly(() => this.sql.markDelivered.run(String(seq)));
  }

  /** Sales the billing PC gave this reference, newest first, at most `limit`. */
  salesByRef(ref: string, limit: number): SaleSnapshot[] {
    return this.salesByRefQuery.limitedTo(limit).all(ref).map(snapshot);
  }

  /** Every confirmation accepted for a sale, paid or failed, late ones included, in the order received. */
  paymentsForSale(tr: string): PaymentRecord[] {
    return this.sql.paymentsForSale.all(tr).map(payment);
  }
}

/** Billing events kept for the billing PC to ask for again: some days of a busy counter. */
export const BILLING_EVENTS_KEPT = 10_000;

/** A billing event as recorded: its number, when, and what happened. */
export interface LoggedEvent {
  seq: number;
  /** Epoch ms. */
  at: number;
  event: CounterEvent;
}

interface EventRow {
  seq: number;
  at: number;
  type: CounterEvent['type'];
  body: string;
}

function loggedEvent(row: EventRow): LoggedEvent {
  const event = JSON.parse(row.body) as CounterEvent;
  if (event.type !== row.type) throw new Error(`billing event ${row.seq} is recorded as ${row.type} but holds ${String(event.type)}`);
  return { seq: row.seq, at: row.at, event };
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

function reference(deviceId: string, epoch: string, n: number): string {
  return `${deviceId}-${epoch}-${n}`;
}

type Statements = ReturnType<typeof prepareStatements>;

/** How many limits a QueryByLimit keeps a statement for. */
export const STATEMENTS_PER_QUERY = 8;

/**
 * A query whose LIMIT is written into its SQL, with one prepared statement
 * per limit asked for. Bound as a parameter, the limit's value is taken into
 * SQLite's plan, so the statement is planned again at every run, which costs
 * more than the query itself. Callers ask with one or two limits each (the
 * outbox's batch, the billing link's batch, the billing PC's own limit), but
 * the billing PC chooses its limit, so at most `cap` statements are kept and
 * the least recently used is dropped to make room for a new one.
 */
export class QueryByLimit<P extends unknown[], R> {
  /** In order of use, the least recent first (a Map iterates in insertion order). */
  private readonly statements = new Map<number, Database.Statement<P, R>>();
  private newest: number | undefined;

  constructor(
    private readonly db: Database.Database,
    /** What a limit counts, for the message when one is not a whole number from 1. */
    private readonly what: string,
    private readonly sql: (limit: number) => string,
    private readonly cap = STATEMENTS_PER_QUERY,
  ) {}

  /** The statement for `limit`, prepared at its first use. */
  limitedTo(limit: number): Database.Statement<P, R> {
    let statement = this.statements.get(limit);
    if (statement) {
      if (limit !== this.newest) {
        this.statements.delete(limit);
        this.statements.set(limit, statement);
        this.newest = limit;
      }
      return statement;
    }
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`${this.what} is a whole number from 1, not ${limit}`);
    statement = this.db.prepare<P, R>(this.sql(limit));
    if (this.statements.size >= this.cap) {
      const leastRecent = this.statements.keys().next().value;
      if (leastRecent !== undefined) this.statements.delete(leastRecent);
    }
    this.statements.set(limit, statement);
    this.newest = limit;
    return statement;
  }

  /** The limits a statement is kept for, the least recently used first. */
  limitsKept(): number[] {
    return [...this.statements.keys()];
  }
}

/** A payment with what its sale asked. */
const PAYMENT_COLUMNS = `p.*, s.amount_paise AS asked_paise FROM payments p JOIN sales s ON s.tr = p.tr`;

/** Prepared once per connection and reused. */
function prepareStatements(db: Database.Database) {
  return {
    meta: db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`),
    setMeta: db.prepare<[string, string | Buffer]>(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`),
    // A sale's numbers in one statement each way: a statement's own cost is most of what these take.
    saleCounts: db.prepare<[], { seq: string | null; count: string | null }>(
      `SELECT (SELECT value FROM meta WHERE key = 'tr_seq') AS seq, (SELECT value FROM meta WHERE key = 'tr_count') AS count`,
    ),
    setSaleCounts: db.prepare<[string, string, string]>(
      `INSERT INTO meta (key, value) VALUES ('tr_seq', ?), ('tr_count', ?), ('tr_epoch', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
    ),
    epochUsed: db.prepare<[string, string], { one: number }>(`SELECT 1 AS one FROM sales WHERE tr >= ? AND tr < ? LIMIT 1`),
    insertSale: db.prepare<[string, number, string, string | null, string | null, string | null, number, string, number, number]>(
      `INSERT INTO sales (tr, seq, source, collect_id, ref, note, amount_paise, uri, shown_at, expires_at, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'showing')`,
    ),
    saleByTr: db.prepare<[string], SaleRow>(`SELECT * FROM sales WHERE tr = ?`),
    saleByCollectId: db.prepare<[string], SaleRow>(`SELECT * FROM sales WHERE collect_id = ?`),
    showingSales: db.prepare<[], SaleRow>(`SELECT * FROM sales WHERE state = 'showing' ORDER BY seq`),
    closeSale: db.prepare<[string, string | null, number, string]>(`UPDATE sales SET state = ?, close_reason = ?, closed_at = ? WHERE tr = ? AND state = 'showing'`),
    insertPayment: db.prepare<[string, string, string, number, string | null, string, number, number, number]>(
      `INSERT INTO payments (utr, tr, status, amount_paise, payer, paid_at, received_at, late, mismatch, announced)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
    ),
    paymentByUtr: db.prepare<[string], PaymentRow>(`SELECT ${PAYMENT_COLUMNS} WHERE p.utr = ?`),
    pendingAnnouncements: db.prepare<[], PaymentRow>(`SELECT ${PAYMENT_COLUMNS} WHERE p.announced = 0 ORDER BY p.received_at, p.rowid`),
    paymentsForSale: db.prepare<[string], PaymentRow>(`SELECT ${PAYMENT_COLUMNS} WHERE p.tr = ? ORDER BY p.received_at, p.rowid`),
    lastPayment: db.prepare<[], PaymentRow>(`SELECT ${PAYMENT_COLUMNS} WHERE p.status = 'SUCCESS' ORDER BY p.received_at DESC, p.rowid DESC LIMIT 1`),
    paidSince: db.prepare<[number], { n: number; total: number }>(
      `SELECT count(*) AS n, coalesce(sum(amount_paise), 0) AS total FROM payments WHERE status = 'SUCCESS' AND received_at >= ?`,
    ),
    markAnnounced: db.prepare<[number, string]>(`UPDATE payments SET announced = 1, announced_at = ? WHERE utr = ? AND announced = 0`),
    countAttempt: db.prepare<[string], { n: number }>(`UPDATE payments SET announce_attempts = announce_attempts + 1 WHERE utr = ? RETURNING announce_attempts AS n`),
    attempts: db.prepare<[string], { n: number }>(`SELECT announce_attempts AS n FROM payments WHERE utr = ?`),
    giveUp: db.prepare<[number, number, string]>(`UPDATE payments SET announced = 1, announced_at = ?, announce_given_up_at = ? WHERE utr = ? AND announced = 0`),
    insertEvent: db.prepare<[number, string, string, string]>(`INSERT INTO billing_events (at, type, tr, body) VALUES (?, ?, ?, ?)`),
    pruneEvents: db.prepare<[number]>(`DELETE FROM billing_events WHERE seq <= ?`),
    lastEventSeq: db.prepare<[], { seq: number }>(`SELECT seq FROM sqlite_sequence WHERE name = 'billing_events'`),
    markDelivered: db.prepare<[string]>(
      `INSERT INTO meta (key, value) VALUES ('billing_delivered_seq', ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)`,
    ),
    insertRejection: db.prepare<[number, string, string | null, string | null, number, string, string]>(
      `INSERT INTO rejections (received_at, reason, tr, utr, size, sha256, excerpt) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    enqueue: db.prepare<[string, string, number]>(`INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)`),
    unsentCount: db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL`),
    markSent: db.prepare<[number, number]>(`UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL`),
    pruneOldRejections: db.prepare<[number]>(`DELETE FROM rejections WHERE received_at < ?`),
    pruneExtraRejections: db.prepare<[number]>(`DELETE FROM rejections WHERE id <= (SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET ?)`),
    pruneOldSent: db.prepare<[number]>(`DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?`),
    pruneExtraSent: db.prepare<[number]>(
      `DELETE FROM outbox WHERE sent_at IS NOT NULL AND id <= (SELECT id FROM outbox WHERE sent_at IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ),
  };
}

/** Opens (or, where there is no file, makes) the ledger at `path`, checked, migrated and ready. */
function openLedger(path: string, deviceId: string): Database.Database {
  if (path === ':memory:') {
    const db = new Database(path);
    migrate(db, deviceId);
    return db;
  }
  if (inspect(path, deviceId) === 'missing') createLedgerFile(path, deviceId);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    // WAL lets the field engineer's tools read while the device writes;
    // FULL makes every commit survive a power cut, which the exactly-once
    // announcement relies on.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // better-sqlite3 builds SQLite with a 16 MB page cache, which fills as
    // the ledger grows: resident memory rising for the first tens of
    // thousands of sales. Lookups go by index, and the kernel keeps the
    // file's pages anyway.
    db.pragma(`cache_size = -${LEDGER_CACHE_KIB}`);
    migrate(db, deviceId);
    return db;
  } catch (err) {
    db?.close();
    throw refusal(path, err) ?? err;
  }
}

function migrate(db: Database.Database, deviceId: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`ledger schema version ${current} is newer than this firmware understands (${SCHEMA_VERSION})`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      const step = MIGRATIONS[v];
      if (typeof step === 'function') step(db, { deviceId });
      else db.exec(step ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * Looks at the file before anything writes to it, through a read-only
 * connection: 'missing' (first start), 'blank' (a SQLite file with nothing
 * in it, as an interrupted first start of older firmware left it) or
 * 'ledger' (this device's, sound). Anything else is refused.
 */
function inspect(path: string, deviceId: string): 'missing' | 'blank' | 'ledger' {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) {
    // SQLite would take a leftover write-ahead log as the new file's own and
    // replay someone else's pages into it; that log may also hold the last payments.
    const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
    if (wal && wal.size > 0) throw new LedgerRefused(path, 'orphan-wal', `the file is missing but its write-ahead log ${path}-wal (${wal.size} bytes) is not, and may hold the last payments`);
    return 'missing';
  }
  if (!stats.isFile()) throw new LedgerRefused(path, 'not-sqlite', 'it is not a file');
  if (stats.size === 0) throw new LedgerRefused(path, 'empty', 'the file is empty (0 bytes)');
  if (!hasSqliteHeader(path)) throw new LedgerRefused(path, 'not-sqlite', 'the file is not a SQLite database (its header is missing or overwritten)');
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return classify(db, path, deviceId);
  } catch (err) {
    throw refusal(path, err) ?? err;
  } finally {
    db?.close();
  }
}

function classify(db: Database.Database, path: string, deviceId: string): 'blank' | 'ledger' {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (applicationId === LEDGER_APPLICATION_ID) {
    if (version > SCHEMA_VERSION) {
      throw new LedgerRefused(path, 'newer-schema', `it was written by newer firmware (ledger schema version ${version}; this firmware understands up to ${SCHEMA_VERSION})`);
    }
    checkSound(db, path);
    const owner = (db.prepare(`SELECT value FROM meta WHERE key = 'device_id'`).get() as { value: string } | undefined)?.value;
    if (owner === undefined) throw new LedgerRefused(path, 'not-a-ledger', 'it is marked as a dakbox ledger but names no device');
    if (owner !== deviceId) throw new LedgerRefused(path, 'other-device', `it is the ledger of device ${owner}, and this device is ${deviceId}`);
    return 'ledger';
  }
  if (applicationId !== 0) throw new LedgerRefused(path, 'not-a-ledger', `it is a SQLite database of another application (application id ${applicationId}), not a dakbox ledger`);
  const tables = (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).all() as { name: string }[]).map((t) => t.name);
  if (tables.length === 0 && version === 0) return 'blank';
  if (version !== 1 || !V1_TABLES.every((t) => tables.includes(t))) throw new LedgerRefused(path, 'not-a-ledger', 'it is a SQLite database but not a dakbox ledger');
  // A version 1 ledger, from before ledgers were marked: its references say whose it is.
  checkSound(db, path);
  const last = db.prepare(`SELECT tr FROM sales ORDER BY seq DESC LIMIT 1`).get() as { tr: string } | undefined;
  if (last && !(last.tr.startsWith(`${deviceId}-`) && /^\d+$/.test(last.tr.slice(deviceId.length + 1)))) {
    throw new LedgerRefused(path, 'other-device', `its last transaction reference ${last.tr} is not one of device ${deviceId}`);
  }
  return 'ledger';
}

/** SQLite's own quick check: every page readable and every b-tree well formed. */
function checkSound(db: Database.Database, path: string): void {
  const problems = (db.pragma('quick_check(3)') as { quick_check: string }[]).map((r) => r.quick_check);
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw new LedgerRefused(path, 'damaged', `the file is damaged (${problems.join('; ').replace(/\s+/g, ' ').slice(0, 200)})`);
  }
}

/** The refusal a SQLite error on opening means, if it means one. */
function refusal(path: string, err: unknown): LedgerRefused | undefined {
  if (err instanceof LedgerRefused) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_CORRUPT')) return new LedgerRefused(path, 'damaged', `the file is damaged (${(err as Error).message})`);
  if (code.startsWith('SQLITE_NOTADB')) return new LedgerRefused(path, 'not-sqlite', 'the file is not a SQLite database');
  return undefined;
}

function hasSqliteHeader(path: string): boolean {
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, header, 0, header.length, 0) === header.length && header.equals(SQLITE_HEADER);
  } finally {
    closeSync(fd);
  }
}

/**
 * A new ledger is made whole beside its final name and then renamed into
 * place, so a power cut during the first start leaves either no ledger or a
 * complete one, never a half-made file that the next start would refuse.
 */
function createLedgerFile(path: string, deviceId: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const draft = `${path}.new`;
  // What an interrupted first start left behind never issued a sale.
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${draft}${suffix}`, { force: true });
  const db = new Database(draft);
  try {
    db.pragma('synchronous = FULL');
    migrate(db, deviceId);
  } finally {
    db.close();
  }
  fsyncPath(draft);
  renameSync(draft, path);
  fsyncPath(dirname(path));
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
