import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { Backoff } from '../backoff.js';
import type { Clock, TimerHandle } from '../clock.js';
import { formatIst } from '../clock.js';
import type { Logger } from '../log.js';
import { INBOUND_TOPICS, OUTBOUND_DELIVERY, deviceTopic, type DeviceTopic, type DeviceTopics, type InboundTopic, type OutboundTopic } from './topics.js';
import type { LinkState } from './link-state.js';
import { connectMqtt } from './mqtt-connect.js';
import { sendWithoutDelay } from './no-delay.js';

/** How long a stop waits for the broker to take the goodbye before closing without it. */
export const MQTT_STOP_GRACE_MS = 3_000;

/** How long the broker keeps the device's session while it is offline (MQTT 5). */
export const DEVICE_SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;

export interface MqttLinkOptions {
  url: string;
  deviceId: string;
  prefix: string;
  username?: string | undefined;
  password?: string | undefined;
  protocolVersion: 4 | 5;
  keepaliveSeconds: number;
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; rejectUnauthorized: boolean } | undefined;
  firmware: string;
  bootAt: number;
  clock: Clock;
  log: Logger;
  /** How long the broker keeps the session (and queued confirmations) while the device is away. MQTT 5 only; 3.1.1 keeps it until the device returns. */
  sessionExpirySeconds?: number;
}

/** The TLS part of the client options: CA, client certificate and key read from their files. */
export function tlsOptions(tls: MqttLinkOptions['tls']): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
  if (!tls) return {};
  return {
    ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
    ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
    ...(tls.key ? { key: readFileSync(tls.key) } : {}),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}

/**
 * Handles one message. Returning (or resolving) means the message is dealt
 * with for good and may be acknowledged; throwing (or rejecting) means it
 * was not, and the broker must deliver it again.
 */
export type InboundHandler = (payload: Buffer) => void | Promise<void>;

/** What the link tells its listeners. */
export interface LinkEvents {
  state: [LinkState];
  /** A new connection: the outbox flushes on this. */
  connected: [];
}

/**
 * The device's connection to the payments broker: a persistent session
 * under the device's own id, QoS 1 both ways, a retained status with a last
 * will, and reconnection with backoff.
 *
 * Online means subscribed: the link reports 'online' and publishes the
 * retained online status only when the broker has granted every
 * subscription at QoS 1. Until then it stays 'connecting' and asks again
 * with backoff.
 *
 * A QoS 1 message is acknowledged only when its handler has returned. When
 * the handler throws (the ledger could not be written), the acknowledgement
 * is withheld and, after a backoff, the connection is started again so that
 * the broker delivers the message again from the persistent session.
 *
 * How mqtt.js 5.16 lets a handler refuse, read from its source
 * (lib/handlers/publish.js, lib/client.js) and shown against mosquitto in
 * test/e2e/mqtt-link.test.ts: for QoS 1 it calls `handleMessage(packet, cb)`
 * and sends the PUBACK inside `cb` only when `cb` gets no error. With an
 * error, `cb` passes it to the packet pump's "next packet" function, which
 * ignores it: no PUBACK is sent, no 'error' is emitted, the connection
 * stays up and the next packet is processed. The broker does not send the
 * message again on that connection, only on the next connection of the
 * session, so the link ends the connection itself. A PUBACK with a reason
 * code of 0x80 or more (MQTT 5, through `customHandleAcks`) would lose the
 * message: the broker takes it as finished with and drops it.
 */
export class MqttLink extends EventEmitter<LinkEvents> {
  private client?: MqttClient;
  private linkState: LinkState = 'offline';
  private readonly handlers = new Map<InboundTopic, InboundHandler>();
  /** Between attempts to connect. */
  private readonly backoff = new Backoff(1000, 60_000);
  /** Between attempts to subscribe on one connection while the broker refuses. */
  private readonly subscribeBackoff = new Backoff(1000, 60_000);
  /** Between a message left unacknowledged and the new connection that has it delivered again. */
  private readonly redeliveryBackoff = new Backoff(1000, 60_000);
  private reconnectTimer?: TimerHandle | undefined;
  private subscribeTimer?: TimerHandle | undefined;
  private redeliveryTimer?: TimerHandle | undefined;
  private stopping = false;
  private reconnectCount = 0;
  /** Counts connections, so that work for one that has since closed is dropped. */
  private connection = 0;
  /** The connection on which a message was last left unacknowledged. */
  private withheldOn = -1;
  /** The next close was ours, to have unacknowledged messages delivered again: reconnect at once. */
  private restarting = false;
  /** One error line per outage, not one per message or per attempt. */
  private outage = { refusedSubscriptions: false, unhandledMessages: false };

