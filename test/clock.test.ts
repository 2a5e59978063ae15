import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../core/clock.js';

describe('ManualClock', () => {
  it('moves wall and monotonic time together as time passes, firing timers on the way', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 4, 30, 0));
    const fired: [number, number][] = [];
    clock.setTimeout(() => fired.push([clock.now(), clock.monotonic()]), 1_500);
    clock.advance(2_000);
    expect(fired).toEqual([[Date.UTC(2026, 0, 15, 4, 30, 1, 500), 1_500]]);
    expect(clock.now()).toBe(Date.UTC(2026, 0, 15, 4, 30, 2));
    expect(clock.monotonic()).toBe(2_000);
  });

  it.each([
    ['forward', 3_600_000],
    ['back', -3_600_000],
  ])('steps the wall clock %s without moving monotonic time or any timer', (_way, step) => {
    const clock = new ManualClock();
    const start = clock.now();
    let fired = 0;
    clock.setTimeout(() => fired++, 10_000);
    clock.advance(4_000);
    clock.stepWall(step);
    expect(clock.now()).toBe(start + 4_000 + step);
    expect(clock.monotonic()).toBe(4_000);
    clock.advance(5_999);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    expect(clock.now()).toBe(start + 10_000 + step);
  });
});

describe('systemClock', () => {
  it('tells monotonic time that only moves forward, apart from the wall clock', async () => {
    const before = systemClock.monotonic();
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 20));
    const after = systemClock.monotonic();
    expect(after - before).toBeGreaterThanOrEqual(19);
    // An arbitrary start, not the epoch: nothing may mistake it for a date.
    expect(after).toBeLessThan(systemClock.now() / 2);
  });
});
