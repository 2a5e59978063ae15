import { describe, expect, it } from 'vitest';
import { Backoff } from '../core/backoff.js';

describe('reconnect backoff', () => {
  it('doubles from the first delay up to the cap, and starts over after a reset', () => {
    const b = new Backoff(1000, 60_000, () => 0);
    expect(Array.from({ length: 9 }, () => b.next())).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it('takes up to a fifth off at random, so a fleet does not return in step', () => {
    const b = new Backoff(1000, 60_000, () => 1);
    expect(b.next()).toBe(800);
    const spread = new Set(Array.from({ length: 50 }, () => new Backoff(10_000, 60_000).next()));
    expect(spread.size).toBeGreaterThan(10);
    for (const d of spread) expect(d).toBeGreaterThanOrEqual(8000);
  });

  it('never overflows however long the outage', () => {
    const b = new Backoff(1000, 60_000, () => 0);
    for (let i = 0; i < 10_000; i++) b.next();
    expect(b.next()).toBe(60_000);
  });
});
