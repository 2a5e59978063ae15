/**
 * `dakbox fleet status` and `dakbox fleet config set` against real
 * mosquittos and real devices (in-process, each on its own manual clock so
 * that a telemetry period passes when the test says): one edge broker the
 * devices use, and a central broker its bridge maps them onto, below
 * circles/mysuru/, as a fleet of several brokers is laid out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, formatIst, systemClock, type Clock } from '../../core/clock.js';
import { loadConfig, saveSecrets, type DeviceConfig } from '../../core/config.js';
import type { Telemetry } from '../../core/link/topics.js';
import { silentLogger } from '../../core/log.js';
import { paise } from '../../core/money.js';
import { Device } from '../../device/device.js';
import { main } from '../../cli/main.js';
import type { FleetDevice, FleetSummary, ConfigOutcome } from '../../cli/fleet-ops.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { eventually } from '../support/ledger-reader.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';
import { ShippedBroker } from '../support/shipped-broker.js';
import { RecordingSpeaker } from '../support/stand-ins.js';

/** The devices' clocks start here (whole seconds, as telemetry writes them); the tool's "now" is set from it. */
const T0 = Math.floor(Date.now() / 1000) * 1000;

interface Counter {
  id: string;
  fixture: DeviceFixture;
  /** The config the device runs on; it saves its settings to `config.path`. */
  config: DeviceConfig;
  clock: ManualClock;
  device: Device;
}

let central: Mosquitto;
let edge: Mosquitto;
let watch: MqttWatch;
const counters = new Map<string, Counter>();

function startCounter(id: string, language: 'en' | 'hi' | 'kn'): Counter {
  const fixture = deviceFixture({ deviceId: id, language, mqtt: { url: edge.url, protocolVersion: 5 }, display: { kind: 'none' }, announce: { prompts: false } });
  const config = loadConfig(fixture.configPath);
  const clock = new ManualClock(T0);
  const device = new Device({
    config,
    parts: { speaker: new RecordingSpeaker() },
    log: silentLogger(),
    clock,
    probe: { freeMemoryBytes: () => 512 * 1024 * 1024, freeStorageBytes: () => 8 * 1024 * 1024 * 1024 },
    clockTrust: { check: () => Promise.resolve({ trusted: true }) },
    // The first report a whole period after start, as the listing expects.
    telemetrySpread: () => 0,
  });
  device.start();
  const counter = { id, fixture, config, clock, device };
  counters.set(id, counter);
  return counter;
}

/** Each device's latest report, as the edge broker passed it on. */
const reports = new Map<string, Telemetry>();

/** Lets one telemetry period (60 s by default) pass on the device's clock, and waits for its report at the edge broker. */
async function reportOnce(c: Counter): Promise<Telemetry> {
  const at = formatIst(c.clock.now() + 60_000);
  c.clock.advance(60_000);
  const seen = await watch.waitFor((m) => m.topic === `dakbox/v1/${c.id}/telemetry` && m.json<{ at: string }>().at === at, 10_000, `telemetry of ${c.id}`);
  const report = seen.json<Telemetry>();
  reports.set(c.id, report);
  return report;
}

/** The queue column as the listing should show this device's latest report. */
function queued(id: string): string {
  const { announcements, outbox } = reports.get(id)!.queueDepth;
  return `${announcements} to say, ${outbox} to send`;
}

function io(clock: Clock = { ...systemClock, now: () => T0 + 90_000 }) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = (s: PassThrough) => () => (s.read() as Buffer | null)?.toString('utf8') ?? '';
  return { io: { stdout, stderr, clock }, out: text(stdout), err: text(stderr) };
}

async function fleet(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io: streams, out, err } = io();
  const code = await main(['fleet', ...args], streams);
  return { code, out: out(), err: err() };
}

