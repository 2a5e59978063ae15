import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONTROLS_PINS } from '../adapters/controls/board-controls.js';
import { VirtualIo, type PinWrite } from '../adapters/controls/virtual-io.js';
import type { PinId } from '../adapters/controls/io-plugin.js';
import { WavSpeaker, type Recording } from '../adapters/speaker/wav-speaker.js';
import { loadConfig, saveSettings, type DeviceSettingsInput } from '../core/config.js';
import { InputError } from '../core/errors.js';
import type { Language } from '../core/language.js';
import type { Logger } from '../core/log.js';
import { formatWireAmount, parseAmountInput } from '../core/money.js';
import type { PaymentRecord } from '../core/payment/ledger.js';
import type { BillingLine } from '../core/ports/billing-line.js';
import type { ButtonName } from '../core/ports/controls.js';
import type { PanelSize } from '../core/ports/display.js';
import type { Speaker, Utterance } from '../core/ports/speaker.js';
import type { CounterStatus, SaleSnapshot } from '../core/sale/counter-port.js';
import { Device } from '../device/device.js';
import { buildParts } from '../device/parts.js';
import { BillingWire } from './billing-wire.js';
import { LcdGlass, type GlassFrame } from './lcd-glass.js';
import { NetworkCable } from './network-cable.js';
import { OffsetClock } from './offset-clock.js';

/** The LEDs and buzzer as the firmware last drove their pins. */
export interface LedStates {
  link: boolean;
  paid: boolean;
  failed: boolean;
  buzzer: boolean;
}

export type LedName = keyof LedStates;

export interface FrameEvent extends GlassFrame {
  deviceId: string;
}

/** One sound the device made: a sentence (with its text and language) or the chime. */
export interface SpeechEvent {
  deviceId: string;
  text: string;
  language: Language;
  /** True for the chime, which has no text. */
  chime: boolean;
  voice: string;
  durationMs: number;
  /** The sound exactly as written by the device's speaker: a WAV file's bytes. */
  wav: Buffer;
  /** Device wall-clock time it began. */
  at: number;
}

/** One line on the billing cable: `to-pc` the device wrote it, `to-device` a billing PC did. */
export interface BillingEvent {
  deviceId: string;
  direction: 'to-pc' | 'to-device';
  line: string;
  /** The line parsed, when it is a JSON object. */
  message?: Record<string, unknown>;
}

export interface LogEntry {
  deviceId: string;
  /** pino's level name: trace, debug, info, warn, error, fatal. */
  level: string;
  time: number;
  msg: string;
  feature?: string;
  /** Every other field of the line. */
  fields: Record<string, unknown>;
}

export interface PowerEvent {
  deviceId: string;
  on: boolean;
  /** 1 for the first start, one more after each power cut. */
  generation: number;
}

export interface CounterEvents {
  frame: [FrameEvent];
  leds: [{ deviceId: string; leds: LedStates }];
  speech: [SpeechEvent];
  billing: [BillingEvent];
  log: [LogEntry];
  power: [PowerEvent];
}

export interface SaleWithPayments extends SaleSnapshot {
  payments: PaymentRecord[];
}

export interface SimulatedCounterOptions {
  /** The device's folder: device.json, secrets.json, the ledger, frames and sounds. */
  dir: string;
  /** device.json as the simulation wants it at the first start; the broker URL is replaced by this counter's network cable. */
  settings: DeviceSettingsInput;
  brokerUrl: string;
  size: PanelSize;
  /** Where the device's log lines are echoed (the simulation's log), besides the ring kept here. */
  echo?: Logger;
  logLevel?: string;
  /** How many log lines are kept for `logLines`. */
  logLines?: number;
}

const LED_PINS: Record<LedName, number | undefined> = {
  link: pinNumber(DEFAULT_CONTROLS_PINS.linkLed),
  paid: pinNumber(DEFAULT_CONTROLS_PINS.paidLed),
  failed: pinNumber(DEFAULT_CONTROLS_PINS.failedLed),
  buzzer: pinNumber(DEFAULT_CONTROLS_PINS.buzzer),
};

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function buttonPin(button: ButtonName): PinId {
  const pin = DEFAULT_CONTROLS_PINS[button];
  if (pin === undefined) throw new InputError('button', `${JSON.stringify(button)} is not one of volume-up, volume-down, replay, cancel-sale`);
  return pin;
}

