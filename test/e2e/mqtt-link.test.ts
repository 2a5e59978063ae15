/**
 * The broker link against a real mosquitto: online means subscribed, a
 * message whose handler failed stays with the broker and comes again, and
 * the device publishes each topic only with its own payload type.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { MQTT_STOP_GRACE_MS, MqttLink } from '../../core/link/mqtt-link.js';
import type { DeviceTopics } from '../../core/link/topics.js';
import { recordingLogger, type LogLine } from '../support/log-lines.js';
import { eventually } from '../support/ledger-reader.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';

const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;
const REFUSED = 'broker refused subscriptions; check the ACL for this device';

/** mosquitto's dynamic security plugin, where the distribution puts it. */
const DYNSEC = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib/arm-linux-gnueabihf', '/usr/lib', '/usr/local/lib']
  .map((dir) => join(dir, 'mosquitto_dynamic_security.so'))
  .find((path) => existsSync(path));

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function link(url: string, protocolVersion: 4 | 5, extra: { username?: string; password?: string } = {}): { link: MqttLink; lines: LogLine[]; count: (msg: string) => number } {
  const { log, lines, count } = recordingLogger();
  const l = new MqttLink({ url, deviceId: 'MYS01', prefix: 'dakbox/v1', protocolVersion, keepaliveSeconds: 30, firmware: 'test', bootAt: Date.now(), clock: systemClock, log, ...extra });
  cleanup.push(() => l.stop());
  return { link: l, lines, count };
}

async function broker(options: Parameters<typeof Mosquitto.start>[0] = {}): Promise<Mosquitto> {
  const b = await Mosquitto.start(options);
  cleanup.push(() => b.stop());
  return b;
}

async function watch(url: string, options: mqtt.IClientOptions = {}): Promise<MqttWatch> {
  const w = await MqttWatch.connect(url, [topic('#')], { clientId: `watch-${Math.random().toString(36).slice(2)}`, protocolVersion: 5, ...options });
  cleanup.push(() => w.close());
  return w;
}

/** A dynamic-security setup where anonymous clients may do anything but subscribe to `denied`. */
function dynsecConfig(dir: string, denied: string[]): string {
  const path = join(dir, 'dynamic-security.json');
  writeFileSync(
    path,
    JSON.stringify({
      defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
      clients: [],
      groups: [{ groupname: 'devices', roles: [{ rolename: 'device' }] }],
      roles: [{ rolename: 'device', acls: denied.map((t) => ({ acltype: 'subscribePattern', topic: t, priority: 0, allow: false })) }],
      anonymousGroup: 'devices',
    }),
  );
  return path;
}

