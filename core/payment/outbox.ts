import type { LinkState } from '../link/link-state.js';
import type { Ledger } from './ledger.js';
import type { Logger } from '../log.js';
import type { DeviceTopic } from '../link/topics.js';

/** Messages handed to the broker at once; the next batch follows when these are acknowledged. */
const BATCH = 200;

/** What the outbox needs of the broker link. */
export interface Publisher {
  readonly state: LinkState;
  publish(topic: DeviceTopic, payload: string, options: { qos: 0 | 1; retain?: boolean }): Promise<void>;
}

/**
 * Everything the device owes the backend (qr, receipt, config/state) goes
 * through the ledger's outbox first, so a message is not lost to a crash or
 * a dead link: it is published when the link is up and struck off only when
 * the broker acknowledges it. Delivery is at least once, like QoS 1 itself.
 */
export class Outbox {
  private readonly inFlight = new Set<number>();
  /** Acknowledged by the broker, to be struck off together in one transaction. */
  private readonly acknowledged = new Set<number>();
  private strikeOffPending = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly link: Publisher,
    private readonly log: Logger,
  ) {}

  post(topic: DeviceTopic, payload: unknown): void {
    this.ledger.enqueue(topic, JSON.stringify(payload));
    this.flush();
  }

  /** A new connection: anything in flight on the old one is sent again. */
  reconnected(): void {
    this.inFlight.clear();
    this.flush();
  }

  flush(): void {
    if (this.link.state !== 'online') return;
    for (const message of this.ledger.unsent(BATCH)) {
      if (this.inFlight.has(message.id) || this.acknowledged.has(message.id)) continue;
      this.inFlight.add(message.id);
      this.link.publish(message.topic as DeviceTopic, message.payload, { qos: 1 }).then(
        () => {
          this.inFlight.delete(message.id);
          this.acknowledged.add(message.id);
          this.scheduleStrikeOff();
        },
        (err: unknown) => {
          this.inFlight.delete(message.id);
          this.log.debug({ id: message.id, err }, 'outbox message not delivered yet');
        },
      );
    }
  }

  /**
   * Acknowledgements arrive in bursts (a batch after an outage is hundreds
   * of PUBACKs within a few reads of the socket). Each one is recorded only
   * once the broker has sent it, and all that arrived in the same turn of
   * the event loop are struck off in one transaction: one fsync, not one
   * per message.
   */
  private scheduleStrikeOff(): void {
    if (this.strikeOffPending) return;
    this.strikeOffPending = true;
    setImmediate(() => this.strikeOff());
  }

  private strikeOff(): void {
    this.strikeOffPending = false;
    const ids = [...this.acknowledged];
    this.acknowledged.clear();
    if (ids.length === 0) return;
    if (!this.ledger.open) {
      this.log.debug({ count: ids.length }, 'ledger closed before acknowledged messages were struck off; they will be sent again');
      return;
    }
    try {
      this.ledger.markSent(ids);
    } catch (err) {
      // Not struck off, so sent again later: at least once, never lost.
      this.log.error({ count: ids.length, err }, 'acknowledged outbox messages could not be struck off');
      return;
    }
    // A long outage can leave more than one batch waiting.
    if (this.inFlight.size === 0 && this.ledger.unsentCount() > 0) this.flush();
  }

  depth(): number {
    return this.ledger.unsentCount();
  }
}
