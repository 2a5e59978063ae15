import { Announcer } from '../../core/announce/announcer.js';
import { formatIst, ManualClock } from '../../core/clock.js';
import { loadConfig, saveSettings, type DeviceConfig, type DeviceSettings, type DeviceSettingsInput } from '../../core/config.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { Ledger } from '../../core/payment/ledger.js';
import { Outbox } from '../../core/payment/outbox.js';
import { Counter } from '../../core/sale/counter.js';
import type { CounterEvent } from '../../core/sale/counter-port.js';
import { Lcd } from '../../core/sale/lcd.js';
import { deviceFixture, type DeviceFixture } from './fixtures.js';
import { FakeLink, RecordingDisplay, RecordingSpeaker } from './stand-ins.js';

/**
 * The device's core parts, real (ledger on a temp file, outbox, LCD,
 * announcer, counter), around stand-in hardware and a broker link the test
 * drives, on a manual clock. What a feature is given on the device, it is
 * given here.
 */
export interface CoreParts {
  fixture: DeviceFixture;
  config: DeviceConfig;
  clock: ManualClock;
  log: Logger;
  ledger: Ledger;
  link: FakeLink;
  outbox: Outbox;
  display: RecordingDisplay;
  lcd: Lcd;
  speaker: RecordingSpeaker;
  announcer: Announcer;
  counter: Counter;
  /** Every event the counter emitted, in order. */
  events: CounterEvent[];
  settings: () => DeviceSettings;
  /** Writes device.json and puts the settings in force, as the device does. */
  persist: (settings: DeviceSettings) => void;
  /** A signed confirmation for `tr`, as the payments backend sends it. */
  confirmation: (tr: string, fields: { amount: string; status?: 'SUCCESS' | 'FAILED'; utr?: string }) => Buffer;
  close: () => Promise<void>;
}

/** 10:00 IST on 15 January 2026. */
export const MORNING = Date.UTC(2026, 0, 15, 4, 30, 0);

export function coreParts(overrides: Partial<DeviceSettingsInput> = {}, start = MORNING): CoreParts {
  const fixture = deviceFixture(overrides);
  const config = loadConfig(fixture.configPath);
  const clock = new ManualClock(start);
  const log = silentLogger();
  const settings = () => config.settings;
  const persist = (next: DeviceSettings) => {
    saveSettings(config.path, next);
    config.settings = next;
  };
  const ledger = new Ledger(config.ledgerPath, clock, { deviceId: config.settings.deviceId, retention: config.settings.retention });
  const link = new FakeLink();
  const outbox = new Outbox(ledger, link, log);
  const display = new RecordingDisplay();
  const lcd = new Lcd(display, clock, log, () => config.settings.language, { kind: 'boot', firmware: 'test', deviceId: config.settings.deviceId });
  const speaker = new RecordingSpeaker();
  const announcer = new Announcer({
    speaker,
    language: () => config.settings.language,
    log,
    clock,
    volumeStore: { loadVolume: () => config.settings.volume, saveVolume: (volume) => persist({ ...config.settings, volume }) },
  });
  const counter = new Counter({ config, ledger, lcd, announcer, outbox, clock, log, firmware: 'test' });
  const events: CounterEvent[] = [];
  counter.subscribe((e) => events.push(e));
  return {
    fixture,
    config,
    clock,
    log,
    ledger,
    link,
    outbox,
    display,
    lcd,
    speaker,
    announcer,
    counter,
    events,
    settings,
    persist,
    confirmation: (tr, fields) =>
      Buffer.from(
        JSON.stringify(
          signConfirmation(
            { deviceId: config.settings.deviceId, tr, utr: fields.utr ?? `UTR${tr.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 35), amount: fields.amount, status: fields.status ?? 'SUCCESS', paidAt: formatIst(clock.now()) },
            fixture.keys.privateKey,
          ),
        ),
      ),
    close: async () => {
      counter.stop();
      await announcer.close();
      await lcd.settled();
      ledger.close();
      fixture.cleanup();
    },
  };
}