beforeAll(async () => {
  central = await Mosquitto.start({ extra: ['set_tcp_nodelay true'] });
  edge = await Mosquitto.start({
    extra: [
      'set_tcp_nodelay true',
      // The edge broker of one circle, bridged to the central broker: its
      // devices' topics appear there below circles/mysuru/, and what the
      // central side publishes there reaches the devices.
      'connection central',
      `address 127.0.0.1:${central.port}`,
      'bridge_protocol_version mqttv50',
      'cleansession true',
      'restart_timeout 1',
      'topic dakbox/v1/# both 1 "" circles/mysuru/',
    ],
  });
  watch = await MqttWatch.connect(edge.url, ['dakbox/v1/#'], { clientId: 'fleet-test-watch', protocolVersion: 5 });

  // MYS01 took a sale and reports; MYS02 reports; MYS03 reported, then was switched off.
  const a = startCounter('MYS01', 'kn');
  const b = startCounter('MYS02', 'hi');
  const c = startCounter('MYS03', 'en');
  for (const counter of [a, b, c]) await eventually(() => counter.device.link.state === 'online', 10_000, `${counter.id} online`);
  a.device.counter.boot();
  await a.device.counter.startSale({ amount: paise(25_000), source: 'serial' });
  await Promise.all([reportOnce(a), reportOnce(b), reportOnce(c)]);
  await c.device.stop();
  await watch.waitFor((m) => m.topic === 'dakbox/v1/MYS03/status' && !m.json<{ online: boolean }>().online, 10_000, 'MYS03 offline');
}, 60_000);

afterAll(async () => {
  for (const c of counters.values()) {
    if (c.device.link.state !== 'offline') await c.device.stop();
    c.fixture.cleanup();
  }
  await watch?.close();
  await edge?.stop();
  await central?.stop();
});

