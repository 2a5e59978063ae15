// Bundles `dakbox run`, the device's own start, into dist/bundle/run.js:
// the compiled modules it loads (dist/cli/run-main.js and everything it
// imports, with the npm packages that are plain JavaScript) joined into one
// minified ES module (with a few chunks beside it). A device then reads
// and compiles those instead of resolving and reading some 300 files, and
// V8, which keeps the source text of every module it has loaded, keeps
// minified text.
// Every other command runs from the compiled modules in dist/.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outdir = `${dist}bundle`;

/**
 * Packages loaded from node_modules as they are, not bundled: native
 * addons and what loads them (their .node files are found relative to the
 * package), the hardware packages, which load their platform's parts by
 * name at run time, and packages that start worker threads or read files
 * relative to themselves.
 */
const EXTERNAL = [
  'better-sqlite3',
  'canvas',
  'serialport',
  '@serialport/*',
  'johnny-five',
  // pino's transports (--pretty) start a worker from a file beside pino's own.
  'pino',
  'pino-pretty',
  // mqtt.js's WebSocket and SOCKS transports: loaded only for a ws:// or
  // wss:// broker or through a SOCKS proxy, never for mqtt:// or mqtts://.
  'ws',
  'socks',
  // Loaded by a path of their own (createRequire or a plugin name from the config).
  'qrcode',
  'raspi-io',
  'pi-io',
  'say',
];

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { run: `${dist}cli/run-main.js` },
  outdir,
  bundle: true,
  // Each adapter the config may ask for (display, buttons, serial line)
  // stays in a chunk of its own, loaded only when used, as the modules are.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Readable stack traces with node --enable-source-maps; never read otherwise.
  sourcemap: 'linked',
  external: EXTERNAL,
  // The CommonJS packages inside the bundle call require() for node's own
  // modules and for the packages left outside it.
  banner: { js: "import { createRequire as __dakboxRequire } from 'node:module'; const require = __dakboxRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile));
