import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

/** This process's RLIMIT_NOFILE, from /proc/self/limits ("unlimited" as Infinity). */
export function openFileLimit(): OpenFileLimit | undefined {
  try {
    const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!line) return undefined;
    const value = (text: string | undefined) => (text === 'unlimited' ? Infinity : Number(text));
    return { soft: value(line[1]), hard: value(line[2]) };
  } catch {
    return undefined;
  }
}

/**
 * Raises this process's soft open-file limit to at least `needed` (each
 * device holds a socket, and a ledger on disk three more files). Node has
 * no setrlimit, so util-linux's prlimit sets it on this process; the hard
 * limit is raised too where the user may (root). Returns the limit in
 * force afterwards.
 */
export function raiseOpenFileLimit(needed: number): OpenFileLimit | undefined {
  const before = openFileLimit();
  if (!before || before.soft >= needed) return before;
  const set = (soft: number, hard: number) =>
    spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard === Infinity ? 'unlimited' : hard}`], { stdio: 'ignore' }).status === 0;
  if (before.hard < needed) set(needed, needed);
  const now = openFileLimit() ?? before;
  if (now.soft < needed) set(Math.min(needed, now.hard), now.hard);
  return openFileLimit();
}
