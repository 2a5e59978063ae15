/**
 * The broker link against a real mosquitto: the device publishes each
 * topic only with its own payload type, and with its contract's QoS.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { MqttLink } from '../../core/link/mqtt-link.js';
import type { DeviceTopics } from '../../core/link/topics.js';
import { recordingLogger, type LogLine } from '../support/log-lines.js';
import { eventually } from '../support/ledger-reader.js';
import { Mosquitto } from '../support/mosquitto.js';

const topic = (suffix: string) => `dakbox/v1/MYS01/${suffix}`;

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
