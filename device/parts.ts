import { openBoardIo } from '../adapters/controls/board-io.js';
import { BoardControls } from '../adapters/controls/board-controls.js';
import type { IoPlugin } from '../adapters/controls/io-plugin.js';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FramebufferDisplay } from '../adapters/display/framebuffer.js';
import { PngDisplay } from '../adapters/display/png.js';
import { BillingSerialPort } from '../adapters/serial/billing-serial-port.js';
import { LinuxTimeSync } from '../adapters/clock/linux-time-sync.js';
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
 */
export async function buildParts(config: DeviceConfig, log: Logger, clock: Clock, io?: IoPlugin): Promise<DeviceParts> {
  const { speaker, controls, serial } = config.settings;
  return {
    display: await openDisplay(config),
    speaker: createSpeaker({ output: speaker.kind === 'wav' ? { ...speaker, dir: inDir(config.dir, speaker.dir) } : speaker, log, clock }),
    controls:
      controls.kind === 'none'
        ? undefined
        : new BoardControls({ io: io ?? (await openBoardIo(controls)), clock, log: log.child({ feature: 'controls' }), beepOnQr: config.settings.sale.chimeOnQr }),
    timeSync: new LinuxTimeSync(),
    billingLine: serial ? new BillingSerialPort({ path: serial.path, baudRate: serial.baudRate, clock, log: log.child({ feature: 'billing' }) }) : undefined,
  };
}

async function openDisplay(config: DeviceConfig): Promise<Display | undefined> {
  const display = config.settings.display;
  switch (display.kind) {
    case 'none':
      return undefined;
    case 'png': {
      const dir = inDir(config.dir, display.dir);
      mkdirSync(dir, { recursive: true });
      const size = { width: display.width, height: display.height };
      return new PngDisplay(display.history ? { size, folder: dir } : { size, path: join(dir, 'screen.png') });
    }
    case 'framebuffer':
      return FramebufferDisplay.open({ fb: basename(display.device), devicePath: display.device });
  }
}
