/**
 * The fleet topology of docs/fleet.md on three real mosquitto brokers, each
 * running its shipped configuration (deploy/mosquitto/edge.conf twice, one
 * per circle, and central.conf) with only the circle, the bridge's address,
 * the ports and the files' places filled in. Counter devices (the real
 * Device: MqttLink, Ledger, confirmation checks, Announcer) log in to their
 * circle's edge; the edges bridge to the central broker under
 * circles/{circle}/; the backend runs there as two notifier processes in one
 * shared subscription, sharing the confirmations still waiting for a receipt
 * in one SQLite file. The bank calls the notifiers back; a sales desk on the
 * central broker rings up the sales and watches every report.
 */
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateNotifierKeys } from '../../simulator/backend.js';
import { CENTRAL_BACKEND, CENTRAL_BRIDGES, EDGE_DEVICES, Bank, FleetDevice, NotifierProcess, SalesDesk, deviceTopic, startBrokers, storeFolder } from '../support/fleet.js';
import { eventually } from '../support/ledger-reader.js';
import { admitted } from '../support/mqtt-watch.js';
import type { ShippedBroker } from '../support/shipped-broker.js';

const CIRCLES = { north: ['N1', 'N2', 'N3'], south: ['S1', 'S2', 'S3'] } as const;
/** A north device's login that no running device uses: the intruder's. */
const SPARE = 'N9';
const password = (id: string) => `pw-${id.toLowerCase()}`;
const keys = generateNotifierKeys();

let central: ShippedBroker;
let edges: Map<string, ShippedBroker>;
let devices: Map<string, FleetDevice>;
let notifiers: NotifierProcess[];
let bank: Bank;
let desk: SalesDesk;
let store: { path: string; cleanup(): void };
const closing: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const logins = Object.fromEntries(Object.entries(CIRCLES).map(([circle, ids]) => [circle, Object.fromEntries([...ids, ...(circle === 'north' ? [SPARE] : [])].map((id) => [id, password(id)]))]));
  ({ central, edges } = await startBrokers(logins));
  store = storeFolder();
  const backendCert = central.certificate('dakbox-backend', 'backend-ca');
  const circleOf = Object.fromEntries(Object.entries(CIRCLES).flatMap(([circle, ids]) => [...ids, SPARE].map((id) => [id, circle])));
  notifiers = ['notifier-1', 'notifier-2'].map(
    (clientId) =>
      new NotifierProcess({
        url: central.url(CENTRAL_BACKEND),
        clientId,
        tls: { ca: central.brokerCa, cert: backendCert.cert, key: backendCert.key },
        privateKeyPem: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        storePath: store.path,
        circles: circleOf,
        republish: { firstMs: 1000, maxMs: 3000 },
        adopt: { everyMs: 500, graceMs: 1500 },
      }),
  );
  await Promise.all(notifiers.map((n) => n.ready));
  bank = new Bank(notifiers);
  desk = await SalesDesk.connect(central);
  devices = new Map();
  for (const [circle, ids] of Object.entries(CIRCLES)) {
    for (const id of ids) devices.set(id, new FleetDevice(id, circle, edges.get(circle)!, password(id), keys));
  }
  for (const device of devices.values()) device.start();
  await Promise.all([...devices.values()].map((d) => desk.online(d)));
}, 90_000);

afterAll(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
  await Promise.all([...(devices?.values() ?? [])].map((d) => d.close()));
  for (const notifier of notifiers ?? []) await notifier.stop();
  await desk?.close();
  for (const edge of edges?.values() ?? []) await edge.stop();
  await central?.stop();
  store?.cleanup();
});

const device = (id: string) => devices.get(id)!;

/** What the sales desk paid, by device. */
function paidOn(id: string): string[] {
  return desk.paid.filter((p) => p.deviceId === id).map((p) => p.utr);
}

/** Every payment so far is in its device's ledger, announced, and said exactly once; nothing else was. */
function expectEachAnnouncedOnce(extra: Record<string, string[]> = {}): void {
  for (const d of devices.values()) {
    const expected = [...paidOn(d.deviceId), ...(extra[d.deviceId] ?? [])].sort();
    const ledger = d.ledger((l) => ({ payments: l.payments(), rejections: l.rejections() }));
    expect(ledger.payments.map((p) => p.utr).sort(), `${d.deviceId}'s ledger`).toEqual(expected);
    expect(ledger.payments.every((p) => p.announced === 1), `${d.deviceId} announced all`).toBe(true);
    expect(ledger.rejections, `${d.deviceId} rejected nothing`).toEqual([]);
    expect(d.sentences, `${d.deviceId}'s sentences`).toBe(expected.length);
    expect(d.errors(), `${d.deviceId} logged no error`).toEqual([]);
  }
}