describe('dakbox fleet status', () => {
  it('lists each device from its retained status and latest report, then a summary', async () => {
    const { code, out, err } = await fleet(['status', '--broker', edge.url]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^DEVICE +LINK +FW +LANG +BOOTED +LAST REPORT +QUEUED +LAST SALE +TODAY +REJECTED$/);
    const booted = formatIst(T0);
    const reported = formatIst(T0 + 60_000);
    const tr = reports.get('MYS01')!.lastSale!.tr;
    expect(lines[1]).toMatch(new RegExp(`^MYS01 +online +0\\.1\\.0 +kn +${escape(booted)} +${escape(reported)} \\(30 s ago\\) +${queued('MYS01')} +250\\.00 showing ${tr} +0 for 0\\.00 +0 payments, 0 collects$`));
    expect(lines[2]).toMatch(new RegExp(`^MYS02 +online +0\\.1\\.0 +hi +${escape(booted)} +${escape(reported)} \\(30 s ago\\) +${queued('MYS02')} +- +0 for 0\\.00 +0 payments, 0 collects$`));
    expect(lines[3]).toMatch(new RegExp(`^MYS03 +offline +0\\.1\\.0 +en +${escape(booted)} +${escape(reported)} \\(30 s ago\\) +${queued('MYS03')} +- `));
    const sum = (f: (t: Telemetry) => number) => [...reports.values()].reduce((total, t) => total + f(t), 0);
    expect(lines[4]).toBe(
      `3 devices: 2 online, 1 offline; 0 online without a report in 180 s; ${counted(sum((t) => t.queueDepth.outbox), 'message')} to send and ${counted(sum((t) => t.queueDepth.announcements), 'announcement')} to say; 0 payments and 0 collects rejected since their start`,
    );
  });

  it('gives the same in JSON, and counts an online device without a recent report as stale', async () => {
    const { io: streams, out } = io({ ...systemClock, now: () => T0 + 600_000 });
    expect(await main(['fleet', 'status', '--broker', edge.url, '--json'], streams)).toBe(0);
    const { devices, summary } = JSON.parse(out()) as { devices: FleetDevice[]; summary: FleetSummary };
    expect(devices.map((d) => [d.deviceId, d.link, d.stale])).toEqual([
      ['MYS01', 'online', true],
      ['MYS02', 'online', true],
      ['MYS03', 'offline', false],
    ]);
    expect(devices[0]).toMatchObject({
      firmware: '0.1.0',
      bootAt: formatIst(T0),
      lastReport: { at: formatIst(T0 + 60_000), ageSeconds: 540 },
      language: 'kn',
      queued: reports.get('MYS01')!.queueDepth,
      lastSale: { tr: reports.get('MYS01')!.lastSale!.tr, amount: '250.00', state: 'showing' },
      today: { count: 0, total: '0.00' },
      rejected: { confirmations: 0, collects: 0, lastReason: null },
      givenUp: 0,
    });
    const sum = (f: (t: Telemetry) => number) => [...reports.values()].reduce((total, t) => total + f(t), 0);
    expect(summary).toEqual({
      devices: 3,
      online: 2,
      offline: 1,
      unknown: 0,
      stale: 2,
      queued: { announcements: sum((t) => t.queueDepth.announcements), outbox: sum((t) => t.queueDepth.outbox) },
      rejected: { confirmations: 0, collects: 0 },
      givenUp: 0,
    });
  });

  it('counts what a device reports: a rejected confirmation', async () => {
    await watch.publish('dakbox/v1/MYS02/payment', JSON.stringify({ v: 1, deviceId: 'MYS02', tr: 'MYS02-X-1', utr: 'U1', amount: '1.00', status: 'SUCCESS', paidAt: formatIst(T0), sig: 'AAAA' }));
    await watch.waitFor((m) => m.topic === 'dakbox/v1/MYS02/receipt', 10_000, 'the rejection receipt');
    await reportOnce(counters.get('MYS02')!);
    const { io: streams, out } = io({ ...systemClock, now: () => T0 + 150_000 });
    expect(await main(['fleet', 'status', '--broker', edge.url, '--json'], streams)).toBe(0);
    const { devices, summary } = JSON.parse(out()) as { devices: FleetDevice[]; summary: FleetSummary };
    expect(devices[1]).toMatchObject({ deviceId: 'MYS02', rejected: { confirmations: 1, collects: 0, lastReason: expect.any(String) as unknown } });
    expect(summary.rejected).toEqual({ confirmations: 1, collects: 0 });
  });

  it('reads a circle on the central broker, through the edge broker’s bridge', async () => {
    const bridged = await MqttWatch.connect(central.url, ['circles/mysuru/dakbox/v1/+/status'], { clientId: 'fleet-test-central', protocolVersion: 5 });
    await bridged.waitFor((m) => m.topic === 'circles/mysuru/dakbox/v1/MYS03/status' && !m.json<{ online: boolean }>().online, 10_000, 'the bridged offline status');
    await bridged.close();
    for (const circle of ['mysuru', '+']) {
      const { code, out } = await fleet(['status', '--broker', central.url, '--circle', circle]);
      expect(code).toBe(0);
      const lines = out.trimEnd().split('\n');
      expect(lines.slice(1, 4).map((l) => l.split(/ +/).slice(0, 2).join(' '))).toEqual(['mysuru/MYS01 online', 'mysuru/MYS02 online', 'mysuru/MYS03 offline']);
      expect(lines.at(-1)).toMatch(/^3 devices: 2 online, 1 offline;/);
    }
    const { code, out } = await fleet(['status', '--broker', central.url, '--circle', 'dharwad']);
    expect([code, out]).toEqual([0, '0 devices: 0 online, 0 offline; 0 online without a report in 180 s; 0 messages to send and 0 announcements to say; 0 payments and 0 collects rejected since their start\n']);
  });

  it('shows what it cannot read as such, never a control character, and forgets a device whose topics were cleared', async () => {
    await watch.client.publishAsync('dakbox/v1/BAD01/status', 'not json', { qos: 1, retain: true });
    const report = { ...reports.get('MYS01')!, language: 'k\u001b[2Jn', lastSale: null };
    await watch.client.publishAsync('dakbox/v1/BAD01/telemetry', JSON.stringify(report), { qos: 1, retain: true });
    let listed = await fleet(['status', '--broker', edge.url, '--json']);
    const bad = (JSON.parse(listed.out) as { devices: FleetDevice[] }).devices.find((d) => d.deviceId === 'BAD01');
    expect(bad).toMatchObject({ link: 'unknown', firmware: null, language: 'k?[2Jn', unreadable: ['status'] });
    expect((JSON.parse(listed.out) as { summary: FleetSummary }).summary).toMatchObject({ devices: 4, online: 2, offline: 1, unknown: 1 });
    await watch.client.publishAsync('dakbox/v1/BAD01/telemetry', 'null', { qos: 1, retain: true });
    listed = await fleet(['status', '--broker', edge.url]);
    expect(listed.out).toMatch(/\nBAD01 +unknown +- +- +- +none +- +- +- +unreadable status, telemetry\n/);
    expect(listed.out).toMatch(/^4 devices: 2 online, 1 offline, 1 with no status;/m);
    for (const kind of ['status', 'telemetry']) await watch.client.publishAsync(`dakbox/v1/BAD01/${kind}`, '', { qos: 1, retain: true });
    listed = await fleet(['status', '--broker', edge.url]);
    expect(listed.out).not.toContain('BAD01');
    expect(listed.out).toMatch(/^3 devices: 2 online, 1 offline;/m);
  });
});

