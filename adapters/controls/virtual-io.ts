import { EventEmitter } from 'node:events';
import type { IoPinState, IoPlugin, PinId } from './io-plugin.js';

const MODES = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4 } as const;

/** The Raspberry Pi's hardware-PWM GPIOs, so LEDs on them behave as on the device. */
const PWM_PINS: ReadonlySet<number> = new Set([12, 13, 18, 19]);

/** The 40-pin header's GPIO0..GPIO27. */
const DEFAULT_PIN_COUNT = 28;

export interface PinWrite {
  pin: number;
  value: number;
  mode: 'digital' | 'pwm';
}

interface VirtualPin extends IoPinState {
  pullUp: boolean;
  /** The level a button or switch is driving onto an input, if any. */
  driven: number | undefined;
  readers: ((value: number) => void)[];
  lastReported: number | undefined;
}

/**
 * A johnny-five IO plugin with no hardware behind it, for the simulator and
 * tests. It keeps the contract a real plugin keeps: `connect` then `ready`
 * after construction, pins with their supported modes, digitalRead handlers
 * called with a pin's level whenever it changes, pull-ups enabled by writing
 * HIGH to an input. The other side of the wires is `drive(pin, level)`
 * (a finger on a button) and `level(pin)` / the `write` event (an LED).
 */
export class VirtualIo extends EventEmitter implements IoPlugin {
  readonly name = 'dakbox virtual IO';
  readonly MODES = MODES;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly analogPins: readonly number[] = [];
  readonly RESOLUTION = { ADC: 1023, DAC: null, PWM: 255 };
  private ready = false;
  private readonly state: VirtualPin[];

  constructor(options: { pinCount?: number } = {}) {
    super();
    const count = options.pinCount ?? DEFAULT_PIN_COUNT;
    if (!Number.isInteger(count) || count < 1) throw new TypeError(`pin count must be a positive integer, got ${count}`);
    this.state = Array.from({ length: count }, (_, pin) => ({
      supportedModes: PWM_PINS.has(pin) ? [MODES.INPUT, MODES.OUTPUT, MODES.PWM] : [MODES.INPUT, MODES.OUTPUT],
      mode: undefined,
      value: 0,
      report: 0,
      analogChannel: 127,
      pullUp: false,
      driven: undefined,
      readers: [],
      lastReported: undefined,
    }));
    // A real plugin connects asynchronously; listeners attached right after construction must not miss it.
    process.nextTick(() => {
      this.ready = true;
      this.emit('connect');
      this.emit('ready');
    });
  }

  get isReady(): boolean {
    return this.ready;
  }

  get pins(): readonly IoPinState[] {
    return this.state;
  }

  /** Accepts 17 or "GPIO17", as raspi-io does for Broadcom numbering. */
  normalize(pin: PinId): number {
    const number = typeof pin === 'number' ? pin : /^GPIO(\d+)$/i.exec(pin)?.[1];
    const index = Number(number);
    if (number === undefined || !Number.isInteger(index) || index < 0 || index >= this.state.length) {
      throw new RangeError(`no pin ${JSON.stringify(pin)} on ${this.name}`);
    }
    return index;
  }

  pinMode(pin: PinId, mode: number): void {
    const p = this.pin(pin);
    if (!p.supportedModes.includes(mode)) throw new RangeError(`pin ${String(pin)} does not support mode ${mode}`);
    p.mode = mode;
    if (mode === MODES.INPUT) p.report = 1;
    this.settle(p);
  }

  digitalRead(pin: PinId, handler: (value: number) => void): void {
    const p = this.pin(pin);
    p.readers.push(handler);
    // Like Firmata, enabling a report sends the current level at once.
    const level = this.inputLevel(p);
    p.lastReported = level;
    handler(level);
  }

  digitalWrite(pin: PinId, value: number): void {
    const p = this.pin(pin);
    const level = value ? 1 : 0;
    if (p.mode === MODES.INPUT) {
      // HIGH on an input turns its pull-up on, as on Firmata and the Pi plugins.
      p.pullUp = level === 1;
      this.settle(p);
      return;
    }
    p.value = level;
    this.emit('write', { pin: this.normalize(pin), value: level, mode: 'digital' } satisfies PinWrite);
  }

  pwmWrite(pin: PinId, value: number): void {
    const p = this.pin(pin);
    p.value = Math.max(0, Math.min(255, Math.round(value)));
    this.emit('write', { pin: this.normalize(pin), value: p.value, mode: 'pwm' } satisfies PinWrite);
  }

  analogWrite(pin: PinId, value: number): void {
    this.pwmWrite(pin, value);
  }

  analogRead(_pin: PinId, _handler: (value: number) => void): void {
    // No analog inputs on the Pi's header.
  }

  queryPinState(_pin: PinId, callback: () => void): void {
    process.nextTick(callback);
  }

  reset(): void {
    for (const p of this.state) p.readers = [];
  }

  /**
   * Drives an input from outside, as a button or a wire would: `undefined`
   * lets go, leaving the pin to its pull-up (1) or floating low (0).
   */
  drive(pin: PinId, level: 0 | 1 | undefined): void {
    const p = this.pin(pin);
    p.driven = level;
    this.settle(p);
  }

  /** What the firmware last wrote to an output (0/1, or 0..255 for PWM). */
  level(pin: PinId): number {
    return this.pin(pin).value;
  }

  private inputLevel(p: VirtualPin): number {
    return p.driven ?? (p.pullUp ? 1 : 0);
  }

  private settle(p: VirtualPin): void {
    if (p.mode !== MODES.INPUT) return;
    const level = this.inputLevel(p);
    p.value = level;
    if (level === p.lastReported) return;
    p.lastReported = level;
    for (const reader of p.readers) reader(level);
  }

  private pin(pin: PinId): VirtualPin {
    const p = this.state[this.normalize(pin)];
    if (!p) throw new RangeError(`no pin ${JSON.stringify(pin)} on ${this.name}`);
    return p;
  }
}
