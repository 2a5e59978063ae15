import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { PANEL_SIZES } from '../../adapters/display/panels.js';
import { InputError } from '../../core/errors.js';
import { LANGUAGES } from '../../core/language.js';
import { BUTTONS } from '../../core/ports/controls.js';
import type { ScreenKind } from '../../core/ports/display.js';

/**
 * A scenario file: settings for a fresh simulator, then steps run in order.
 * Each step is a one-key map, `- sale: {amount: "250.00"}`; steps that need
 * nothing may be a bare name (`- pay`), and a few take one value
 * (`- press: replay`, `- delay: 500`).
 */

const SCREEN_KINDS = ['boot', 'idle', 'collect', 'paid', 'mismatch', 'failed', 'expired', 'cancelled', 'info', 'selftest', 'fault'] as const satisfies readonly ScreenKind[];
const LEDS = ['link', 'paid', 'failed', 'buzzer'] as const;
const LINK_STATES = ['online', 'connecting', 'offline'] as const;
export const FAULT_KINDS = ['broker-stop', 'network-drop', 'cable-pull', 'cable-plug', 'forged', 'replay', 'power-cut', 'clock-step'] as const;

/** Rupees as typed ("250", "250.50"); a YAML number is taken as its decimal text. */
const amount = z
  .union([z.string(), z.number()], { error: (issue) => (issue.input === undefined ? 'is missing' : 'must be rupees like "250.00"') })
  .transform((value) => String(value));
const device = z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'must be a device id like SIM01').optional();
/** How long a wait may take, in ms (default 10 s). */
const timeout = z.number().int().min(1).max(600_000).optional();
const ms = z.number().int().min(0).max(600_000);
const fileName = z.string().min(1).max(400);

const nothing = z.union([z.null(), z.strictObject({ device })]).transform((value) => value ?? {});
const button = z.union([z.enum(BUTTONS), z.strictObject({ button: z.enum(BUTTONS), device })]).transform((value) => (typeof value === 'string' ? { button: value } : value));

const STEP_SCHEMAS = {
  sale: z.strictObject({
    amount,
    ref: z.string().optional(),
    note: z.string().optional(),
    expiresIn: z.number().int().optional(),
    device,
  }),
  pay: nothing,
  'pay-amount': z.strictObject({ amount, device }),
  'pay-after-expiry': z.union([z.null(), z.strictObject({ amount: amount.optional(), device })]).transform((value) => value ?? {}),
  fail: nothing,
  press: button,
  hold: button,
  'wait-screen': z
    .strictObject({
      /** The kind of screen the device last drew (idle, collect, paid, ...). */
      shows: z.enum(SCREEN_KINDS).optional(),
      /** Text the renderer laid out on the glass for the frame on screen (case-insensitive substring). */
      text: z.string().min(1).optional(),
      /** The link banner the frame was drawn with. */
      link: z.enum(LINK_STATES).optional(),
      /** A PNG the frame's pixels are compared with, relative to the scenario file. */
      golden: fileName.optional(),
      /** Share of pixels that may differ from the golden image (0 to 1; default 0.002). */
      tolerance: z.number().min(0).max(1).optional(),
      timeout,
      device,
    })
    .refine((v) => v.shows !== undefined || v.text !== undefined || v.link !== undefined || v.golden !== undefined, 'needs shows, text, link or golden'),
  'wait-qr': z.union([
    z.null(),
    z.strictObject({
      /** The amount the QR decoded from the LCD's pixels asks for. */
      amount: amount.optional(),
      note: z.string().optional(),
      /** Mode 16 with a signature that checks against the simulated payee's public key. */
      signed: z.boolean().optional(),
      timeout,
      device,
    }),
  ]).transform((value) => value ?? {}),
  'wait-speech': z
    .strictObject({
      /** Part of the sentence (case-insensitive). */
      text: z.string().min(1).optional(),
      /** Every one of these words, in any order (case-insensitive). */
      words: z.array(z.string().min(1)).min(1).optional(),
      /** A regular expression the sentence must match. */
      match: z.string().min(1).optional(),
      language: z.enum(LANGUAGES).optional(),
      /** After the match, wait this long (default 2000 ms) and fail if it is said again. */
      once: z.boolean().optional(),
      settleMs: ms.optional(),
      timeout,
      device,
    })
    .refine((v) => v.text !== undefined || v.words !== undefined || v.match !== undefined, 'needs text, words or match'),
  'wait-serial': z
    .object({
      /** The event the billing PC receives: hello, qr, paid, failed, expired, cancelled. */
      event: z.string().min(1),
      timeout,
      device,
    })
    .catchall(z.union([z.string(), z.number(), z.boolean(), z.null()])),
  'wait-led': z.strictObject({ led: z.enum(LEDS), on: z.boolean(), timeout, device }),
  fault: z
    .strictObject({
      kind: z.enum(FAULT_KINDS),
      seconds: z.number().positive().max(3600).optional(),
      ms: z.number().int().optional(),
      device,
    })
    .refine((v) => !['broker-stop', 'network-drop'].includes(v.kind) || v.seconds !== undefined, { message: 'needs seconds for broker-stop and network-drop', path: ['seconds'] })
    .refine((v) => v.kind !== 'clock-step' || v.ms !== undefined, { message: 'needs ms for clock-step', path: ['ms'] }),
  delay: z.union([ms, z.strictObject({ ms })]).transform((value) => (typeof value === 'number' ? { ms: value } : value)),
  screenshot: z.union([fileName, z.strictObject({ file: fileName, device })]).transform((value) => (typeof value === 'string' ? { file: value } : value)),
} as const;

