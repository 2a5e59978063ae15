import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, parseNotifierKey, saveSecrets, saveSettings, type DeviceSettingsInput, type Secrets } from '../core/config.js';
import { InputError } from '../core/errors.js';
import { isLanguage, LANGUAGES } from '../core/language.js';
import { parse, required } from './args.js';
import type { CommandIo } from './main.js';

export const PROVISION_HELP = `dakbox provision --dir DIR --device-id ID --vpa VPA --name NAME --broker URL --notifier-key KEY [--notifier-key NEXT]
                 [--username USER] [--password-file FILE] [--ca FILE --cert FILE --key FILE]
                 [--language en|hi|bn|kn] [--limit 100000.00] [--org-id ID --sign-qr] [--display png|framebuffer|none]
                 [--speaker system|wav] [--controls raspberry-pi|virtual|none] [--serial /dev/ttyUSB0] [--force]
  Writes a device's config folder: device.json and secrets.json, both mode
  0600 and written atomically. With --sign-qr it makes the ECDSA P-256 key
  that signs every QR (mode 16) and prints its public half for the backend.`;

export function provisionCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    dir: { type: 'string' },
    'device-id': { type: 'string' },
    vpa: { type: 'string' },
    name: { type: 'string' },
    broker: { type: 'string' },
    'notifier-key': { type: 'string', multiple: true },
    username: { type: 'string' },
    'password-file': { type: 'string' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    language: { type: 'string', default: 'en' },
    limit: { type: 'string' },
    'org-id': { type: 'string' },
    'sign-qr': { type: 'boolean' },
    display: { type: 'string', default: 'framebuffer' },
    speaker: { type: 'string', default: 'system' },
    controls: { type: 'string', default: 'raspberry-pi' },
    serial: { type: 'string' },
    force: { type: 'boolean' },
  });
  const dir = resolve(required(values.dir, '--dir'));
  const configPath = join(dir, 'device.json');
  if (existsSync(configPath) && !values.force) throw new InputError('--dir', `${configPath} exists; add --force to replace it`);
  const keys = values['notifier-key'] ?? [];
  if (keys.length === 0) throw new InputError('--notifier-key', 'is required (the payments backend publishes it)');
  keys.forEach((k, i) => parseNotifierKey(k, `--notifier-key ${i + 1}`));
  if (!isLanguage(values.language)) throw new InputError('--language', `must be one of ${LANGUAGES.join(', ')}`);
  if (values['sign-qr'] && !values['org-id']) throw new InputError('--org-id', 'is required with --sign-qr');

  const display = values.display;
  if (display !== 'png' && display !== 'framebuffer' && display !== 'none') throw new InputError('--display', 'must be png, framebuffer or none');
  const speaker = values.speaker;
  if (speaker !== 'system' && speaker !== 'wav') throw new InputError('--speaker', 'must be system or wav');
  const controls = values.controls;
  if (controls !== 'raspberry-pi' && controls !== 'virtual' && controls !== 'none') throw new InputError('--controls', 'must be raspberry-pi, virtual or none');

  const settings: DeviceSettingsInput = {
    deviceId: required(values['device-id'], '--device-id'),
    language: values.language,
    payee: { vpa: required(values.vpa, '--vpa'), name: required(values.name, '--name'), ...(values['org-id'] ? { orgId: values['org-id'] } : {}) },
    mqtt: {
      url: required(values.broker, '--broker'),
      ...(values.username ? { username: values.username } : {}),
      ...(values.ca || values.cert || values.key ? { tls: { ca: values.ca, cert: values.cert, key: values.key, rejectUnauthorized: true } } : {}),
    },
    notifierKeys: keys,
    display: display === 'png' ? { kind: 'png', dir: 'frames', width: 480, height: 320 } : display === 'framebuffer' ? { kind: 'framebuffer', device: '/dev/fb0' } : { kind: 'none' },
    speaker: speaker === 'wav' ? { kind: 'wav', dir: 'sounds', realtime: true } : { kind: 'system' },
    controls: { kind: controls },
    ...(values.serial ? { serial: { path: values.serial, baudRate: 115200 } } : {}),
    ...(values.limit ? { sale: { limit: values.limit, expirySeconds: 300, resultSeconds: 8, chimeOnQr: true } } : {}),
  };
  const secrets: Secrets = {};
  if (values['password-file']) secrets.mqttPassword = readFileSync(values['password-file'], 'utf8').trim();
  let publicPem: string | undefined;
  if (values['sign-qr']) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    secrets.qrSigningKey = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    publicPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  refuseSharedFolder(dir);
  saveSettings(configPath, settings);
  saveSecrets(dir, secrets);
  // Read back through the device's own loader: what was written must start.
  loadConfig(configPath);
  io.stdout.write(`provisioned ${settings.deviceId} in ${dir}\n`);
  if (publicPem) io.stdout.write(`QR signing public key (register it with the backend for ${settings.deviceId}):\n${publicPem}`);
  return Promise.resolve(0);
}

/**
 * The folder holds the MQTT password and the QR signing key: if others may
 * write in it, they could swap device.json or secrets.json, whatever the
 * files' own modes say.
 */
function refuseSharedFolder(dir: string): void {
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new InputError('--dir', `${dir} can be written by others (mode ${mode.toString(8)}); the device's secrets need a folder only its owner can write: chmod go-w it or choose another`);
  }
}
