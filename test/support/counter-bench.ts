import { formatIst, ManualClock } from '../../core/clock.js';
import type { ClockTrust } from '../../core/clock-trust.js';
import { loadConfig, type DeviceConfig, type DeviceSettingsInput } from '../../core/config.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { Ledger } from '../../core/payment/ledger.js';
import { Outbox } from '../../core/payment/outbox.js';
import { Counter } from '../../core/sale/counter.js';
import type { CounterEvent } from '../../core/sale/counter-port.js';
import { Lcd } from '../../core/sale/lcd.js';
import { deviceFixture, type DeviceFixture } from './fixtures.js';
import { FakePublisher, RecordingDisplay, ScriptedAnnouncer, settle } from './stand-ins.js';

/**
 * The real Counter on a real Ledger (a temp file), a ManualClock, and
 * stand-ins for the LCD, the soundbox and the broker: the counter as the
 * device runs it, with the test holding the clock.
 */
export class CounterBench {
  readonly fixture: DeviceFixture;
  readonly config: DeviceConfig;
  readonly clock: ManualClock;
  readonly ledger: Ledger;
  readonly display = new RecordingDisplay();
  readonly announcer = new ScriptedAnnouncer();
  readonly publisher = new FakePublisher();
  readonly events: CounterEvent[] = [];
  counter: Counter;

  constructor(
    options: { settings?: Partial<DeviceSettingsInput>; clock?: ManualClock; clockTrust?: ClockTrust; log?: Logger } = {},
    private readonly log: Logger = options.log ?? silentLogger(),
  ) {
    this.fixture = deviceFixture({ sale: { limit: '5000.00', expirySeconds: 120, resultSeconds: 5, chimeOnQr: true }, ...options.settings });
    this.config = loadConfig(this.fixture.configPath);
    this.clock = options.clock ?? new ManualClock();
    this.ledger = new Ledger(this.config.ledgerPath, this.clock, { deviceId: this.config.settings.deviceId, retention: this.config.settings.retention });
    this.counter = this.build(options.clockTrust);
  }

  /** A counter as a fresh start of the device builds it, on the same ledger. */
  build(clockTrust?: ClockTrust): Counter {
    const lcd = new Lcd(this.display, this.clock, this.log, () => this.config.settings.language, { kind: 'boot', firmware: 'test', deviceId: 'MYS01' });
    const counter = new Counter({
      config: this.config,
      ledger: this.ledger,
      lcd,
      announcer: this.announcer,
      outbox: new Outbox(this.ledger, this.publisher, this.log),
      clock: this.clock,
      log: this.log,
      firmware: 'test',
      ...(clockTrust ? { clockTrust } : {}),
    });
    counter.subscribe((e) => this.events.push(e));
    return counter;
  }

  /** Stops the counter, as a power cut would, and starts a new one on the same ledger (once the last frame is drawn). */
  async restart(clockTrust?: ClockTrust): Promise<Counter> {
    this.counter.stop();
    await settle();
    this.counter = this.build(clockTrust);
    this.counter.boot();
    return this.counter;
  }

  /** A signed confirmation from the payments backend. */
  pay(tr: string, fields: { amount: string; utr?: string; status?: 'SUCCESS' | 'FAILED'; paidAt?: number }): Buffer {
    const body = signConfirmation(
      { deviceId: 'MYS01', tr, utr: fields.utr ?? 'UTR1', amount: fields.amount, status: fields.status ?? 'SUCCESS', paidAt: formatIst(fields.paidAt ?? this.clock.now()) },
      this.fixture.keys.privateKey,
    );
    return Buffer.from(JSON.stringify(body));
  }

  /** Seconds the countdown showed in each frame drawn since `from`. */
  countdowns(from = 0): number[] {
    return this.display.frames.slice(from).flatMap((f) => (f.screen.kind === 'collect' ? [Math.ceil((f.screen.expiresAt - f.screen.now) / 1000)] : []));
  }

  close(): void {
    this.counter.stop();
    this.ledger.close();
    this.fixture.cleanup();
  }
}
