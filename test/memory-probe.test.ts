/**
 * The memory probe bin/dakbox.js answers SIGUSR2 with when
 * DAKBOX_MEMORY_PROBE is set, which the memory soak reads the device by: a
 * full garbage collection first, so that the reading is what the process
 * holds, not garbage not yet collected.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProbeAnswer, rssTrendPer10k, type MemoryProbeAnswer } from '../bench/memory.js';
import { DAKBOX_BIN } from './support/device-process.js';

/**
 * Loaded before bin/dakbox.js: makes 40 MB of buffers (as panel pixels and
 * PNGs are) and 200,000 small objects, keeps them long enough to reach the
 * old generation, drops them without a collection, says so on stdout, and
 * keeps the process alive for the probe.
 */
const GARBAGE_MAKER = `
let kept = { buffers: [], objects: [] };
for (let i = 0; i < 64; i++) kept.buffers.push(Buffer.alloc(640 * 1024, i));
for (let i = 0; i < 200_000; i++) kept.objects.push({ sale: i, tr: 'MYS01-' + i });
setTimeout(() => {
  kept = undefined;
  process.stdout.write('garbage dropped\\n');
}, 200);
setInterval(() => {}, 1000);
`;

const MB = 1024 * 1024;
let folder: string | undefined;
let stop: (() => void) | undefined;

afterEach(() => {
  stop?.();
  stop = undefined;
  if (folder) rmSync(folder, { recursive: true, force: true });
  folder = undefined;
});

/** Starts `dakbox run` with the probe on and the garbage maker loaded first, and asks the probe once the garbage is dropped. */
async function probeAfterGarbage(): Promise<MemoryProbeAnswer> {
  folder = mkdtempSync(join(tmpdir(), 'dakbox-probe-'));
  const preload = join(folder, 'garbage.mjs');
  writeFileSync(preload, GARBAGE_MAKER);
  // `run` starts from the bundle, as on a device; with no settings file it
  // reports that and returns, and the garbage maker's timer keeps the process up.
  const child = spawn(process.execPath, ['--import', preload, DAKBOX_BIN, 'run', '--config', join(folder, 'missing.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DAKBOX_MEMORY_PROBE: '1', NODE_OPTIONS: '' },
  });
  stop = () => child.kill('SIGKILL');
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from the probe within 20 s; output:\n${output}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`the process exited (${code}) before the probe answered; output:\n${output}`)));
    // Asked once the garbage is dropped and the bundled `run` has said there is no settings file.
    let asked = false;
    const ask = (): void => {
      if (asked || !output.includes('garbage dropped\n') || !output.includes('missing.json does not exist')) return;
      asked = true;
      child.kill('SIGUSR2');
    };
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      ask();
    });
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        output += `${line}\n`;
        ask();
        const answer = parseProbeAnswer(line);
        if (answer) {
          clearTimeout(timer);
          resolve(answer);
        }
      }
    });
  });
}

describe('the memory probe', () => {
  it('answers after a full garbage collection, with the figures from before it too', async () => {
    const { before, after } = await probeAfterGarbage();
    // The dropped objects (about 10 MB of heap) are gone from the heap...
    expect(before.heapUsed - after.heapUsed).toBeGreaterThan(5 * MB);
    // ...and the 40 MB of dropped buffers from the process's resident
    // memory, already when the probe answers (after one collection alone
    // most of it was still resident: V8 frees buffers on another thread).
    expect(before.arrayBuffers - after.arrayBuffers).toBeGreaterThan(35 * MB);
    expect(before.rss - after.rss).toBeGreaterThan(30 * MB);
  }, 30_000);

  it('reads an answer line, and refuses one without the figures from both sides of the collection', () => {
    const usage = { rss: 3, heapTotal: 2, heapUsed: 1, external: 0, arrayBuffers: 0 };
    expect(parseProbeAnswer(`dakbox-memory ${JSON.stringify({ before: usage, after: usage })}`)).toEqual({ before: usage, after: usage });
    expect(parseProbeAnswer('{"level":40,"msg":"something else"}')).toBeUndefined();
    expect(() => parseProbeAnswer(`dakbox-memory ${JSON.stringify(usage)}`)).toThrow(/before and after/);
  });
});

describe("the soak's trend", () => {
  const MB = 2 ** 20;
  const readings = (rss: (sales: number, i: number) => number) => Array.from({ length: 51 }, (_, i) => ({ sales: 50_000 + i * 1000, rssBytes: rss(50_000 + i * 1000, i) }));

  it('is the slope through the readings, per 10,000 sales', () => {
    expect(rssTrendPer10k(readings((sales) => 100 * MB + (sales / 10_000) * MB))).toBeCloseTo(MB, 0);
    expect(rssTrendPer10k(readings((sales) => 100 * MB - (sales / 10_000) * 0.5 * MB))).toBeCloseTo(-0.5 * MB, 0);
  });

  it('stays near nothing for flat readings that swing by two megabytes', () => {
    const trend = rssTrendPer10k(readings((_, i) => 104 * MB + (i % 2 === 0 ? MB : -MB)));
    expect(Math.abs(trend)).toBeLessThan(0.05 * MB);
  });

  it('is 0 with fewer than two readings', () => {
    expect(rssTrendPer10k([])).toBe(0);
    expect(rssTrendPer10k([{ sales: 1000, rssBytes: MB }])).toBe(0);
  });
});
