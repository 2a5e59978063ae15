import { afterEach, describe, expect, it } from 'vitest';
import { paise } from '../../core/money.js';
import { DaySummary } from '../../device/features/day-summary.js';
import { coreParts, type CoreParts } from '../support/core-parts.js';

/** 19:58 IST on 15 January 2026. */
const EVENING = Date.UTC(2026, 0, 15, 14, 28, 0);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let parts: CoreParts;

afterEach(async () => {
  await parts.close();
});

function started(daySummaryAt: string | undefined, start = EVENING): DaySummary {
  parts = coreParts({ announce: { prompts: true, ...(daySummaryAt ? { daySummaryAt } : {}) }, sale: { limit: '50000.00' } }, start);
  parts.counter.boot();
  const { ledger, announcer, settings, clock, log } = parts;
  const feature = new DaySummary({ ledger, announcer, settings, clock, log });
  feature.start();
  return feature;
}

async function pay(rupees: number): Promise<void> {
  const sale = await parts.counter.startSale({ amount: paise(rupees * 100), source: 'serial' });
  parts.counter.handlePayment(parts.confirmation(sale.tr, { amount: `${rupees}.00` }));
  await parts.announcer.idle();
}

/** What was said apart from the payments themselves. */
async function summaries(): Promise<string[]> {
  await parts.announcer.idle();
  return parts.speaker.said.filter((t) => t.startsWith('Today'));
}

describe('the day summary', () => {
  it("speaks today's count and total at the configured IST time", async () => {
    started('20:00');
    await pay(18000);
    await pay(450);
    parts.clock.advance(MINUTE);
    expect(await summaries()).toEqual([]);
    parts.clock.advance(MINUTE);
    expect(await summaries()).toEqual(['Today: two payments, eighteen thousand four hundred fifty rupees']);
  });

  it('speaks again the next day, counting only that day', async () => {
    started('20:00');
    await pay(100);
    parts.clock.advance(2 * MINUTE);
    // 10:00 IST the next morning.
    parts.clock.advance(14 * 60 * MINUTE);
    await pay(250);
    parts.clock.advance(10 * 60 * MINUTE);
    expect(await summaries()).toEqual(['Today: one payment, one hundred rupees', 'Today: one payment, two hundred fifty rupees']);
  });

  it('waits for tomorrow when started after the time has passed', async () => {
    // 20:30 IST.
    started('20:00', EVENING + 32 * MINUTE);
    parts.clock.advance(DAY - 31 * MINUTE);
    expect(await summaries()).toEqual([]);
    parts.clock.advance(MINUTE);
    expect(await summaries()).toHaveLength(1);
  });

  it('is not spoken when no time is configured', async () => {
    started(undefined);
    expect(parts.clock.pending()).toBe(0);
    parts.clock.advance(2 * DAY);
    expect(await summaries()).toEqual([]);
  });

  it('is not spoken once stopped', async () => {
    const feature = started('20:00');
    expect(parts.clock.pending()).toBe(1);
    feature.stop();
    expect(parts.clock.pending()).toBe(0);
    parts.clock.advance(2 * DAY);
    expect(await summaries()).toEqual([]);
  });
});