export type StepName = keyof typeof STEP_SCHEMAS;
export const STEP_NAMES = Object.keys(STEP_SCHEMAS) as StepName[];

export type StepArgs<K extends StepName> = z.output<(typeof STEP_SCHEMAS)[K]>;
export type Step = { [K in StepName]: { name: K; args: StepArgs<K>; number: number; text: string } }[StepName];

const settingsSchema = z.strictObject({
  language: z.enum(LANGUAGES).optional(),
  size: z.enum(Object.keys(PANEL_SIZES) as [string, ...string[]]).optional(),
  devices: z.number().int().min(1).max(32).optional(),
  /** QR lifetime in seconds (30 to 3600). */
  expirySeconds: z.number().int().min(30).max(3600).optional(),
  /** How long a result stays on screen, in seconds. */
  resultSeconds: z.number().int().min(1).max(120).optional(),
});

export type ScenarioSettings = z.output<typeof settingsSchema>;

export interface Scenario {
  name: string;
  settings: ScenarioSettings;
  steps: Step[];
}

const fileSchema = z.strictObject({
  name: z.string().min(1).optional(),
  settings: settingsSchema.optional(),
  steps: z.array(z.unknown()).min(1, 'needs at least one step'),
});

/** Parses a scenario's YAML text; every problem is an InputError naming the step number and field. */
export function parseScenario(text: string, source: string): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new InputError(source, `is not valid YAML${where}: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  const file = fileSchema.safeParse(raw);
  if (!file.success) throw new InputError(source, describe(file.error));
  const steps = file.data.steps.map((step, index) => parseStep(step, index + 1, source));
  return { name: file.data.name ?? source, settings: file.data.settings ?? {}, steps };
}

function parseStep(raw: unknown, number: number, source: string): Step {
  let name: string;
  let value: unknown;
  if (typeof raw === 'string') {
    name = raw;
    value = null;
  } else if (raw && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 1) {
    [name, value] = Object.entries(raw)[0] as [string, unknown];
  } else {
    throw new InputError(`${source} step ${number}`, 'must be one step name, or a map of one step name to its fields (like "- sale: {amount: 250.00}")');
  }
  if (!(STEP_NAMES as string[]).includes(name)) {
    throw new InputError(`${source} step ${number}`, `${JSON.stringify(name)} is not a step (one of ${STEP_NAMES.join(', ')})`);
  }
  const schema = STEP_SCHEMAS[name as StepName] as z.ZodType;
  const result = schema.safeParse(value);
  if (!result.success) throw new InputError(`${source} step ${number} (${name})`, describe(result.error));
  return { name, args: result.data, number, text: stepText(name, value) } as Step;
}

/** A step as written, on one line, for reports. */
function stepText(name: string, value: unknown): string {
  if (value === null || value === undefined) return name;
  if (typeof value !== 'object') return `${name}: ${JSON.stringify(value)}`;
  const fields = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return `${name} {${fields.join(', ')}}`;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: is not a field of this step`;
      if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) return `${path}: is missing`;
      if (issue.code === 'invalid_union' && issue.message === 'Invalid input') return `${path || 'the step'}: is not in a form this step takes`;
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
