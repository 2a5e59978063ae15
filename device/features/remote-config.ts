import type { Announcer } from '../../core/announce/announcer.js';
import type { Clock } from '../../core/clock.js';
import { formatIst } from '../../core/clock.js';
import { applyRemoteSettings, remoteView, type DeviceConfig, type DeviceSettings } from '../../core/config.js';
import { describeError } from '../../core/errors.js';
import { readJsonMessage } from '../../core/json-message.js';
import type { MqttLink } from '../../core/link/mqtt-link.js';
import type { DeviceTopics } from '../../core/link/topics.js';
import type { Logger } from '../../core/log.js';
import { parseWireAmount } from '../../core/money.js';
import type { Outbox } from '../../core/payment/outbox.js';
import type { Lcd } from '../../core/sale/lcd.js';
import type { Feature, WatchedLink } from './feature.js';

/** The largest `config/set` the device reads. */
const CONFIG_SET_MAX_BYTES = 4096;

export interface RemoteConfigOptions {
  link: WatchedLink & Pick<MqttLink, 'handle'>;
  /** The device's config: its settings are read here, and its sale limit follows a change. */
  config: DeviceConfig;
  /** Writes the settings to device.json and puts them in force. */
  persist: (settings: DeviceSettings) => void;
  outbox: Pick<Outbox, 'post'>;
  announcer: Pick<Announcer, 'setVolume'>;
  lcd: Pick<Lcd, 'refresh'>;
  /** Starts the telemetry period again when the backend changes it. */
  telemetry: { reschedule(): void };
  clock: Clock;
  log: Logger;
}

/**
 * The settings the backend may change (`config/set`): applied, saved in
 * device.json and put in force at once, then reported on `config/state`,
 * with the reason when refused. The settings in force are also reported on
 * every new connection.
 */
export class RemoteConfig implements Feature {
  readonly name = 'remote-config';
  private release?: (() => void) | undefined;
  private readonly connected = (): void => this.publishState();

  constructor(private readonly o: RemoteConfigOptions) {}

  start(): void {
    this.release = this.o.link.handle('config/set', (payload) => this.configure(payload));
    this.o.link.on('connected', this.connected);
  }

  stop(): void {
    this.o.link.off('connected', this.connected);
    this.release?.();
    this.release = undefined;
  }

  private configure(payload: Buffer): void {
    let error: string | undefined;
    try {
      const body = readJsonMessage(payload, CONFIG_SET_MAX_BYTES, 'config/set');
      const { settings, changed } = applyRemoteSettings(this.o.config.settings, body);
      if (changed.length) {
        this.o.persist(settings);
        this.o.config.saleLimit = parseWireAmount(settings.sale.limit, 'saleLimit');
        if (changed.includes('volume')) this.o.announcer.setVolume(settings.volume);
        if (changed.includes('language')) this.o.lcd.refresh();
        if (changed.includes('telemetrySeconds')) this.o.telemetry.reschedule();
        this.o.log.info({ changed }, 'settings changed by the backend');
      }
    } catch (err) {
      error = describeError(err);
      this.o.log.warn({ error }, 'config/set refused');
    }
    this.publishState(error);
  }

  private publishState(error?: string): void {
    const state: DeviceTopics['config/state'] = { v: 1, settings: remoteView(this.o.config.settings), at: formatIst(this.o.clock.now()) };
    if (error !== undefined) state.error = error;
    this.o.outbox.post('config/state', state);
  }
}
