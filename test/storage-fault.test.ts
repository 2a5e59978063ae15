/**
 * The counter when its ledger cannot be written: a confirmation it cannot
 * record is refused (so the broker link leaves it unacknowledged), sales
 * pause behind the fault screen, and everything resumes by itself. The
 * real Counter, Ledger (with writes that fail on demand), Outbox and
 * Announcer, on a manual clock.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Announcer } from '../core/announce/announcer.js';
import { RequestDispatcher } from '../core/billing/dispatcher.js';
import { ManualClock } from '../core/clock.js';
import { loadConfig, type DeviceConfig } from '../core/config.js';
import { StorageFault } from '../core/errors.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import { Ledger, SCHEMA_VERSION } from '../core/payment/ledger.js';
import { Outbox } from '../core/payment/outbox.js';
import type { Speaker, Utterance } from '../core/ports/speaker.js';
import { paise } from '../core/money.js';
import { Counter, MAX_ANNOUNCE_ATTEMPTS } from '../core/sale/counter.js';
import { Lcd } from '../core/sale/lcd.js';
import { FailingLedger } from './support/failing-ledger.js';
import { deviceFixture, type DeviceFixture } from './support/fixtures.js';
import { recordingLogger, type LogLine } from './support/log-lines.js';
import { FakePublisher, RecordingDisplay, ScriptedAnnouncer, settle } from './support/stand-ins.js';

const FAULT_PROMPT = 'Payments cannot be recorded. New sales are paused';
const PAUSED = 'the ledger cannot be written; sales are paused until it can';

/** A speaker that keeps what it was asked to say. */
class SpeakerLog implements Speaker {
  readonly said: string[] = [];
  speak(utterance: Utterance): Promise<void> {
    this.said.push(utterance.text);
    return Promise.resolve();
  }
  chime(): Promise<void> {
    this.said.push('(chime)');
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

let fixture: DeviceFixture;
let config: DeviceConfig;
let clock: ManualClock;
let ledger: FailingLedger;
let display: RecordingDisplay;
let speaker: SpeakerLog;
let publisher: FakePublisher;
let counter: Counter;
let lines: LogLine[];
let unhandled: unknown[];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

function build(announcer?: ScriptedAnnouncer): Counter {
  const { log, lines: logged } = recordingLogger();
  lines = logged;
  const lcd = new Lcd(display, clock, log, () => config.settings.language, { kind: 'boot', firmware: 'test', deviceId: 'MYS01' });
  const voice = announcer ?? new Announcer({ speaker, volumeStore: { loadVolume: () => 5, saveVolume: () => undefined }, language: () => 'en', log, clock });
  return new Counter({ config, ledger, lcd, announcer: voice, outbox: new Outbox(ledger, publisher, log), clock, log, firmware: 'test' });
}

function pay(tr: string, utr = 'UTR1', amount = '250.00'): Buffer {
  return Buffer.from(JSON.stringify(signConfirmation({ deviceId: 'MYS01', tr, utr, amount, status: 'SUCCESS', paidAt: '2026-01-15T10:01:00+05:30' }, fixture.keys.privateKey)));
}

/** Lets the announcer's promise chain and the LCD's renders run. */
async function settled(): Promise<void> {
  await settle();
  await settle();
}

beforeEach(() => {
  fixture = deviceFixture({ sale: { limit: '5000.00', expirySeconds: 120, resultSeconds: 5, chimeOnQr: false }, announce: { prompts: true } });
  config = loadConfig(fixture.configPath);
  clock = new ManualClock();
  ledger = new FailingLedger(config.ledgerPath, clock, { deviceId: config.settings.deviceId });
  display = new RecordingDisplay();
  speaker = new SpeakerLog();
  publisher = new FakePublisher();
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
  counter = build();
  counter.boot();
});

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  counter.stop();
  ledger.close();
  fixture.cleanup();
});

