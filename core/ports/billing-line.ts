import type { Duplex } from 'node:stream';

/** The side of the billing link a line carries; `BillingLink` is one. */
export interface BillingLineTarget {
  /** Talks over this stream until `detach` is called or the stream ends. */
  attach(stream: Duplex): { detach(): void };
}

/**
 * The cable to the billing PC. It may come and go (a USB serial adapter
 * pulled and put back); each time it is there, the line attaches its stream
 * to the target, which picks up where it was.
 */
export interface BillingLine {
  start(target: BillingLineTarget): void;
  /** Lets go of the cable; resolves when it is closed. */
  stop(): Promise<void>;
}
