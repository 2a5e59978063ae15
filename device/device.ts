import { freemem, networkInterfaces } from 'node:os';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Controls } from '../core/ports/controls.js';
import type { LinkState } from '../core/link/link-state.js';
import type { Display } from '../core/ports/display.js';
import type { BillingLine } from '../core/ports/billing-line.js';
import type { Speaker } from '../core/ports/speaker.js';
import { Announcer } from '../core/announce/announcer.js';
import { BillingLink } from '../core/billing/link.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { formatIst, systemClock } from '../core/clock.js';
import { applyRemoteSettings, remoteView, saveSettings, type DeviceConfig } from '../core/config.js';
import { wireControlPanel } from './features/control-panel.js';
import { Counter } from '../core/sale/counter.js';
import { describeError } from '../core/errors.js';
import { readJsonMessage } from '../core/json-message.js';
import { Lcd } from '../core/sale/lcd.js';
import { Ledger } from '../core/payment/ledger.js';
import type { Logger } from '../core/log.js';
import { formatWireAmount, parseWireAmount } from '../core/money.js';
import { MqttLink } from '../core/link/mqtt-link.js';
import { Outbox } from '../core/payment/outbox.js';
import type { DeviceTopics, Telemetry } from '../core/link/topics.js';

export const FIRMWARE_VERSION = '0.1.0';

/** The hardware a device runs on, built from its config (see hardware.ts) or handed in by a test. */
export interface DeviceParts {
  display?: Display | undefined;
  speaker: Speaker;
  /** Buttons, LEDs and buzzer; absent on a headless device. */
  controls?: Controls | undefined;
  /** The serial cable to the billing PC; absent when the counter has none. */
  billingLine?: BillingLine | undefined;
}

/** How much memory and storage the board has left; the real one asks the OS. */
export interface SystemProbe {
  freeMemoryBytes(): number;
  /** Free bytes on the filesystem holding `path`, or null if it cannot be read. */
  freeStorageBytes(path: string): number | null;
}

export const systemProbe: SystemProbe = {
  freeMemoryBytes: () => freemem(),
  freeStorageBytes: (path) => {
    try {
      const stats = statfsSync(path);
      return stats.bavail * stats.bsize;
    } catch {
      return null;
    }
  },
};

export interface DeviceOptions {
  config: DeviceConfig;
  parts: DeviceParts;
  log: Logger;
  clock?: Clock;
  probe?: SystemProbe;
}

const LOW_MEMORY_BYTES = 32 * 1024 * 1024;
const LOW_STORAGE_BYTES = 64 * 1024 * 1024;
/** A link blip shorter than this is not worth announcing. */
const NETWORK_PROMPT_DELAY_MS = 5_000;
const HEALTH_PROMPT_INTERVAL_MS = 60 * 60 * 1000;
const INFO_SCREEN_MS = 30_000;

/** The first non-loopback IPv4 address, for the info screen. */
function localAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const v4 = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return undefined;
}

/**
 * One counter device: wires the ledger, the broker link, the LCD, the
 * soundbox and the counter together, and owns their start and stop.
 * Each feature logs under its own name; a failure in one is logged and
 * does not stop the others.
 */
export class Device {
  readonly clock: Clock;
  readonly ledger: Ledger;
  readonly link: MqttLink;
  readonly outbox: Outbox;
  readonly lcd: Lcd;
  readonly announcer: Announcer;
  readonly counter: Counter;
  readonly bootAt: number;
  /** The billing PC's serial link, when the config names a port. */
  readonly billing?: { link: BillingLink; line: BillingLine } | undefined;
  private readonly log: Logger;
  private telemetryTimer?: TimerHandle | undefined;
  private networkPromptTimer?: TimerHandle | undefined;
  private daySummaryTimer?: TimerHandle | undefined;
  private infoTimer?: TimerHandle | undefined;
  private everOnline = false;
  private lostAnnounced = false;
  private lastHealthPrompt = { memory: -Infinity, storage: -Infinity };
  private stopped = false;

