import { EventEmitter } from 'node:events';
import five from 'johnny-five';
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { LinkState } from '../../core/link/link-state.js';
import { BUTTONS, type ButtonName, type ControlAction, type Controls } from '../../core/ports/controls.js';
import type { IoPlugin, PinId } from './io-plugin.js';

/** Long presses unless configured otherwise. */
export const DEFAULT_LONG_PRESS: Readonly<Partial<Record<ButtonName, ControlAction>>> = { replay: 'status', 'cancel-sale': 'info' };

/** The link LED: off (offline), blinking (connecting), steady (online). */
export type LinkLight = 'off' | 'blinking' | 'steady';

export interface ControlsPins {
  'volume-up': PinId;
  'volume-down': PinId;
  replay: PinId;
  'cancel-sale': PinId;
  /** LEDs and the buzzer are optional: a board without one simply lacks it. */
  linkLed?: PinId;
  /** The green half of the payment LED. */
  paidLed?: PinId;
  /** The red half of the payment LED. */
  failedLed?: PinId;
  buzzer?: PinId;
}

/** Broadcom GPIO numbers on the reference board; none is a hardware-PWM or bus pin. */
export const DEFAULT_CONTROLS_PINS: ControlsPins = {
  'volume-up': 5,
  'volume-down': 6,
  replay: 16,
  'cancel-sale': 26,
  linkLed: 17,
  paidLed: 27,
  failedLed: 22,
  buzzer: 23,
};

export interface ControlsOptions {
  io: IoPlugin;
  clock: Clock;
  log: Logger;
  pins?: Partial<ControlsPins>;
  /**
   * Buttons connect the pin to ground and the internal pull-up holds it high
   * (default); false for buttons that connect to 3.3 V.
   */
  activeLow?: boolean;
  /** A level must hold this long to count: contact bounce on cheap buttons lasts a few ms. */
  debounceMs?: number;
  /** Holding a button this long is a long press. */
  longPressMs?: number;
  /** What a long press of each button does; by default DEFAULT_LONG_PRESS. */
  longPress?: Partial<Record<ButtonName, ControlAction>>;
  /** Beep the buzzer when a QR is shown. */
  beepOnQr?: boolean;
  readyTimeoutMs?: number;
}

type ControlsEvents = { action: [ControlAction] } & { [A in ControlAction]: [] };

const BLINK_MS = 500;
const PAID_FLASH_MS = 125;
const PAID_FLASHES = 12;
const FAILED_MS = 5000;
const BEEP_MS = 120;

interface ButtonState {
  name: ButtonName;
  pin: PinId;
  raw: number | undefined;
  pressed: boolean;
  /** False until the button has been seen released: one held at start-up does nothing. */
  armed: boolean;
  settleTimer: TimerHandle | undefined;
  longTimer: TimerHandle | undefined;
  longFired: boolean;
}

/** An output that is on or off: an LED or the buzzer, each with one pattern running at a time. */
interface Lamp {
  on(): void;
  off(): void;
  timer: TimerHandle | undefined;
}

/**
 * The device's buttons, LEDs and buzzer through johnny-five. It knows
 * nothing of sales or speech: it reports what the clerk pressed as events
 * ("volume-up", "volume-down", "replay", "cancel-sale", "status", and
 * "action" for all of them) and shows what it is told. Debouncing and long
 * presses run on the injected clock, so tests step through them exactly.
 */
export class BoardControls extends EventEmitter<ControlsEvents> implements Controls {
  readonly pins: ControlsPins;
  private readonly pressedLevel: number;
  private readonly buttons: ButtonState[] = [];
  private readonly lamps: Partial<Record<'link' | 'paid' | 'failed' | 'buzzer', Lamp>> = {};
  private link: LinkLight = 'off';
  private started = false;
  private stopped = false;

