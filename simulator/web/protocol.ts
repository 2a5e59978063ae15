import type { JsonWebKey } from 'node:crypto';
import { z } from 'zod';
import { BUTTONS } from '../../core/ports/controls.js';
import { TR_PATTERN } from '../../core/sale/dynamic-qr.js';
import { PANEL_SIZES } from '../../adapters/display/panels.js';

/**
 * What the simulator page may ask of the server over its WebSocket. Every
 * message is checked here before anything acts on it: the page is a browser
 * tab, and anything can write to a local port.
 */

/** The panel sizes the page offers: the ones devices ship with. */
export const PANEL_NAMES: readonly string[] = Object.keys(PANEL_SIZES);

const device = z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'must be a device id');
/** Amounts are typed as rupees ("250", "250.50") and parsed by core/money. */
const rupees = z.string().max(20, 'is too long');
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const seconds = z.number().int('must be whole seconds').min(1, 'must be at least 1 second').max(600, 'must be at most 600 seconds');

const common = { id: z.number().int().nonnegative().optional() };

export const pageCommandSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ ...common, type: z.literal('press'), device, button: z.enum(BUTTONS), holdMs: z.number().int().min(20).max(10_000) }),
    /** A button pushed down or let go on the page: it stays down on the device until it is let go. */
    z.strictObject({ ...common, type: z.literal('button'), device, button: z.enum(BUTTONS), state: z.enum(['down', 'up']) }),
    z.strictObject({
      ...common,
      type: z.literal('sale'),
      device,
      amount: rupees,
      ref: text(35).optional(),
      note: text(50).optional(),
      /** Seconds the QR stays payable; the device checks the range as it does for the billing PC. */
      expiresIn: z.number().int('must be whole seconds').optional(),
    }),
    z.strictObject({
      ...common,
      type: z.literal('pay'),
      device,
      /** The QR's transaction reference, as the phone decoded it from the LCD. */
      tr: z.string().regex(TR_PATTERN, 'must be the transaction reference from the QR'),
      outcome: z.enum(['pay', 'fail', 'pay-after-expiry', 'pay-another']),
      /** What the customer pays: the QR's amount, or another one. */
      amount: rupees,
    }),
    z.strictObject({ ...common, type: z.literal('confirmation'), device, kind: z.enum(['forged', 'replayed']) }),
    z.strictObject({ ...common, type: z.literal('stop-broker'), seconds }),
    z.strictObject({ ...common, type: z.literal('drop-network'), device, seconds }),
    z.strictObject({ ...common, type: z.literal('pull-cable'), device }),
    z.strictObject({ ...common, type: z.literal('power-cut'), device }),
    z.strictObject({ ...common, type: z.literal('step-clock'), device, minutes: z.number().int().min(-1440).max(1440) }),
    z.strictObject({ ...common, type: z.literal('size'), device, size: z.string().refine((name) => PANEL_NAMES.includes(name), `must be one of ${PANEL_NAMES.join(', ')}`) }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'must be one of press, button, sale, pay, confirmation, stop-broker, drop-network, pull-cable, power-cut, step-clock, size' : undefined) },
);

export type PageCommand = z.infer<typeof pageCommandSchema>;

/** Parses one text frame from the page; throws a one-line message naming what is wrong. */
export function parsePageCommand(data: string): PageCommand {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    throw new Error('message: is not JSON');
  }
  const result = pageCommandSchema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') throw new Error(`${issue.keys.join(', ')}: is not a field of ${String((body as { type?: unknown }).type)}`);
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'message';
  throw new Error(`${where}: ${issue?.message ?? 'is not a simulator command'}`);
}

/** One device as the page first sees it. */
export interface DeviceSummary {
  id: string;
  size: string;
  language: string;
}

/** What the server tells the page. Binary data (PNG frames, WAV sound) travels as base64. */
export type ServerMessage =
  | {
      type: 'hello';
      devices: DeviceSummary[];
      sizes: readonly string[];
      broker: string;
      /** The devices' QR-signing public key as a JWK: the phone verifies mode-16 QRs with it. */
      qrPublicKey: JsonWebKey | undefined;
    }
  | {
      type: 'frame';
      device: string;
      width: number;
      height: number;
      png: string;
      /** What the picture shows, for the image's text alternative: the screen's kind and whether the offline banner is over it. */
      screen: string;
      offline: boolean;
    }
  | { type: 'leds'; device: string; link: boolean; paid: boolean; failed: boolean }
  | { type: 'speech'; device: string; text: string; language: string; wav: string }
  | { type: 'billing'; device: string; line: string }
  | { type: 'log'; device: string; line: string }
  | {
      type: 'status';
      device: string;
      link: string;
      volume: number;
      todayCount: number;
      todayTotal: string;
      sale: string | undefined;
      /** The faults in force: the billing cable out, the network cut. */
      cablePulled: boolean;
      networkCut: boolean;
    }
  | { type: 'records'; device: string; sales: RecordRow[]; payments: RecordRow[] }
  | { type: 'receipt'; device: string; utr: string; outcome: string }
  | { type: 'notice'; text: string }
  | { type: 'done'; id: number | undefined; text?: string }
  | { type: 'error'; id: number | undefined; message: string };

/** A ledger row as the records panel lists it: already formatted for people. */
export interface RecordRow {
  at: string;
  amount: string;
  ref: string;
  state: string;
}
