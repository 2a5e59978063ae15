import { formatIst } from '../../core/clock.js';
/**
 * The shipped broker configuration (deploy/mosquitto/dakbox.conf with its
 * ACLs) on a real mosquitto: a device's credentials cannot take over another
 * device's client id, and with it the session that holds its confirmations,
 * on either device listener; the backend's listener lets in only the
 * backend's certificate, whose instances keep their own client ids.
 */
import { spawnSync } from 'node:child_process';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { saveSecrets } from '../../core/config.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { DAKBOX_BIN, DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { LedgerReader, eventually } from '../support/ledger-reader.js';
import { MqttWatch, admitted } from '../support/mqtt-watch.js';
import { ShippedBroker } from '../support/shipped-broker.js';

/** Listeners as numbered in dakbox.conf. */
const PASSWORD = 8883;
const CERTIFICATE = 8884;
const BACKEND = 8885;
const PASSWORDS = { MYS01: 'pw-mys01', MYS02: 'pw-mys02' };
const topic = (device: string, suffix: string) => `dakbox/v1/${device}/${suffix}`;

let broker: ShippedBroker;
const running: { stop(): Promise<unknown> }[] = [];
const fixtures: DeviceFixture[] = [];

beforeEach(async () => {
  broker = await ShippedBroker.start({ devices: PASSWORDS });
});
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
  for (const f of fixtures.splice(0)) f.cleanup();
  await broker?.stop();
});

/** A device config that logs in with its password, or with its certificate. */
function device(id: 'MYS01' | 'MYS02', login: 'password' | 'certificate'): DeviceFixture {
  const common = { deviceId: id, announce: { prompts: false }, display: { kind: 'none' as const } };
  let fixture: DeviceFixture;
  if (login === 'password') {
    fixture = deviceFixture({ ...common, mqtt: { url: broker.url(PASSWORD), protocolVersion: 5, username: id, tls: { ca: broker.brokerCa, rejectUnauthorized: true } } });
    saveSecrets(fixture.dir, { mqttPassword: PASSWORDS[id] });
  } else {
    const own = broker.certificate(id, 'device-ca');
    fixture = deviceFixture({ ...common, mqtt: { url: broker.url(CERTIFICATE), protocolVersion: 5, tls: { ...own, rejectUnauthorized: true } } });
  }
  fixtures.push(fixture);
  return fixture;
}

function startDevice(fixture: DeviceFixture): DeviceProcess {
  const process = new DeviceProcess(fixture.configPath);
  running.push(process);
  return process;
}

/** A backend instance: the backend certificate, on the backend's listener, with its own client id. */
async function backend(clientId: string, topics: string[]): Promise<MqttWatch> {
  const watch = await MqttWatch.connect(broker.url(BACKEND), topics, { clientId, protocolVersion: 5, ...broker.tls(broker.certificate('dakbox-backend', 'backend-ca')) });
  running.push({ stop: () => watch.close() });
  return watch;
}

const online = (watch: MqttWatch, id: string) => watch.waitFor((m) => m.topic === topic(id, 'status') && m.json<{ online: boolean }>().online, 20_000, `${id} online`);

/** The one sale of a test on this device: the backend's collect, and the tr of the QR it shows. */
async function sale(watch: MqttWatch, id: string, collectId: string): Promise<string> {
  await watch.publish(topic(id, 'collect'), JSON.stringify({ v: 1, id: collectId, amount: '10.00' }));
  const qr = await watch.waitFor((m) => m.topic === topic(id, 'qr'), 20_000, `qr from ${id}`);
  return qr.json<{ tr: string }>().tr;
}

function confirmation(fixture: DeviceFixture, tr: string, utr: string): string {
  return JSON.stringify(signConfirmation({ deviceId: fixture.settings.deviceId, tr, utr, amount: '10.00', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey));
}

/** A client that is not meant to get in, or not as whom it says. */
async function intrude(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true, reconnectPeriod: 0, ...options });
  running.push({ stop: () => client.endAsync(true) });
  return client;
}