  constructor(private readonly options: ControlsOptions) {
    super();
    this.pins = { ...DEFAULT_CONTROLS_PINS, ...options.pins };
    this.pressedLevel = options.activeLow === false ? 1 : 0;
    for (const [name, ms] of [
      ['debounceMs', options.debounceMs],
      ['longPressMs', options.longPressMs],
    ] as const) {
      if (ms !== undefined && !(Number.isInteger(ms) && ms > 0)) throw new TypeError(`${name} must be a positive whole number of ms, got ${ms}`);
    }
  }

  /** The level a pressed button puts on its pin (for the simulator's virtual buttons). */
  get pressedPinLevel(): 0 | 1 {
    return this.pressedLevel === 1 ? 1 : 0;
  }

  /** Connects to the board and starts watching the buttons. */
  async start(): Promise<void> {
    if (this.started) throw new Error('controls already started');
    this.started = true;
    const { io, clock } = this.options;
    const boardOptions: five.BoardOption & { sigint: boolean } = { io, repl: false, sigint: false, debug: false };
    const board = new five.Board(boardOptions);
    await new Promise<void>((resolve, reject) => {
      const ms = this.options.readyTimeoutMs ?? 10_000;
      const timer = clock.setTimeout(() => reject(new Error(`the ${io.name} board was not ready within ${ms} ms`)), ms);
      board.on('ready', () => {
        clock.clearTimeout(timer);
        resolve();
      });
      board.on('error', (err) => {
        clock.clearTimeout(timer);
        reject(err);
      });
    });
    this.lamps.link = this.led(board, this.pins.linkLed);
    this.lamps.paid = this.led(board, this.pins.paidLed);
    this.lamps.failed = this.led(board, this.pins.failedLed);
    if (this.pins.buzzer !== undefined) {
      const pin = new five.Pin({ pin: this.pins.buzzer, board });
      this.lamps.buzzer = { on: () => pin.high(), off: () => pin.low(), timer: undefined };
      pin.low();
    }
    for (const name of BUTTONS) this.watch(name);
    this.setLink(this.link);
    this.options.log.info({ io: io.name, pins: this.pins }, 'controls ready');
  }

  /** Stops reacting to buttons and turns every light and the buzzer off. */
  stop(): void {
    this.stopped = true;
    for (const button of this.buttons) {
      this.options.clock.clearTimeout(button.settleTimer);
      this.options.clock.clearTimeout(button.longTimer);
    }
    for (const lamp of Object.values(this.lamps)) this.pattern(lamp, [], false);
  }

  setLink(light: LinkLight): void {
    this.link = light;
    const lamp = this.lamps.link;
    if (!lamp) return;
    switch (light) {
      case 'off':
        this.pattern(lamp, [], false);
        break;
      case 'steady':
        this.pattern(lamp, [], true);
        break;
      case 'blinking':
        this.blink(lamp, true);
        break;
    }
  }

  /** The link LED for a payment-link state. */
  showLink(state: LinkState): void {
    this.setLink(linkLightFor(state));
  }

  /** Flashes the green LED for a few seconds: a payment was received. */
  paid(): void {
    if (this.lamps.failed) this.pattern(this.lamps.failed, [], false);
    if (this.lamps.paid) this.pattern(this.lamps.paid, Array<number>(PAID_FLASHES * 2 - 1).fill(PAID_FLASH_MS), true);
  }

  /** Lights the red LED for a few seconds: a payment failed. */
  failed(): void {
    if (this.lamps.paid) this.pattern(this.lamps.paid, [], false);
    if (this.lamps.failed) this.pattern(this.lamps.failed, [FAILED_MS], true);
  }

  /** A short beep when a QR appears, if the device is set to beep. */
  qrShown(): void {
    if (this.options.beepOnQr === false || !this.lamps.buzzer) return;
    this.pattern(this.lamps.buzzer, [BEEP_MS], true);
  }

  private led(board: five.Board, pin: PinId | undefined): Lamp | undefined {
    if (pin === undefined) return undefined;
    const led = new five.Led({ pin, board });
    led.off();
    return { on: () => led.on(), off: () => led.off(), timer: undefined };
  }

