import mqtt, { type MqttClient } from 'mqtt';

export interface Seen {
  topic: string;
  payload: Buffer;
  retain: boolean;
  json<T = Record<string, unknown>>(): T;
}

/**
 * A test's own MQTT client that records everything on the topics it
 * watches and lets the test wait for a message.
 */
export class MqttWatch {
  readonly seen: Seen[] = [];
  private waiters: { match: (m: Seen) => boolean; resolve: (m: Seen) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m: Seen = { topic, payload, retain: packet.retain, json: <T>() => JSON.parse(payload.toString('utf8')) as T };
      this.seen.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async connect(url: string, topics: string[], options: mqtt.IClientOptions = {}): Promise<MqttWatch> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, ...options });
    const watch = new MqttWatch(client);
    if (topics.length) await client.subscribeAsync(topics, { qos: 1 });
    return watch;
  }

  on(topicSuffix: string): Seen[] {
    return this.seen.filter((m) => m.topic.endsWith(`/${topicSuffix}`));
  }

  waitFor(match: (m: Seen) => boolean, timeoutMs = 20_000, what = 'message'): Promise<Seen> {
    const seen = this.seen.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; seen: ${this.seen.map((m) => `${m.topic} ${m.payload.toString().slice(0, 120)}`).join(' | ')}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async publish(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Resolves with whether the broker let this client in. */
export function admitted(url: string, options: mqtt.IClientOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { protocolVersion: 5, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    const done = (yes: boolean) => {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      resolve(yes);
    };
    client.once('connect', () => done(true));
    client.once('error', () => done(false));
    client.once('close', () => done(false));
  });
}
