import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { Backoff } from '../backoff.js';
import type { Clock, TimerHandle } from '../clock.js';
import { formatIst } from '../clock.js';
import type { Logger } from '../log.js';
import { INBOUND_TOPICS, deviceTopic, type DeviceTopic, type DeviceTopics, type InboundTopic } from './topics.js';
import type { LinkState } from './link-state.js';

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
 * will, and reconnection with backoff. A message is acknowledged to the
 * broker only after its handler has finished, so a confirmation the device
 * has not yet committed to its ledger is redelivered after a crash.
 */
export class MqttLink extends EventEmitter<LinkEvents> {
  private client?: MqttClient;
  private linkState: LinkState = 'offline';
  private readonly handlers = new Map<InboundTopic, InboundHandler>();
  private readonly backoff = new Backoff(1000, 60_000);
  private reconnectTimer?: TimerHandle | undefined;
  private stopping = false;
  private reconnectCount = 0;

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
      will: { topic: this.topic('status'), payload: Buffer.from(this.status(false)), qos: 1, retain: true },
    };
    if (o.protocolVersion === 5) clientOptions.properties = { sessionExpiryInterval: o.sessionExpirySeconds ?? 7 * 24 * 3600 };
    if (o.username !== undefined) clientOptions.username = o.username;
    if (o.password !== undefined) clientOptions.password = o.password;
    Object.assign(clientOptions, tlsOptions(o.tls));
    this.setState('connecting');
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      this.dispatch(packet).then(
        () => done(),
        // dispatch never rejects; this only satisfies the linter's promise rules.
        () => done(),
      );
    };
    client.on('connect', (connack) => {
      this.backoff.reset();
      this.o.log.info({ sessionPresent: connack.sessionPresent }, 'connected to broker');
      // "online" is announced only once the device can hear its topics, so a
      // backend that waits for it never publishes into the void.
      this.subscribeAll(client, () => {
        if (client !== this.client || !client.connected) return;
        client.publish(this.topic('status'), this.status(true), { qos: 1, retain: true }, (err) => {
          if (err) this.o.log.warn({ err }, 'status not published');
        });
        this.setState('online');
        this.emit('connected');
      });
    });
    client.on('error', (err) => {
      this.o.log.warn({ err }, 'broker connection error');
    });
    client.on('close', () => {
      if (this.stopping) return;
      this.setState('offline');
      this.scheduleReconnect(client);
    });
  }

  private get o(): MqttLinkOptions {
    return this.options;
  }

  private subscribeAll(client: MqttClient, then: () => void): void {
    const topics = Object.fromEntries(INBOUND_TOPICS.map((t) => [this.topic(t), { qos: 1 as const }]));
    client.subscribe(topics, (err, granted) => {
      if (err) {
        // The connection is going down; the next connect subscribes again.
        this.o.log.error({ err }, 'subscription failed');
        return;
      }
      // 128 (0x80) and up is the broker refusing, e.g. by its ACL.
      const refused = (granted ?? []).filter((g) => g.qos >= 0x80).map((g) => g.topic);
      if (refused.length) this.o.log.error({ refused }, 'broker refused subscriptions; check the ACL for this device');
      else this.o.log.info({ topics: Object.keys(topics) }, 'subscribed');
      then();
    });
  }

  private scheduleReconnect(client: MqttClient): void {
    if (this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.o.log.info({ inMs: delay }, 'reconnecting to broker');
    this.reconnectTimer = this.o.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping) return;
      this.reconnectCount++;
      this.setState('connecting');
      client.reconnect();
    }, delay);
  }

  private async dispatch(packet: IPublishPacket): Promise<void> {
    const suffix = INBOUND_TOPICS.find((t) => packet.topic === this.topic(t));
    const handler = suffix && this.handlers.get(suffix);
    if (!handler) {
      this.o.log.warn({ topic: packet.topic }, 'message on a topic this device does not handle');
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
    try {
      await handler(payload);
    } catch (err) {
      // A handler failing must not take the link down; the handler is
      // responsible for recording what it refused.
      this.o.log.error({ topic: suffix, err }, 'message handler failed');
    }
  }

  /** Publishes and resolves when the broker has acknowledged (QoS 1) or the packet is written (QoS 0). */
  publish(topic: DeviceTopic, payload: string, options: { qos: 0 | 1; retain?: boolean } = { qos: 1 }): Promise<void> {
    const client = this.client;
    if (!client || this.linkState !== 'online') return Promise.reject(new Error('not connected to the broker'));
    return new Promise((resolve, reject) => {
      client.publish(this.topic(topic), payload, { qos: options.qos, retain: options.retain ?? false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  private setState(state: LinkState): void {
    if (state === this.linkState) return;
    this.linkState = state;
    this.emit('state', state);
  }

  /** Says goodbye (retained offline status) and closes; the session stays on the broker. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.o.clock.clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        client.publish(this.topic('status'), this.status(false), { qos: 1, retain: true }, () => resolve());
      });
    }
    await client.endAsync(false);
    this.setState('offline');
  }
}
