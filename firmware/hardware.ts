import { createSpeaker } from '../devices/speaker/create-speaker.js';
import type { Clock } from './clock.js';
import { inDir, type DeviceConfig } from './config.js';
import type { DeviceParts } from './device.js';
import type { Logger } from './log.js';

/** Builds the adapters a config asks for: real hardware on the device, files in the simulator. */
export async function buildParts(config: DeviceConfig, log: Logger, clock: Clock): Promise<DeviceParts> {
  const { speaker } = config.settings;
  return Promise.resolve({
    display: undefined,
    speaker: createSpeaker({ output: speaker.kind === 'wav' ? { ...speaker, dir: inDir(config.dir, speaker.dir) } : speaker, log, clock }),
  });
}