/** A press of 2 s or more is a long press on the device. */
export const HOLD_MS = 2200;
export const PRESS_MS = 150;
/** The shortest press a finger makes; the firmware's debounce ignores shorter ones. */
const MIN_PRESS_MS = 80;

/** One running Device and what it is wired to: its LCD, speaker, buttons, billing cable and network. */
interface Generation {
  number: number;
  device: Device;
  io: VirtualIo;
  glass: LcdGlass;
  speaker: PowerSwitch;
  network: NetworkCable;
  alive: boolean;
}

/**
 * One simulated counter: a real Device (the firmware's own core, features
 * and adapters) whose LCD, speaker, buttons, billing cable and network are
 * the simulator's, so everything it does can be watched and every fault can
 * be made to happen.
 */
export class SimulatedCounter extends EventEmitter<CounterEvents> {
  readonly clock = new OffsetClock();
  readonly wire = new BillingWire();
  private current!: Generation;
  private size: PanelSize;
  private readonly logRing: LogEntry[] = [];
  private ledState: LedStates = { link: false, paid: false, failed: false, buzzer: false };
  private requestSeq = 0;
  /** When each button now held was pushed down. */
  private readonly pushedAt = new Map<ButtonName, number>();
  private networkTimer: NodeJS.Timeout | undefined;
  private cableTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  /** The stops of devices dropped by power cuts, finishing in the background. */
  private readonly dropped: Promise<void>[] = [];
  private stopped = false;

  private constructor(
    readonly deviceId: string,
    private readonly options: SimulatedCounterOptions,
  ) {
    super();
    this.size = { ...options.size };
    this.wire.on('to-pc', (line) => this.billingLine('to-pc', line));
    this.wire.on('to-device', (line) => this.billingLine('to-device', line));
  }

  static async start(deviceId: string, options: SimulatedCounterOptions): Promise<SimulatedCounter> {
    const counter = new SimulatedCounter(deviceId, options);
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    await counter.boot(1);
    return counter;
  }

  // --- what the device is doing ---------------------------------------------

  /** The Device of this power-on; replaced after a power cut. */
  get device(): Device {
    return this.current.device;
  }

  get dir(): string {
    return this.options.dir;
  }

  get generation(): number {
    return this.current.number;
  }

  get panelSize(): PanelSize {
    return { ...this.size };
  }

  /** The latest LCD picture, if the device has drawn one. */
  get frame(): FrameEvent | undefined {
    const latest = this.current.glass.latest;
    return latest ? { ...latest, deviceId: this.deviceId } : undefined;
  }

  get leds(): LedStates {
    return { ...this.ledState };
  }

  get networkCut(): boolean {
    return this.current.network.isCut;
  }

  get cablePulled(): boolean {
    return this.wire.isPulled;
  }

  status(): CounterStatus {
    return this.current.device.counter.status();
  }

  /** The newest log lines, oldest first. */
  logLines(): LogEntry[] {
    return [...this.logRing];
  }

  /** The most recent sales (newest first), each with every payment the ledger holds for it. */
  recentSales(limit = 20): SaleWithPayments[] {
    const ledger = this.liveDevice('read the ledger').ledger;
    const trs: string[] = [];
    // The billing events name every sale the ledger issued, newest last.
    const events = ledger.eventsAfter(Math.max(0, ledger.lastEventSeq() - 10 * limit), 10 * limit);
    for (let i = events.length - 1; i >= 0 && trs.length < limit; i--) {
      const event = events[i]?.event;
      const tr = event ? (event.type === 'qr' ? event.sale.tr : event.tr) : undefined;
      if (tr && !trs.includes(tr)) trs.push(tr);
    }
    return trs.flatMap((tr) => {
      const sale = ledger.findSale(tr);
      return sale ? [{ ...sale, payments: ledger.paymentsForSale(tr) }] : [];
    });
  }

  /** Payments among the recent sales, newest first. */
  recentPayments(limit = 20): PaymentRecord[] {
    return this.recentSales(limit)
      .flatMap((sale) => sale.payments)
      .sort((a, b) => b.receivedAt - a.receivedAt)
      .slice(0, limit);
  }

  // --- the clerk and the billing PC -----------------------------------------

  /** Presses a button for `holdMs` (HOLD_MS or more is a long press), through the board's own input pins. */
  async press(button: ButtonName, holdMs = PRESS_MS): Promise<void> {
    if (!Number.isFinite(holdMs) || holdMs < 0 || holdMs > 60_000) throw new InputError('holdMs', 'must be 0 to 60000 ms');
    this.buttonDown(button);
    await delay(holdMs);
    await this.buttonUp(button);
    await delay(60);
  }

