/**
 * The broker side of the security model, with the ACL the project ships:
 * a device reaches only its own topics; TLS client certificates identify a
 * device by their CN; the device's TLS options work against a real broker.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatIst } from '../../core/clock.js';
import { saveSecrets } from '../../core/config.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { DeviceProcess } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { LedgerReader } from '../support/ledger-reader.js';
import { Mosquitto, freePort } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';

const SHIPPED_ACL = readFileSync(new URL('../../deploy/mosquitto/dakbox.acl', import.meta.url), 'utf8').split('\n');
const topic = (device: string, suffix: string) => `dakbox/v1/${device}/${suffix}`;

const running: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

/** The backend logged in as itself, and the device process, up and online. */
async function backendAndDevice(url: string, configPath: string, clientId: string, topics: string[], what: string): Promise<{ backend: MqttWatch; device: DeviceProcess }> {
  const backend = await MqttWatch.connect(url, topics, { clientId, username: 'dakbox-backend', password: 'pw-backend', protocolVersion: 5 });
  running.push({ stop: () => backend.close() });
  const device = new DeviceProcess(configPath);
  running.push(device);
  await backend.waitFor((m) => m.topic === topic('MYS01', 'status') && m.json<{ online: boolean }>().online, 20_000, what);
  return { backend, device };
}

describe('the shipped ACL', () => {
  let broker: Mosquitto;
  let fixture: DeviceFixture;

  beforeAll(async () => {
    broker = await Mosquitto.start({ acl: SHIPPED_ACL, users: { MYS01: 'pw-mys01', MYS02: 'pw-mys02', 'dakbox-backend': 'pw-backend' } });
    fixture = deviceFixture({ mqtt: { url: broker.url, protocolVersion: 5, username: 'MYS01' }, announce: { prompts: false }, display: { kind: 'none' } });
    saveSecrets(fixture.dir, { mqttPassword: 'pw-mys01' });
  });
  afterAll(async () => {
    await broker?.stop();
    fixture?.cleanup();
  });

  it('lets a device work on its own topics and nobody else touch them', async () => {
    const { backend, device } = await backendAndDevice(broker.url, fixture.configPath, 'backend-1', [topic('+', 'qr'), topic('+', 'receipt'), topic('+', 'status')], 'MYS01 online');
    expect(device.lines.some((l) => l.msg === 'broker refused subscriptions; check the ACL for this device')).toBe(false);

    await backend.publish(topic('MYS01', 'collect'), JSON.stringify({ v: 1, id: 'acl-1', amount: '10.00' }));
    const qr = await backend.waitFor((m) => m.topic === topic('MYS01', 'qr'), 20_000, 'qr from MYS01');
    const { tr } = qr.json<{ tr: string }>();

    // Another device, logged in properly as itself, tries to reach MYS01.
    const rogue = await mqtt.connectAsync(broker.url, { clientId: 'MYS02', username: 'MYS02', password: 'pw-mys02', protocolVersion: 5 });
    running.push({ stop: () => rogue.endAsync(true) });
    // mosquitto grants the subscription but, by the ACL, never delivers.
    const overheard: string[] = [];
    rogue.on('message', (t) => overheard.push(t));
    await rogue.subscribeAsync([topic('MYS01', 'payment'), topic('MYS01', 'collect'), topic('MYS01', 'config/set')], { qos: 1 });
    const forged = signConfirmation({ deviceId: 'MYS01', tr, utr: 'ROGUE1', amount: '10.00', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey);
    await rogue.publishAsync(topic('MYS01', 'payment'), JSON.stringify(forged), { qos: 1 }).catch(() => undefined);
    await rogue.publishAsync(topic('MYS01', 'qr'), JSON.stringify({ v: 1, tr: 'MYS01-1', amount: '1.00' }), { qos: 1 }).catch(() => undefined);

    // The genuine confirmation through the backend goes through, and is the only one the device ever saw.
    await backend.publish(topic('MYS01', 'payment'), JSON.stringify(signConfirmation({ deviceId: 'MYS01', tr, utr: 'REAL1', amount: '10.00', status: 'SUCCESS', paidAt: formatIst(Date.now()) }, fixture.keys.privateKey)));
    await backend.waitFor((m) => m.topic === topic('MYS01', 'receipt') && m.json<{ utr: string }>().utr === 'REAL1', 20_000, 'receipt');
    const ledger = new LedgerReader(join(fixture.dir, 'ledger.sqlite'));
    expect(ledger.payments().map((p) => p.utr)).toEqual(['REAL1']);
    expect(ledger.rejections()).toEqual([]);
    ledger.close();
    expect(backend.on('qr').map((m) => m.json<{ tr: string }>().tr)).toEqual([tr]);
    expect(overheard).toEqual([]);
  });

  it('refuses a device with the wrong password', async () => {
    await expect(mqtt.connectAsync(broker.url, { clientId: 'MYS01x', username: 'MYS01', password: 'wrong', protocolVersion: 5, reconnectPeriod: 0 })).rejects.toThrow(
      /Bad User Name or Password|Not authorized/,
    );
  });
});

describe('TLS with a client certificate as the device identity', () => {
  let pki: string;
  let broker: Mosquitto;
  let fixture: DeviceFixture;

  beforeAll(async () => {
    pki = mkdtempSync(join(tmpdir(), 'dakbox-pki-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=dakbox test CA');
    writeFileSync(join(pki, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    for (const [name, cn, ext] of [
      ['server', 'localhost', ['-extfile', 'server.ext']],
      ['MYS01', 'MYS01', []],
    ] as const) {
      ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...ext);
    }
    const port = await freePort();
    broker = await Mosquitto.start({
      acl: SHIPPED_ACL,
      users: { 'dakbox-backend': 'pw-backend' },
      extra: [
        `listener ${port} 127.0.0.1`,
        `cafile ${pki}/ca.crt`,
        `certfile ${pki}/server.crt`,
        `keyfile ${pki}/server.key`,
        'require_certificate true',
        'use_identity_as_username true',
      ],
    });
    fixture = deviceFixture({
      mqtt: { url: `mqtts://127.0.0.1:${port}`, protocolVersion: 5, tls: { ca: `${pki}/ca.crt`, cert: `${pki}/MYS01.crt`, key: `${pki}/MYS01.key`, rejectUnauthorized: true } },
      announce: { prompts: false },
      display: { kind: 'none' },
    });
  });
  afterAll(async () => {
    await broker?.stop();
    fixture?.cleanup();
    if (pki) rmSync(pki, { recursive: true, force: true });
  });

  it('connects over TLS, is known to the ACL by its certificate, and takes a sale', async () => {
    const { backend, device } = await backendAndDevice(broker.url, fixture.configPath, 'backend-tls', [topic('MYS01', 'qr'), topic('MYS01', 'status')], 'online over TLS');
    await backend.publish(topic('MYS01', 'collect'), JSON.stringify({ v: 1, id: 'tls-1', amount: '5.00' }));
    await backend.waitFor((m) => m.topic === topic('MYS01', 'qr'), 20_000, 'qr over TLS');
    expect(device.errors()).toEqual([]);
  });
});
