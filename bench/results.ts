import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * What a benchmark leaves in bench/results/<name>.json: when and how it was
 * run, on what, and one row per measure.
 */
export interface BenchResult {
  readonly name: string;
  readonly command: string;
  readonly runs: readonly Record<string, unknown>[];
  readonly details?: Record<string, unknown>;
}

/** The folder results are written to: bench/results in the project folder the command runs from. */
export function resultsDir(): string {
  return resolve('bench', 'results');
}

/** Writes the result with the date and the machine; returns the file's path. */
export function writeResult(result: BenchResult, dir = resultsDir()): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${result.name}.json`);
  const body = {
    name: result.name,
    date: new Date().toISOString(),
    command: result.command,
    machine: machine(),
    runs: result.runs,
    ...(result.details ? { details: result.details } : {}),
  };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}

/** The machine a number was measured on; the load average says how busy it was with other work. */
export function machine(): { cpu: string; cores: number; memoryMb: number; node: string; loadAverage: number[] } {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.versions.node,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The p-th percentile (nearest rank) of values sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

/** p50, p90, p99 and max of a set of durations in milliseconds. */
export function spread(values: readonly number[]): { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 1000) / 1000;
  return { p50Ms: r(percentile(sorted, 50)), p90Ms: r(percentile(sorted, 90)), p99Ms: r(percentile(sorted, 99)), maxMs: r(sorted.at(-1) ?? NaN) };
}
