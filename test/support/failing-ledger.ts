import Database from 'better-sqlite3';
import { Ledger } from '../../core/payment/ledger.js';

type Write = 'issueSale' | 'closeSale' | 'acceptPayment' | 'markAnnounced' | 'recordRejection' | 'enqueue' | 'markSent' | 'countAnnouncementAttempt' | 'giveUpAnnouncement' | 'probeWrite';

/**
 * A real ledger whose writes fail on demand the way better-sqlite3 fails
 * them when the storage does: a SqliteError with SQLite's code
 * (SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_READONLY...). Reads always work,
 * as they do on a full or read-only disk.
 */
export class FailingLedger extends Ledger {
  /** Every write fails while set: the disk is full, read-only or failing. */
  failure: string | undefined;
  /** Only these writes fail (with `code`), whatever `failure` says. */
  readonly failOnly = new Set<Write>();
  code = 'SQLITE_IOERR_WRITE';

  private check(write: Write): void {
    if (this.failure) throw new Database.SqliteError(messageFor(this.failure), this.failure);
    if (this.failOnly.has(write)) throw new Database.SqliteError(messageFor(this.code), this.code);
  }

  override issueSale(...args: Parameters<Ledger['issueSale']>): ReturnType<Ledger['issueSale']> {
    this.check('issueSale');
    return super.issueSale(...args);
  }

  override closeSale(...args: Parameters<Ledger['closeSale']>): boolean {
    this.check('closeSale');
    return super.closeSale(...args);
  }

  override acceptPayment(...args: Parameters<Ledger['acceptPayment']>): ReturnType<Ledger['acceptPayment']> {
    this.check('acceptPayment');
    return super.acceptPayment(...args);
  }

  override markAnnounced(...args: Parameters<Ledger['markAnnounced']>): void {
    this.check('markAnnounced');
    super.markAnnounced(...args);
  }

  override recordRejection(...args: Parameters<Ledger['recordRejection']>): void {
    this.check('recordRejection');
    super.recordRejection(...args);
  }

  override enqueue(...args: Parameters<Ledger['enqueue']>): number {
    this.check('enqueue');
    return super.enqueue(...args);
  }

  override markSent(...args: Parameters<Ledger['markSent']>): void {
    this.check('markSent');
    super.markSent(...args);
  }

  override countAnnouncementAttempt(...args: Parameters<Ledger['countAnnouncementAttempt']>): number {
    this.check('countAnnouncementAttempt');
    return super.countAnnouncementAttempt(...args);
  }

  override giveUpAnnouncement(...args: Parameters<Ledger['giveUpAnnouncement']>): boolean {
    this.check('giveUpAnnouncement');
    return super.giveUpAnnouncement(...args);
  }

  override probeWrite(): void {
    this.check('probeWrite');
    super.probeWrite();
  }
}

function messageFor(code: string): string {
  if (code.startsWith('SQLITE_FULL')) return 'database or disk is full';
  if (code.startsWith('SQLITE_READONLY')) return 'attempt to write a readonly database';
  if (code.startsWith('SQLITE_BUSY')) return 'database is locked';
  return 'disk I/O error';
}
