/**
 * Reconnect delays for every link (broker, serial port): doubling from
 * `initialMs` to `maxMs`, with up to 20% random jitter so that a fleet of
 * devices that lost the same broker do not all come back in the same second.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 60_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(base * (1 - 0.2 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
