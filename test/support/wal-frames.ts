import type Database from 'better-sqlite3';
import type { Ledger } from '../../core/payment/ledger.js';

/**
 * Counts the pages a ledger commits to its write-ahead log from now on:
 * every commit writes each page it changed, so many small transactions show
 * as many frames.
 */
export function walFrames(ledger: Ledger): () => number {
  const db = (ledger as unknown as { db: Database.Database }).db;
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return () => (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
}
