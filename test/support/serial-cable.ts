import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plugSerialCable, unplugSerialCable, type SerialCable } from '../../simulator/serial-cable.js';

export type Cable = SerialCable;

/** A cable in a temp folder of its own; `reuse` plugs it back in at the same paths. */
export async function startCable(reuse?: Cable): Promise<Cable> {
  return plugSerialCable(reuse?.dir ?? (await mkdtemp(join(tmpdir(), 'dakbox-pty-'))));
}

export const unplugCable = unplugSerialCable;

export async function stopCable(cable: Cable | undefined): Promise<void> {
  if (!cable) return;
  await unplugSerialCable(cable);
  await rm(cable.dir, { recursive: true, force: true });
}