  constructor(private readonly options: DeviceOptions) {
    const { config, log } = options;
    this.clock = options.clock ?? systemClock;
    this.log = log;
    this.bootAt = this.clock.now();
    const settings = config.settings;
    this.ledger = new Ledger(config.ledgerPath, this.clock);
    this.link = new MqttLink({
      url: settings.mqtt.url,
      deviceId: settings.deviceId,
      prefix: settings.mqtt.prefix,
      username: settings.mqtt.username,
      password: config.mqttPassword,
      protocolVersion: settings.mqtt.protocolVersion,
      keepaliveSeconds: settings.mqtt.keepaliveSeconds,
      tls: settings.mqtt.tls,
      firmware: FIRMWARE_VERSION,
      bootAt: this.bootAt,
      clock: this.clock,
      log: log.child({ feature: 'mqtt' }),
    });
    this.outbox = new Outbox(this.ledger, this.link, log.child({ feature: 'outbox' }));
    this.lcd = new Lcd(options.parts.display, this.clock, log.child({ feature: 'lcd' }), () => this.settings.language, {
      kind: 'boot',
      firmware: FIRMWARE_VERSION,
      deviceId: settings.deviceId,
    });
    this.announcer = new Announcer({
      speaker: options.parts.speaker,
      language: () => this.settings.language,
      log: log.child({ feature: 'announcer' }),
      clock: this.clock,
      volumeStore: {
        loadVolume: () => this.settings.volume,
        saveVolume: (level) => this.persist({ ...this.settings, volume: level }),
      },
    });
    this.counter = new Counter({
      config,
      ledger: this.ledger,
      lcd: this.lcd,
      announcer: this.announcer,
      outbox: this.outbox,
      clock: this.clock,
      log: log.child({ feature: 'counter' }),
      firmware: FIRMWARE_VERSION,
    });
    const line = options.parts.billingLine;
    if (line) this.billing = { link: new BillingLink({ counter: this.counter, clock: this.clock, log: log.child({ feature: 'billing' }) }), line };
  }

  get settings(): DeviceConfig['settings'] {
    return this.options.config.settings;
  }

  private persist(settings: DeviceConfig['settings']): void {
    saveSettings(this.options.config.path, settings);
    this.options.config.settings = settings;
  }

  start(): void {
    this.lcd.show({ kind: 'boot', firmware: FIRMWARE_VERSION, deviceId: this.settings.deviceId });
    this.link.handle('payment', (payload) => this.counter.handlePayment(payload));
    this.link.handle('collect', (payload) => this.counter.handleCollect(payload));
    this.link.handle('config/set', (payload) => this.configure(payload));
    this.link.on('state', (state) => this.linkChanged(state));
    this.link.on('connected', () => {
      this.outbox.reconnected();
      this.publishConfigState();
    });
    this.wireControls();
    this.counter.subscribe((event) => {
      const controls = this.options.parts.controls;
      if (event.type === 'qr' && this.settings.sale.chimeOnQr) {
        // The buzzer beeps where there is one; otherwise the speaker chimes.
        if (controls) controls.qrShown();
        else this.announcer.chime().catch((err: unknown) => this.log.debug({ err }, 'chime not sounded'));
      }
      if (event.type === 'paid') controls?.paid();
      if (event.type === 'failed') controls?.failed();
    });
    this.counter.boot();
    if (this.billing) {
      this.billing.link.start();
      this.billing.line.start(this.billing.link);
    }
    this.link.start();
    this.scheduleTelemetry();
    this.scheduleDaySummary();
    this.log.info({ deviceId: this.settings.deviceId, firmware: FIRMWARE_VERSION, broker: this.settings.mqtt.url }, 'device started');
  }