  /**
   * Pushes a button down and leaves it down until `buttonUp`, as a finger
   * does: the firmware sees the pin low for as long as it is held, so a long
   * press acts while the button is still held, as on the device.
   */
  buttonDown(button: ButtonName): void {
    this.liveGeneration('press a button').io.drive(buttonPin(button), 0);
    this.pushedAt.set(button, performance.now());
  }

  /**
   * Lets a button go: the pin goes back to the level the pull-up gives it.
   * A click can come and go within a millisecond, shorter than the
   * firmware's debounce; a finger's press lasts at least MIN_PRESS_MS, so
   * the button is held that long before it is let go.
   */
  async buttonUp(button: ButtonName): Promise<void> {
    const pushedAt = this.pushedAt.get(button);
    this.pushedAt.delete(button);
    if (pushedAt !== undefined) {
      const left = MIN_PRESS_MS - (performance.now() - pushedAt);
      if (left > 0) await delay(left);
    }
    this.liveGeneration('let go of a button').io.drive(buttonPin(button), undefined);
  }

  /**
   * Rings up a sale the way the billing PC does: a `sale` request line on the
   * billing cable. Resolves with the device's reply; a refusal throws an
   * InputError carrying the device's code and message.
   */
  async sale(request: { amount: string; ref?: string; note?: string; expiresIn?: number }): Promise<Record<string, unknown>> {
    const amount = formatWireAmount(parseAmountInput(request.amount));
    return this.billingRequest({
      op: 'sale',
      amount,
      ...(request.ref !== undefined ? { ref: request.ref } : {}),
      ...(request.note !== undefined ? { note: request.note } : {}),
      ...(request.expiresIn !== undefined ? { expiresIn: request.expiresIn } : {}),
    });
  }