describe('a confirmation the ledger cannot commit', () => {
  it.each(['SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY', 'SQLITE_BUSY'])('(%s) is refused, sales pause once, and resume by themselves; the one delivered again is announced once', async (code) => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    ledger.failure = code;

    expect(() => counter.handlePayment(pay(sale.tr))).toThrow(StorageFault);
    await settled();
    expect(display.last?.screen).toEqual({ kind: 'fault', fault: 'storage', deviceId: 'MYS01' });
    expect(ledger.findPayment('UTR1')).toBeUndefined();
    expect(publisher.on('receipt')).toEqual([]);
    await expect(counter.startSale({ amount: paise(100), source: 'serial' })).rejects.toThrow(StorageFault);

    // The broker delivers it again while the disk is still full; the probe fails meanwhile.
    clock.advance(1_500);
    expect(() => counter.handlePayment(pay(sale.tr))).toThrow(StorageFault);
    clock.advance(3_000);
    await settled();
    expect(lines.filter((l) => l.msg === PAUSED)).toHaveLength(1);
    expect(speaker.said).toEqual([FAULT_PROMPT]);

    // Space again: the probe finds out by itself, and the QR that was up comes back.
    ledger.failure = undefined;
    clock.advance(30_000);
    await settled();
    expect(lines.filter((l) => l.msg === 'the ledger can be written again; sales resume')).toHaveLength(1);
    expect(display.last?.screen).toMatchObject({ kind: 'collect', tr: sale.tr });

    counter.handlePayment(pay(sale.tr));
    counter.handlePayment(pay(sale.tr));
    await settled();
    expect(speaker.said).toEqual([FAULT_PROMPT, 'Received two hundred fifty rupees']);
    expect(publisher.on('receipt').map((r) => (r as { outcome: string }).outcome).sort()).toEqual(['announced', 'duplicate']);
    expect(ledger.findPayment('UTR1')).toMatchObject({ announced: true, late: false });
    await expect(counter.startSale({ amount: paise(100), source: 'serial' })).resolves.toMatchObject({ state: 'showing' });
    expect(unhandled).toEqual([]);
  });

  it('resumes at once when a confirmation commits before the probe notices', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    ledger.failure = 'SQLITE_FULL';
    expect(() => counter.handlePayment(pay(sale.tr))).toThrow(StorageFault);
    ledger.failure = undefined;
    counter.handlePayment(pay(sale.tr));
    await settled();
    expect(display.last?.screen).toMatchObject({ kind: 'paid', utr: 'UTR1' });
    expect(speaker.said).toEqual([FAULT_PROMPT, 'Received two hundred fifty rupees']);
    expect(publisher.on('receipt')).toMatchObject([{ outcome: 'announced' }]);
  });

  it('a rejection the ledger cannot record is refused too, not receipted', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    ledger.failure = 'SQLITE_FULL';
    expect(() => counter.handlePayment(Buffer.from('{"v":1,'))).toThrow(StorageFault);
    expect(() => counter.handlePayment(pay('MYS01-42'))).toThrow(StorageFault);
    expect(ledger.rejections()).toEqual([]);
    expect(counter.health().rejected.confirmations).toBe(0);
    ledger.failure = undefined;
    counter.handlePayment(pay('MYS01-42'));
    expect(ledger.rejections()).toHaveLength(1);
    expect(counter.health().rejected.confirmations).toBe(1);
    expect(ledger.findSale(sale.tr)?.state).toBe('showing');
  });

  it('a collect the ledger cannot record is refused, and not counted as a bad request', async () => {
    ledger.failure = 'SQLITE_FULL';
    const collect = Buffer.from(JSON.stringify({ v: 1, id: 'c-1', amount: '10.00' }));
    expect(() => counter.handleCollect(collect)).toThrow(StorageFault);
    expect(counter.health().rejected.collects).toBe(0);
    ledger.failure = undefined;
    clock.advance(2_000);
    counter.handleCollect(collect);
    await settled();
    expect(publisher.on('qr')).toHaveLength(1);
    expect(display.last?.screen.kind).toBe('collect');
  });

  it('the billing PC hears STORAGE for a sale while sales are paused', async () => {
    const sale = await counter.startSale({ amount: paise(100), source: 'serial' });
    ledger.failure = 'SQLITE_FULL';
    expect(() => counter.handlePayment(pay(sale.tr))).toThrow(StorageFault);
    const dispatcher = new RequestDispatcher(counter, ledger, clock, recordingLogger().log);
    const reply = await dispatcher.execute({ op: 'sale', id: 7, amount: paise(500) });
    expect(reply).toMatchObject({ id: 7, ok: false, op: 'sale', code: 'STORAGE' });
    expect(reply.ok ? '' : reply.message).toMatch(/^sales are paused: the ledger cannot be written/);
    expect(publisher.on('qr')).toHaveLength(1);
  });

  it('a sale whose first write fails is refused and never shown', async () => {
    ledger.failOnly.add('issueSale');
    ledger.code = 'SQLITE_FULL';
    await expect(counter.startSale({ amount: paise(100), source: 'serial' })).rejects.toThrow(StorageFault);
    expect(display.last?.screen.kind).toBe('fault');
    expect(publisher.on('qr')).toEqual([]);
  });
});

