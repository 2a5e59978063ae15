import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file.js';
import { SALE_EXPIRY_MAX_SECONDS, SALE_EXPIRY_MIN_SECONDS } from './sale/counter-port.js';
import { DEVICE_ID_PATTERN, checkShownText } from './text.js';
import { InputError } from './errors.js';
import { LANGUAGES } from './language.js';
import { formatWireAmount, parseWireAmount, type Paise } from './money.js';
import { MAX_PN, MAX_TN, VPA_PATTERN } from './sale/dynamic-qr.js';

/**
 * The device's configuration: one settings file (`device.json`) and, beside
 * it in the same folder, one secrets file (`secrets.json`, mode 0600). Both
 * are validated by the schemas below; every error names the field.
 */


/** Text shown in the payer's app and on the screen, checked as every other way in checks it. */
function shownText(maxLength: number) {
  return z.string().superRefine((text, ctx) => {
    try {
      checkShownText(text, '', maxLength);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof InputError ? err.problem : String(err) });
    }
  });
}

/** The billing link's speed when device.json names none; the billing PC's client defaults to it too. */
export const DEFAULT_SERIAL_BAUD_RATE = 115200;

/** An amount as the wire writes it; a problem is reported under the setting's own name. */
const wireAmount = z.string().superRefine((text, ctx) => {
  const message = 'must be an amount with two decimals, more than zero, like "100000.00"';
  if (!/^\d+\.\d\d$/.test(text)) return void ctx.addIssue({ code: 'custom', message });
  try {
    if (parseWireAmount(text) <= 0) ctx.addIssue({ code: 'custom', message });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof InputError ? err.problem : message });
  }
});


const panel = {
  width: z.number().int().min(128).max(1920).default(480),
  height: z.number().int().min(128).max(1920).default(320),
};

export const displaySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  /** The LCD as PNG: `dir`/screen.png replaced on every change, or with `history` every frame numbered. */
  z.strictObject({ kind: z.literal('png'), dir: z.string().min(1).default('frames'), ...panel, history: z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('framebuffer'), device: z.string().regex(/^\/dev\/fb\d+$/, 'must be a framebuffer device like /dev/fb0').default('/dev/fb0') }),
]);

export const speakerSchema = z.discriminatedUnion('kind', [
  /** Each announcement written as a WAV file; `realtime` waits the audio's length as a speaker would. */
  z.strictObject({ kind: z.literal('wav'), dir: z.string().min(1).default('sounds'), realtime: z.boolean().default(false) }),
  /** The board's speaker: say/festival for English, espeak-ng for Indic languages. */
  z.strictObject({ kind: z.literal('system') }),
]);

/**
 * The Raspberry Pi IO plugins the device image may carry: raspi-io (the
 * default) or pi-io. Neither is a dependency of the project; see
 * adapters/controls/board-io.ts.
 */
export const PI_IO_PLUGINS = ['raspi-io', 'pi-io'] as const;

export const controlsSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({ kind: z.literal('virtual') }),
  z.strictObject({ kind: z.literal('raspberry-pi'), plugin: z.enum(PI_IO_PLUGINS, { message: `must be one of ${PI_IO_PLUGINS.join(', ')}` }).optional() }),
]);

