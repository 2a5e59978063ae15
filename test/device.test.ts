/**
 * One whole device in-process, wired as `dakbox run` wires it: the real
 * Device with its ledger, broker link (to an embedded broker), announcer
 * writing WAV files, and johnny-five controls on the virtual IO plugin. The
 * test is the clerk's finger on the buttons.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BoardControls, DEFAULT_CONTROLS_PINS as PINS } from '../adapters/controls/board-controls.js';
import { VirtualIo, type PinWrite } from '../adapters/controls/virtual-io.js';
import { createSpeaker } from '../adapters/speaker/create-speaker.js';
import type { WavSpeaker } from '../adapters/speaker/wav-speaker.js';
import { ManualClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import type { CounterEvent } from '../core/sale/counter-port.js';
import { Device } from '../device/device.js';
import { silentLogger } from '../core/log.js';
import { paise } from '../core/money.js';
import { PaymentsBackend } from '../simulator/backend.js';
import { EmbeddedBroker } from '../simulator/broker.js';
import { deviceFixture, type DeviceFixture } from './support/fixtures.js';
import { eventually } from './support/ledger-reader.js';
import { RecordingDisplay, settle } from './support/stand-ins.js';

let broker: EmbeddedBroker;
let fixture: DeviceFixture;
let clock: ManualClock;
let io: VirtualIo;
let display: RecordingDisplay;
let speaker: WavSpeaker;
let device: Device;
let backend: PaymentsBackend;
let events: CounterEvent[];
let writes: PinWrite[];

let announce: { prompts: boolean; daySummaryAt?: string } = { prompts: false };
/** What the board reports of its memory and storage; a test may make it run short. */
const board = { freeMemory: 512 * 1024 * 1024, freeStorage: 8 * 1024 * 1024 * 1024 };

beforeEach(async () => {
  broker = await EmbeddedBroker.start();
  fixture = deviceFixture({ mqtt: { url: broker.url, protocolVersion: 4 }, announce, controls: { kind: 'virtual' } });
  const config = loadConfig(fixture.configPath);
  const log = silentLogger();
  // 19:59:00 IST today, a minute before the end-of-day summary.
  clock = new ManualClock(Date.UTC(2026, 0, 15, 14, 29, 0));
  io = new VirtualIo();
  writes = [];
  io.on('write', (w: PinWrite) => writes.push(w));
  display = new RecordingDisplay();
  speaker = createSpeaker({ output: { kind: 'wav', dir: join(fixture.dir, 'sounds') }, log, clock }) as WavSpeaker;
  device = new Device({
    config,
    parts: { display, speaker, controls: new BoardControls({ io, clock, log }) },
    log,
    clock,
    probe: { freeMemoryBytes: () => board.freeMemory, freeStorageBytes: () => board.freeStorage },
    // The test's clock is set in January; the board's own answer is not the subject here.
    clockTrust: { check: () => Promise.resolve({ trusted: true }) },
  });
  events = [];
  device.counter.subscribe((e) => events.push(e));
  backend = new PaymentsBackend({ url: broker.url, keys: fixture.keys, clientId: 'device-test-backend' });
  await backend.start();
  device.start();
  await eventually(() => device.link.state === 'online', 10_000, 'online');
});

afterEach(async () => {
  await backend.stop();
  await device.stop();
  await broker.stop();
  fixture.cleanup();
});

/** A press as a finger makes it: down, held, up, each level held past the debounce. */
async function press(pin: number | string, holdMs = 100): Promise<void> {
  io.drive(pin, 0);
  clock.advance(holdMs);
  io.drive(pin, undefined);
  clock.advance(50);
  await settle();
}

function spoken(): string[] {
  return speaker.recordings.map((r) => r.text);
}

