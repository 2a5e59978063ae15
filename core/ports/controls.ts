import type { LinkState } from '../link/link-state.js';

/** The four buttons on the device's front. */
export const BUTTONS = ['volume-up', 'volume-down', 'replay', 'cancel-sale'] as const;
export type ButtonName = (typeof BUTTONS)[number];

/**
 * What the clerk asked for: a short press of a button, a long press of
 * replay ("status": speak link, last payment, today's total) or a long press
 * of cancel ("info": the field engineer's device information screen).
 */
export type ControlAction = ButtonName | 'status' | 'info';

/**
 * The buttons, LEDs and buzzer. The device listens for what the clerk
 * pressed and tells the controls what to show; how a press is debounced or
 * an LED blinks is the adapter's business.
 */
export interface Controls {
  /** Calls the listener each time the clerk asks for `action`. */
  on(action: ControlAction, listener: () => void): unknown;
  /** Resolves once the board is ready; rejects if it never becomes ready. */
  start(): Promise<void>;
  stop(): void;
  /** The link LED follows the payment link. */
  showLink(state: LinkState): void;
  /** A payment arrived: the green LED flashes. */
  paid(): void;
  /** A payment failed: the red LED lights. */
  failed(): void;
  /** A QR went up: the buzzer beeps, if the board has one and it is wanted. */
  qrShown(): void;
}