describe('nothing after a commit crashes the device', () => {
  it('a mark that cannot be written after speaking: no unhandled rejection, counted once, marked when the ledger works', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    ledger.failOnly.add('markAnnounced');
    counter.handlePayment(pay(sale.tr));
    await settled();
    expect(unhandled).toEqual([]);
    expect(speaker.said).toEqual(['Received two hundred fifty rupees', FAULT_PROMPT]);
    expect(ledger.announcementAttempts('UTR1')).toBe(1);
    expect(ledger.findPayment('UTR1')?.announced).toBe(false);
    // The Paid screen stays its time, then the fault screen.
    expect(display.last?.screen.kind).toBe('paid');
    clock.advance(5_000);
    await settled();
    expect(display.last?.screen.kind).toBe('fault');

    ledger.failOnly.clear();
    clock.advance(30_000);
    await settled();
    expect(ledger.findPayment('UTR1')?.announced).toBe(true);
    expect(publisher.on('receipt')).toMatchObject([{ outcome: 'announced', utr: 'UTR1' }]);
    expect(speaker.said.filter((s) => s.startsWith('Received'))).toHaveLength(1);
    expect(display.last?.screen.kind).toBe('idle');
    expect(unhandled).toEqual([]);
  });

  it('an outbox that cannot strike off what the broker acknowledged: no unhandled rejection, sent again later', async () => {
    ledger.failOnly.add('markSent');
    await counter.startSale({ amount: paise(100), source: 'serial' });
    await settled();
    expect(unhandled).toEqual([]);
    expect(ledger.unsentCount()).toBe(1);
    ledger.failOnly.clear();
    new Outbox(ledger, publisher, recordingLogger().log).reconnected();
    await settled();
    expect(publisher.on('qr')).toHaveLength(2);
    expect(ledger.unsentCount()).toBe(0);
  });

  it('a start of speaking that cannot be counted waits for the ledger, then is spoken once', async () => {
    const sale = await counter.startSale({ amount: paise(25000), source: 'serial' });
    ledger.failOnly.add('countAnnouncementAttempt');
    counter.handlePayment(pay(sale.tr));
    await settled();
    expect(speaker.said).toEqual([FAULT_PROMPT]);
    expect(ledger.findPayment('UTR1')?.announced).toBe(false);
    ledger.failOnly.clear();
    clock.advance(2_000);
    await settled();
    expect(speaker.said).toEqual([FAULT_PROMPT, 'Received two hundred fifty rupees']);
    expect(ledger.announcementAttempts('UTR1')).toBe(1);
    expect(publisher.on('receipt')).toMatchObject([{ outcome: 'announced' }]);
  });
});