function ledgerOf(fixture: DeviceFixture): { payments: { utr: string; announced: number }[]; rejections: unknown[] } {
  const ledger = new LedgerReader(`${fixture.dir}/ledger.sqlite`);
  try {
    return { payments: ledger.payments(), rejections: ledger.rejections() };
  } finally {
    ledger.close();
  }
}

const connects = (process: DeviceProcess) => process.lines.filter((l) => l.msg === 'connected to broker');
const receiptsFor = (watch: MqttWatch, utr: string) => watch.on('receipt').filter((m) => m.json<{ utr: string }>().utr === utr);

describe('a device logging in as MYS02 with the client id MYS01', () => {
  for (const login of ['password', 'certificate'] as const) {
    it(`neither disconnects MYS01 nor touches its session (${login} listener)`, async () => {
      const mys01 = device('MYS01', login);
      const watch = await backend('notifier-1', [topic('MYS01', 'qr'), topic('MYS01', 'receipt'), topic('MYS01', 'status')]);
      const process = startDevice(mys01);
      await online(watch, 'MYS01');
      const tr = await sale(watch, 'MYS01', `takeover-${login}`);

      const intruder = await intrude(
        broker.url(login === 'password' ? PASSWORD : CERTIFICATE),
        login === 'password' ? { clientId: 'MYS01', username: 'MYS02', password: PASSWORDS.MYS02, ...broker.tls() } : { clientId: 'MYS01', ...broker.tls(broker.certificate('MYS02', 'device-ca')) },
      );
      // Published while the intruder holds "MYS01", if it could.
      await watch.publish(topic('MYS01', 'payment'), confirmation(mys01, tr, 'TAKE1'));

      const receipt = await watch.waitFor((m) => m.topic === topic('MYS01', 'receipt') && m.json<{ utr: string }>().utr === 'TAKE1', 20_000, 'receipt for TAKE1');
      expect(receipt.json<{ outcome: string }>().outcome).toBe('announced');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(receiptsFor(watch, 'TAKE1')).toHaveLength(1);
      expect(ledgerOf(mys01).payments).toEqual([{ utr: 'TAKE1', announced: 1 }]);
      // MYS01 was never thrown off: one connection, no reconnect.
      expect(connects(process)).toHaveLength(1);
      expect(process.lines.some((l) => l.msg === 'reconnecting to broker')).toBe(false);
      // The intruder is in, as itself.
      expect(intruder.connected).toBe(true);
      expect(process.errors()).toEqual([]);
    });
  }

  it('cannot empty the session of MYS01 while it is off; MYS01 returns under its own id and gets what was published meanwhile', async () => {
    const mys01 = device('MYS01', 'password');
    const watch = await backend('notifier-1', [topic('MYS01', 'qr'), topic('MYS01', 'receipt'), topic('MYS01', 'status')]);
    const first = startDevice(mys01);
    await online(watch, 'MYS01');
    const tr = await sale(watch, 'MYS01', 'offline-1');
    expect(await first.stop()).toBe(0);

    // A clean start under the client id MYS01 would throw its session away.
    const intruder = await intrude(broker.url(PASSWORD), { clientId: 'MYS01', username: 'MYS02', password: PASSWORDS.MYS02, ...broker.tls() });
    await watch.publish(topic('MYS01', 'payment'), confirmation(mys01, tr, 'AWAY1'));
    await intruder.endAsync();

    const second = startDevice(mys01);
    const receipt = await watch.waitFor((m) => m.topic === topic('MYS01', 'receipt') && m.json<{ utr: string }>().utr === 'AWAY1', 20_000, 'receipt for AWAY1');
    expect(receipt.json<{ outcome: string }>().outcome).toBe('announced');
    expect(connects(second)[0]?.sessionPresent).toBe(true);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(receiptsFor(watch, 'AWAY1')).toHaveLength(1);
    expect(ledgerOf(mys01).payments).toEqual([{ utr: 'AWAY1', announced: 1 }]);
    expect(second.errors()).toEqual([]);
  });
});