describe('dakbox fleet config set', () => {
  let list: string;

  beforeAll(() => {
    // MYS02 cannot save its settings: its device.json's folder is gone.
    counters.get('MYS02')!.config.path = join(counters.get('MYS02')!.fixture.dir, 'gone', 'device.json');
    list = join(counters.get('MYS01')!.fixture.dir, 'devices.txt');
    writeFileSync(list, '# Mysuru division\nMYS01\n\nMYS02   # the one by the door\nMYS03\n');
  });

  it('applies them where it can and reports each answer, a refusal and a silence', async () => {
    const { code, out, err } = await fleet(['config', 'set', 'volume=3', 'saleLimit=0500.00', '--devices', list, '--broker', edge.url, '--timeout', '2']);
    expect(err).toBe('');
    expect(out.split('\n')[0]).toBe('MYS01  applied');
    expect(out.split('\n')[1]).toMatch(/^MYS02 {2}refused: ENOENT: no such file or directory, open '.*gone.*'$/);
    expect(out.split('\n').slice(2)).toEqual([
      "MYS03  no answer in 2 s: offline; its session at the broker keeps the request until it connects",
      '3 devices: 1 applied, 1 refused, 1 no answer (volume=3 saleLimit=500.00)',
      '',
    ]);
    expect(code).toBe(1);
    const saved = JSON.parse(readFileSync(counters.get('MYS01')!.fixture.configPath, 'utf8')) as { volume: number; sale: { limit: string } };
    expect([saved.volume, saved.sale.limit]).toEqual([3, '500.00']);
    expect(counters.get('MYS01')!.device.announcer.volume).toBe(3);
    expect(counters.get('MYS02')!.device.announcer.volume).toBe(7);
  });

  it('exits 0 when every device applied them; --all reaches every device with a status, through the central broker too', async () => {
    const one = join(counters.get('MYS01')!.fixture.dir, 'one.txt');
    writeFileSync(one, 'MYS01\n');
    const applied = await fleet(['config', 'set', 'chimeOnQr=false', '--devices', one, '--broker', central.url, '--circle', 'mysuru', '--json']);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.out)).toEqual({
      settings: { chimeOnQr: false },
      devices: [{ circle: 'mysuru', deviceId: 'MYS01', outcome: 'applied', link: 'online' }],
      summary: { devices: 1, applied: 1, refused: 0, noAnswer: 0, notFound: 0 },
    });
    expect(counters.get('MYS01')!.config.settings.sale.chimeOnQr).toBe(false);

    const all = await fleet(['config', 'set', 'language=hi', '--all', '--broker', central.url, '--circle', '+', '--timeout', '2', '--json']);
    expect(all.code).toBe(1);
    const outcomes = (JSON.parse(all.out) as { devices: ConfigOutcome[] }).devices;
    expect(outcomes.map((o) => `${o.circle ?? ''}/${o.deviceId} ${o.outcome} ${o.link}`)).toEqual(['mysuru/MYS01 applied online', 'mysuru/MYS02 refused online', 'mysuru/MYS03 no-answer offline']);
  });

  it('with several circles, a device found in none is not sent to', async () => {
    const { code, out } = await fleet(['config', 'set', 'volume=5', '--devices', list, '--broker', central.url, '--circle', 'mysuru', '--circle', 'dharwad', '--timeout', '1']);
    expect(code).toBe(1);
    expect(out).toContain('mysuru/MYS01  applied');
    const missing = join(counters.get('MYS01')!.fixture.dir, 'missing.txt');
    writeFileSync(missing, 'BLR07\n');
    const none = await fleet(['config', 'set', 'volume=5', '--devices', missing, '--broker', central.url, '--circle', '+']);
    expect(none.out).toBe('BLR07  not found: no status from this device under the circles given; nothing sent\n1 device: 0 applied, 0 refused, 0 no answer, 1 not found (volume=5)\n');
    expect(none.code).toBe(1);
  });

  it('refuses bad arguments in one line before connecting', async () => {
    const cases: [string[], RegExp][] = [
      [['config', 'set', 'colour=red', '--all', '--broker', edge.url], /^dakbox fleet: colour: is not a remote setting \(one of: language, volume, expirySeconds, resultSeconds, saleLimit, chimeOnQr, telemetrySeconds\)$/],
      [['config', 'set', 'volume=11', '--all', '--broker', edge.url], /^dakbox fleet: config set: volume: must be at most 10$/],
      [['config', 'set', 'saleLimit=500', '--all', '--broker', edge.url], /^dakbox fleet: config set: saleLimit: must be an amount with two decimals/],
      [['config', 'set', 'chimeOnQr=yes', '--all', '--broker', edge.url], /^dakbox fleet: config set: chimeOnQr: must be a boolean$/],
      [['config', 'set', 'volume', '--all', '--broker', edge.url], /^dakbox fleet: volume: must be KEY=VALUE, e\.g\. volume=6$/],
      [['config', 'set', 'volume=3', 'volume=4', '--all', '--broker', edge.url], /^dakbox fleet: volume: is given twice$/],
      [['config', 'set', '--all', '--broker', edge.url], /^dakbox fleet: config set: needs at least one KEY=VALUE/],
      [['config', 'set', 'volume=3', '--broker', edge.url], /^dakbox fleet: --devices: or --all is required/],
      [['config', 'set', 'volume=3', '--all', '--devices', list, '--broker', edge.url], /^dakbox fleet: --all: cannot be given with --devices$/],
      [['config', 'set', 'volume=3', '--devices', '/nonexistent/devices.txt', '--broker', edge.url], /^dakbox fleet: --devices: \/nonexistent\/devices\.txt does not exist$/],
      [['config', 'get', '--all', '--broker', edge.url], /^dakbox fleet: fleet config: get: is not a subcommand \(try: set\)$/],
      [['config', 'set', 'volume=3', '--all'], /^dakbox fleet: --broker: is required$/],
      [['config', 'set', 'volume=3', '--all', '--broker', edge.url, '--timeout', 'soon'], /^dakbox fleet: --timeout: must be a whole number from 1 to 3600$/],
      [['status', '--broker', 'broker.example.in'], /^dakbox fleet: --broker: "broker.example.in" is not a broker URL like mqtts:\/\/broker\.example\.in:8885$/],
      [['status', '--broker', edge.url, '--circle', 'a/b'], /^dakbox fleet: --circle: "a\/b" is not a circle name/],
      [['status', '--broker', 'mqtts://127.0.0.1:8885', '--cert', list], /^dakbox fleet: --key: is required with the other/],
      [['status', '--broker', 'mqtts://127.0.0.1:8885', '--ca', '/nonexistent/ca.crt'], /^dakbox fleet: --ca: \/nonexistent\/ca\.crt does not exist$/],
      [['status', '--broker', edge.url, '--ca', list], /^dakbox fleet: --ca: needs a TLS broker URL \(mqtts:\/\/ or wss:\/\/\), not mqtt:\/\/127\.0\.0\.1:\d+$/],
      [['status', '--broker', edge.url, '--password-file', list], /^dakbox fleet: --username: is required with --password-file$/],
      [['status', '--broker', edge.url, '--wait', '-1'], /^dakbox fleet: --wait: must be a whole number from 0 to 3600$/],
      [['status', '--broker', edge.url, '--colour'], /^dakbox fleet: --colour: is not an option of this command$/],
      [['reboot'], /^dakbox fleet: reboot: is not a fleet subcommand \(try: status, config, simulate\)$/],
    ];
    const bad = join(counters.get('MYS01')!.fixture.dir, 'bad.txt');
    writeFileSync(bad, 'MYS01\nMYS 02\n');
    cases.push([['config', 'set', 'volume=3', '--devices', bad, '--broker', edge.url], /^dakbox fleet: --devices: .*bad\.txt line 2: "MYS 02" is not a device id/]);
    for (const [args, message] of cases) {
      const { code, out, err } = await fleet(args);
      expect({ args, code, out }).toEqual({ args, code: 2, out: '' });
      expect(err.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(err.trimEnd(), args.join(' ')).toMatch(message);
    }
  });

  it('says in one line when the broker cannot be reached', async () => {
    const { code, err } = await fleet(['status', '--broker', 'mqtt://127.0.0.1:1']);
    expect(code).toBe(1);
    expect(err).toMatch(/^dakbox fleet: failed: mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED.*\n$/);
  });
});

