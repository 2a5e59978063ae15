/**
 * What a sale costs the storage, counted: the fsyncs of `dakbox bench sale`
 * under strace, a real Counter and Ledger on a file. Only the sale (before
 * its QR is shown) and the payment (before its PUBACK) wait for the disk;
 * the marks after them ride on the next of those, or on one fsync of the
 * log a second after an "announced" mark when no sale follows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DAKBOX_BIN } from '../support/device-process.js';

const out = mkdtempSync(join(tmpdir(), 'dakbox-sale-fsync-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function fsyncsPerSale(args: string[]): number {
  const run = spawnSync(process.execPath, [DAKBOX_BIN, 'bench', 'sale', '--out', out, ...args], { encoding: 'utf8', timeout: 120_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const result = JSON.parse(readFileSync(join(out, 'sale.json'), 'utf8')) as { runs: { label: string; value: number | null }[] };
  const value = result.runs.find((r) => r.label === 'fsyncs per sale')?.value;
  if (typeof value !== 'number') throw new Error(`no fsync count in ${JSON.stringify(result)}`);
  return value;
}

it('sales back to back: two fsyncs each, the sale and the payment (plus a share of the checkpoints)', () => {
  const n = fsyncsPerSale(['--sales', '50']);
  expect(n).toBeGreaterThanOrEqual(2);
  expect(n).toBeLessThan(2.3);
}, 150_000);

it('sales a second apart: one more, the log fsynced for the "announced" mark', () => {
  const n = fsyncsPerSale(['--sales', '6', '--gap-ms', '1200']);
  expect(n).toBeGreaterThanOrEqual(3);
  expect(n).toBeLessThan(3.4);
}, 150_000);
