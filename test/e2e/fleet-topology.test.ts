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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateNotifierKeys } from '../../simulator/backend.js';
import { CENTRAL_BACKEND, Bank, FleetDevice, NotifierProcess, SalesDesk, deviceTopic, startBrokers, storeFolder } from '../support/fleet.js';
import { eventually } from '../support/ledger-reader.js';
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
  for (const device of devices?.values() ?? []) await device.close();
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
});
