/**
 * The memory settings bin/dakbox.js's first line gives node: checked by
 * running node with exactly that line, as the kernel does for `npx dakbox`
 * or a service naming the file. And the one it makes for `dakbox run` alone
 * once node has started.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAKBOX_BIN } from './support/device-process.js';

const firstLine = readFileSync(DAKBOX_BIN, 'utf8').split('\n')[0] ?? '';

/** Runs node with exactly the settings of bin/dakbox.js's first line, then `args`. */
function runWithFirstLine(args: readonly string[]): string {
  const [env, ...rest] = firstLine.slice(2).split(' ');
  // Node's own executable stands in for the `node` on PATH.
  const line = rest.join(' ').replace(/(^| )node( |$)/, `$1${process.execPath}$2`);
  return execFileSync(env!, [line, ...args], { encoding: 'utf8' });
}

/** This process's environment without glibc's allocator settings, so node runs with glibc's defaults. */
function withoutAllocatorSettings(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MALLOC_')));
}

const PROBE = `
let keep = [];
for (let i = 0; i < 2e6; i++) { keep.push({ sale: i, tr: 'MYS01-' + i }); if (keep.length > 2000) keep = []; }
const v8 = require('node:v8');
const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
console.log(JSON.stringify({ arenas: process.env.MALLOC_ARENA_MAX, youngBytes: young.space_size }));
`;

/**
 * Frees one large block, then holds twenty panel-sized (600 KB) ones, and
 * reports how much of them landed in glibc's main heap ([heap] in smaps)
 * rather than in mappings of their own.
 */
const LARGE_BLOCKS_PROBE = `
const { readFileSync } = require('node:fs');
const heapKb = () => Number(readFileSync('/proc/self/smaps', 'utf8').match(/\\[heap\\]\\n(?:.*\\n)*?Rss:\\s+(\\d+) kB/)?.[1] ?? 0);
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
(async () => {
  let big = Buffer.alloc(4 << 20, 1);
  big = undefined;
  gc(); await settle(); gc(); await settle();
  const before = heapKb();
  const frames = [];
  for (let i = 0; i < 20; i++) frames.push(Buffer.alloc(600 * 1024, 1));
  console.log(JSON.stringify({ heapGrowthKb: heapKb() - before, frames: frames.length }));
})();
`;

/**
 * Loaded before bin/dakbox.js: once the command has returned (bin/dakbox.js
 * sets the exit code), churns through short-lived objects while holding
 * 100,000 live ones, then reports the JavaScript heap V8 has reserved.
 */
const HEAP_SIZING_PROBE = `
const waiting = setInterval(() => {
  if (process.exitCode === undefined) return;
  clearInterval(waiting);
  const live = [];
  let junk = [];
  for (let i = 0; i < 3e6; i++) {
    junk.push({ sale: i, tr: 'MYS01-' + i });
    if (junk.length > 20000) junk = [];
    if (i % 20 === 0) { live.push({ utr: 'U' + i }); if (live.length > 100000) live.shift(); }
  }
  process.stdout.write(JSON.stringify({ reservedBytes: require('node:v8').getHeapStatistics().total_heap_size }) + '\\n');
  process.exit(0);
}, 10);
`;

/** Runs a dakbox command with the first line's settings and the heap sizing probe loaded first; the heap it reserved. */
function heapReservedAfter(command: (folder: string) => readonly string[]): number {
  const folder = mkdtempSync(join(tmpdir(), 'dakbox-heap-sizing-'));
  try {
    const probe = join(folder, 'probe.cjs');
    writeFileSync(probe, HEAP_SIZING_PROBE);
    const out = runWithFirstLine(['--require', probe, DAKBOX_BIN, ...command(folder)]);
    const line = out.split('\n').find((l) => l.startsWith('{"reservedBytes"'));
    if (!line) throw new Error(`no reading from the heap sizing probe; output:\n${out}`);
    return (JSON.parse(line) as { reservedBytes: number }).reservedBytes;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe('the memory settings of the dakbox program', () => {
  it('is started through env -S, so the settings reach node on Linux', () => {
    expect(firstLine).toMatch(/^#!\/usr\/bin\/env -S /);
  });

  it('caps the young generation at 2 MB and glibc at two malloc arenas', () => {
    const out = JSON.parse(runWithFirstLine(['-e', PROBE])) as { arenas: string; youngBytes: number };
    expect(out.arenas).toBe('2');
    expect(out.youngBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    // Node's default, for contrast: the same allocations grow it well past that.
    const plain = JSON.parse(execFileSync(process.execPath, ['-e', PROBE], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as { youngBytes: number };
    expect(plain.youngBytes).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('keeps large native blocks out of the main heap however large a block was freed before', () => {
    // glibc's default raises its mmap threshold to the largest block freed
    // so far, and then serves blocks as large as the panel's pixels from the
    // main heap, which fragments and never shrinks: in the memory soak that
    // heap held 57 MB after 5,000 sales with the default, 26 MB with the
    // fixed threshold on the first line.
    const settled = JSON.parse(runWithFirstLine(['--expose-gc', '-e', LARGE_BLOCKS_PROBE])) as { heapGrowthKb: number; frames: number };
    expect(settled.frames).toBe(20);
    expect(settled.heapGrowthKb).toBeLessThan(1024);
    // Node's default, for contrast: the twenty blocks (12 MB) land in the heap.
    const plain = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', '-e', LARGE_BLOCKS_PROBE], { encoding: 'utf8', env: { ...withoutAllocatorSettings(), NODE_OPTIONS: '' } }),
    ) as { heapGrowthKb: number };
    expect(plain.heapGrowthKb).toBeGreaterThan(10 * 1024);
  });

  it('has V8 optimise `dakbox run` for size, and no other command', () => {
    // Set by bin/dakbox.js after node has started; the same work then keeps
    // a much smaller heap than under `dakbox qr`, which does not set it
    // (26–29 MB against 65–69 MB in runs here).
    const run = heapReservedAfter((folder) => ['run', '--config', join(folder, 'missing.json')]);
    const qr = heapReservedAfter(() => ['qr', '--amount', 'nothing']);
    expect(run).toBeLessThan(qr * 0.7);
  }, 60_000);
});