describe('sessions on the shipped broker', () => {
  it('keep a confirmation published while the device is off across a broker restart', async () => {
    const mys01 = device('MYS01', 'password');
    const watch = await backend('notifier-1', [topic('MYS01', 'qr'), topic('MYS01', 'receipt'), topic('MYS01', 'status')]);
    const first = startDevice(mys01);
    await online(watch, 'MYS01');
    const tr = await sale(watch, 'MYS01', 'restart-1');
    expect(await first.stop()).toBe(0);

    await broker.restart();
    await eventually(() => watch.client.connected, 20_000, 'backend back on the broker');
    await watch.publish(topic('MYS01', 'payment'), confirmation(mys01, tr, 'RESTART1'));

    const second = startDevice(mys01);
    const receipt = await watch.waitFor((m) => m.topic === topic('MYS01', 'receipt') && m.json<{ utr: string }>().utr === 'RESTART1', 20_000, 'receipt for RESTART1');
    expect(receipt.json<{ outcome: string }>().outcome).toBe('announced');
    expect(ledgerOf(mys01).payments).toEqual([{ utr: 'RESTART1', announced: 1 }]);
    expect(second.errors()).toEqual([]);
  });
});

describe("the field engineer's check, which the broker logs in as the device itself", () => {
  it('leaves the confirmations queued for the device while it is off', async () => {
    const mys01 = device('MYS01', 'password');
    const watch = await backend('notifier-1', [topic('MYS01', 'qr'), topic('MYS01', 'receipt'), topic('MYS01', 'status')]);
    const first = startDevice(mys01);
    await online(watch, 'MYS01');
    const tr = await sale(watch, 'MYS01', 'check-1');
    expect(await first.stop()).toBe(0);
    await watch.publish(topic('MYS01', 'payment'), confirmation(mys01, tr, 'CHECK1'));

    const check = spawnSync(process.execPath, [DAKBOX_BIN, 'check', '--config', mys01.configPath, '--no-display'], { encoding: 'utf8', timeout: 30_000 });
    expect(check.stdout).toContain(`ok   broker: connected to ${broker.url(PASSWORD)}`);

    const second = startDevice(mys01);
    const receipt = await watch.waitFor((m) => m.topic === topic('MYS01', 'receipt') && m.json<{ utr: string }>().utr === 'CHECK1', 20_000, 'receipt for CHECK1');
    expect(receipt.json<{ outcome: string }>().outcome).toBe('announced');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(ledgerOf(mys01).payments).toEqual([{ utr: 'CHECK1', announced: 1 }]);
    expect(second.errors()).toEqual([]);
  });
});

