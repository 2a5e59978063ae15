import { PI_IO_PLUGINS } from '../../core/config.js';
import { describeError } from '../../core/errors.js';
import type { IoPlugin } from './io-plugin.js';
import { VirtualIo } from './virtual-io.js';

/** Which pins the controls are wired to: the Pi's, or none (simulator, tests, a laptop). */
export type BoardIoConfig = { kind: 'virtual' } | { kind: 'raspberry-pi'; plugin?: (typeof PI_IO_PLUGINS)[number] | undefined };

/**
 * Opens the IO plugin. The Pi plugins have native parts that do not build on
 * other machines, so they are not dependencies of the project: the device
 * image installs one, and it is imported here only when the device is
 * configured for the Pi.
 */
export async function openBoardIo(config: BoardIoConfig): Promise<IoPlugin> {
  switch (config.kind) {
    case 'virtual':
      return new VirtualIo();
    case 'raspberry-pi': {
      const plugin = config.plugin ?? 'raspi-io';
      if (!(PI_IO_PLUGINS as readonly string[]).includes(plugin)) throw new TypeError(`unknown Raspberry Pi IO plugin ${JSON.stringify(plugin)}`);
      let module: unknown;
      try {
        module = await import(plugin);
      } catch (err) {
        throw new Error(
          `the Raspberry Pi IO plugin ${plugin} is not installed (${describeError(err).split('\n')[0]}); the device image installs it, or set the controls to virtual`,
        );
      }
      const IoClass = pluginClass(module);
      if (!IoClass) throw new Error(`${plugin} does not export an IO plugin class`);
      return new IoClass();
    }
  }
}

type IoPluginClass = new () => IoPlugin;

/** raspi-io exports `{ RaspiIO }`; pi-io exports the class itself. Either may sit behind `default` when imported from ESM. */
function pluginClass(module: unknown): IoPluginClass | undefined {
  const candidates: unknown[] = [];
  if (isObject(module)) {
    candidates.push(module.RaspiIO, module.default);
    if (isObject(module.default)) candidates.push(module.default.RaspiIO);
  }
  return candidates.find((c): c is IoPluginClass => typeof c === 'function');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}
