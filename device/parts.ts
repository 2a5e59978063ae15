import type { IoPlugin } from '../adapters/controls/io-plugin.js';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LinuxTimeSync } from '../adapters/clock/linux-time-sync.js';
import type { BillingLine } from '../core/ports/billing-line.js';
import type { Controls } from '../core/ports/controls.js';
import type { Display } from '../core/ports/display.js';
import { createSpeaker } from '../adapters/speaker/create-speaker.js';
import type { Clock } from '../core/clock.js';
import { inDir, type DeviceConfig } from '../core/config.js';
import type { DeviceParts } from './device.js';
import type { Logger } from '../core/log.js';

/**
 * Builds the adapters a config asks for: real hardware on the device, files
 * in the simulator. `io` hands in the IO plugin the controls use (the
 * simulator keeps its virtual one to press buttons with).
 *
 * Each adapter's module is loaded only when the config uses it: johnny-five
 * for buttons, node-canvas for a display, serialport for the billing PC's
 * line. A headless counter starts without loading any of them, and starts
 * sooner for it.
 */
export async function buildParts(config: DeviceConfig, log: Logger, clock: Clock, io?: IoPlugin): Promise<DeviceParts> {
  const { speaker, controls, serial } = config.settings;
  return {
    display: await openDisplay(config),
    speaker: createSpeaker({ output: speaker.kind === 'wav' ? { ...speaker, dir: inDir(config.dir, speaker.dir) } : speaker, log, clock }),
    controls: controls.kind === 'none' ? undefined : await openControls(config, controls, log, clock, io),
    timeSync: new LinuxTimeSync(),
    billingLine: serial ? await openBillingLine(serial, log, clock) : undefined,
  };
}

async function openDisplay(config: DeviceConfig): Promise<Display | undefined> {
  const display = config.settings.display;
  switch (display.kind) {
    case 'none':
      return undefined;
    case 'png': {
      const { PngDisplay } = await import('../adapters/display/png.js');
      const dir = inDir(config.dir, display.dir);
      mkdirSync(dir, { recursive: true });
      const size = { width: display.width, height: display.height };
      return new PngDisplay(display.history ? { size, folder: dir } : { size, path: join(dir, 'screen.png') });
    }
    case 'framebuffer': {
      const { FramebufferDisplay } = await import('../adapters/display/framebuffer.js');
      return FramebufferDisplay.open({ fb: basename(display.device), devicePath: display.device });
    }
  }
}

type ControlsSettings = Exclude<DeviceConfig['settings']['controls'], { kind: 'none' }>;

async function openControls(config: DeviceConfig, controls: ControlsSettings, log: Logger, clock: Clock, io: IoPlugin | undefined): Promise<Controls> {
  const [{ BoardControls }, { openBoardIo }] = await Promise.all([import('../adapters/controls/board-controls.js'), import('../adapters/controls/board-io.js')]);
  return new BoardControls({ io: io ?? (await openBoardIo(controls)), clock, log: log.child({ feature: 'controls' }), beepOnQr: config.settings.sale.chimeOnQr });
}

async function openBillingLine(serial: NonNullable<DeviceConfig['settings']['serial']>, log: Logger, clock: Clock): Promise<BillingLine> {
  const { BillingSerialPort } = await import('../adapters/serial/billing-serial-port.js');
  return new BillingSerialPort({ path: serial.path, baudRate: serial.baudRate, clock, log: log.child({ feature: 'billing' }) });
}
