/**
 * The memory settings bin/dakbox.js's first line gives node: checked by
 * running node with exactly that line, as the kernel does for `npx dakbox`
 * or a service naming the file.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAKBOX_BIN } from './support/device-process.js';

const firstLine = readFileSync(DAKBOX_BIN, 'utf8').split('\n')[0] ?? '';

/** Allocates as a busy device does (many short-lived objects), then reports what node holds. */
const PROBE = `
let keep = [];
for (let i = 0; i < 2e6; i++) { keep.push({ sale: i, tr: 'MYS01-' + i }); if (keep.length > 2000) keep = []; }
const v8 = require('node:v8');
const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
console.log(JSON.stringify({ arenas: process.env.MALLOC_ARENA_MAX, youngBytes: young.space_size }));
`;

describe('the memory settings of the dakbox program', () => {
  it('is started through env -S, so the settings reach node on Linux', () => {
    expect(firstLine).toMatch(/^#!\/usr\/bin\/env -S /);
  });

  it('caps the young generation at 2 MB and glibc at two malloc arenas', () => {
    const [env, ...args] = firstLine.slice(2).split(' ');
    // Node's own executable stands in for the `node` on PATH.
    const line = args.join(' ').replace(/(^| )node( |$)/, `$1${process.execPath}$2`);
    const out = JSON.parse(execFileSync(env!, [line, '-e', PROBE], { encoding: 'utf8' })) as { arenas: string; youngBytes: number };
    expect(out.arenas).toBe('2');
    expect(out.youngBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    // Node's default, for contrast: the same allocations grow it well past that.
    const plain = JSON.parse(execFileSync(process.execPath, ['-e', PROBE], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as { youngBytes: number };
    expect(plain.youngBytes).toBeGreaterThan(4 * 1024 * 1024);
  });
});