describe('the backend listener', () => {
  it('lets the backend reach every device, over either device listener', async () => {
    const mys01 = device('MYS01', 'password');
    const mys02 = device('MYS02', 'certificate');
    const watch = await backend('notifier-1', [topic('+', 'qr'), topic('+', 'status')]);
    const devices = [startDevice(mys01), startDevice(mys02)];
    await online(watch, 'MYS01');
    await online(watch, 'MYS02');
    expect(await sale(watch, 'MYS01', 'every-1')).toMatch(/^MYS01-/);
    expect(await sale(watch, 'MYS02', 'every-2')).toMatch(/^MYS02-/);
    for (const d of devices) expect(d.errors()).toEqual([]);
  });

  it('lets backend instances keep their own client ids and share one subscription', async () => {
    const mys01 = device('MYS01', 'password');
    const shared = '$share/notifier/dakbox/v1/+/receipt';
    const instances = [await backend('notifier-1', [shared]), await backend('notifier-2', [shared])];
    let closes = 0;
    for (const i of instances) i.client.on('close', () => closes++);
    const ops = await backend('backend-ops', [topic('MYS01', 'status')]);
    startDevice(mys01);
    await online(ops, 'MYS01');

    // Six confirmations for references the device never issued: six receipts.
    const utrs = ['SHARE1', 'SHARE2', 'SHARE3', 'SHARE4', 'SHARE5', 'SHARE6'];
    for (const utr of utrs) await ops.publish(topic('MYS01', 'payment'), confirmation(mys01, 'MYS01-999999', utr));
    const seen = () => instances.flatMap((i) => i.on('receipt').map((m) => m.json<{ utr: string }>().utr));
    await eventually(() => seen().length >= utrs.length, 20_000, 'six receipts');
    await new Promise((r) => setTimeout(r, 500));
    expect(seen().sort()).toEqual(utrs);
    for (const i of instances) expect(i.on('receipt').length).toBeGreaterThan(0);
    expect(closes).toBe(0);
    for (const i of instances) expect(i.client.connected).toBe(true);
  });

  it('refuses device credentials, so they cannot take over a client id there either', async () => {
    const mys01 = device('MYS01', 'password');
    const watch = await backend('notifier-1', [topic('MYS01', 'status')]);
    const process = startDevice(mys01);
    await online(watch, 'MYS01');

    const url = broker.url(BACKEND);
    // A device's password: no certificate, no entry.
    expect(await admitted(url, { clientId: 'MYS01', username: 'MYS02', password: PASSWORDS.MYS02, ...broker.tls() })).toBe(false);
    // A device's certificate, even one that calls itself the backend: wrong CA.
    expect(await admitted(url, { clientId: 'MYS01', ...broker.tls(broker.certificate('MYS02', 'device-ca')) })).toBe(false);
    expect(await admitted(url, { clientId: 'MYS01', ...broker.tls(broker.certificate('dakbox-backend', 'device-ca')) })).toBe(false);
    // The backend's password login does not exist on the device listener.
    expect(await admitted(broker.url(PASSWORD), { clientId: 'MYS01', username: 'dakbox-backend', password: 'anything', ...broker.tls() })).toBe(false);

    await new Promise((r) => setTimeout(r, 500));
    expect(connects(process)).toHaveLength(1);
    expect(process.lines.some((l) => l.msg === 'reconnecting to broker')).toBe(false);
  });

  it('gives a device certificate that calls itself the backend only a device’s rights', async () => {
    const mys01 = device('MYS01', 'password');
    const watch = await backend('notifier-1', [topic('MYS01', 'status'), topic('MYS01', 'receipt')]);
    startDevice(mys01);
    await online(watch, 'MYS01');

    const impostor = await intrude(broker.url(CERTIFICATE), { clientId: 'dakbox-backend', ...broker.tls(broker.certificate('dakbox-backend', 'device-ca')) });
    const overheard: string[] = [];
    impostor.on('message', (t) => overheard.push(t));
    await impostor.subscribeAsync([topic('MYS01', 'receipt'), topic('MYS01', 'status')], { qos: 1 });
    await impostor.publishAsync(topic('MYS01', 'collect'), JSON.stringify({ v: 1, id: 'impostor-1', amount: '1.00' }), { qos: 1 }).catch(() => undefined);
    await impostor.publishAsync(topic('MYS01', 'payment'), confirmation(mys01, 'MYS01-999999', 'IMPOSTOR1'), { qos: 1 }).catch(() => undefined);

    // The genuine backend's message arrives and is the only one the device saw.
    await watch.publish(topic('MYS01', 'payment'), confirmation(mys01, 'MYS01-999999', 'GENUINE1'));
    await watch.waitFor((m) => m.topic === topic('MYS01', 'receipt') && m.json<{ utr: string }>().utr === 'GENUINE1', 20_000, 'receipt for GENUINE1');
    await new Promise((r) => setTimeout(r, 500));
    expect(watch.on('receipt').map((m) => m.json<{ utr: string }>().utr)).toEqual(['GENUINE1']);
    expect(overheard).toEqual([]);
  });
});
