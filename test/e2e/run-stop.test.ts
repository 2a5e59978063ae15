/**
 * How `dakbox run` stops.
 *
 * A SIGTERM that comes while it is still starting (its first log line
 * written, the ledger and the rest not yet built) is kept: the device
 * starts, then stops as on any other stop, with its ledger closed, and
 * exits with 0 instead of being killed.
 *
 * `dakbox run --pretty` whose reader of stdout has gone (`| head -1`)
 * still stops on SIGTERM as it does otherwise: the device closes its
 * ledger, publishes that it is offline, and exits with 0. It is started
 * from bin/dakbox.js (the bundle) and from the compiled modules; its first
 * line is read, stdout is closed, a sale is rung up (the device logs on
 * into the closed pipe), and it is told to stop.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { Ledger } from '../../core/payment/ledger.js';
import { DAKBOX_BIN } from '../support/device-process.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';

/** A generous bound: a stop that hangs fails the test instead of holding the suite. */
const STOP_WITHIN_MS = 10_000;
const MAIN = pathToFileURL(join(import.meta.dirname, '../../dist/cli/main.js')).href;

let broker: Mosquitto;
const fixtures: DeviceFixture[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
});

afterAll(async () => {
  await broker?.stop();
  for (const fixture of fixtures) fixture.cleanup();
});

const ENTRIES = {
  bundle: (config: string) => [DAKBOX_BIN, 'run', '--pretty', '--config', config],
  'compiled modules': (config: string) => [
    '--input-type=module',
    '-e',
    `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(['run', '--pretty', '--config', ${JSON.stringify(config)}]);`,
  ],
};

it.each(Object.keys(ENTRIES) as (keyof typeof ENTRIES)[])('stops on SIGTERM with its stdout closed, started from the %s', async (entry) => {
  const deviceId = entry === 'bundle' ? 'PRETTY1' : 'PRETTY2';
  const topic = (suffix: string) => `dakbox/v1/${deviceId}/${suffix}`;
  const fixture = deviceFixture({ deviceId, mqtt: { url: broker.url, protocolVersion: 5 }, display: { kind: 'none' }, controls: { kind: 'none' }, announce: { prompts: false } });
  fixtures.push(fixture);
  const watch = await MqttWatch.connect(broker.url, [topic('#')], { clientId: `pretty-backend-${deviceId}`, protocolVersion: 5 });
  const child = spawn(process.execPath, ENTRIES[entry](fixture.configPath), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8').split('\n')[0] ?? '')));
    expect(first).toContain('starting');
    child.stdout.destroy();

    await watch.waitFor((m) => m.topic === topic('status') && m.json<{ online: boolean }>().online, 20_000, 'online');
    await watch.publish(topic('collect'), JSON.stringify({ v: 1, id: 'p-1', amount: '45.00', ref: 'REF-p-1' }));
    const { tr } = (await watch.waitFor((m) => m.topic === topic('qr'), 20_000, 'qr')).json<{ tr: string }>();

    child.kill('SIGTERM');
    const timeout = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), STOP_WITHIN_MS).unref());
    expect(await Promise.race([exited, timeout]), `stderr: ${stderr}`).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    // Said by the device as it stopped (the broker sends the will only for a connection lost).
    await watch.waitFor((m) => m.topic === topic('status') && !m.json<{ online: boolean }>().online, 5_000, 'offline');

    // Closed, not cut off: the log was checkpointed into the file and removed.
    const path = join(fixture.dir, 'ledger.sqlite');
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const ledger = new Ledger(path, systemClock, { deviceId });
    expect(ledger.findSale(tr)).toMatchObject({ tr, amount: 4500, ref: 'REF-p-1' });
    ledger.close();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await watch.close();
  }
});

it('stops cleanly on a SIGTERM that comes while it is still starting', async () => {
  const deviceId = 'EARLYSTOP';
  const fixture = deviceFixture({ deviceId, mqtt: { url: broker.url, protocolVersion: 5 }, display: { kind: 'none' }, controls: { kind: 'none' }, announce: { prompts: false } });
  fixtures.push(fixture);
  const child = spawn(process.execPath, [DAKBOX_BIN, 'run', '--config', fixture.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    // The signal goes the moment the first line ("starting") is out, before the parts are built.
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        const before = stdout;
        stdout += chunk.toString('utf8');
        if (!before.includes('\n') && stdout.includes('\n')) {
          child.kill('SIGTERM');
          resolve();
        }
      }),
    );
    const timeout = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), STOP_WITHIN_MS).unref());
    expect(await Promise.race([exited, timeout]), `stderr: ${stderr}`).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; signal?: string });
    expect(lines[0]?.msg).toBe('starting');
    // Asked to stop before it had started, it started and then stopped.
    const stopping = lines.findIndex((l) => l.msg === 'stopping');
    expect(lines[stopping]?.signal).toBe('SIGTERM');
    expect(lines.findIndex((l) => l.msg === 'device started')).toBeGreaterThan(-1);

    const path = join(fixture.dir, 'ledger.sqlite');
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
