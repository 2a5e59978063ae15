import type { EventEmitter } from 'node:events';

/** A pin as the board names it: a number, or a name such as "GPIO17" on the Raspberry Pi. */
export type PinId = number | string;

export interface IoPinState {
  supportedModes: number[];
  mode: number | undefined;
  value: number;
  report: number;
  analogChannel: number;
}

/**
 * The part of johnny-five's IO-plugin contract the controls rely on, typed
 * here because johnny-five's own typings leave the plugin as `any`. Real
 * plugins (raspi-io, pi-io) and the virtual one all satisfy it.
 */
export interface IoPlugin extends EventEmitter {
  readonly name: string;
  readonly isReady: boolean;
  readonly MODES: { readonly INPUT: number; readonly OUTPUT: number; readonly ANALOG: number; readonly PWM: number; readonly SERVO: number };
  readonly HIGH: number;
  readonly LOW: number;
  readonly pins: readonly IoPinState[];
  readonly analogPins: readonly number[];
  pinMode(pin: PinId, mode: number): void;
  digitalRead(pin: PinId, handler: (value: number) => void): void;
  digitalWrite(pin: PinId, value: number): void;
  pwmWrite(pin: PinId, value: number): void;
  normalize?(pin: PinId): number;
}