/** Confirmations in the notifiers' shared store still waiting for a receipt. */
function stillPending(): number {
  const db = new Database(store.path, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM pending`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('devices on two edge brokers, the backend on the central one', () => {
  it('a payment from the central backend reaches a device on the south edge, and its announced receipt comes back', async () => {
    const s1 = device('S1');
    const tr = await desk.sale(s1, 'first-S1', '250.00');
    desk.paid.push({ deviceId: 'S1', utr: 'FIRSTS1', tr, amount: '250.00' });
    await bank.pay({ deviceId: 'S1', tr, amount: '250.00', utr: 'FIRSTS1' });
    expect(await desk.receipt('FIRSTS1')).toBe('announced');
    expect(desk.receipts('FIRSTS1')[0]?.topic).toBe(deviceTopic('south', 'S1', 'receipt'));
    expect(s1.speaker.utterances.map((u) => u.text)).toEqual(['Received two hundred fifty rupees']);
    await eventually(() => stillPending() === 0, 10_000, 'the shared store empty');
    expectEachAnnouncedOnce();
  });

  it("a device on the north edge reaches only its own topics: not another device's, not the south circle's, not the central broker", async () => {
    const north = edges.get('north')!;
    const intruder = await mqtt.connectAsync(north.url(EDGE_DEVICES), { protocolVersion: 5, clean: true, reconnectPeriod: 0, clientId: SPARE, username: SPARE, password: password(SPARE), ...north.tls() });
    closing.push(() => intruder.endAsync(true));
    const heard: string[] = [];
    intruder.on('message', (topic) => heard.push(topic));
    await intruder.subscribeAsync(['#', 'dakbox/v1/+/payment', 'dakbox/v1/+/collect', 'dakbox/v1/S1/#', 'circles/#'], { qos: 1 });

    // Traffic for another north device and for a south device while it listens.
    const n1 = device('N1');
    const s2 = device('S2');
    for (const [d, utr] of [[n1, 'ISOLN1'], [s2, 'ISOLS2']] as const) {
      const tr = await desk.sale(d, `isolation-${d.deviceId}`, '12.00');
      desk.paid.push({ deviceId: d.deviceId, utr, tr, amount: '12.00' });
      await bank.pay({ deviceId: d.deviceId, tr, amount: '12.00', utr });
      expect(await desk.receipt(utr)).toBe('announced');
    }

    // What it may not write: other devices' reports and the backend's messages, on its edge under either layout.
    const forged = (utr: string) => JSON.stringify({ v: 1, tr: 'X-1', utr, outcome: 'announced', at: '2026-01-15T10:00:00+05:30' });
    const attempts: [string, string][] = [
      ['dakbox/v1/S1/receipt', 'FORGEDS1'],
      ['dakbox/v1/N1/receipt', 'FORGEDN1'],
      ['circles/south/dakbox/v1/S1/receipt', 'FORGEDCS1'],
      ['circles/north/dakbox/v1/N1/receipt', 'FORGEDCN1'],
    ];
    for (const [topic, utr] of attempts) await intruder.publishAsync(topic, forged(utr), { qos: 1 }).catch(() => undefined);
    const confirmation = JSON.stringify({ v: 1, deviceId: 'S1', tr: 'S1-X-1', utr: 'FORGEDPAY', amount: '1.00', status: 'SUCCESS', paidAt: '2026-01-15T10:00:00+05:30', sig: 'AAAA' });
    for (const topic of ['dakbox/v1/S1/payment', 'dakbox/v1/N1/payment', 'circles/south/dakbox/v1/S1/payment', 'circles/north/dakbox/v1/N1/payment']) {
      await intruder.publishAsync(topic, confirmation, { qos: 1 }).catch(() => undefined);
    }
    // What it may write, and read, goes through: its own report reaches the central broker, the backend's collect for it reaches it.
    await intruder.publishAsync(`dakbox/v1/${SPARE}/receipt`, forged('OWNN9'), { qos: 1 });
    expect(await desk.receipt('OWNN9')).toBe('announced');
    expect(desk.receipts('OWNN9')[0]?.topic).toBe(deviceTopic('north', SPARE, 'receipt'));
    await desk.watch.publish(deviceTopic('north', SPARE, 'collect'), JSON.stringify({ v: 1, id: 'own-n9', amount: '1.00' }));
    await eventually(() => heard.includes(`dakbox/v1/${SPARE}/collect`), 10_000, 'its own collect');
    await new Promise((r) => setTimeout(r, 1_000));

    expect(heard.filter((t) => t !== `dakbox/v1/${SPARE}/collect`)).toEqual([]);
    for (const [, utr] of attempts) expect(desk.receipts(utr), utr).toEqual([]);
    // No device got the forged confirmation: nothing rejected, nothing announced but what was paid.
    expectEachAnnouncedOnce();

    // Its login means nothing on the central broker's listeners.
    for (const port of [CENTRAL_BRIDGES, CENTRAL_BACKEND]) {
      expect(await admitted(central.url(port), { clientId: SPARE, username: SPARE, password: password(SPARE), ...central.tls() }), `central listener ${port}`).toBe(false);
    }
  });

  it("a circle's bridge login touches only its own circle on the central broker", async () => {
    // A third circle's bridge certificate, so that no running bridge is displaced.
    const east = await mqtt.connectAsync(central.url(CENTRAL_BRIDGES), { protocolVersion: 4, clean: true, reconnectPeriod: 0, clientId: 'east', ...central.tls(central.certificate('east', 'edge-ca')) });
    closing.push(() => east.endAsync(true));
    const heard: string[] = [];
    east.on('message', (topic) => heard.push(topic));
    await east.subscribeAsync(['circles/#', 'circles/south/dakbox/v1/+/payment', 'circles/north/dakbox/v1/+/collect'], { qos: 1 });
    const s3 = device('S3');
    const tr = await desk.sale(s3, 'bridge-isolation-S3', '13.00');
    desk.paid.push({ deviceId: 'S3', utr: 'BRIDGES3', tr, amount: '13.00' });
    await bank.pay({ deviceId: 'S3', tr, amount: '13.00', utr: 'BRIDGES3' });
    expect(await desk.receipt('BRIDGES3')).toBe('announced');
    const forged = (utr: string) => JSON.stringify({ v: 1, tr: 'X-1', utr, outcome: 'announced', at: '2026-01-15T10:00:00+05:30' });
    await east.publishAsync('circles/south/dakbox/v1/S1/receipt', forged('EASTFORGED'), { qos: 1 });
    await east.publishAsync('circles/east/dakbox/v1/E1/receipt', forged('EASTOWN'), { qos: 1 });
    expect(await desk.receipt('EASTOWN')).toBe('announced');
    await new Promise((r) => setTimeout(r, 500));
    expect(desk.receipts('EASTFORGED')).toEqual([]);
    expect(heard).toEqual([]);
  });

  it('loses nothing and announces nothing twice when one notifier instance is killed during 200 payments', async () => {
    const [doomed, survivor] = notifiers as [NotifierProcess, NotifierProcess];
    // N3 is kept out of the run: it shows a QR, goes off, and is paid
    // through the instance about to die, which then owes it a republish.
    const n3 = device('N3');
    const owedTr = await desk.sale(n3, 'owed-N3', '77.00');
    await n3.stop();
    const runners = [...devices.values()].filter((d) => d !== n3);
    const before = desk.completed;
    const run = desk.run(runners, bank, 'NK', 200);
    await desk.reached(before + 60);
    await bank.pay({ deviceId: 'N3', tr: owedTr, amount: '77.00', utr: 'OWEDN3' }, doomed);
    await doomed.kill();
    await run;
    expect(desk.completed - before).toBe(200);

    // The survivor took over what the dead instance owed, and it arrives when N3 is back.
    await eventually(() => survivor.republished.some((r) => r.utr === 'OWEDN3'), 15_000, 'the survivor republishing OWEDN3');
    n3.restart();
    await desk.online(n3);
    expect(await desk.receipt('OWEDN3')).toMatch(/^(announced|duplicate)$/);
    await eventually(() => stillPending() === 0, 20_000, 'the shared store empty');
    expect(desk.receipts('OWEDN3').map((m) => m.json<{ outcome: string }>().outcome)).toContain('announced');
    expectEachAnnouncedOnce({ N3: ['OWEDN3'] });
    const sorted = [...desk.payToReceiptMs].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
    console.log(`notifier kill: ${bank.retried} bank callbacks retried on the survivor, ${survivor.republished.length} republished by the survivor; bank callback to receipt over edge, bridge and central: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms (${sorted.length} payments, one instance killed)`);
  }, 60_000);

  it('loses nothing and announces nothing twice when the south edge broker is killed and restarted during 120 payments', async () => {
    const south = edges.get('south')!;
    const before = desk.completed;
    const reconnects = (id: string) => device(id).device.link.reconnects;
    const reconnectsBefore = CIRCLES.south.map(reconnects);
    const republishedBefore = notifiers[1]!.republished.length;
    const run = desk.run([...devices.values()], bank, 'EK', 120);
    await desk.reached(before + 40);
    await south.crash(500);
    await run;
    expect(desk.completed - before).toBe(120);
    await eventually(() => stillPending() === 0, 20_000, 'the shared store empty');
    expectEachAnnouncedOnce({ N3: ['OWEDN3'] });
    // The south devices did lose their broker, and came back to it.
    CIRCLES.south.forEach((id, k) => expect(reconnects(id), id).toBeGreaterThan(reconnectsBefore[k]!));
    for (const id of CIRCLES.south) expect(device(id).device.link.state).toBe('online');
    // Nothing a device owes the backend is left unacknowledged in its outbox.
    await eventually(() => [...devices.values()].every((d) => d.device.outbox.depth() === 0), 10_000, 'every outbox empty');
    console.log(`edge kill: ${notifiers[1]!.republished.length - republishedBefore} confirmations republished for want of a receipt`);
  }, 60_000);
});