  /**
   * Starts `lamp` in state `first` and toggles it after each duration in
   * turn, ending off; with no durations it simply stays in `first`.
   */
  private pattern(lamp: Lamp, durations: readonly number[], first: boolean): void {
    const { clock } = this.options;
    clock.clearTimeout(lamp.timer);
    lamp.timer = undefined;
    if (this.stopped && first) return;
    let lit = first;
    if (lit) lamp.on();
    else lamp.off();
    const step = (index: number): void => {
      const ms = durations[index];
      if (ms === undefined) return;
      lamp.timer = clock.setTimeout(() => {
        lit = index + 1 < durations.length ? !lit : false;
        if (lit) lamp.on();
        else lamp.off();
        step(index + 1);
      }, ms);
    };
    step(0);
  }

  private blink(lamp: Lamp, lit: boolean): void {
    const { clock } = this.options;
    clock.clearTimeout(lamp.timer);
    if (this.stopped) return;
    if (lit) lamp.on();
    else lamp.off();
    lamp.timer = clock.setTimeout(() => this.blink(lamp, !lit), BLINK_MS);
  }

  private watch(name: ButtonName): void {
    const { io } = this.options;
    const pin = this.pins[name];
    const button: ButtonState = { name, pin, raw: undefined, pressed: false, armed: false, settleTimer: undefined, longTimer: undefined, longFired: false };
    this.buttons.push(button);
    io.pinMode(pin, io.MODES.INPUT);
    // Writing HIGH to an input enables its pull-up on Firmata-style plugins; LOW keeps it off for active-high wiring.
    io.digitalWrite(pin, this.pressedLevel === 0 ? io.HIGH : io.LOW);
    io.digitalRead(pin, (level) => this.onLevel(button, level));
  }

  private onLevel(button: ButtonState, level: number): void {
    if (this.stopped) return;
    const { clock } = this.options;
    if (button.raw === undefined) {
      // The first report is where the button rests, not a press.
      button.raw = level;
      button.pressed = level === this.pressedLevel;
      button.armed = !button.pressed;
      if (!button.armed) this.options.log.warn({ button: button.name }, `${button.name} button is held down at start; ignored until released`);
      return;
    }
    button.raw = level;
    clock.clearTimeout(button.settleTimer);
    button.settleTimer = clock.setTimeout(() => this.settle(button), this.options.debounceMs ?? 30);
  }

  private settle(button: ButtonState): void {
    button.settleTimer = undefined;
    const pressed = button.raw === this.pressedLevel;
    if (pressed === button.pressed) return;
    button.pressed = pressed;
    if (!button.armed) {
      if (!pressed) button.armed = true;
      return;
    }
    const { clock } = this.options;
    const longAction = (this.options.longPress ?? DEFAULT_LONG_PRESS)[button.name];
    if (pressed) {
      if (!longAction) {
        this.act(button.name);
        return;
      }
      button.longFired = false;
      button.longTimer = clock.setTimeout(() => {
        button.longTimer = undefined;
        button.longFired = true;
        this.act(longAction);
      }, this.options.longPressMs ?? 2000);
      return;
    }
    if (!longAction) return;
    clock.clearTimeout(button.longTimer);
    button.longTimer = undefined;
    if (!button.longFired) this.act(button.name);
    button.longFired = false;
  }

  private act(action: ControlAction): void {
    this.options.log.info({ action }, `button: ${action}`);
    // A listener that throws must not stop the buttons; it would otherwise unwind into the IO plugin.
    try {
      this.emit('action', action);
      this.emit(action);
    } catch (err) {
      this.options.log.error({ err, action }, 'a button listener failed');
    }
  }
}

export function linkLightFor(state: LinkState): LinkLight {
  switch (state) {
    case 'online':
      return 'steady';
    case 'connecting':
      return 'blinking';
    case 'offline':
      return 'off';
  }
}
