import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * When this firmware was built. A clock that reads earlier is certainly
 * wrong, so the device takes no sales until it reads later (see
 * clock-trust.ts).
 *
 * `npm run build` writes `dist/build.json` (`{"builtAt": "<ISO-8601>"}`)
 * after compiling, and `npm ci` runs the build, so a device installed from
 * a fresh clone has one. It is found from the package root, the nearest
 * folder above this module holding package.json: the same file whether the
 * compiled `dist/core/firmware-build.js` runs or a test imports this source.
 */
export const BUILD_STAMP_PATH = join('dist', 'build.json');

/**
 * Stands in only where no build has ever run (tests straight from a clone
 * that was never built): the day this check was written. A clock earlier
 * than it is wrong on any build of this firmware.
 */
export const EARLIEST_BUILD = Date.UTC(2026, 11, 1);

export interface FirmwareBuild {
  /** Epoch ms. */
  builtAt: number;
  /** The stamp read; undefined when none was found and EARLIEST_BUILD stands in. */
  stamp?: string;
  /** Why no stamp was used. */
  problem?: string;
}

/** Reads the build stamp of the package holding `from` (this module unless a test says otherwise). */
export function firmwareBuild(from: string = fileURLToPath(import.meta.url)): FirmwareBuild {
  const root = packageRoot(dirname(from));
  if (!root) return { builtAt: EARLIEST_BUILD, problem: `no package.json above ${from}` };
  const path = join(root, BUILD_STAMP_PATH);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { builtAt: EARLIEST_BUILD, problem: `${path} is missing: run npm run build` };
  }
  let builtAt = Number.NaN;
  try {
    const body = JSON.parse(text) as { builtAt?: unknown };
    if (typeof body.builtAt === 'string' && /^\d{4}-\d\d-\d\dT/.test(body.builtAt)) builtAt = Date.parse(body.builtAt);
  } catch {
    // Falls through to the problem below.
  }
  if (!Number.isFinite(builtAt)) return { builtAt: EARLIEST_BUILD, problem: `${path} does not hold {"builtAt": "<ISO-8601 time>"}` };
  return { builtAt, stamp: path };
}

function packageRoot(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at;
    if (dirname(at) === at) return undefined;
  }
}
