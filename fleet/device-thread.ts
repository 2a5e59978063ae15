import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { createSpeaker } from '../adapters/speaker/create-speaker.js';
import { systemClock } from '../core/clock.js';
import { deviceClockTrust } from '../core/clock-trust.js';
import { parseSettings, resolveConfig, type DeviceConfig } from '../core/config.js';
import { describeError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { Device } from '../device/device.js';
import { threadCpuSeconds } from './broker.js';
import type { DeviceThreadData, FromDeviceThread, ThreadMemory, ToDeviceThread } from './protocol.js';

/**
 * One thread of the fleet: the real Device for each id in its slice, each
 * with its own MQTT connection and its own ledger, no display, and a
 * speaker that finishes every sentence at once. Everything else (counter,
 * confirmation check, ledger, outbox, telemetry, prompts, remote config)
 * runs as on a counter.
 */

// A full collection before each heap reading, so that the figures are what
// the devices hold rather than garbage not yet collected.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const data = workerData as DeviceThreadData;
const port = parentPort;
if (!port) throw new Error('the device thread runs only as a worker thread');
const tell = (message: FromDeviceThread) => port.postMessage(message);

const log = silentLogger();
// One clock check for the thread: every device on it asks the same board.
const clockTrust = deviceClockTrust(systemClock, log);
const speaker = createSpeaker({ output: { kind: 'none' }, log, voiceDir: false });
const devices: Device[] = [];
const links = { online: 0, offline: 0 };
let paidEvents = 0;
let reporter: NodeJS.Timeout | undefined;

function memory(): ThreadMemory {
  collectGarbage();
  const usage = process.memoryUsage();
  return { heapUsedBytes: usage.heapUsed, externalBytes: usage.external };
}

function deviceConfig(deviceId: string): DeviceConfig {
  const settings = parseSettings({
    deviceId,
    payee: { vpa: 'fleetcounter@postbank', name: 'Fleet Post Office' },
    mqtt: { url: data.brokerUrl, prefix: data.prefix },
    notifierKeys: [data.notifierKey],
    ledger: `${deviceId}.sqlite`,
    display: { kind: 'none' },
    controls: { kind: 'none' },
  });
  const config = resolveConfig(settings, data.dir, join(data.dir, `${deviceId}.json`));
  // The ledger's own in-memory mode: the same schema and statements, no file.
  if (data.ledger === 'memory') config.ledgerPath = ':memory:';
  return config;
}

function build(): void {
  const started = performance.now();
  for (const deviceId of data.deviceIds) {
    const device = new Device({ config: deviceConfig(deviceId), parts: { speaker }, log: log.child({ device: deviceId }), clock: systemClock, clockTrust });
    let state = device.link.state;
    device.link.on('state', (next) => {
      if (next === 'online') links.online++;
      else if (state === 'online') links.offline++;
      state = next;
    });
    device.counter.subscribe((event) => {
      if (event.type === 'paid') paidEvents++;
    });
    devices.push(device);
  }
  tell({ type: 'built', memory: memory(), ms: performance.now() - started });
}

function connect(): void {
  reporter = setInterval(report, 100);
  for (const device of devices) device.start();
}

function report(): void {
  if (links.online === 0 && links.offline === 0) return;
  tell({ type: 'links', ...links });
  links.online = 0;
  links.offline = 0;
}

async function stop(): Promise<void> {
  const started = performance.now();
  clearInterval(reporter);
  report();
  await Promise.all(devices.map((d) => d.stop()));
  tell({ type: 'stopped', ms: performance.now() - started });
  port?.close();
}

port.on('message', (message: ToDeviceThread) => {
  try {
    switch (message.type) {
      case 'build':
        build();
        return;
      case 'connect':
        connect();
        return;
      case 'measure':
        tell({ type: 'measured', memory: memory(), paidEvents, reconnects: devices.reduce((n, d) => n + d.link.reconnects, 0) });
        return;
      case 'cpu':
        tell({ type: 'cpu', seconds: threadCpuSeconds() ?? null });
        return;
      case 'stop':
        stop().catch((err: unknown) => tell({ type: 'failed', message: describeError(err) }));
        return;
    }
  } catch (err) {
    tell({ type: 'failed', message: describeError(err) });
  }
});

tell({ type: 'loaded', memory: memory() });
