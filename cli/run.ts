import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config.js';
import type { Language } from '../core/language.js';
import { LedgerRefused } from '../core/payment/ledger.js';
import { Device, type DeviceParts } from '../device/device.js';
import { buildParts } from '../device/parts.js';
import { createLogger } from '../core/log.js';
import { systemClock } from '../core/clock.js';
import { required, parse } from './args.js';
import type { Command, CommandIo } from './command.js';

export const RUN_HELP = `dakbox run --config device.json [--pretty]
  Runs one counter device against the broker in its config until SIGTERM or
  Ctrl-C. Logs JSON lines (or readable lines with --pretty).`;

export const RUN: Command = { help: RUN_HELP, run: runCommand };

export async function runCommand(argv: string[], _io: CommandIo): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string' }, pretty: { type: 'boolean' } });
  const config = loadConfig(required(values.config, '--config'));
  const log = createLogger({ pretty: values.pretty ?? false });
  // Listening from the first moment: a stop asked for while the parts are
  // still being built (a service manager stopping a device that is
  // starting) is kept, and the device stops as soon as it has started,
  // closing its ledger as on any other stop, instead of being killed.
  const stopAsked = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve();
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
  // Which code this start runs: the bundle `npm run build` makes for this
  // command (dist/bundle/), or the compiled modules it is made from.
  log.info({ code: fileURLToPath(import.meta.url) }, 'starting');
  const parts = await buildParts(config, log, systemClock);
  let device: Device;
  try {
    device = new Device({ config, parts, log, clock: systemClock });
  } catch (err) {
    if (err instanceof LedgerRefused) await showLedgerRefused(parts, config.settings.deviceId, config.settings.language);
    await parts.display?.close().catch(() => undefined);
    await parts.speaker.close().catch(() => undefined);
    parts.controls?.stop();
    throw err;
  }
  device.start();
  // The device runs until it is told to stop, even at a moment when no
  // socket or timer is open (the broker is down and a reconnect is due).
  const alive = setInterval(() => undefined, 60_000);
  await stopAsked;
  clearInterval(alive);
  await device.stop();
  log.flush();
  return 0;
}

/**
 * A refused ledger stops the device before it starts: the screen says so to
 * the clerk (and stays on a framebuffer after the process ends), and the
 * one-line reason goes to the log for the field engineer.
 */
async function showLedgerRefused(parts: DeviceParts, deviceId: string, language: Language): Promise<void> {
  await parts.display?.show({ screen: { kind: 'fault', fault: 'ledger', deviceId }, language, link: 'offline' }).catch(() => undefined);
}