  constructor(private readonly options: MqttLinkOptions) {
    super();
  }

  get state(): LinkState {
    return this.linkState;
  }

  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Hands each message on `topic` to `handler`; the returned function takes that handler away again. */
  handle(topic: InboundTopic, handler: InboundHandler): () => void {
    this.handlers.set(topic, handler);
    return () => {
      if (this.handlers.get(topic) === handler) this.handlers.delete(topic);
    };
  }

  topic(name: DeviceTopic): string {
    return deviceTopic(this.options.prefix, this.options.deviceId, name);
  }

  private status(online: boolean): string {
    const status: DeviceTopics['status'] = { online, fw: this.options.firmware, bootAt: formatIst(this.options.bootAt) };
    return JSON.stringify(status);
  }

  start(): void {
    const o = this.options;
    const clientOptions: IClientOptions = {
      clientId: o.deviceId,
      clean: false,
      protocolVersion: o.protocolVersion,
      keepalive: o.keepaliveSeconds,
      // Reconnection is ours, so the delay can back off; mqtt.js's own
      // timer repeats at a fixed period.
      reconnectPeriod: 0,
      connectTimeout: 15_000,
      // mqtt-packet otherwise builds, on the first packet, a 2-byte Buffer
      // for each of the 65,536 packet identifiers and keeps them: 6 MB of
      // JavaScript heap (65,536 objects) held for a few hundred packets a day.
      writeCache: false,
      will: { topic: this.topic('status'), payload: Buffer.from(this.status(false)), qos: 1, retain: true },
    };
    if (o.protocolVersion === 5) clientOptions.properties = { sessionExpiryInterval: o.sessionExpirySeconds ?? DEVICE_SESSION_EXPIRY_SECONDS };
    if (o.username !== undefined) clientOptions.username = o.username;
    if (o.password !== undefined) clientOptions.password = o.password;
    Object.assign(clientOptions, tlsOptions(o.tls));
    this.setState('connecting');
    const client = connectMqtt(o.url, clientOptions);
    this.client = client;
    sendWithoutDelay(client);
    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      const connection = this.connection;
      const settle = (handled: boolean): void => {
        if (handled) {
          done();
          this.handledOn(connection);
        } else {
          // An error withholds the PUBACK (see the class comment).
          done(new Error('not handled; left unacknowledged'));
          this.withheld(packet, connection);
        }
      };
      const handled = this.dispatch(packet);
      // A handler that returned at once is acknowledged at once: the PUBACK
      // then leaves in the same write as what the handler published (a
      // collect's qr), not in a write of its own a turn later.
      if (typeof handled === 'boolean') settle(handled);
      else handled.then(settle).catch((err: unknown) => this.o.log.error({ err }, 'message acknowledgement failed'));
    };
    client.on('connect', (connack) => {
      this.connection++;
      this.backoff.reset();
      this.o.log.info({ sessionPresent: connack.sessionPresent }, 'connected to broker');
      this.subscribeAll(client, this.connection);
    });
    client.on('error', (err) => {
      this.o.log.warn({ err }, 'broker connection error');
    });
    client.on('close', () => {
      this.o.clock.clearTimeout(this.subscribeTimer);
      this.subscribeTimer = undefined;
      if (this.stopping) return;
      this.setState('offline');
      const now = this.restarting;
      this.restarting = false;
      this.scheduleReconnect(client, now ? 0 : this.backoff.next());
    });
  }

  private get o(): MqttLinkOptions {
    return this.options;
  }

  private current(client: MqttClient, connection: number): boolean {
    return client === this.client && connection === this.connection && client.connected && !this.stopping;
  }

  /**
   * Subscribes to every inbound topic and goes online only if the broker
   * grants all of them at QoS 1. mqtt.js reports a SUBACK holding any code
   * with bit 0x80 set (3.1.1's 0x80, MQTT 5's reason codes from 0x80) as an
   * error to the callback, with the SUBACK itself as the third argument; a
   * grant of QoS 0 is no error to mqtt.js but is refused here, because a
   * confirmation delivered at QoS 0 is never delivered again.
   */
  private subscribeAll(client: MqttClient, connection: number): void {
    const requested = INBOUND_TOPICS.map((t) => this.topic(t));
    client.subscribe(requested, { qos: 1 }, (err, _granted, suback) => {
      if (!this.current(client, connection)) return;
      const codes = suback?.granted;
      const refused = requested.flatMap((topic, i) => {
        const code = codes?.[i];
        return typeof code === 'number' && code >= 1 && code < 0x80 ? [] : [{ topic, code: typeof code === 'number' ? code : null }];
      });
      if (refused.length) {
        this.subscriptionsRefused(client, connection, refused, err);
        return;
      }
      this.subscribeBackoff.reset();
      if (this.outage.refusedSubscriptions) {
        this.outage.refusedSubscriptions = false;
        this.o.log.info('broker granted the subscriptions it had refused');
      }
      this.o.log.info({ topics: requested }, 'subscribed');
      client.publish(this.topic('status'), this.status(true), OUTBOUND_DELIVERY.status, (e) => {
        if (e) this.o.log.warn({ err: e }, 'status not published');
      });
      this.setState('online');
      this.tell('connected');
    });
  }

  private subscriptionsRefused(client: MqttClient, connection: number, refused: { topic: string; code: number | null }[], err: Error | null): void {
    const delay = this.subscribeBackoff.next();
    if (!this.outage.refusedSubscriptions) {
      this.outage.refusedSubscriptions = true;
      this.o.log.error({ refused, err }, 'broker refused subscriptions; check the ACL for this device');
    }
    this.o.log.info({ inMs: delay }, 'staying offline to payments; subscribing again');
    this.subscribeTimer = this.o.clock.setTimeout(() => {
      this.subscribeTimer = undefined;
      if (this.current(client, connection)) this.subscribeAll(client, connection);
    }, delay);
  }

  private scheduleReconnect(client: MqttClient, delay: number): void {
    if (this.reconnectTimer) return;
    this.o.log.info({ inMs: delay }, 'reconnecting to broker');
    this.reconnectTimer = this.o.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping) return;
      this.reconnectCount++;
      this.setState('connecting');
      client.reconnect();
    }, delay);
  }

  /**
   * True when the message is dealt with and may be acknowledged, false when
   * it must be left for the broker to deliver again; a promise of that when
   * the handler returned one. Never throws or rejects.
   */
  private dispatch(packet: IPublishPacket): boolean | Promise<boolean> {
    const suffix = INBOUND_TOPICS.find((t) => packet.topic === this.topic(t));
    const handler = suffix && this.handlers.get(suffix);
    if (!handler) {
      this.o.log.warn({ topic: packet.topic }, 'message on a topic this device does not handle');
      return true;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
    let result: void | Promise<void>;
    try {
      result = handler(payload);
    } catch (err) {
      return this.notHandled(suffix, err);
    }
    if (result === undefined) return true;
    return Promise.resolve(result).then(
      () => true,
      (err: unknown) => this.notHandled(suffix, err),
    );
  }

  private notHandled(topic: InboundTopic, err: unknown): false {
    if (!this.outage.unhandledMessages) {
      this.o.log.error({ topic, err }, 'message not handled; leaving it unacknowledged for the broker to deliver again');
    } else {
      this.o.log.debug({ topic, err }, 'message not handled');
    }
    this.outage.unhandledMessages = true;
    return false;
  }

  private handledOn(connection: number): void {
    // A message handled on a connection where none was refused: whatever
    // was wrong is over, so the next refusal starts the waits afresh.
    if (connection === this.withheldOn) return;
    this.redeliveryBackoff.reset();
    if (this.outage.unhandledMessages) {
      this.outage.unhandledMessages = false;
      this.o.log.info('messages are handled again');
    }
  }

  private withheld(packet: IPublishPacket, connection: number): void {
    if (packet.qos === 0) {
      this.o.log.warn({ topic: packet.topic }, 'a QoS 0 message was not handled; the broker will not deliver it again');
      return;
    }
    this.withheldOn = connection;
    if (this.redeliveryTimer) return;
    const delay = this.redeliveryBackoff.next();
    this.o.log.info({ inMs: delay }, 'connecting again then, for the broker to deliver what was not acknowledged');
    this.redeliveryTimer = this.o.clock.setTimeout(() => {
      this.redeliveryTimer = undefined;
      const client = this.client;
      // A connection that closed meanwhile has already had the broker
      // deliver again on the next one.
      if (!client || this.withheldOn !== this.connection || !this.current(client, this.connection)) return;
      this.restarting = true;
      // Like a dropped network: no DISCONNECT is sent, and the session
      // with its unacknowledged messages stays with the broker.
      client.stream.destroy();
    }, delay);
  }

  /** Publishes `payload` as `topic`'s contract says (QoS, retain); resolves when the broker has acknowledged (QoS 1) or the packet is written (QoS 0). */
  publish<T extends OutboundTopic>(topic: T, payload: DeviceTopics[T]): Promise<void> {
    return this.send(topic, JSON.stringify(payload));
  }

  /** Publishes a message from the outbox, byte for byte as it was queued (see queuedMessage in topics.ts). */
  publishQueued(topic: OutboundTopic, json: string): Promise<void> {
    return this.send(topic, json);
  }

  private send(topic: OutboundTopic, json: string): Promise<void> {
    const client = this.client;
    if (!client || this.linkState !== 'online') return Promise.reject(new Error('not connected to the broker'));
    const { qos, retain } = OUTBOUND_DELIVERY[topic];
    return new Promise((resolve, reject) => {
      client.publish(this.topic(topic), json, { qos, retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  private setState(state: LinkState): void {
    if (state === this.linkState) return;
    this.linkState = state;
    this.tell('state', state);
  }

  /** Tells the listeners; one that throws (say, the outbox on a full disk) must not take the link down. */
  private tell<K extends keyof LinkEvents>(event: K, ...args: LinkEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: LinkEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.o.log.error({ event, err }, 'a listener of the broker link failed');
    }
  }

  /**
   * Says goodbye (retained offline status) and closes; the session stays on
   * the broker. A broker that holds the connection but answers nothing, or
   * died with a publish of ours unacknowledged, would keep both the goodbye
   * and mqtt.js's orderly end waiting for ever: after MQTT_STOP_GRACE_MS the
   * connection is closed without them. What was unacknowledged is still in
   * the outbox (or, for a goodbye, the last will says it).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of [this.reconnectTimer, this.subscribeTimer, this.redeliveryTimer]) this.o.clock.clearTimeout(timer);
    const client = this.client;
    if (!client) return;
    // Still connecting (stopped just after start, or between attempts):
    // there is no goodbye to say, and mqtt.js's orderly end would leave the
    // connection attempt running, to come up after the device has stopped
    // and keep the process alive.
    if (!client.connected) {
      await client.endAsync(true);
      this.setState('offline');
      return;
    }
    const orderly = (async () => {
      if (client.connected) {
        await new Promise<void>((resolve) => {
          client.publish(this.topic('status'), this.status(false), OUTBOUND_DELIVERY.status, () => resolve());
        });
      }
      await client.endAsync(false);
      return true;
    })();
    let grace: TimerHandle | undefined;
    const ended = await Promise.race([orderly, new Promise<false>((resolve) => (grace = this.o.clock.setTimeout(() => resolve(false), MQTT_STOP_GRACE_MS)))]);
    this.o.clock.clearTimeout(grace);
    if (!ended) {
      this.o.log.warn({ graceMs: MQTT_STOP_GRACE_MS }, 'the broker did not answer the goodbye in time; closing the connection without it');
      await client.endAsync(true);
    }
    this.setState('offline');
  }
}
