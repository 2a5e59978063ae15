import Database from 'better-sqlite3';

/**
 * Reads a device's ledger from outside the device process, as a field
 * engineer's tool would (WAL mode allows it while the device writes).
 */
export class LedgerReader {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
  }

  sale(tr: string): { tr: string; uri: string; state: string; amount_paise: number } | undefined {
    return this.db.prepare(`SELECT tr, uri, state, amount_paise FROM sales WHERE tr = ?`).get(tr) as never;
  }

  payment(utr: string): { utr: string; tr: string; status: string; amount_paise: number; announced: number; late: number; mismatch: number; announce_attempts: number } | undefined {
    return this.db.prepare(`SELECT utr, tr, status, amount_paise, announced, late, mismatch, announce_attempts FROM payments WHERE utr = ?`).get(utr) as never;
  }

  payments(): { utr: string; announced: number }[] {
    return this.db.prepare(`SELECT utr, announced FROM payments ORDER BY rowid`).all() as never;
  }

  /** Every transaction reference this ledger issued, oldest first. */
  trs(): string[] {
    return (this.db.prepare(`SELECT tr FROM sales ORDER BY seq`).all() as { tr: string }[]).map((r) => r.tr);
  }

  rejections(): { reason: string; tr: string | null; utr: string | null; size: number }[] {
    return this.db.prepare(`SELECT reason, tr, utr, size FROM rejections ORDER BY id`).all() as never;
  }

  close(): void {
    this.db.close();
  }
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    // A promise is always truthy: an async check would pass at once without being judged.
    if (value instanceof Promise) throw new Error(`${what}: eventually takes a synchronous check, not one that returns a promise`);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
