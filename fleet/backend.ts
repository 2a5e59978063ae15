import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from '../core/backoff.js';
import { formatIst } from '../core/clock.js';
import { readDeviceTopic, type DeviceTopics } from '../core/link/topics.js';
import { sendWithoutDelay } from '../core/link/no-delay.js';
import { formatWireAmount, paise } from '../core/money.js';
import { signConfirmation } from '../core/payment/confirmation.js';

/** A sale the backend rang up on a device, followed to its receipt. */
interface Sale {
  deviceId: string;
  amount: string;
  /** performance.now() when the sale fell due: its collect is published then, or as soon after as the backend gets to it. */
  collectAt: number;
  qrAt?: number;
  payAt?: number;
  utr?: string;
  payload?: string;
  republish?: { backoff: Backoff; timer?: NodeJS.Timeout | undefined };
  /** The connection its QR came in on: the confirmation goes out on it too (see shown). */
  via?: MqttClient;
  /** 'announced' receipts received for its payment. */
  announced: number;
  /** 'duplicate' receipts: the device already held the payment when it came again. */
  duplicates: number;
}

/** The broker's $SYS counters the run reads (mosquitto publishes them every sys_interval). */
export interface BrokerCounters {
  messagesReceived?: number;
  messagesSent?: number;
  bytesReceived?: number;
  bytesSent?: number;
  /** QoS 1 messages the broker dropped because a client's queue was full. */
  dropped?: number;
}

const SYS_TOPICS: Record<string, keyof BrokerCounters> = {
  '$SYS/broker/messages/received': 'messagesReceived',
  '$SYS/broker/messages/sent': 'messagesSent',
  '$SYS/broker/bytes/received': 'bytesReceived',
  '$SYS/broker/bytes/sent': 'bytesSent',
  '$SYS/broker/publish/messages/dropped': 'dropped',
};

export interface FleetBackendOptions {
  url: string;
  prefix: string;
  privateKey: KeyObject;
  /** Broker connections the backend spreads its work over. */
  connections: number;
  /** Distinguishes this run's client ids and UTRs from any other's on the same broker. */
  runTag: string;
}

/**
 * The payments backend for a fleet run: rings up sales with `collect`,
 * pays each QR the moment it is shown with a signed confirmation, and
 * follows every payment to its receipt. Like the real notifier it uses a
 * few broker connections (not one per device), shares the devices' `qr`
 * and `receipt` topics between them, and publishes a confirmation again
 * while no receipt has come (first after 5 s, doubling to a minute).
 *
 * End-to-end latency is from the moment a sale falls due (its collect is
 * published then) to the payment's first 'announced' receipt received.
 */
export class FleetBackend {
  private readonly clients: MqttClient[] = [];
  /** Sales rung up on each device whose QR has not been seen, oldest first. */
  private readonly awaitingQr = new Map<string, Sale[]>();
  private readonly byUtr = new Map<string, Sale>();
  /** Connections whose writes are held until the end of this turn of the event loop (see batchWrites). */
  private readonly held = new Set<MqttClient>();
  private utrSeq = 0;
  /** The connection this turn's collects go out on, and how many turns have had one. */
  private collectVia: MqttClient | undefined;
  private collectTurns = 0;
  private stopped = false;
  readonly counters: BrokerCounters = {};
  readonly counts = {
    collects: 0,
    qrs: 0,
    /** A QR the backend did not ask for, or for an amount it did not ask. */
    strayQrs: 0,
    payments: 0,
    republished: 0,
    announced: 0,
    /** A second 'announced' receipt for the same payment: the device said it twice. */
    announcedTwice: 0,
    /** The device's answer to a confirmation it already held (after a republish). */
    duplicateReceipts: 0,
    rejected: 0,
    /** Receipts for a UTR this run did not pay. */
    strayReceipts: 0,
  };
  lastRejection: string | undefined;
  /** End-to-end latency of every announced payment, ms, in the order they came. */
  readonly latencies: number[] = [];
  readonly collectToQr: number[] = [];
  readonly paymentToReceipt: number[] = [];

