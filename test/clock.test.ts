import { describe, expect, it } from 'vitest';
import { formatIst, istDayStart, nextIstTime } from '../core/clock.js';

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
