import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { ClockTrustRule } from '../core/clock-trust.js';
import { StandInTimeSync, recordingLogger } from './support/clock-stand-ins.js';

const start = Date.UTC(2026, 0, 15, 4, 30, 0);

function rule(builtAt: number, sync = new StandInTimeSync()) {
  const clock = new ManualClock(start);
  const { log, lines } = recordingLogger();
  return { clock, sync, lines, trust: new ClockTrustRule({ clock, sync, builtAt, log }) };
}

describe('when the wall clock is trusted', () => {
  it('trusts a synchronised clock that reads later than the firmware build', async () => {
    const { trust } = rule(start - 86_400_000);
    await expect(trust.check()).resolves.toEqual({ trusted: true, reason: 'stand-in: synchronised' });
  });

  it('never trusts a clock that reads earlier than the firmware build, even one the system calls synchronised', async () => {
    const { trust, sync, clock } = rule(start + 60_000);
    await expect(trust.check()).resolves.toEqual({
      trusted: false,
      reason: 'it reads 2026-01-15T10:00:00+05:30, earlier than this firmware was built (2026-01-15T10:01:00+05:30)',
    });
    // Not even worth asking the system.
    expect(sync.asked).toBe(0);
    clock.stepWall(60_000);
    await expect(trust.check()).resolves.toMatchObject({ trusted: true });
  });

  it('does not trust a clock the system says is not synchronised yet', async () => {
    const { trust, sync } = rule(start - 1);
    sync.say('unsynchronised');
    await expect(trust.check()).resolves.toEqual({ trusted: false, reason: 'not synchronised with a time server yet (stand-in: unsynchronised)' });
  });

  it('where the system cannot say, trusts a clock later than the build, and says so in the log once', async () => {
    const { trust, sync, lines, clock } = rule(start - 1);
    sync.say('unknown');
    await expect(trust.check()).resolves.toMatchObject({ trusted: true });
    await expect(trust.check()).resolves.toMatchObject({ trusted: true });
    expect(lines.filter((l) => l.msg.startsWith('the system cannot say whether the clock is synchronised'))).toHaveLength(1);
    clock.stepWall(-60_000);
    await expect(trust.check()).resolves.toMatchObject({ trusted: false, reason: expect.stringContaining('earlier than this firmware was built') as unknown });
  });
});