  constructor(private readonly o: FleetBackendOptions) {}

  async start(): Promise<void> {
    const shared = `$share/fleet-${this.o.runTag}/${this.o.prefix}`;
    for (let i = 0; i < this.o.connections; i++) {
      const client = await mqtt.connectAsync(this.o.url, {
        clientId: `fleet-backend-${this.o.runTag}-${i}`,
        protocolVersion: 5,
        reconnectPeriod: 1000,
        connectTimeout: 30_000,
      });
      sendWithoutDelay(client);
      client.on('message', (topic, payload) => {
        // Its PUBACK is written when this returns: held with the rest.
        this.batchWrites(client);
        this.route(topic, payload, client);
      });
      await client.subscribeAsync([`${shared}/+/qr`, `${shared}/+/receipt`], { qos: 1 });
      this.clients.push(client);
    }
    const first = this.clients[0];
    if (first) await first.subscribeAsync(Object.keys(SYS_TOPICS), { qos: 0 });
  }

  /** The connection for message number n, its writes held until the end of this turn. */
  private client(n: number): MqttClient {
    const client = this.clients[n % this.clients.length];
    if (!client) throw new Error('the fleet backend is not started');
    this.batchWrites(client);
    return client;
  }

  /**
   * Holds a connection's writes until the end of this turn of the event
   * loop, so that what the backend sends on it in one turn (the PUBACKs of
   * the qr and receipt messages read together, the payments and collects
   * that follow) leaves in one write. mqtt.js writes after each packet it
   * handles, and at hundreds of messages a second per connection those
   * writes were the backend's largest cost.
   */
  private batchWrites(client: MqttClient): void {
    if (this.held.has(client)) return;
    const stream = client.stream;
    stream.cork();
    this.held.add(client);
    setImmediate(() => {
      this.held.delete(client);
      stream.uncork();
    });
  }

  /**
   * Rings up sale number `seq` on a device: a collect for an amount no other
   * sale in flight on it has. `dueAt` (performance.now() time) is when the
   * sale was due, so time the backend itself was late is counted too.
   */
  collect(deviceId: string, seq: number, dueAt: number): void {
    // The sales that fall due together go out together, on one connection
    // (the next one for each turn): one write for them all.
    let via = this.collectVia;
    if (!via) {
      via = this.client(this.collectTurns++);
      this.collectVia = via;
      setImmediate(() => (this.collectVia = undefined));
    }
    const amount = formatWireAmount(paise(100 + (seq % 9_000_000)));
    const sale: Sale = { deviceId, amount, collectAt: dueAt, announced: 0, duplicates: 0 };
    const queue = this.awaitingQr.get(deviceId);
    if (queue) queue.push(sale);
    else this.awaitingQr.set(deviceId, [sale]);
    this.counts.collects++;
    const request: DeviceTopics['collect'] = { v: 1, id: `${this.o.runTag}-${seq}`, amount };
    via.publish(`${this.o.prefix}/${deviceId}/collect`, JSON.stringify(request), { qos: 1 });
  }

  private route(topic: string, payload: Buffer, client: MqttClient): void {
    const counter = SYS_TOPICS[topic];
    if (counter) {
      this.counters[counter] = Number(payload.toString());
      return;
    }
    const device = readDeviceTopic(this.o.prefix, topic);
    if (!device) return;
    const { deviceId, name: kind } = device;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (kind === 'qr') this.shown(deviceId, body as DeviceTopics['qr'], client);
    else if (kind === 'receipt') this.receipt(body as DeviceTopics['receipt']);
  }