  /** Any request of the billing protocol (docs/billing-protocol.md); `id` is added. Resolves with the reply. */
  async billingRequest(request: Record<string, unknown>, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const id = `sim-${++this.requestSeq}`;
    const line = JSON.stringify({ id, ...request });
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('billing', onLine);
        reject(new InputError('billing', `the device did not answer ${String(request.op)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLine = (event: BillingEvent): void => {
        if (event.direction !== 'to-pc' || event.message?.id !== id || !('ok' in event.message)) return;
        clearTimeout(timer);
        this.off('billing', onLine);
        resolve(event.message);
      };
      this.on('billing', onLine);
      if (!this.wire.send(line)) {
        clearTimeout(timer);
        this.off('billing', onLine);
        reject(new InputError('billing', 'the billing cable is pulled out'));
      }
    });
    const answer = await reply;
    if (answer.ok === false) {
      throw new InputError(String(answer.field ?? request.op), `${String(answer.code)}: ${String(answer.message)}`);
    }
    return answer;
  }

  // --- faults ---------------------------------------------------------------

  /** Pulls the billing cable out; put back after `seconds`, or by `plugCable`. */
  pullCable(seconds?: number): void {
    if (seconds !== undefined) checkSeconds(seconds, 'seconds');
    clearTimeout(this.cableTimer);
    this.wire.pull();
    if (seconds !== undefined) this.cableTimer = setTimeout(() => this.plugCable(), seconds * 1000);
  }

  plugCable(): void {
    clearTimeout(this.cableTimer);
    this.cableTimer = undefined;
    this.wire.plugBack();
  }

  /** Cuts the device's network for `seconds`: its broker connection dies without a word and cannot be made again until then. */
  dropNetwork(seconds: number): void {
    checkSeconds(seconds, 'seconds');
    clearTimeout(this.networkTimer);
    void this.current.network.sever();
    this.networkTimer = setTimeout(() => this.restoreNetwork(), seconds * 1000);
  }

  restoreNetwork(): void {
    clearTimeout(this.networkTimer);
    this.networkTimer = undefined;
    this.current.network.restore();
  }

  /** Steps the device's wall clock by `ms` (negative steps it back); monotonic time and timers do not move. */
  stepClock(ms: number): void {
    if (!Number.isInteger(ms) || Math.abs(ms) > 10 * 365 * 86_400_000) throw new InputError('ms', 'must be a whole number of milliseconds within ten years');
    this.clock.step(ms);
  }

  /**
   * Cuts the power: the device is not stopped but dropped where it stands.
   * Its ledger handle closes with nothing more written (no announcement
   * marked, no event delivered), its broker connections are destroyed without
   * a DISCONNECT (the broker sends its will), its screen and speaker go dead
   * mid-frame and mid-sentence, its billing stream closes. Then a new Device
   * starts on the same config and ledger, as after the power comes back;
   * what it does then (a payment said again, events sent again) is the
   * firmware's own boot.
   */
  async powerCut(offMs = 500): Promise<void> {
    if (this.restarting) throw new InputError('power', 'the device is already restarting after a power cut');
    const old = this.liveGeneration('cut the power');
    this.restarting = (async () => {
      // All at once, before any timer of the old device can run again.
      old.alive = false;
      // Nothing more reaches the disk: later writes by the dropped device fail.
      old.device.ledger.close();
      old.glass.powerOff();
      old.speaker.powerOff();
      const unplugged = old.network.sever();
      const cableWasOut = this.cablePulled;
      this.wire.pull();
      // Once its broker client has seen the connection die (so it says
      // nothing more on the way out), its timers and handles are let go;
      // with the ledger, network, screen and speaker gone, its stop can no
      // longer change anything.
      await unplugged;
      this.dropped.push(old.device.stop().catch(() => undefined));
      await old.network.remove();
      this.emit('power', { deviceId: this.deviceId, on: false, generation: old.number });
      await delay(offMs);
      await this.boot(old.number + 1);
      if (!cableWasOut) this.wire.plugBack();
    })();
    try {
      await this.restarting;
    } finally {
      this.restarting = undefined;
    }
  }

  /** Switches the LCD to another panel size; the device keeps running. */
  async setPanelSize(size: PanelSize | string): Promise<void> {
    await this.current.glass.resize(size);
    this.size = { ...this.current.glass.size };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.networkTimer);
    clearTimeout(this.cableTimer);
    await this.restarting?.catch(() => undefined);
    const generation = this.current;
    // A graceful stop: the device's last log lines and frames still count.
    await generation.device.stop();
    generation.alive = false;
    await this.wire.stop();
    await generation.network.remove();
    // A dropped device's stop has nothing left to do that matters; it is not waited for long.
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.dropped), new Promise((resolve) => (giveUp = setTimeout(resolve, 5_000)))]);
    clearTimeout(giveUp);
  }

  // --- wiring ---------------------------------------------------------------

  private async boot(number: number): Promise<void> {
    const network = await NetworkCable.lay(this.options.brokerUrl);
    const configPath = join(this.options.dir, 'device.json');
    // After a power cut the device comes back with the settings it had saved (its volume, say).
    const base: DeviceSettingsInput = number === 1 ? this.options.settings : loadConfig(configPath).settings;
    const settings: DeviceSettingsInput = { ...base, mqtt: { ...base.mqtt, url: network.urlFor(this.options.brokerUrl) } };
    saveSettings(configPath, settings);
    const config = loadConfig(configPath);
    const io = new VirtualIo();
    // Lines logged while the parts are built belong to this power-on too.
    const started: { generation?: Generation } = {};
    const log = this.deviceLog(() => started.generation?.alive ?? true);
    const parts = await buildParts(config, log, this.clock, io);
    const wav = parts.speaker;
    if (!(wav instanceof WavSpeaker)) throw new Error('the simulated device needs a WAV speaker');
    await parts.display?.close();
    const glass = new LcdGlass(this.size, join(this.options.dir, 'frames', 'screen.png'));
    mkdirSync(join(this.options.dir, 'frames'), { recursive: true });
    const speaker = new PowerSwitch(wav);
    // The cable outlives each power-on: a dropped device's stop must not pull it.
    const billingLine: BillingLine = { start: (target) => this.wire.start(target), stop: () => Promise.resolve() };
    const device = new Device({ config, parts: { ...parts, display: glass, speaker, billingLine }, log, clock: this.clock });
    const live: Generation = { number, device, io, glass, speaker, network, alive: true };
    started.generation = live;
    glass.on('frame', (frame) => {
      if (live.alive) this.emit('frame', { ...frame, deviceId: this.deviceId });
    });
    wav.on('recording', (recording) => {
      if (live.alive) void this.recorded(recording, live);
    });
    io.on('write', (write: PinWrite) => {
      if (live.alive) this.pinWritten(write);
    });
    this.current = live;
    this.ledState = { link: false, paid: false, failed: false, buzzer: false };
    device.start();
    this.emit('power', { deviceId: this.deviceId, on: true, generation: number });
  }

  private async recorded(recording: Recording, generation: Generation): Promise<void> {
    let wav: Buffer;
    try {
      wav = await readFile(recording.file);
    } catch {
      return;
    }
    if (!generation.alive) return;
    this.emit('speech', {
      deviceId: this.deviceId,
      text: recording.text,
      language: recording.language,
      chime: recording.voice === 'chime' || recording.text === '',
      voice: recording.voice,
      durationMs: recording.durationMs,
      wav,
      at: recording.startedAt,
    });
  }

  private pinWritten(write: PinWrite): void {
    for (const [name, pin] of Object.entries(LED_PINS) as [LedName, number | undefined][]) {
      if (pin !== write.pin) continue;
      const lit = write.value > 0;
      if (this.ledState[name] === lit) return;
      this.ledState = { ...this.ledState, [name]: lit };
      this.emit('leds', { deviceId: this.deviceId, leds: this.leds });
    }
  }

  private billingLine(direction: BillingEvent['direction'], line: string): void {
    let message: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) message = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: line noise or a broken request, passed on as text.
    }
    this.emit('billing', { deviceId: this.deviceId, direction, line, ...(message ? { message } : {}) });
  }

  /** The device's pino log, each line kept in the ring, emitted, and echoed to the simulation's log. */
  private deviceLog(alive: () => boolean): Logger {
    const keep = this.options.logLines ?? 500;
    const echo = this.options.echo?.child({ device: this.deviceId });
    const sink = {
      write: (text: string): void => {
        if (!alive()) return;
        let raw: Record<string, unknown>;
        try {
          raw = JSON.parse(text) as Record<string, unknown>;
        } catch {
          return;
        }
        const { level, time, msg, feature, pid: _pid, hostname: _hostname, ...fields } = raw;
        const entry: LogEntry = {
          deviceId: this.deviceId,
          level: LEVELS[Number(level)] ?? String(level),
          time: Number(time),
          msg: typeof msg === 'string' ? msg : '',
          ...(typeof feature === 'string' ? { feature } : {}),
          fields,
        };
        this.logRing.push(entry);
        if (this.logRing.length > keep) this.logRing.splice(0, this.logRing.length - keep);
        this.emit('log', entry);
        if (echo) {
          const method = echo[entry.level as 'info'];
          if (typeof method === 'function') method.call(echo, { ...fields, ...(entry.feature ? { feature: entry.feature } : {}) }, entry.msg);
        }
      },
    };
    return pino({ level: this.options.logLevel ?? 'info' }, sink);
  }

  private liveGeneration(what: string): Generation {
    if (this.stopped) throw new InputError(this.deviceId, `is stopped; cannot ${what}`);
    if (this.restarting || !this.current.alive) throw new InputError(this.deviceId, `is restarting after a power cut; cannot ${what} yet`);
    return this.current;
  }

  private liveDevice(what: string): Device {
    return this.liveGeneration(what).device;
  }
}

/**
 * The device's speaker behind its power supply: when the power goes, the
 * sentence being spoken stops there and never finishes, and nothing more is
 * said.
 */
class PowerSwitch implements Speaker {
  private on = true;
  private readonly cut = new Set<(err: Error) => void>();

  constructor(private readonly inner: WavSpeaker) {}

  speak(utterance: Utterance): Promise<void> {
    return this.whilePowered(() => this.inner.speak(utterance));
  }

  chime(volume: number): Promise<void> {
    return this.whilePowered(() => this.inner.chime(volume));
  }

  powerOff(): void {
    this.on = false;
    for (const stop of this.cut) stop(new Error('the power went'));
    this.cut.clear();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private whilePowered(sound: () => Promise<void>): Promise<void> {
    if (!this.on) return Promise.reject(new Error('the power is off'));
    return new Promise<void>((resolve, reject) => {
      this.cut.add(reject);
      sound().then(resolve, reject).finally(() => this.cut.delete(reject));
    });
  }
}

function pinNumber(pin: string | number | undefined): number | undefined {
  if (pin === undefined) return undefined;
  return typeof pin === 'number' ? pin : Number(/\d+/.exec(pin)?.[0]);
}

function checkSeconds(seconds: number, field: string): void {
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new InputError(field, 'must be more than 0 and at most 3600 seconds');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
