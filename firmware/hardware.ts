import { openBoardIo } from '../devices/controls/board-io.js';
import { Controls } from '../devices/controls/controls.js';
import { createSpeaker } from '../devices/speaker/create-speaker.js';
import type { Clock } from './clock.js';
import { inDir, type DeviceConfig } from './config.js';
import type { DeviceParts } from './device.js';
import type { Logger } from './log.js';

/** Builds the adapters a config asks for: real hardware on the device, files in the simulator. */
export async function buildParts(config: DeviceConfig, log: Logger, clock: Clock): Promise<DeviceParts> {
  const { speaker, controls } = config.settings;
  return {
    display: undefined,
    speaker: createSpeaker({ output: speaker.kind === 'wav' ? { ...speaker, dir: inDir(config.dir, speaker.dir) } : speaker, log, clock }),
    controls:
      controls.kind === 'none'
        ? undefined
        : new Controls({ io: await openBoardIo(controls), clock, log: log.child({ feature: 'controls' }), beepOnQr: config.settings.sale.chimeOnQr }),
  };
}
