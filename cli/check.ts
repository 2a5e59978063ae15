import { existsSync } from 'node:fs';
import mqtt from 'mqtt';
import { standardVoicePicker } from '../adapters/speaker/create-speaker.js';
import { checkPack, defaultVoiceRoot, packDir, packSummary } from '../adapters/speaker/voice-pack.js';
import { vocabulary } from '../core/announce/words.js';
import { systemClock } from '../core/clock.js';
import { loadConfig, type DeviceConfig } from '../core/config.js';
import { FIRMWARE_VERSION } from '../device/device.js';
import { describeError } from '../core/errors.js';
import { buildParts } from '../device/parts.js';
import { LANGUAGES } from '../core/language.js';
import { Ledger } from '../core/payment/ledger.js';
import { silentLogger } from '../core/log.js';
import { DEVICE_SESSION_EXPIRY_SECONDS, tlsOptions } from '../core/link/mqtt-link.js';
import { parse, required } from './args.js';
import type { CommandIo } from './main.js';

export const CHECK_HELP = `dakbox check --config device.json [--no-display] [--no-broker]
  The field engineer's self-test: config and secrets, the ledger, a voice and
  a voice pack for every language, the self-test pattern on the display, the billing serial
  port and a connection to the broker. One line per check; exit 1 if any fails.`;

export async function checkCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string' }, 'no-display': { type: 'boolean' }, 'no-broker': { type: 'boolean' } });
  let failed = false;
  const report: Report = (ok, line) => {
    failed ||= !ok;
    io.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${line}\n`);
  };
  const config = loadConfig(required(values.config, '--config'));
  const s = config.settings;
  report(true, `config: ${s.deviceId}, payee ${s.payee.vpa} (${s.payee.name}), language ${s.language}, firmware ${FIRMWARE_VERSION}${config.qrSigningKey ? ', QRs signed (mode 16)' : ''}`);

  try {
    const ledger = new Ledger(config.ledgerPath, systemClock, { deviceId: s.deviceId });
    const h = ledger.health();
    ledger.close();
    report(h.integrity === 'ok', `ledger: ${config.ledgerPath}: ${h.integrity === 'ok' ? 'intact' : `damaged (${h.integrity})`}; ${h.sales} sales, ${h.payments} payments, ${h.unannounced} not yet announced, ${h.unsent} messages not yet sent`);
  } catch (err) {
    report(false, `ledger: ${describeError(err)}`);
  }

  const picker = standardVoicePicker({ log: silentLogger() });
  for (const language of LANGUAGES) {
    const voice = await picker.pick(language);
    report(voice !== picker.chime, `voice for ${language}: ${voice === picker.chime ? 'none installed; payments will sound a chime' : voice.name}`);
  }
  // A missing pack is not a failure: the device synthesises instead, only slower.
  for (const language of LANGUAGES) {
    const pack = await checkPack(packDir(defaultVoiceRoot(), language), language, vocabulary(language));
    const complete = !pack.problem && pack.missing.length + pack.bad.length + pack.stale.length === 0 && pack.hashMatches;
    report(true, `voice pack for ${language}: ${packSummary(pack)}${complete ? '' : ` (announcements it cannot say are synthesised; dakbox voice build --lang ${language})`}`);
  }

  if (!values['no-display']) await checkDisplay(config, report);
  if (s.serial) report(existsSync(s.serial.path), `billing serial port: ${s.serial.path} ${existsSync(s.serial.path) ? 'present' : 'not found (is the USB serial adapter plugged in?)'}`);
  if (!values['no-broker']) await checkBroker(config, report);

  return failed ? 1 : 0;
}

type Report = (ok: boolean, line: string) => void;

async function checkDisplay(config: DeviceConfig, report: Report): Promise<void> {
  try {
    const parts = await buildParts({ ...config, settings: { ...config.settings, controls: { kind: 'none' } } }, silentLogger(), systemClock);
    if (!parts.display) {
      report(true, 'display: none configured');
      return;
    }
    await parts.display.show({ screen: { kind: 'selftest' }, language: config.settings.language, link: 'online' });
    await parts.display.close();
    report(true, `display: self-test pattern drawn on the ${config.settings.display.kind} panel (${parts.display.size.width}x${parts.display.size.height})`);
  } catch (err) {
    report(false, `display: ${describeError(err)}`);
  }
}

async function checkBroker(config: DeviceConfig, report: Report): Promise<void> {
  const s = config.settings;
  try {
    // Where the broker makes the login the client id whatever is sent (the
    // shipped mosquitto configuration does, so that no device can take over
    // another's session), this connection resumes the device's own session.
    // So it keeps that session as the device does (Clean Start 0, the same
    // expiry) and acknowledges nothing: a confirmation queued for the device
    // stays queued for it. Elsewhere the id is one of its own.
    const client = mqtt.connect(s.mqtt.url, {
      clientId: `${s.deviceId}-check`,
      clean: false,
      ...(s.mqtt.protocolVersion === 5 ? { properties: { sessionExpiryInterval: DEVICE_SESSION_EXPIRY_SECONDS } } : {}),
      protocolVersion: s.mqtt.protocolVersion,
      connectTimeout: 10_000,
      reconnectPeriod: 0,
      ...(s.mqtt.username ? { username: s.mqtt.username } : {}),
      ...(config.mqttPassword ? { password: config.mqttPassword } : {}),
      ...tlsOptions(s.mqtt.tls),
    });
    client.handleMessage = () => undefined;
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed')));
    }).catch(async (err: unknown) => {
      await client.endAsync(true);
      throw err;
    });
    // Closed at once: nothing in flight is acknowledged on the way out.
    await client.endAsync(true);
    report(true, `broker: connected to ${s.mqtt.url}`);
  } catch (err) {
    report(false, `broker: ${s.mqtt.url}: ${describeError(err)}`);
  }
}