describe('the buttons on a running device', () => {
  it('step the volume, say the new level, and keep it in device.json', async () => {
    await press(PINS['volume-up']);
    await press(PINS['volume-up']);
    await press(PINS['volume-down']);
    await device.announcer.idle();
    expect(device.announcer.volume).toBe(8);
    expect((JSON.parse(readFileSync(fixture.configPath, 'utf8')) as { volume: number }).volume).toBe(8);
    expect(spoken().at(-1)).toBe('Volume eight');
  });

  it('replay the last payment, and cancel the sale on screen', async () => {
    const sale = await device.counter.startSale({ amount: paise(25000), source: 'simulator' });
    await backend.pay('MYS01', sale.tr, { amount: '250.00' });
    await eventually(() => events.some((e) => e.type === 'paid'), 10_000, 'paid');
    await device.announcer.idle();
    await press(PINS.replay);
    await device.announcer.idle();
    expect(spoken().filter((t) => t === 'Received two hundred fifty rupees')).toHaveLength(2);

    const second = await device.counter.startSale({ amount: paise(100), source: 'simulator' });
    await press(PINS['cancel-sale']);
    expect(events.at(-1)).toMatchObject({ type: 'cancelled', tr: second.tr, reason: 'clerk' });
    expect(display.last?.screen.kind).toBe('cancelled');
  });

  it('speak the status on a long press of replay', async () => {
    await press(PINS.replay, 2100);
    await device.announcer.idle();
    expect(spoken().at(-1)).toMatch(/^Network connected/);
  });

  it('show the information screen on a long press of cancel, then go back', async () => {
    await press(PINS['cancel-sale'], 2100);
    const info = display.last?.screen;
    expect(info).toMatchObject({ kind: 'info', deviceId: 'MYS01', broker: broker.url });
    expect(info?.kind === 'info' ? info.identity : '').toMatch(/^dakbox:\/\/device\?id=MYS01&fw=/);
    clock.advance(30_000);
    await settle();
    expect(display.last?.screen.kind).toBe('idle');
  });
});

describe('the lights and the buzzer', () => {
  it('show the link steady, beep on a QR, flash green on a payment', async () => {
    expect(io.level(PINS.linkLed!)).toBe(1);
    writes = [];
    const sale = await device.counter.startSale({ amount: paise(500), source: 'simulator' });
    expect(writes.some((w) => w.pin === PINS.buzzer && w.value === 1)).toBe(true);
    writes = [];
    await backend.pay('MYS01', sale.tr, { amount: '5.00' });
    await eventually(() => events.some((e) => e.type === 'paid'), 10_000, 'paid');
    expect(writes.some((w) => w.pin === PINS.paidLed && w.value === 1)).toBe(true);
  });
});

describe('what the soundbox says on its own', () => {
  beforeAll(() => {
    announce = { prompts: true, daySummaryAt: '20:00' };
  });
  afterAll(() => {
    announce = { prompts: false };
  });

  it('says it is connected, then that the network is lost (after 5 s) and back', async () => {
    await device.announcer.idle();
    expect(spoken()).toContain('Connected to the payment service');
    const port = broker.port;
    await broker.stop();
    await eventually(() => device.link.state === 'offline', 10_000, 'offline');
    clock.advance(4_000);
    await settle();
    expect(spoken()).not.toContain('Network connection lost');
    clock.advance(1_000);
    await device.announcer.idle();
    expect(spoken().at(-1)).toBe('Network connection lost');
    broker = await EmbeddedBroker.start(port);
    clock.advance(60_000);
    await eventually(() => device.link.state === 'online', 10_000, 'online again');
    await device.announcer.idle();
    expect(spoken().at(-1)).toBe('Network connection restored');
  });

  it("speaks today's count and total at the configured time", async () => {
    const sale = await device.counter.startSale({ amount: paise(1845000), source: 'simulator' });
    await backend.pay('MYS01', sale.tr, { amount: '18450.00' });
    await eventually(() => events.some((e) => e.type === 'paid'), 10_000, 'paid');
    await device.announcer.idle();
    clock.advance(60_000);
    await device.announcer.idle();
    expect(spoken().at(-1)).toBe('Today: one payment, eighteen thousand four hundred fifty rupees');
  });
});

describe('a board running short', () => {
  beforeAll(() => {
    announce = { prompts: true };
  });
  afterAll(() => {
    announce = { prompts: false };
    board.freeMemory = 512 * 1024 * 1024;
    board.freeStorage = 8 * 1024 * 1024 * 1024;
  });

  it('says memory is low and storage is almost full, once an hour, not every minute', async () => {
    await device.announcer.idle();
    board.freeMemory = 20 * 1024 * 1024;
    board.freeStorage = 10 * 1024 * 1024;
    clock.advance(60_000);
    await device.announcer.idle();
    expect(spoken().slice(-2)).toEqual(['Memory is low', 'Storage is almost full']);
    const count = spoken().length;
    clock.advance(60_000);
    await device.announcer.idle();
    expect(spoken()).toHaveLength(count);
    expect(device.telemetry()).toMatchObject({ memory: { systemFreeBytes: 20 * 1024 * 1024 }, storageFreeBytes: 10 * 1024 * 1024 });
  });
});
