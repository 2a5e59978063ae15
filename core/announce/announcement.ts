import type { Paise } from '../money.js';
import type { DeviceFault } from '../ports/display.js';

/**
 * Everything the soundbox can say. Each kind has a template per language in
 * words.ts; the only variable parts are numbers, so no text from a network
 * message can ever reach a speech engine.
 */
export type Announcement =
  /** "Received one lakh twenty-five thousand rupees and fifty paise". Also used for late and mismatched payments: only the amount actually credited is spoken. */
  | { kind: 'payment'; amount: Paise }
  | { kind: 'payment-failed' }
  | { kind: 'ready' }
  | { kind: 'connected' }
  | { kind: 'network-lost' }
  | { kind: 'network-back' }
  | { kind: 'low-memory' }
  | { kind: 'low-storage' }
  /** Sales are paused until the fault clears (see DeviceFault). */
  | { kind: 'fault'; fault: DeviceFault }
  | { kind: 'volume'; level: number }
  /** End-of-day: "Today: 37 payments, 18,450 rupees". */
  | { kind: 'day-summary'; count: number; total: Paise }
  /** Long press: link state, last payment, today's total. */
  | { kind: 'status'; online: boolean; lastPayment?: Paise; todayCount: number; todayTotal: Paise };

export type AnnouncementKind = Announcement['kind'];
