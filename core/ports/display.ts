import type { Language } from '../language.js';
import type { Paise } from '../money.js';
import type { LinkState } from '../link/link-state.js';

/**
 * What the LCD should show. The firmware builds one of these; the drawing
 * code turns it into pixels. Everything a screen shows is in here, so the
 * same Screen always draws the same picture.
 */
export type Screen =
  | { kind: 'boot'; firmware: string; deviceId: string }
  | { kind: 'idle'; payeeName: string; deviceId: string }
  | {
      kind: 'collect';
      /** The exact UPI URI the QR must encode. */
      uri: string;
      amount: Paise;
      payeeName: string;
      tr: string;
      /** Epoch ms when the QR stops being valid. */
      expiresAt: number;
      /**
       * Epoch ms "now" for the countdown, on the QR's own timeline (when it
       * was shown, plus the time elapsed since), so a step of the wall clock
       * does not move the countdown. Only this changes from tick to tick.
       */
      now: number;
    }
  | {
      kind: 'paid';
      amount: Paise;
      utr: string;
      /** Already masked by the firmware ("ra****@okaxis"); never shown in full. */
      payer?: string;
      /** Paid after the QR had expired or been replaced. */
      late: boolean;
    }
  | {
      /** Money arrived, but not the amount asked: the clerk must check. */
      kind: 'mismatch';
      asked: Paise;
      received: Paise;
      utr: string;
      payer?: string;
    }
  | { kind: 'failed'; amount: Paise; tr: string }
  | { kind: 'expired'; amount: Paise; tr: string }
  | { kind: 'cancelled'; amount: Paise; tr: string }
  | {
      /** Provisioning / info page for the field engineer. */
      kind: 'info';
      deviceId: string;
      firmware: string;
      ip: string;
      broker: string;
      /** Text of a QR the engineer's phone scans to identify the device. */
      identity: string;
    }
  | { kind: 'selftest' }
  | {
      /** New sales are paused until the fault clears; the device id helps the engineer on the phone. */
      kind: 'fault';
      fault: DeviceFault;
      deviceId: string;
    };

export type ScreenKind = Screen['kind'];

/**
 * Why the device cannot take sales:
 * - `storage`: the ledger cannot be written (disk full, read-only, failing).
 * - `clock`: the time cannot be trusted, so a QR's validity would be wrong.
 * - `ledger`: the ledger file was refused at start (corrupt, foreign, another device's).
 */
export type DeviceFault = 'storage' | 'clock' | 'ledger';

/** One full picture: the screen plus what overlays every screen. */
export interface Frame {
  screen: Screen;
  language: Language;
  /** Anything but 'online' draws the offline banner over the screen. */
  link: LinkState;
}

export interface PanelSize {
  width: number;
  height: number;
}

/**
 * The LCD. `show` draws a frame and resolves when it is on the glass (or in
 * the file); adapters repaint only what changed between frames.
 */
export interface Display {
  readonly size: PanelSize;
  show(frame: Frame): Promise<void>;
  close(): Promise<void>;
}
