import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import five from 'johnny-five';
import { ManualClock } from '../../core/clock.js';
import { openBoardIo } from '../../adapters/controls/board-io.js';
import { VirtualIo, type PinWrite } from '../../adapters/controls/virtual-io.js';
import { BoardControls } from '../../adapters/controls/board-controls.js';
import { capturedLog } from '../speaker/support.js';

function boardOn(io: VirtualIo): Promise<five.Board> {
  const options: five.BoardOption & { sigint: boolean } = { io, repl: false, sigint: false, debug: false };
  const board = new five.Board(options);
  return new Promise((resolve) => board.on('ready', () => resolve(board)));
}

describe('the virtual IO plugin', () => {
  it('becomes ready for johnny-five and drives its LEDs and pins', async () => {
    const io = new VirtualIo();
    const board = await boardOn(io);
    const writes: PinWrite[] = [];
    io.on('write', (w: PinWrite) => writes.push(w));
    new five.Led({ pin: 17, board }).on();
    new five.Led({ pin: 18, board }).on();
    new five.Pin({ pin: 'GPIO23', board }).high();
    expect(writes).toEqual([
      { pin: 17, value: 1, mode: 'digital' },
      { pin: 18, value: 255, mode: 'pwm' },
      { pin: 23, value: 1, mode: 'digital' },
    ]);
  });

  it('reports an input level to its digitalRead handlers when, and only when, it changes', () => {
    const io = new VirtualIo();
    const seen: number[] = [];
    io.pinMode(5, io.MODES.INPUT);
    io.digitalRead(5, (level) => seen.push(level));
    io.digitalWrite(5, io.HIGH);
    io.drive(5, 1);
    io.drive(5, 0);
    io.drive(5, 0);
    io.drive(5, undefined);
    expect(seen).toEqual([0, 1, 0, 1]);
  });

  it('refuses pins and modes the Pi does not have', () => {
    const io = new VirtualIo();
    expect(() => io.pinMode(40, io.MODES.OUTPUT)).toThrow(RangeError);
    expect(() => io.pinMode('P1-11', io.MODES.OUTPUT)).toThrow(RangeError);
    expect(() => io.pinMode(17, io.MODES.PWM)).toThrow(/does not support/);
  });
});

describe('choosing the IO plugin', () => {
  it('runs the controls on the virtual plugin everywhere but the device', async () => {
    const io = await openBoardIo({ kind: 'virtual' });
    expect(io).toBeInstanceOf(VirtualIo);
    const controls = new BoardControls({ io, clock: new ManualClock(), log: capturedLog().log });
    await controls.start();
    controls.stop();
  });

  it.each(['raspi-io', 'pi-io'] as const)('loads %s only when configured for the Pi, and says what is missing when it is not installed', async (plugin) => {
    await expect(openBoardIo({ kind: 'raspberry-pi', plugin })).rejects.toThrow(new RegExp(`^the Raspberry Pi IO plugin ${plugin} is not installed .*the device image installs it`));
  });

  it('keeps the Pi plugins out of the project dependencies, so npm ci works on any machine', async () => {
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      const deps = Object.keys(manifest[field] ?? {});
      expect(deps).not.toContain('raspi-io');
      expect(deps).not.toContain('pi-io');
    }
  });
});