describe('a fleet larger than the broker queues for one client', () => {
  it('is listed whole: 1,200 retained statuses through a broker that queues 1,000 messages a client', async () => {
    const broker = await Mosquitto.start({ extra: ['set_tcp_nodelay true', 'max_queued_messages 1000'] });
    try {
      const publisher = await MqttWatch.connect(broker.url, [], { clientId: 'fleet-test-publisher', protocolVersion: 5 });
      const ids = Array.from({ length: 1200 }, (_, i) => `D${String(i).padStart(4, '0')}`);
      for (let i = 0; i < ids.length; i += 100) {
        await Promise.all(
          ids.slice(i, i + 100).map((id, j) => publisher.client.publishAsync(`dakbox/v1/${id}/status`, JSON.stringify({ online: (i + j) % 4 !== 0, fw: '0.1.0', bootAt: formatIst(T0) }), { qos: 1, retain: true })),
        );
      }
      await publisher.close();
      const { code, out } = await fleet(['status', '--broker', broker.url, '--json']);
      expect(code).toBe(0);
      const { devices, summary } = JSON.parse(out) as { devices: FleetDevice[]; summary: FleetSummary };
      expect(devices.map((d) => d.deviceId)).toEqual(ids);
      expect(summary).toMatchObject({ devices: 1200, online: 900, offline: 300, stale: 900 });
    } finally {
      await broker.stop();
    }
  });
});