describe('online means subscribed', () => {
  it.skipIf(!DYNSEC).each([5, 4] as const)(
    'MQTT %s: a refused subscription keeps the device connecting, asks again with backoff, logs once, and goes online when granted',
    async (protocolVersion) => {
      const dir = mkdtempSync(join(tmpdir(), 'dakbox-dynsec-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const config = dynsecConfig(dir, ['dakbox/v1/+/payment']);
      const b = await broker({ extra: ['per_listener_settings false', `plugin ${DYNSEC}`, `plugin_opt_config_file ${config}`] });
      const w = await watch(b.url);
      const { link: l, lines, count } = link(b.url, protocolVersion);
      const states: string[] = [];
      l.on('state', (s) => states.push(s));
      l.start();

      await eventually(() => count('staying offline to payments; subscribing again') >= 2, 10_000, 'two refused attempts');
      expect(l.state).toBe('connecting');
      expect(states).not.toContain('online');
      expect(count(REFUSED)).toBe(1);
      const refusal = lines.find((line) => line.msg === REFUSED);
      expect(refusal?.refused).toEqual([{ topic: topic('payment'), code: protocolVersion === 5 ? 0x87 : 0x80 }]);
      expect(w.on('status').filter((m) => m.json<{ online: boolean }>().online)).toEqual([]);

      // The broker's operator fixes the ACL.
      dynsecConfig(dir, []);
      await b.restart();
      await eventually(() => l.state === 'online', 15_000, 'online once granted');
      await w.waitFor((m) => m.topic === topic('status') && m.json<{ online: boolean }>().online, 10_000, 'online status');
      expect(count(REFUSED)).toBe(1);
      expect(count('broker granted the subscriptions it had refused')).toBe(1);
    },
  );

  it("mosquitto's acl_file cannot be caught this way: it grants a subscription its ACL denies and drops the messages instead", async () => {
    const acl = readFileSync(new URL('../../deploy/mosquitto/dakbox.acl', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line !== 'pattern read dakbox/v1/%u/payment');
    const b = await broker({ acl, users: { MYS01: 'pw-mys01', 'dakbox-backend': 'pw-backend' } });
    const client = await mqtt.connectAsync(b.url, { clientId: 'MYS01', username: 'MYS01', password: 'pw-mys01', protocolVersion: 5, reconnectPeriod: 0 });
    cleanup.push(() => client.endAsync(true));
    const granted = await client.subscribeAsync([topic('payment'), topic('collect')], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);
  });
});

describe('what mqtt.js 5 and mosquitto do with a message whose handler refuses it', () => {
  it('no PUBACK, no error, the connection stays up, nothing comes again on it; the next connection of the session gets it again', async () => {
    const b = await broker();
    const w = await watch(b.url);
    const options = { clientId: 'refuser', clean: false, protocolVersion: 5 as const, reconnectPeriod: 0, properties: { sessionExpiryInterval: 600 } };
    const first = await mqtt.connectAsync(b.url, options);
    cleanup.push(() => first.endAsync(true));
    const errors: Error[] = [];
    first.on('error', (err) => errors.push(err));
    let deliveries = 0;
    first.handleMessage = (_packet, done) => {
      deliveries++;
      done(new Error('not handled'));
    };
    await first.subscribeAsync(topic('payment'), { qos: 1 });
    await w.publish(topic('payment'), 'p1');
    await eventually(() => deliveries === 1, 5_000, 'delivered');
    await new Promise((r) => setTimeout(r, 2_000));
    expect([deliveries, first.connected, errors]).toEqual([1, true, []]);

    first.stream.destroy();
    const second = mqtt.connect(b.url, options);
    cleanup.push(() => second.endAsync(true));
    const again: string[] = [];
    second.on('message', (_t, payload) => again.push(payload.toString()));
    await eventually(() => again.length === 1, 5_000, 'delivered again');
    expect(again).toEqual(['p1']);
  });

  it('a PUBACK with a failure reason code (MQTT 5) ends the message: the next connection does not get it again', async () => {
    const b = await broker();
    const w = await watch(b.url);
    const options = { clientId: 'nacker', clean: false, protocolVersion: 5 as const, reconnectPeriod: 0, properties: { sessionExpiryInterval: 600 } };
    let deliveries = 0;
    const first = await mqtt.connectAsync(b.url, {
      ...options,
      customHandleAcks: (_topic, _message, _packet, done) => {
        deliveries++;
        done(0x80);
      },
    });
    cleanup.push(() => first.endAsync(true));
    await first.subscribeAsync(topic('payment'), { qos: 1 });
    await w.publish(topic('payment'), 'p1');
    await eventually(() => deliveries === 1, 5_000, 'delivered');
    await new Promise((r) => setTimeout(r, 300));
    first.stream.destroy();
    const second = mqtt.connect(b.url, options);
    cleanup.push(() => second.endAsync(true));
    const again: string[] = [];
    second.on('message', (_t, payload) => again.push(payload.toString()));
    await eventually(() => second.connected, 5_000, 'connected again');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(again).toEqual([]);
  });
});

describe('a message whose handler failed', () => {
  it.each([5, 4] as const)('MQTT %s: is not acknowledged; the link connects again and the broker delivers it again until it is handled', async (protocolVersion) => {
    const b = await broker();
    const w = await watch(b.url);
    const { link: l, count } = link(b.url, protocolVersion);
    const deliveries: string[] = [];
    l.handle('payment', (payload) => {
      deliveries.push(payload.toString());
      if (deliveries.length <= 2) throw new Error('database or disk is full');
    });
    l.start();
    await eventually(() => l.state === 'online', 10_000, 'online');

    await w.publish(topic('payment'), '{"utr":"U1"}');
    await eventually(() => deliveries.length >= 3, 15_000, 'three deliveries');
    expect(deliveries).toEqual(['{"utr":"U1"}', '{"utr":"U1"}', '{"utr":"U1"}']);
    expect(l.reconnects).toBeGreaterThanOrEqual(2);
    expect(count('message not handled; leaving it unacknowledged for the broker to deliver again')).toBe(1);
    await eventually(() => count('messages are handled again') === 1, 10_000, 'handled again');

    // Handled at last, hence acknowledged: a new connection of the same session gets nothing.
    await new Promise((r) => setTimeout(r, 300));
    await l.stop();
    const again = link(b.url, protocolVersion);
    const later: string[] = [];
    again.link.handle('payment', (payload) => void later.push(payload.toString()));
    again.link.start();
    await eventually(() => again.link.state === 'online', 10_000, 'online again');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(later).toEqual([]);
    expect(deliveries).toHaveLength(3);
  });
});

describe('publishing', () => {
  it("sends each topic with its contract's QoS and retain, and only the payload its topic has", async () => {
    const b = await broker();
    const seen: { topic: string; qos: number; retain: boolean; body: unknown }[] = [];
    const backend = await mqtt.connectAsync(b.url, { clientId: 'typed-backend', protocolVersion: 5 });
    cleanup.push(() => backend.endAsync(true));
    backend.on('message', (t, payload, packet) => seen.push({ topic: t, qos: packet.qos, retain: packet.retain, body: JSON.parse(payload.toString()) as unknown }));
    await backend.subscribeAsync(topic('#'), { qos: 1 });
    const { link: l } = link(b.url, 5);
    l.start();
    await eventually(() => l.state === 'online', 10_000, 'online');

    const receipt: DeviceTopics['receipt'] = { v: 1, tr: 'MYS01-1', utr: 'U1', outcome: 'announced', at: '2026-01-15T10:00:00+05:30' };
    await l.publish('receipt', receipt);
    await l.publishQueued('receipt', JSON.stringify({ ...receipt, utr: 'U2' }));
    await eventually(() => seen.filter((s) => s.topic === topic('receipt')).length === 2, 10_000, 'receipts');
    expect(seen.filter((s) => s.topic === topic('receipt'))).toEqual([
      { topic: topic('receipt'), qos: 1, retain: false, body: receipt },
      { topic: topic('receipt'), qos: 1, retain: false, body: { ...receipt, utr: 'U2' } },
    ]);
    expect(seen.find((s) => s.topic === topic('status'))).toMatchObject({ qos: 1, body: { online: true } });

    // What the compiler refuses (checked by tsc, never run):
    const _refused = () => [
      // @ts-expect-error the device does not publish on an inbound topic
      l.publish('payment', receipt),
      // @ts-expect-error a payload of another topic
      l.publish('qr', receipt),
      // @ts-expect-error text is not a payload: the link serializes
      l.publish('telemetry', JSON.stringify(receipt)),
      // @ts-expect-error a receipt missing its outcome
      l.publish('receipt', { v: 1, tr: null, utr: null, at: '2026-01-15T10:00:00+05:30' }),
    ];
  });
});

describe('stopping', () => {
  /** The broker's process, found by its own config file; a test freezes it to make a broker that holds connections and answers nothing. */
  function brokerPid(b: Mosquitto): number {
    const found = execFileSync('pgrep', ['-f', join(b.dir, 'mosquitto.conf')], { encoding: 'utf8' }).trim().split('\n')[0];
    return Number(found);
  }

  for (const how of ['frozen', 'killed'] as const) {
    it(`ends within its grace when the broker was ${how} with publishes unanswered, and says so in the log`, async () => {
      const b = await broker();
      const pid = brokerPid(b);
      cleanup.push(() => {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Already gone.
        }
      });
      const { link: l, count } = link(b.url, 5);
      l.start();
      await eventually(() => l.state === 'online', 10_000, 'online');
      process.kill(pid, 'SIGSTOP');
      const receipt: DeviceTopics['receipt'] = { v: 1, tr: 'MYS01-1', utr: 'U1', outcome: 'announced', at: '2026-01-15T10:00:00+05:30' };
      let answered = false;
      void l.publish('receipt', receipt).then(
        () => (answered = true),
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, 100));
      if (how === 'killed') process.kill(pid, 'SIGKILL');
      const started = Date.now();
      await l.stop();
      expect(answered).toBe(false);
      expect(Date.now() - started).toBeLessThan(MQTT_STOP_GRACE_MS + 2_000);
      expect(l.state).toBe('offline');
      if (how === 'frozen') expect(count('the broker did not answer the goodbye in time; closing the connection without it')).toBe(1);
    }, 20_000);
  }
});