  /**
   * A QR on a device: the customer pays it at once. The confirmation goes
   * out on the connection the QR came in on, in the same write as the QR's
   * PUBACK; the broker's shared subscription spreads the QRs, and so the
   * confirmations, over the connections.
   */
  private shown(deviceId: string, qr: DeviceTopics['qr'], via: MqttClient): void {
    const queue = this.awaitingQr.get(deviceId);
    const at = queue?.findIndex((s) => s.amount === qr.amount) ?? -1;
    const sale = queue?.[at];
    if (!queue || !sale) {
      this.counts.strayQrs++;
      return;
    }
    queue.splice(at, 1);
    if (queue.length === 0) this.awaitingQr.delete(deviceId);
    this.counts.qrs++;
    sale.qrAt = performance.now();
    this.collectToQr.push(sale.qrAt - sale.collectAt);
    this.utrSeq++;
    const utr = `${this.o.runTag}${this.utrSeq}`;
    const message = signConfirmation(
      { deviceId, tr: qr.tr, utr, amount: qr.amount, status: 'SUCCESS', paidAt: formatIst(Date.now()), payer: 'customer@okaxis' },
      this.o.privateKey,
    );
    sale.utr = utr;
    sale.payload = JSON.stringify(message);
    this.byUtr.set(utr, sale);
    this.counts.payments++;
    sale.payAt = performance.now();
    sale.republish = { backoff: new Backoff(5_000, 60_000) };
    sale.via = via;
    this.publishPayment(sale);
  }

  private publishPayment(sale: Sale): void {
    if (this.stopped || !sale.payload || !sale.republish) return;
    // Its writes are held with the rest of this turn's, as for the PUBACK it follows.
    const via = sale.via ?? this.client(this.utrSeq);
    this.batchWrites(via);
    via.publish(`${this.o.prefix}/${sale.deviceId}/payment`, sale.payload, { qos: 1 });
    const republish = sale.republish;
    republish.timer = setTimeout(() => {
      republish.timer = undefined;
      if (sale.announced > 0 || sale.duplicates > 0) return;
      this.counts.republished++;
      this.publishPayment(sale);
    }, republish.backoff.next());
  }

  private receipt(receipt: DeviceTopics['receipt']): void {
    const now = performance.now();
    const sale = receipt.utr === null ? undefined : this.byUtr.get(receipt.utr);
    if (!sale) {
      this.counts.strayReceipts++;
      return;
    }
    switch (receipt.outcome) {
      case 'announced':
        sale.announced++;
        if (sale.announced > 1) {
          this.counts.announcedTwice++;
          return;
        }
        clearTimeout(sale.republish?.timer);
        this.counts.announced++;
        this.latencies.push(now - sale.collectAt);
        if (sale.payAt !== undefined) this.paymentToReceipt.push(now - sale.payAt);
        return;
      case 'duplicate':
        sale.duplicates++;
        clearTimeout(sale.republish?.timer);
        this.counts.duplicateReceipts++;
        return;
      case 'rejected':
        this.counts.rejected++;
        this.lastRejection = receipt.reason;
        return;
    }
  }

  /** Payments no receipt has answered, 'announced' or 'duplicate': as far as the backend knows, no device holds them. */
  get unanswered(): number {
    let n = 0;
    for (const sale of this.byUtr.values()) if (sale.announced === 0 && sale.duplicates === 0) n++;
    return n;
  }

  /** Payments a device holds (it answered 'duplicate' when the confirmation came again) whose 'announced' receipt never arrived. */
  get announcedReceiptMissing(): number {
    let n = 0;
    for (const sale of this.byUtr.values()) if (sale.announced === 0 && sale.duplicates > 0) n++;
    return n;
  }

  /** Sales whose QR never came. */
  get awaitingQrCount(): number {
    let n = 0;
    for (const queue of this.awaitingQr.values()) n += queue.length;
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const sale of this.byUtr.values()) clearTimeout(sale.republish?.timer);
    await Promise.all(this.clients.map((c) => c.endAsync()));
  }
}
