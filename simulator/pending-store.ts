import Database from 'better-sqlite3';
import type { PendingConfirmation, PendingStore } from './backend.js';

/**
 * The confirmations waiting for a receipt in one SQLite file that several
 * notifier instances open at once (on one machine, or one shared disk): a
 * receipt taken by any instance ends the wait, and an instance that stops
 * leaves its work in the file for another to adopt. WAL mode lets the
 * instances read while one writes; a claim is one immediate transaction.
 */
export class SqlitePendingStore implements PendingStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS pending (
      device_id TEXT NOT NULL,
      utr TEXT NOT NULL,
      payload TEXT NOT NULL,
      published INTEGER NOT NULL,
      due_at INTEGER NOT NULL,
      PRIMARY KEY (device_id, utr)
    )`);
  }

  add(entry: PendingConfirmation): PendingConfirmation {
    const inserted = this.db
      .prepare(`INSERT INTO pending (device_id, utr, payload, published, due_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
      .run(entry.deviceId, entry.utr, entry.payload, entry.published, entry.dueAt);
    if (inserted.changes === 1) return entry;
    return this.get(entry.deviceId, entry.utr) ?? entry;
  }

  private get(deviceId: string, utr: string): PendingConfirmation | undefined {
    const row = this.db.prepare(`SELECT device_id, utr, payload, published, due_at FROM pending WHERE device_id = ? AND utr = ?`).get(deviceId, utr) as Row | undefined;
    return row && fromRow(row);
  }

  has(deviceId: string, utr: string): boolean {
    return this.db.prepare(`SELECT 1 FROM pending WHERE device_id = ? AND utr = ?`).get(deviceId, utr) !== undefined;
  }

  remove(deviceId: string, utr: string): boolean {
    return this.db.prepare(`DELETE FROM pending WHERE device_id = ? AND utr = ?`).run(deviceId, utr).changes === 1;
  }

  republished(deviceId: string, utr: string, published: number, dueAt: number): void {
    this.db.prepare(`UPDATE pending SET published = ?, due_at = ? WHERE device_id = ? AND utr = ?`).run(published, dueAt, deviceId, utr);
  }

  claimOverdue(now: number, graceMs: number): PendingConfirmation[] {
    const claim = this.db.transaction(() => {
      const rows = this.db.prepare(`SELECT device_id, utr, payload, published, due_at FROM pending WHERE due_at < ?`).all(now - graceMs) as Row[];
      const update = this.db.prepare(`UPDATE pending SET due_at = ? WHERE device_id = ? AND utr = ?`);
      for (const row of rows) update.run(now, row.device_id, row.utr);
      return rows.map((row) => ({ ...fromRow(row), dueAt: now }));
    });
    return claim.immediate();
  }

  count(): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM pending`).get() as { n: number }).n;
  }

  clear(): void {
    this.db.exec(`DELETE FROM pending`);
  }

  close(): void {
    this.db.close();
  }
}

interface Row {
  device_id: string;
  utr: string;
  payload: string;
  published: number;
  due_at: number;
}

function fromRow(row: Row): PendingConfirmation {
  return { deviceId: row.device_id, utr: row.utr, payload: row.payload, published: row.published, dueAt: row.due_at };
}
