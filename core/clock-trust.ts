import { formatIst, type Clock } from './clock.js';
import type { Logger } from './log.js';
import { firmwareBuild, type FirmwareBuild } from './firmware-build.js';
import type { TimeSync } from './ports/time-sync.js';

/** Whether the wall clock may stamp a QR now, and why (for the log and the engineer). */
export interface ClockVerdict {
  trusted: boolean;
  reason?: string;
}

/** What the counter asks before it shows QRs. May take a moment; never rejects. */
export interface ClockTrust {
  check(): Promise<ClockVerdict>;
}

export interface ClockTrustRuleOptions {
  clock: Clock;
  sync: TimeSync;
  /** Epoch ms the firmware was built: a clock that reads earlier is certainly wrong. */
  builtAt: number;
  log: Logger;
}

/**
 * When the device trusts its wall clock, which stamps every QR (`QRts`,
 * `QRexpire`) and seeds a new ledger's references. A UPI app refuses a QR
 * whose times are wrong, so a QR made with a stale clock is worse than none.
 *
 * 1. Never while the clock reads earlier than the firmware's build time.
 * 2. Never while the system says the clock is not synchronised with a time
 *    server: a board without a battery clock starts on a stale time and is
 *    corrected only when it reaches one.
 * 3. When the system has no way to say (no time service the adapter can
 *    ask), rule 1 alone decides. The log says so once, so the engineer
 *    knows the check is weaker on this board.
 */
export class ClockTrustRule implements ClockTrust {
  private unknownLogged = false;

  constructor(private readonly o: ClockTrustRuleOptions) {}

  async check(): Promise<ClockVerdict> {
    const tooEarly = this.beforeBuild();
    if (tooEarly) return tooEarly;
    const sync = await this.o.sync.status();
    switch (sync.state) {
      case 'synchronised':
        return this.beforeBuild() ?? { trusted: true, reason: sync.detail };
      case 'unsynchronised':
        return { trusted: false, reason: `not synchronised with a time server yet (${sync.detail})` };
      case 'unknown':
        if (!this.unknownLogged) {
          this.unknownLogged = true;
          this.o.log.warn(
            { detail: sync.detail, builtAt: formatIst(this.o.builtAt) },
            'the system cannot say whether the clock is synchronised; trusting it because it reads later than the firmware build time',
          );
        }
        return this.beforeBuild() ?? { trusted: true, reason: `no way to ask whether it is synchronised (${sync.detail}); it reads later than the firmware build time` };
    }
  }

  private beforeBuild(): ClockVerdict | undefined {
    const now = this.o.clock.now();
    if (now >= this.o.builtAt) return undefined;
    return { trusted: false, reason: `it reads ${formatIst(now)}, earlier than this firmware was built (${formatIst(this.o.builtAt)})` };
  }
}

/** For a board whose time service the device has no way to ask: the build time alone decides. */
export const noTimeSync: TimeSync = { status: () => Promise.resolve({ state: 'unknown', detail: 'no time service to ask on this board' }) };

/**
 * The device's clock check: the rule on the board's time service and the
 * firmware's build time. Says in the log, once, when no build stamp was
 * found.
 */
export function deviceClockTrust(clock: Clock, log: Logger, sync: TimeSync = noTimeSync, build: FirmwareBuild = firmwareBuild()): ClockTrust {
  if (build.problem !== undefined) log.warn({ problem: build.problem }, 'no firmware build stamp; the clock is checked against the earliest possible build time instead');
  return new ClockTrustRule({ clock, sync, builtAt: build.builtAt, log });
}