describe('on the shipped broker, with the backend certificate on its own listener', () => {
  let shipped: ShippedBroker;
  let fixture: DeviceFixture;
  let clock: ManualClock;
  let device: Device;

  beforeAll(async () => {
    shipped = await ShippedBroker.start({ devices: { MYS11: 'pw-mys11' } });
    fixture = deviceFixture({
      deviceId: 'MYS11',
      display: { kind: 'none' },
      announce: { prompts: false },
      mqtt: { url: shipped.url(8883), protocolVersion: 5, username: 'MYS11', tls: { ca: shipped.brokerCa, rejectUnauthorized: true } },
    });
    saveSecrets(fixture.dir, { mqttPassword: 'pw-mys11' });
    clock = new ManualClock(T0);
    device = new Device({ config: loadConfig(fixture.configPath), parts: { speaker: new RecordingSpeaker() }, log: silentLogger(), clock, clockTrust: { check: () => Promise.resolve({ trusted: true }) }, telemetrySpread: () => 0 });
    device.start();
    await eventually(() => device.link.state === 'online', 15_000, 'MYS11 online');
    clock.advance(60_000);
  }, 60_000);

  afterAll(async () => {
    await device?.stop();
    fixture?.cleanup();
    await shipped?.stop();
  });

  it('lists the device and sets its volume; a device certificate does not get in', async () => {
    const backend = shipped.certificate('dakbox-backend', 'backend-ca');
    const login = ['--broker', shipped.url(8885), '--ca', backend.ca, '--cert', backend.cert, '--key', backend.key];
    // The retained report passed the device ACL: the tool reads it later, on another listener.
    await watchFor(shipped, backend, 'dakbox/v1/MYS11/telemetry');
    const listed = await fleet(['status', ...login, '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.out) as { devices: FleetDevice[] }).devices).toMatchObject([{ deviceId: 'MYS11', link: 'online', lastReport: { at: formatIst(T0 + 60_000) } }]);

    const list = join(fixture.dir, 'devices.txt');
    writeFileSync(list, 'MYS11\n');
    const set = await fleet(['config', 'set', 'volume=2', '--devices', list, ...login]);
    expect([set.code, set.out, set.err]).toEqual([0, 'MYS11  applied\n1 device: 1 applied, 0 refused, 0 no answer (volume=2)\n', '']);
    expect(device.announcer.volume).toBe(2);

    const intruder = shipped.certificate('MYS11', 'device-ca');
    const refused = await fleet(['status', '--broker', shipped.url(8885), '--ca', intruder.ca, '--cert', intruder.cert, '--key', intruder.key]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^dakbox fleet: failed: mqtts:\/\/127\.0\.0\.1:\d+: .+\n$/);
  });
});

/** Waits until the backend's listener has `topic` (retained), so the tool's read is not a race with the device. */
async function watchFor(broker: ShippedBroker, login: { ca: string; cert: string; key: string }, topic: string): Promise<void> {
  const watcher = await MqttWatch.connect(broker.url(8885), [topic], { clientId: 'fleet-test-backend', protocolVersion: 5, ...broker.tls(login) });
  try {
    await watcher.waitFor((m) => m.topic === topic, 10_000, topic);
  } finally {
    await watcher.close();
  }
}

function counted(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
