import { describe, expect, it } from 'vitest';
import { formatIst, istDayStart, ManualClock, nextIstTime, systemClock } from '../core/clock.js';

describe('the IST day', () => {
  it('starts at midnight in India, which is 18:30 UTC the evening before', () => {
    // 10:00 IST on 15 January.
    expect(formatIst(istDayStart(Date.UTC(2026, 0, 15, 4, 30)))).toBe('2026-01-15T00:00:00+05:30');
    // 01:00 IST on 16 January is still 15 January in UTC.
    expect(formatIst(istDayStart(Date.UTC(2026, 0, 15, 19, 30)))).toBe('2026-01-16T00:00:00+05:30');
    // 23:59:59 IST on 15 January.
    expect(formatIst(istDayStart(Date.UTC(2026, 0, 15, 18, 29, 59)))).toBe('2026-01-15T00:00:00+05:30');
  });

  it('counts midnight itself as the start of the new day', () => {
    const midnight = Date.UTC(2026, 0, 15, 18, 30);
    expect(istDayStart(midnight)).toBe(midnight);
    expect(istDayStart(midnight - 1)).toBe(midnight - 24 * 60 * 60 * 1000);
  });
});

describe('the next time a clock in India reads a given time', () => {
  it('is later today while that time is still ahead', () => {
    expect(formatIst(nextIstTime(Date.UTC(2026, 0, 15, 14, 29), '20:00'))).toBe('2026-01-15T20:00:00+05:30');
  });

  it('is tomorrow once that time has come or gone', () => {
    expect(formatIst(nextIstTime(Date.UTC(2026, 0, 15, 14, 30), '20:00'))).toBe('2026-01-16T20:00:00+05:30');
    expect(formatIst(nextIstTime(Date.UTC(2026, 0, 15, 16, 0), '20:00'))).toBe('2026-01-16T20:00:00+05:30');
  });

  it('crosses the UTC date line for early-morning times', () => {
    // 23:00 IST on 15 January; 06:15 IST is the next morning.
    expect(formatIst(nextIstTime(Date.UTC(2026, 0, 15, 17, 30), '06:15'))).toBe('2026-01-16T06:15:00+05:30');
  });
});

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
