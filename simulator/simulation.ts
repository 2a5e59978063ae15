import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import type { Clock } from '../core/clock.js';
import { loadConfig, saveSettings, type DeviceSettingsInput } from '../core/config.js';
import { Device } from '../device/device.js';
import { buildParts } from '../device/parts.js';
import type { Logger } from '../core/log.js';
import { DEFAULT_CONTROLS_PINS } from '../adapters/controls/board-controls.js';
import type { ButtonName } from '../core/ports/controls.js';
import { VirtualIo } from '../adapters/controls/virtual-io.js';
import { EmbeddedBroker } from './broker.js';
import { plugSerialCable, unplugSerialCable, type SerialCable } from './serial-cable.js';
import { PaymentsBackend, generateNotifierKeys, type NotifierKeys } from './backend.js';

export interface SimulationOptions {
  /** Folder for the simulated device's config, ledger, frames and sounds. */
  dir: string;
  /** Broker port; 0 picks a free one. */
  port: number;
  log: Logger;
  clock: Clock;
  language?: string;
  /** Give the billing PC a serial port: a socat pty pair, the PC's end at `{dir}/billing-pc`. */
  billingPty?: boolean;
}

/**
 * The whole counter without hardware: an in-process broker, one device
 * drawing PNG frames and writing WAV announcements, and a stand-in payments
 * backend that plays the bank.
 */
export class Simulation {
  private constructor(
    readonly broker: EmbeddedBroker,
    readonly device: Device,
    readonly backend: PaymentsBackend,
    readonly dir: string,
    /** The buttons' side of the wires: `press` puts a finger on one. */
    readonly io: VirtualIo,
    /** The billing PC's end of the serial cable, when there is one. */
    readonly billingPort: string | undefined,
    private readonly cable: SerialCable | undefined,
  ) {}

  static async start(options: SimulationOptions): Promise<Simulation> {
    const dir = resolve(options.dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keys = notifierKeys(dir);
    const broker = await startBroker(options.port);
    const cable = options.billingPty ? await serialCable(dir, options.log) : undefined;
    const configPath = join(dir, 'device.json');
    const settings: DeviceSettingsInput = existsSync(configPath)
      ? (JSON.parse(readFileSync(configPath, 'utf8')) as DeviceSettingsInput)
      : {
          deviceId: 'SIM01',
          language: 'en',
          payee: { vpa: 'simcounter01@postbank', name: 'Simulated Post Office', mcc: '9402' },
          sale: { limit: '100000.00', expirySeconds: 300, resultSeconds: 8, chimeOnQr: true },
          mqtt: { url: broker.url, protocolVersion: 4 },
          notifierKeys: [keys.publicKeyBase64],
          display: { kind: 'png', dir: 'frames', width: 480, height: 320 },
          speaker: { kind: 'wav', dir: 'sounds', realtime: true },
          controls: { kind: 'virtual' },
        };
    // The broker may be on a different port from last time, and the
    // simulator's key is the one it signs with.
    settings.mqtt = { ...settings.mqtt, url: broker.url, protocolVersion: 4 };
    settings.notifierKeys = [keys.publicKeyBase64];
    settings.controls = { kind: 'virtual' };
    if (cable) settings.serial = { path: cable.devicePath, baudRate: 115200 };
    else delete settings.serial;
    if (options.language) settings.language = options.language as DeviceSettingsInput['language'];
    saveSettings(configPath, settings);
    const config = loadConfig(configPath);
    const io = new VirtualIo();
    const device = new Device({
      config,
      parts: await buildParts(config, options.log, options.clock, io),
      log: options.log.child({ device: config.settings.deviceId }),
      clock: options.clock,
    });
    device.start();
    const backend = new PaymentsBackend({ url: broker.url, keys, clock: options.clock, clientId: 'simulated-backend' });
    await backend.start();
    return new Simulation(broker, device, backend, dir, io, cable?.pcPath, cable);
  }

  get deviceId(): string {
    return this.device.settings.deviceId;
  }

  /** Presses a button on the device for `holdMs` (2 s or more is a long press). */
  async press(button: ButtonName, holdMs = 150): Promise<void> {
    const pin = DEFAULT_CONTROLS_PINS[button];
    this.io.drive(pin, 0);
    await new Promise((r) => setTimeout(r, holdMs));
    this.io.drive(pin, undefined);
    await new Promise((r) => setTimeout(r, 60));
  }

  async stop(): Promise<void> {
    await this.backend.stop();
    await this.device.stop();
    await this.broker.stop();
    await unplugSerialCable(this.cable);
  }
}

/** The billing PC's cable; without socat the simulator runs without one. */
async function serialCable(dir: string, log: Logger): Promise<SerialCable | undefined> {
  try {
    return await plugSerialCable(dir, { device: 'billing-device', pc: 'billing-pc' });
  } catch (err) {
    log.warn({ err }, 'socat is not installed or failed; the simulator runs without a billing PC serial port');
    return undefined;
  }
}

async function startBroker(port: number): Promise<EmbeddedBroker> {
  try {
    return await EmbeddedBroker.start(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    // Another broker (a system mosquitto) holds the port: take any free one.
    return EmbeddedBroker.start(0);
  }
}

/** The simulated notifier's key pair, kept in the simulation folder so restarts verify old confirmations. */
function notifierKeys(dir: string): NotifierKeys {
  const path = join(dir, 'notifier-key.pem');
  if (!existsSync(path)) {
    const fresh = generateNotifierKeys();
    writeFileAtomic(path, fresh.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
    return fresh;
  }
  const privateKey: KeyObject = createPrivateKey(readFileSync(path, 'utf8'));
  const jwk = privateKey.export({ format: 'jwk' });
  return { privateKey, publicKeyBase64: Buffer.from(jwk.x ?? '', 'base64url').toString('base64') };
}
