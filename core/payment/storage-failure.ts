import Database from 'better-sqlite3';

/**
 * SQLite result codes (with their extended forms, e.g. SQLITE_IOERR_WRITE)
 * that say the ledger's storage failed rather than the request: the disk
 * is full, read-only, failing or locked, or the file is damaged. The same
 * write can succeed later, once the storage is put right.
 */
const STORAGE_CODES = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_NOMEM',
  'SQLITE_PROTOCOL',
  'SQLITE_PERM',
];

/** True when `err` is the ledger's storage failing (see STORAGE_CODES), not a refusal or a defect. */
export function isStorageFailure(err: unknown): boolean {
  if (!(err instanceof Database.SqliteError)) return false;
  const code = err.code;
  return STORAGE_CODES.some((c) => code === c || code.startsWith(`${c}_`));
}
