import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { VirtualIo } from '../../adapters/controls/virtual-io.js';
import { BoardControls as Controls, DEFAULT_CONTROLS_PINS, type ControlsOptions } from '../../adapters/controls/board-controls.js';
import type { ControlAction } from '../../core/ports/controls.js';
import { capturedLog, ERROR, WARN } from '../speaker/support.js';

const PINS = DEFAULT_CONTROLS_PINS;

async function rig(options: Partial<ControlsOptions> = {}, before?: (io: VirtualIo) => void) {
  const io = new VirtualIo();
  const clock = new ManualClock();
  const { log, lines } = capturedLog();
  before?.(io);
  const controls = new Controls({ io, clock, log, ...options });
  const actions: ControlAction[] = [];
  controls.on('action', (action) => actions.push(action));
  await controls.start();
  // A finger on an active-low button pulls its pin to ground; letting go leaves it to the pull-up.
  const press = (pin: number | string) => io.drive(pin, 0);
  const release = (pin: number | string) => io.drive(pin, undefined);
  return { io, clock, controls, actions, lines, press, release };
}

describe('buttons', () => {
  it('rest high on their pull-ups, and every light starts off', async () => {
    const { io } = await rig();
    for (const pin of [PINS['volume-up'], PINS['volume-down'], PINS.replay, PINS['cancel-sale']]) {
      expect(io.pins[pin as number]?.mode).toBe(io.MODES.INPUT);
      expect(io.level(pin)).toBe(1);
    }
    for (const pin of [PINS.linkLed, PINS.paidLed, PINS.failedLed, PINS.buzzer]) expect(io.level(pin!)).toBe(0);
  });

  it('count a press once the pin has held its level for the debounce time', async () => {
    const { clock, actions, press, release } = await rig({ debounceMs: 30 });
    press(PINS['volume-up']);
    clock.advance(29);
    expect(actions).toEqual([]);
    clock.advance(1);
    expect(actions).toEqual(['volume-up']);
    release(PINS['volume-up']);
    clock.advance(1000);
    expect(actions).toEqual(['volume-up']);
  });

  it('turn a bouncing contact into one press and one release', async () => {
    const { io, clock, actions } = await rig({ debounceMs: 30 });
    const pin = PINS['volume-down'];
    for (const level of [0, 1, 0, 1, 0, 1, 0] as const) {
      io.drive(pin, level);
      clock.advance(3);
    }
    clock.advance(30);
    expect(actions).toEqual(['volume-down']);
    for (const level of [1, 0, 1, 0, 1] as const) {
      io.drive(pin, level);
      clock.advance(3);
    }
    clock.advance(30);
    io.drive(pin, 0);
    clock.advance(30);
    expect(actions).toEqual(['volume-down', 'volume-down']);
  });

  it('ignore a blip shorter than the debounce time', async () => {
    const { clock, actions, press, release } = await rig({ debounceMs: 30 });
    press(PINS['cancel-sale']);
    clock.advance(10);
    release(PINS['cancel-sale']);
    clock.advance(100);
    expect(actions).toEqual([]);
  });

  it('replay on a short press, when it is released', async () => {
    const { clock, actions, press, release } = await rig({ debounceMs: 30, longPressMs: 2000 });
    press(PINS.replay);
    clock.advance(400);
    expect(actions).toEqual([]);
    release(PINS.replay);
    clock.advance(30);
    expect(actions).toEqual(['replay']);
  });

  it('speak the status on a long press of replay, at the moment it becomes long, and not replay as well', async () => {
    const { clock, controls, actions, press, release } = await rig({ debounceMs: 30, longPressMs: 2000 });
    let statusEvents = 0;
    controls.on('status', () => statusEvents++);
    press(PINS.replay);
    clock.advance(30 + 1999);
    expect(actions).toEqual([]);
    clock.advance(1);
    expect(actions).toEqual(['status']);
    clock.advance(5000);
    release(PINS.replay);
    clock.advance(30);
    expect(actions).toEqual(['status']);
    expect(statusEvents).toBe(1);
  });

  it('report each button as its own event too', async () => {
    const { clock, controls, press, release } = await rig();
    const heard: string[] = [];
    for (const name of ['volume-up', 'volume-down', 'cancel-sale'] as const) controls.on(name, () => heard.push(name));
    for (const name of ['volume-up', 'volume-down', 'cancel-sale'] as const) {
      press(PINS[name]);
      clock.advance(50);
      release(PINS[name]);
      clock.advance(50);
    }
    expect(heard).toEqual(['volume-up', 'volume-down', 'cancel-sale']);
  });

  it('ignore a button held down at start until it has been let go, and log it', async () => {
    const { clock, actions, lines, press, release } = await rig({ debounceMs: 30 }, (io) => io.drive(PINS['cancel-sale'], 0));
    clock.advance(5000);
    release(PINS['cancel-sale']);
    clock.advance(30);
    expect(actions).toEqual([]);
    expect(lines.find((l) => l.level === WARN)?.msg).toBe('cancel-sale button is held down at start; ignored until released');
    press(PINS['cancel-sale']);
    clock.advance(30);
    // Cancel has a long press, so a short press counts on release.
    expect(actions).toEqual([]);
    release(PINS['cancel-sale']);
    clock.advance(30);
    expect(actions).toEqual(['cancel-sale']);
  });

  it('show the device information on a long press of cancel, without cancelling', async () => {
    const { clock, actions, press, release } = await rig({ debounceMs: 30 });
    press(PINS['cancel-sale']);
    clock.advance(2030);
    release(PINS['cancel-sale']);
    clock.advance(30);
    expect(actions).toEqual(['info']);
  });

  it('work wired to 3.3 V instead of ground', async () => {
    const { io, clock, actions } = await rig({ activeLow: false });
    expect(io.level(PINS['volume-up'])).toBe(0);
    io.drive(PINS['volume-up'], 1);
    clock.advance(30);
    io.drive(PINS['volume-up'], 0);
    clock.advance(30);
    expect(actions).toEqual(['volume-up']);
  });

  it('accept pin names such as GPIO20', async () => {
    const { clock, actions, press } = await rig({ pins: { 'volume-up': 'GPIO20' } });
    press(20);
    clock.advance(30);
    expect(actions).toEqual(['volume-up']);
  });

  it('keep working when a listener throws, and log it', async () => {
    const { clock, controls, actions, lines, press, release } = await rig();
    controls.once('volume-up', () => {
      throw new Error('listener broke');
    });
    for (let i = 0; i < 2; i++) {
      press(PINS['volume-up']);
      clock.advance(30);
      release(PINS['volume-up']);
      clock.advance(30);
    }
    expect(actions).toEqual(['volume-up', 'volume-up']);
    expect(lines.find((l) => l.level === ERROR)).toMatchObject({ err: expect.objectContaining({ message: 'listener broke' }) as unknown, action: 'volume-up' });
  });

  it('stop reacting, and leave no timer running, once stopped', async () => {
    const { io, clock, controls, actions, press } = await rig();
    controls.setLink('blinking');
    controls.paid();
    controls.qrShown();
    press(PINS['volume-up']);
    controls.stop();
    expect(clock.pending()).toBe(0);
    clock.advance(5000);
    expect(actions).toEqual([]);
    for (const pin of [PINS.linkLed, PINS.paidLed, PINS.failedLed, PINS.buzzer]) expect(io.level(pin!)).toBe(0);
  });
});