describe('announcing again at boot, a fixed number of times', () => {
  /** A counter whose speaker finishes a sentence only when the test says so. */
  function speakingWhenTold(): ScriptedAnnouncer {
    const announcer = new ScriptedAnnouncer();
    announcer.manual = true;
    counter.stop();
    counter = build(announcer);
    counter.boot();
    return announcer;
  }

  /** The power goes mid-sentence: the same ledger file opened again, and a speaker of its own. */
  function powerCycle(manual = true): ScriptedAnnouncer {
    counter.stop();
    ledger.close();
    ledger = new FailingLedger(config.ledgerPath, clock, { deviceId: config.settings.deviceId });
    const announcer = new ScriptedAnnouncer();
    announcer.manual = manual;
    counter = build(announcer);
    counter.boot();
    return announcer;
  }

  it(`says a payment whose mark never landed at each boot, at most ${MAX_ANNOUNCE_ATTEMPTS} starts in all, then shows it and flags it`, async () => {
    let announcer = speakingWhenTold();
    const sale = await counter.startSale({ amount: paise(12345), source: 'serial' });
    counter.handlePayment(pay(sale.tr, 'UTR9', '123.45'));
    const starts = () => announcer.inProgress;
    let total = starts();

    // Power lost mid-sentence, every time: the same ledger file opened again.
    for (let boot = 1; boot <= 4; boot++) {
      announcer = powerCycle();
      await settled();
      total += starts();
    }
    expect(total).toBe(MAX_ANNOUNCE_ATTEMPTS);
    expect(ledger.announcementAttempts('UTR9')).toBe(MAX_ANNOUNCE_ATTEMPTS);
    expect(ledger.pendingAnnouncements()).toEqual([]);
    expect(ledger.findPayment('UTR9')?.announced).toBe(true);
    expect(publisher.on('receipt')).toMatchObject([{ outcome: 'announced', utr: 'UTR9' }]);
  });

  it('a payment waiting behind another sentence has no start counted until its turn comes, so a power cut while it waits costs it none', async () => {
    const announcer = speakingWhenTold();
    const first = await counter.startSale({ amount: paise(100), source: 'serial' });
    counter.handlePayment(pay(first.tr, 'UTRA', '1.00'));
    const second = await counter.startSale({ amount: paise(200), source: 'serial' });
    counter.handlePayment(pay(second.tr, 'UTRB', '2.00'));
    expect(ledger.announcementAttempts('UTRA')).toBe(1);
    expect(ledger.announcementAttempts('UTRB')).toBe(0);
    announcer.finish();
    await settled();
    expect(ledger.announcementAttempts('UTRB')).toBe(1);
    expect(announcer.spoken).toEqual([{ kind: 'payment', amount: 100 }]);
  });

  it('the boot that gives up shows the payment, says nothing, and counts it for telemetry', async () => {
    speakingWhenTold();
    const sale = await counter.startSale({ amount: paise(12345), source: 'serial' });
    counter.handlePayment(pay(sale.tr, 'UTR9', '123.45'));
    for (let boot = 1; boot < MAX_ANNOUNCE_ATTEMPTS; boot++) powerCycle();
    const announcer = powerCycle(false);
    await settled();
    expect(announcer.spoken).toEqual([]);
    expect(display.last?.screen).toEqual({ kind: 'paid', amount: 12345, utr: 'UTR9', late: false });
    expect(counter.health().announcements).toEqual({ givenUp: 1 });
    expect(lines.filter((l) => l.msg === 'payment announced too often without the end being recorded; shown, not said again')).toHaveLength(1);
  });

  it('a ledger from before the count opens with every payment at no starts yet', async () => {
    const sale = await counter.startSale({ amount: paise(100), source: 'serial' });
    ledger.failOnly.add('markAnnounced');
    counter.handlePayment(pay(sale.tr));
    await settled();
    counter.stop();
    ledger.close();
    // What the previous firmware left: the schema before the count columns.
    const old = new Database(config.ledgerPath);
    old.exec(`ALTER TABLE payments DROP COLUMN announce_attempts; ALTER TABLE payments DROP COLUMN announce_given_up_at; PRAGMA user_version = ${SCHEMA_VERSION - 1};`);
    old.close();
    const reopened = new Ledger(config.ledgerPath, clock, { deviceId: config.settings.deviceId });
    expect(reopened.announcementAttempts('UTR1')).toBe(0);
    expect(reopened.pendingAnnouncements().map((p) => p.utr)).toEqual(['UTR1']);
    reopened.close();
    ledger = new FailingLedger(config.ledgerPath, clock, { deviceId: config.settings.deviceId });
    counter = build();
  });
});