export const deviceConfigSchema = z.strictObject({
  deviceId: z.string().regex(DEVICE_ID_PATTERN, 'must be 1–20 letters, digits, - or _ (it starts every transaction reference)'),
  language: z.enum(LANGUAGES, { message: `must be one of ${LANGUAGES.join(', ')}` }).default('en'),
  volume: z.number().int().min(0).max(10).default(7),
  payee: z.strictObject({
    vpa: z.string().regex(VPA_PATTERN, 'must be a UPI address like "counter01@postbank"'),
    name: shownText(MAX_PN),
    mcc: z.string().regex(/^\d{4}$/, 'must be a four-digit merchant category code').default('9402'),
    /** NPCI org id, written into signed (mode 16) QRs. */
    orgId: z.string().regex(/^[A-Za-z0-9]{1,20}$/, 'must be 1–20 letters or digits').optional(),
  }),
  sale: z
    .strictObject({
      limit: wireAmount.default('100000.00'),
      expirySeconds: z.number().int().min(SALE_EXPIRY_MIN_SECONDS).max(SALE_EXPIRY_MAX_SECONDS).default(300),
      /** How long paid / failed / expired / cancelled stays on screen before idle. */
      resultSeconds: z.number().int().min(1).max(120).default(8),
      /** Default `tn` when a sale carries no note. */
      note: shownText(MAX_TN).optional(),
      chimeOnQr: z.boolean().default(true),
    })
    .default({ limit: '100000.00', expirySeconds: 300, resultSeconds: 8, chimeOnQr: true }),
  mqtt: z.strictObject({
    url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'must be a broker URL like mqtt://host:1883 or mqtts://host:8883'),
    prefix: z.string().regex(/^[A-Za-z0-9_/-]+$/, 'must be topic levels of letters, digits, - _ /').default('dakbox/v1'),
    username: z.string().min(1).optional(),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    keepaliveSeconds: z.number().int().min(5).max(600).default(30),
    telemetrySeconds: z.number().int().min(5).max(3600).default(60),
    tls: z
      .strictObject({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional(),
  }),
  /** Public keys of the payments backend's notifier, base64 raw Ed25519 or PEM. Two allow rotation. */
  notifierKeys: z.array(z.string().min(1)).min(1, 'needs at least one notifier public key').max(2, 'allows at most two keys (current and next)'),
  /** SQLite ledger file; relative paths are from the config folder. */
  ledger: z.string().min(1).default('ledger.sqlite'),
  /**
   * How long the ledger keeps what is there only for inspection, by age and
   * by count, whichever is reached first: rejected confirmations, and
   * outbox messages the broker has acknowledged. Sales and payments are
   * never deleted.
   */
  retention: z
    .strictObject({
      rejectionDays: z.number().int().min(1).max(3650).default(90),
      maxRejections: z.number().int().min(100).max(1_000_000).default(10_000),
      sentDays: z.number().int().min(1).max(3650).default(7),
      maxSent: z.number().int().min(100).max(1_000_000).default(10_000),
    })
    .default({ rejectionDays: 90, maxRejections: 10_000, sentDays: 7, maxSent: 10_000 }),
  display: displaySchema.default({ kind: 'png', dir: 'frames', width: 480, height: 320, history: false }),
  speaker: speakerSchema.default({ kind: 'wav', dir: 'sounds', realtime: false }),
  controls: controlsSchema.default({ kind: 'none' }),
  announce: z
    .strictObject({
      /** Spoken prompts for the link (connected, network lost, network back), low memory or storage, and sales paused (clock not set). */
      prompts: z.boolean().default(true),
      /** Speak today's count and total at this IST time each day, e.g. "20:00". */
      daySummaryAt: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day like "20:00"').optional(),
    })
    .default({ prompts: true }),
  serial: z
    .strictObject({
      path: z.string().min(1),
      baudRate: z.number().int().positive().default(DEFAULT_SERIAL_BAUD_RATE),
    })
    .optional(),
});

export const secretsSchema = z.strictObject({
  mqttPassword: z.string().min(1).optional(),
  /** PEM PKCS#8 ECDSA P-256 private key; with it every QR is signed (mode 16). */
  qrSigningKey: z.string().min(1).optional(),
});

export type DeviceSettings = z.output<typeof deviceConfigSchema>;
export type DeviceSettingsInput = z.input<typeof deviceConfigSchema>;
export type Secrets = z.output<typeof secretsSchema>;

/** The settings the backend may change over `config/set`. Payee and keys are never among them: a broker must not be able to redirect money or forge confirmations. */
export const remoteSettingsSchema = z.strictObject({
  language: z.enum(LANGUAGES, { message: `must be one of ${LANGUAGES.join(', ')}` }).optional(),
  volume: z.number().int().min(0).max(10).optional(),
  expirySeconds: z.number().int().min(SALE_EXPIRY_MIN_SECONDS).max(SALE_EXPIRY_MAX_SECONDS).optional(),
  resultSeconds: z.number().int().min(1).max(120).optional(),
  saleLimit: wireAmount.optional(),
  chimeOnQr: z.boolean().optional(),
  telemetrySeconds: z.number().int().min(5).max(3600).optional(),
});
export type RemoteSettings = z.output<typeof remoteSettingsSchema>;

/** Everything the device needs, resolved: keys parsed, paths absolute. */
export interface DeviceConfig {
  settings: DeviceSettings;
  /** Folder holding device.json and secrets.json. */
  dir: string;
  path: string;
  notifierKeys: KeyObject[];
  qrSigningKey?: KeyObject;
  mqttPassword?: string;
  saleLimit: Paise;
  ledgerPath: string;
}

export const SECRETS_FILE = 'secrets.json';

/** Turns the first schema problems into one line: "payee.vpa: must be …; sale.limit: …". */
export function schemaError(source: string, error: z.ZodError): InputError {
  const problems = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') return `${path === '(top level)' ? '' : `${path}.`}${issue.keys.join(', ')}: is not a known setting`;
    // Messages written in the schemas are kept; zod's generic ones are reworded.
    if (!/^(Too (big|small)|Invalid input)/.test(issue.message)) return `${path}: ${issue.message}`;
    const unit = issue.code === 'too_big' || issue.code === 'too_small' ? (issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '') : '';
    if (issue.code === 'invalid_type') {
      return / received undefined$/.test(issue.message) ? `${path}: is missing` : `${path}: must be ${article(issue.expected)}`;
    }
    if (issue.code === 'too_big') return `${path}: must be at most ${String(issue.maximum)}${unit}`;
    if (issue.code === 'too_small') return `${path}: must be at least ${String(issue.minimum)}${unit}`;
    return `${path}: ${issue.message}`;
  });
  return new InputError(source, problems.join('; '));
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function readJson(path: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(label, code === 'ENOENT' ? `${path} does not exist` : `cannot be read (${code ?? 'error'})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InputError(label, `is not valid JSON (${(err as Error).message})`);
  }
}

export function parseSettings(raw: unknown, label = 'device.json'): DeviceSettings {
  const result = deviceConfigSchema.safeParse(raw);
  if (!result.success) throw schemaError(label, result.error);
  return result.data;
}

export function parseNotifierKey(text: string, field: string): KeyObject {
  let key: KeyObject;
  try {
    if (text.includes('-----BEGIN')) key = createPublicKey(text);
    else {
      const raw = Buffer.from(text, 'base64');
      if (raw.length === 32) key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
      else key = createPublicKey({ key: raw, format: 'der', type: 'spki' });
    }
  } catch {
    throw new InputError(field, 'is not an Ed25519 public key (base64 of 32 bytes, or PEM)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InputError(field, `is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

export function parseQrSigningKey(pem: string, field = 'secrets.json qrSigningKey'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new InputError(field, 'is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new InputError(field, 'must be an ECDSA P-256 (prime256v1) key');
  }
  return key;
}

/**
 * Secrets must be readable by the device's user only; a group- or
 * world-readable file is refused rather than used, as ssh does.
 */
function readSecrets(dir: string): Secrets {
  const path = join(dir, SECRETS_FILE);
  if (!existsSync(path)) return {};
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new InputError(SECRETS_FILE, `is readable by other users (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${path}`);
  }
  const result = secretsSchema.safeParse(readJson(path, SECRETS_FILE));
  if (!result.success) throw schemaError(SECRETS_FILE, result.error);
  return result.data;
}

export function loadConfig(path: string): DeviceConfig {
  const absolute = resolve(path);
  const settings = parseSettings(readJson(absolute, 'config'), absolute.endsWith('.json') ? (absolute.split('/').pop() ?? 'config') : 'config');
  return resolveConfig(settings, dirname(absolute), absolute);
}

export function resolveConfig(settings: DeviceSettings, dir: string, path: string): DeviceConfig {
  const secrets = readSecrets(dir);
  const notifierKeys = settings.notifierKeys.map((k, i) => parseNotifierKey(k, `notifierKeys.${i}`));
  const config: DeviceConfig = {
    settings,
    dir,
    path,
    notifierKeys,
    saleLimit: parseWireAmount(settings.sale.limit, 'sale.limit'),
    ledgerPath: inDir(dir, settings.ledger),
  };
  if (secrets.qrSigningKey) {
    config.qrSigningKey = parseQrSigningKey(secrets.qrSigningKey);
    if (!settings.payee.orgId) throw new InputError('payee.orgId', 'is missing; signed QRs (a qrSigningKey is provisioned) must carry the NPCI org id');
  }
  if (secrets.mqttPassword) config.mqttPassword = secrets.mqttPassword;
  return config;
}

/** Resolves a path from the config file relative to its folder. */
export function inDir(dir: string, path: string): string {
  return isAbsolute(path) ? path : join(dir, path);
}

/** Writes the settings file atomically (mode 0600: it names the broker and the device). */
export function saveSettings(path: string, settings: DeviceSettingsInput): void {
  parseSettings(settings);
  writeFileAtomic(path, `${JSON.stringify(settings, null, 2)}\n`, 0o600);
}

export function saveSecrets(dir: string, secrets: Secrets): void {
  const result = secretsSchema.safeParse(secrets);
  if (!result.success) throw schemaError(SECRETS_FILE, result.error);
  writeFileAtomic(join(dir, SECRETS_FILE), `${JSON.stringify(result.data, null, 2)}\n`, 0o600);
}

/**
 * Applies remote settings to a settings object and returns the new one;
 * throws InputError naming the bad field.
 */
export function applyRemoteSettings(settings: DeviceSettings, raw: unknown): { settings: DeviceSettings; changed: (keyof RemoteSettings)[] } {
  const result = remoteSettingsSchema.safeParse(raw);
  if (!result.success) throw schemaError('config/set', result.error);
  const change = result.data;
  const next: DeviceSettings = structuredClone(settings);
  const changed: (keyof RemoteSettings)[] = [];
  if (change.language !== undefined) next.language = change.language;
  if (change.volume !== undefined) next.volume = change.volume;
  if (change.expirySeconds !== undefined) next.sale.expirySeconds = change.expirySeconds;
  if (change.resultSeconds !== undefined) next.sale.resultSeconds = change.resultSeconds;
  if (change.saleLimit !== undefined) next.sale.limit = change.saleLimit;
  if (change.chimeOnQr !== undefined) next.sale.chimeOnQr = change.chimeOnQr;
  if (change.telemetrySeconds !== undefined) next.mqtt.telemetrySeconds = change.telemetrySeconds;
  for (const key of Object.keys(change) as (keyof RemoteSettings)[]) if (change[key] !== undefined) changed.push(key);
  return { settings: next, changed };
}

/** The settings in force as the backend sees them on `config/state`. */
export function remoteView(settings: DeviceSettings): Required<RemoteSettings> {
  return {
    language: settings.language,
    volume: settings.volume,
    expirySeconds: settings.sale.expirySeconds,
    resultSeconds: settings.sale.resultSeconds,
    saleLimit: formatWireAmount(parseWireAmount(settings.sale.limit)),
    chimeOnQr: settings.sale.chimeOnQr,
    telemetrySeconds: settings.mqtt.telemetrySeconds,
  };
}