describe('lights and buzzer', () => {
  it('show the link: off, blinking every half second, steady', async () => {
    const { io, clock, controls } = await rig();
    const link = PINS.linkLed!;
    controls.showLink('connecting');
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      seen.push(io.level(link));
      clock.advance(500);
    }
    expect(seen).toEqual([1, 0, 1, 0, 1]);
    controls.showLink('online');
    expect(io.level(link)).toBe(1);
    clock.advance(5000);
    expect(io.level(link)).toBe(1);
    controls.showLink('offline');
    expect(io.level(link)).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('flash green on a payment, twelve times, then go dark', async () => {
    const { io, clock, controls } = await rig();
    const writes: number[] = [];
    io.on('write', (w: { pin: number; value: number }) => {
      if (w.pin === PINS.paidLed) writes.push(w.value);
    });
    controls.paid();
    clock.advance(10_000);
    expect(writes.filter((v) => v > 0)).toHaveLength(12);
    expect(io.level(PINS.paidLed!)).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('show red for a few seconds on a failure, cleared by a following payment', async () => {
    const { io, clock, controls } = await rig();
    controls.failed();
    expect(io.level(PINS.failedLed!)).toBe(1);
    clock.advance(4999);
    expect(io.level(PINS.failedLed!)).toBe(1);
    clock.advance(1);
    expect(io.level(PINS.failedLed!)).toBe(0);
    controls.failed();
    controls.paid();
    expect(io.level(PINS.failedLed!)).toBe(0);
    expect(io.level(PINS.paidLed!)).toBe(1);
  });

  it('beep briefly when a QR is shown, unless beeping is switched off', async () => {
    const on = await rig();
    on.controls.qrShown();
    expect(on.io.level(PINS.buzzer!)).toBe(1);
    on.clock.advance(120);
    expect(on.io.level(PINS.buzzer!)).toBe(0);

    const off = await rig({ beepOnQr: false });
    const writes: number[] = [];
    off.io.on('write', (w: { pin: number; value: number }) => {
      if (w.pin === PINS.buzzer) writes.push(w.value);
    });
    off.controls.qrShown();
    off.clock.advance(1000);
    expect(writes).toEqual([]);
  });

  it('leave out the lights and buzzer a board does not have', async () => {
    const { io, controls, clock } = await rig({ pins: { linkLed: undefined, buzzer: undefined } });
    controls.setLink('blinking');
    controls.qrShown();
    expect(clock.pending()).toBe(0);
    expect(io.pins[PINS.linkLed as number]?.mode).toBeUndefined();
  });
});
