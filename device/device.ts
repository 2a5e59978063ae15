import type { Controls } from '../core/ports/controls.js';
import type { Display } from '../core/ports/display.js';
import type { BillingLine } from '../core/ports/billing-line.js';
import type { Speaker } from '../core/ports/speaker.js';
import type { TimeSync } from '../core/ports/time-sync.js';
import { Announcer } from '../core/announce/announcer.js';
import { BillingLink } from '../core/billing/link.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { deviceClockTrust, type ClockTrust } from '../core/clock-trust.js';
import { saveSettings, type DeviceConfig } from '../core/config.js';
import { Counter } from '../core/sale/counter.js';
import { Lcd } from '../core/sale/lcd.js';
import { Ledger } from '../core/payment/ledger.js';
import type { Logger } from '../core/log.js';
import { MqttLink } from '../core/link/mqtt-link.js';
import { Outbox } from '../core/payment/outbox.js';
import type { Telemetry } from '../core/link/topics.js';
import { ControlPanel } from './features/control-panel.js';
import { DaySummary } from './features/day-summary.js';
import { startFeatures, stopFeatures, type Feature } from './features/feature.js';
import { HealthPrompts } from './features/health-prompts.js';
import { InfoScreen } from './features/info-screen.js';
import { LinkPrompts } from './features/link-prompts.js';
import { PaymentSignals } from './features/payment-signals.js';
import { RemoteConfig } from './features/remote-config.js';
import { systemProbe, TelemetryReporter, type SystemProbe } from './features/telemetry.js';

export const FIRMWARE_VERSION = '0.1.0';

/** The hardware a device runs on, built from its config (see parts.ts) or handed in by a test. */
export interface DeviceParts {
  display?: Display | undefined;
  speaker: Speaker;
  /** Buttons, LEDs and buzzer; absent on a headless device. */
  controls?: Controls | undefined;
  /** The serial cable to the billing PC; absent when the counter has none. */
  billingLine?: BillingLine | undefined;
  /** Asks the board's time service whether the clock is synchronised; without one, the build time alone decides. */
  timeSync?: TimeSync | undefined;
}

export interface DeviceOptions {
  config: DeviceConfig;
  parts: DeviceParts;
  log: Logger;
  clock?: Clock;
  probe?: SystemProbe;
  /** Where the first telemetry report falls in its period (see TelemetryOptions.spread); random unless a test fixes it. */
  telemetrySpread?: () => number;
  /** Whether the wall clock may stamp QRs; by default what this board's time service says, and the firmware's build time. */
  clockTrust?: ClockTrust;
}

/**
 * One counter device: builds the core parts (ledger, broker link, outbox,
 * LCD, soundbox, counter, and the billing link on the billing line handed
 * in) and the features around them, and owns their start and stop. The
 * features start in order and stop in the reverse; one that fails is
 * logged under its own name and the others carry on.
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
  /** Started in this order, stopped in the reverse. */
  private readonly features: readonly Feature[];
  private readonly reporter: TelemetryReporter;
  private readonly infoScreen: InfoScreen;
  private stopped = false;

  constructor(private readonly options: DeviceOptions) {
    const { config, log } = options;
    this.clock = options.clock ?? systemClock;
    this.log = log;
    this.bootAt = this.clock.now();
    const settings = config.settings;
    this.ledger = new Ledger(config.ledgerPath, this.clock, { deviceId: settings.deviceId, retention: settings.retention });
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
      clockTrust: options.clockTrust ?? deviceClockTrust(this.clock, log.child({ feature: 'clock' }), options.parts.timeSync),
    });
    const line = options.parts.billingLine;
    if (line) {
      this.billing = { link: new BillingLink({ counter: this.counter, records: this.ledger, clock: this.clock, log: log.child({ feature: 'billing' }) }), line };
    }
    const settingsNow = () => this.settings;
    this.reporter = new TelemetryReporter({
      link: this.link,
      counter: this.counter,
      ledger: this.ledger,
      announcer: this.announcer,
      outbox: this.outbox,
      settings: settingsNow,
      ledgerPath: config.ledgerPath,
      probe: options.probe ?? systemProbe,
      bootAt: this.bootAt,
      clock: this.clock,
      log: log.child({ feature: 'telemetry' }),
      ...(options.telemetrySpread ? { spread: options.telemetrySpread } : {}),
    });
    this.infoScreen = new InfoScreen({ lcd: this.lcd, settings: settingsNow, firmware: FIRMWARE_VERSION, clock: this.clock });
    this.features = this.buildFeatures();
  }

  /**
   * The features in the order they start. The control panel comes first so
   * the link LED is in step before anything is said.
   */
  private buildFeatures(): Feature[] {
    const { config, parts } = this.options;
    const { link, announcer, counter, ledger, clock } = this;
    const settings = () => this.settings;
    const log = (feature: string) => this.log.child({ feature });
    const controls = parts.controls;
    return [
      ...(controls ? [new ControlPanel({ controls, link, announcer, counter, ledger, showInfo: () => this.infoScreen.show(), log: log('controls') })] : []),
      new LinkPrompts({ link, announcer, settings, clock, log: log('link-prompts') }),
      new RemoteConfig({
        link,
        config,
        persist: (next) => this.persist(next),
        outbox: this.outbox,
        announcer,
        lcd: this.lcd,
        telemetry: this.reporter,
        clock,
        log: log('remote-config'),
      }),
      new PaymentSignals({ counter, controls, announcer, settings, log: log('payment-signals') }),
      this.reporter,
      new HealthPrompts({ reports: this.reporter, announcer, settings, clock, log: log('health-prompts') }),
      new DaySummary({ ledger, announcer, settings, clock, log: log('day-summary') }),
      this.infoScreen,
    ];
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
    this.link.on('state', (state) => this.lcd.setLink(state));
    this.link.on('connected', () => this.outbox.reconnected());
    startFeatures(this.features, this.log);
    // What boot finishes (QRs that ran out while the device was off) is in
    // the ledger's billing events, which the billing link sends from.
    this.counter.boot();
    if (this.billing) {
      this.billing.link.start();
      this.billing.line.start(this.billing.link);
    }
    this.link.start();
    this.log.info({ deviceId: this.settings.deviceId, firmware: FIRMWARE_VERSION, broker: this.settings.mqtt.url }, 'device started');
  }

  /** The field engineer's information screen, as a long press of cancel shows it. */
  showInfo(): void {
    this.infoScreen.show();
  }

  /** The telemetry report as it stands now. */
  telemetry(): Telemetry {
    return this.reporter.report();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    stopFeatures(this.features, this.log);
    this.counter.stop();
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
