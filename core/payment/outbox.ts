import type { LinkState } from '../link/link-state.js';
import type { Ledger } from './ledger.js';
import type { Logger } from '../log.js';
import { isOutboundTopic, queuedMessage, type DeviceTopics, type OutboundTopic } from '../link/topics.js';

/** Messages handed to the broker at once; the next batch follows when these are acknowledged. */
const BATCH = 200;

/** What the outbox needs of the broker link. */
export interface Publisher {
  readonly state: LinkState;
  /** Publishes a queued message as its topic's contract says; `json` is sent unchanged. */
  publishQueued(topic: OutboundTopic, json: string): Promise<void>;
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

  /** Queues a message in the ledger and sends what is waiting. Throws if the ledger cannot be written. */
  post<T extends OutboundTopic>(topic: T, payload: DeviceTopics[T]): void {
    this.queue(topic, payload);
    this.flush();
  }

  /**
   * Queues a message without sending it: inside a ledger transaction, so it
   * commits with the change it reports; the caller flushes once committed.
   */
  queue<T extends OutboundTopic>(topic: T, payload: DeviceTopics[T]): void {
    const message = queuedMessage(topic, payload);
    this.ledger.enqueue(message.topic, message.payload);
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
      const topic = message.topic;
      if (!isOutboundTopic(topic)) {
        this.log.error({ id: message.id, topic }, 'outbox message for a topic the device does not publish; left unsent');
        continue;
      }
      this.inFlight.add(message.id);
      this.link.publishQueued(topic, message.payload).then(
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
      // Not struck off, so sent again later: at least once, never lost. A
      // storage fault is logged once by the counter, not at every acknowledgement.
      this.log.debug({ count: ids.length, err }, 'acknowledged outbox messages could not be struck off');
      return;
    }
    // A long outage can leave more than one batch waiting.
    if (this.inFlight.size === 0 && this.ledger.unsentCount() > 0) this.flush();
  }

  depth(): number {
    return this.ledger.unsentCount();
  }
}