  private wireControls(): void {
    const controls = this.options.parts.controls;
    if (!controls) return;
    const log = this.log.child({ feature: 'controls' });
    wireControlPanel(controls, {
      announcer: this.announcer,
      counter: this.counter,
      status: () => {
        const today = this.ledger.today();
        const last = this.ledger.lastPayment();
        return { kind: 'status', online: this.link.state === 'online', todayCount: today.count, todayTotal: today.total, ...(last ? { lastPayment: last.amount } : {}) };
      },
      showInfo: () => this.showInfo(),
      log,
    });
    controls.showLink(this.link.state);
    controls.start().catch((err: unknown) => log.error({ err }, 'buttons and LEDs did not start; the counter runs without them'));
  }

  /**
   * The field engineer's information screen, for INFO_SCREEN_MS or until the
   * counter has something newer to show. Its QR identifies the device to the
   * engineer's phone.
   */
  showInfo(): void {
    const previous = this.lcd.current;
    const s = this.settings;
    const ip = localAddress() ?? 'no network';
    const identity = `dakbox://device?id=${encodeURIComponent(s.deviceId)}&fw=${FIRMWARE_VERSION}&pa=${encodeURIComponent(s.payee.vpa)}&ip=${encodeURIComponent(ip)}`;
    const info = { kind: 'info', deviceId: s.deviceId, firmware: FIRMWARE_VERSION, ip, broker: s.mqtt.url, identity } as const;
    this.lcd.show(info);
    this.clock.clearTimeout(this.infoTimer);
    this.infoTimer = this.clock.setTimeout(() => {
      this.infoTimer = undefined;
      if (this.lcd.current.kind === 'info') this.lcd.show(previous.kind === 'collect' ? { ...previous, now: this.clock.now() } : previous);
    }, INFO_SCREEN_MS);
  }

  private linkChanged(state: LinkState): void {
    this.lcd.setLink(state);
    this.options.parts.controls?.showLink(state);
    if (!this.settings.announce.prompts) return;
    if (state === 'online') {
      this.clock.clearTimeout(this.networkPromptTimer);
      this.networkPromptTimer = undefined;
      if (!this.everOnline) this.say({ kind: 'connected' });
      else if (this.lostAnnounced) this.say({ kind: 'network-back' });
      this.everOnline = true;
      this.lostAnnounced = false;
    } else if (state === 'offline' && this.everOnline && !this.networkPromptTimer && !this.lostAnnounced) {
      this.networkPromptTimer = this.clock.setTimeout(() => {
        this.networkPromptTimer = undefined;
        if (this.link.state === 'online' || this.stopped) return;
        this.lostAnnounced = true;
        this.say({ kind: 'network-lost' });
      }, NETWORK_PROMPT_DELAY_MS);
    }
  }

  private say(announcement: Parameters<Announcer['announce']>[0]): void {
    this.announcer.announce(announcement).catch((err: unknown) => this.log.warn({ err }, 'prompt not spoken'));
  }

  /** `config/set`: apply what the backend may change, persist it, report the settings in force. */
  private configure(payload: Buffer): void {
    let error: string | undefined;
    try {
      const body = readJsonMessage(payload, 4096, 'config/set');
      const { settings, changed } = applyRemoteSettings(this.settings, body);
      if (changed.length) {
        this.persist(settings);
        this.options.config.saleLimit = parseWireAmount(settings.sale.limit, 'saleLimit');
        if (changed.includes('volume')) this.announcer.setVolume(settings.volume);
        if (changed.includes('language')) this.lcd.refresh();
        if (changed.includes('telemetrySeconds')) this.scheduleTelemetry();
        this.log.info({ changed }, 'settings changed by the backend');
      }
    } catch (err) {
      error = describeError(err);
      this.log.warn({ error }, 'config/set refused');
    }
    this.publishConfigState(error);
  }

  private publishConfigState(error?: string): void {
    const state: DeviceTopics['config/state'] = { v: 1, settings: remoteView(this.settings), at: formatIst(this.clock.now()) };
    if (error !== undefined) state.error = error;
    this.outbox.post('config/state', state);
  }

  private scheduleTelemetry(): void {
    this.clock.clearTimeout(this.telemetryTimer);
    this.telemetryTimer = this.clock.setTimeout(() => {
      this.telemetryTimer = undefined;
      if (this.stopped) return;
      this.sendTelemetry();
      this.scheduleTelemetry();
    }, this.settings.mqtt.telemetrySeconds * 1000);
  }

