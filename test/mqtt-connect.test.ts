/**
 * connectMqtt reaches an mqtt:// or mqtts:// broker over node's own socket,
 * as mqtt.js's TCP and TLS transports do: a plain socket for mqtt://, TLS
 * with the broker's certificate checked against the given CA (and its name
 * against the URL's host) for mqtts://, and a refusal when it does not check
 * out. The far end is a bare listener that records the first bytes: an MQTT
 * CONNECT starts with 0x10.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, expect, it } from 'vitest';
import { connectMqtt } from '../core/link/mqtt-connect.js';

const dir = mkdtempSync(join(tmpdir(), 'dakbox-mqtt-connect-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', 'key.pem', '-out', 'cert.pem'], { cwd: dir, stdio: 'pipe' });
const cert = readFileSync(join(dir, 'cert.pem'));
const key = readFileSync(join(dir, 'key.pem'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: { server: Server; client?: MqttClient }[] = [];
afterEach(async () => {
  for (const { server, client } of open.splice(0)) {
    client?.end(true);
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A listener on a free loopback port and the first bytes each connection sends. */
async function listen(server: Server, secure: boolean): Promise<{ port: number; firstByte: Promise<number> }> {
  const firstByte = new Promise<number>((resolve) => {
    server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
      socket.on('error', () => {});
      socket.once('data', (data: Buffer) => resolve(data[0]!));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ server });
  return { port: (server.address() as AddressInfo).port, firstByte };
}

function track(client: MqttClient): MqttClient {
  open.at(-1)!.client = client;
  return client;
}

const options = { clientId: 'CONN01', reconnectPeriod: 0, connectTimeout: 5_000 } as const;

it('sends its CONNECT over a plain socket to an mqtt:// broker', async () => {
  const { port, firstByte } = await listen(createNetServer(), false);
  const client = track(connectMqtt(`mqtt://127.0.0.1:${port}`, options));
  expect(await firstByte).toBe(0x10);
  expect(client.options.protocol).toBe('mqtt');
});

it('sends its CONNECT over TLS to an mqtts:// broker whose certificate the CA vouches for, under the URL host name', async () => {
  const server = createTlsServer({ cert, key });
  const { port, firstByte } = await listen(server, true);
  track(connectMqtt(`mqtts://localhost:${port}`, { ...options, ca: cert, rejectUnauthorized: true }));
  expect(await firstByte).toBe(0x10);
});

it('refuses an mqtts:// broker whose certificate it cannot check', async () => {
  const { port } = await listen(createTlsServer({ cert, key }), true);
  const client = track(connectMqtt(`mqtts://localhost:${port}`, { ...options, rejectUnauthorized: true }));
  const err = await new Promise<Error>((resolve) => client.on('error', resolve));
  expect(err.message).toMatch(/self[- ]signed/);
});

it('refuses an mqtts:// broker whose certificate names another host', async () => {
  const { port } = await listen(createTlsServer({ cert, key }), true);
  const client = track(connectMqtt(`mqtts://127.0.0.1:${port}`, { ...options, ca: cert, rejectUnauthorized: true }));
  const err = await new Promise<Error>((resolve) => client.on('error', resolve));
  expect(err.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|altnames/);
});