  telemetry(): Telemetry {
    const memory = process.memoryUsage();
    const probe = this.options.probe ?? systemProbe;
    const storage = probe.freeStorageBytes(dirname(this.options.config.ledgerPath));
    const sale = this.counter.status().sale;
    const last = sale ?? this.ledger.lastPayment();
    const today = this.ledger.today();
    const health = this.counter.health();
    return {
      v: 1,
      at: formatIst(this.clock.now()),
      uptimeSeconds: Math.round((this.clock.now() - this.bootAt) / 1000),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, systemFreeBytes: probe.freeMemoryBytes() },
      storageFreeBytes: storage,
      queueDepth: { announcements: this.announcer.pending, outbox: this.outbox.depth() },
      lastSale: sale
        ? { tr: sale.tr, amount: formatWireAmount(sale.amount), state: sale.state }
        : last
          ? { tr: last.tr, amount: formatWireAmount(last.amount), state: 'paid' }
          : null,
      today: { count: today.count, total: formatWireAmount(today.total) },
      volume: this.announcer.volume,
      language: this.settings.language,
      link: { state: this.link.state, reconnects: this.link.reconnects },
      rejected: health.rejected,
      announcements: health.announcements,
    };
  }

  private sendTelemetry(): void {
    const t = this.telemetry();
    if (this.link.state === 'online') {
      this.link.publish('telemetry', t).catch((err: unknown) => this.log.debug({ err }, 'telemetry not sent'));
    }
    const now = this.clock.now();
    if (!this.settings.announce.prompts) return;
    if (t.memory.systemFreeBytes < LOW_MEMORY_BYTES && now - this.lastHealthPrompt.memory > HEALTH_PROMPT_INTERVAL_MS) {
      this.lastHealthPrompt.memory = now;
      this.log.warn({ freeBytes: t.memory.systemFreeBytes }, 'memory is low');
      this.say({ kind: 'low-memory' });
    }
    if (t.storageFreeBytes !== null && t.storageFreeBytes < LOW_STORAGE_BYTES && now - this.lastHealthPrompt.storage > HEALTH_PROMPT_INTERVAL_MS) {
      this.lastHealthPrompt.storage = now;
      this.log.warn({ freeBytes: t.storageFreeBytes }, 'storage is low');
      this.say({ kind: 'low-storage' });
    }
  }

  private scheduleDaySummary(): void {
    const at = this.settings.announce.daySummaryAt;
    this.clock.clearTimeout(this.daySummaryTimer);
    if (!at) return;
    const [hh = 0, mm = 0] = at.split(':').map(Number);
    const IST = 330 * 60_000;
    const now = this.clock.now();
    const dayStart = Math.floor((now + IST) / 86_400_000) * 86_400_000 - IST;
    let next = dayStart + (hh * 60 + mm) * 60_000;
    if (next <= now) next += 86_400_000;
    this.daySummaryTimer = this.clock.setTimeout(() => {
      this.daySummaryTimer = undefined;
      if (this.stopped) return;
      const today = this.ledger.today();
      this.say({ kind: 'day-summary', count: today.count, total: today.total });
      this.scheduleDaySummary();
    }, next - now);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.telemetryTimer, this.networkPromptTimer, this.daySummaryTimer, this.infoTimer]) this.clock.clearTimeout(t);
    this.counter.stop();
    this.options.parts.controls?.stop();
    if (this.billing) {
      await this.billing.line.stop().catch((err: unknown) => this.log.warn({ err }, 'serial port did not close cleanly'));
      this.billing.link.stop();
    }
    await this.link.stop().catch((err: unknown) => this.log.warn({ err }, 'broker link did not close cleanly'));
    await this.announcer.close().catch(() => undefined);
    await this.lcd.settled();
    await this.options.parts.display?.close().catch(() => undefined);
    await this.options.parts.speaker.close().catch(() => undefined);
    this.ledger.close();
    this.log.info('device stopped');
  }
}
