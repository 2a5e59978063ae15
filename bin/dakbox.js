#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1
// Memory on a 512 MB board, set on the line above because all must be given
// before node starts: V8's young generation otherwise grows to 32 MB under a
// steady stream of sales and keeps it (--max-semi-space-size=1 caps it at
// 2 MB: more scavenges, each of less), and glibc otherwise gives each of
// libuv's worker threads (PNG encoding, file writes) its own malloc arena,
// which stays resident once it has grown. A fixed mmap threshold gives
// every block of 128 KiB or more its own mapping, returned when freed:
// glibc's default raises the threshold to the largest block freed so far,
// after which such blocks come from the main heap and fragment it (in the
// memory soak the heap held 57 MB after 5,000 sales, against 26 MB).
// `dakbox run` also has V8 optimise for size (below): a smaller reserved
// heap for the same work, at a cost in speed that a device's few
// milliseconds of JavaScript a sale can pay, but the fleet simulator, with
// thousands of devices in one process, could not.
// They apply when this file is run as a program (npx dakbox, a systemd
// ExecStart naming this file); `node bin/dakbox.js` runs without them.
// The command is compiled TypeScript; `npm ci` builds it (the prepare script).
// `dakbox run`, the device's own start, runs from the one minified bundle
// the build makes of it (scripts/bundle.js): it starts sooner and holds less
// memory than when it loads the compiled modules one by one, unless the
// bundle is older than the compiled module it was made from (a build by tsc
// alone): it would then run old code, so the start loads the compiled
// modules and says so. Every other command runs from the compiled modules.
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

const argv = process.argv.slice(2);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const bundle = new URL('../dist/bundle/run.js', import.meta.url);
// What scripts/bundle.js makes the bundle from.
const bundleSource = new URL('../dist/cli/run-main.js', import.meta.url);
let entry = compiled;
if (argv[0] === 'run') {
  // Set before the device allocates anything, so every collection of its
  // life sizes the heap this way. In 20,000-sale memory soaks the heap
  // reserved 15.8 MB against 18.5 MB without it, and resident memory grew
  // 1.9 MB from the 1,000th sale against 4.1 MB; test/memory-settings.test.ts
  // shows the setting taking effect when made here, after node has started.
  setFlagsFromString('--optimize-for-size');
  const built = statSync(fileURLToPath(bundle), { throwIfNoEntry: false });
  const source = built && statSync(fileURLToPath(bundleSource), { throwIfNoEntry: false });
  if (!built) {
    if (existsSync(fileURLToPath(compiled))) {
      console.error('dakbox: dist/bundle/run.js is missing, so this start loads the compiled modules one by one (slower, more memory): run `npm run build` in the project folder');
    }
  } else if (source && built.mtimeMs < source.mtimeMs) {
    console.error('dakbox: dist/bundle/run.js is older than the compiled code in dist/, so this start loads the compiled modules one by one (slower, more memory): run `npm run build` in the project folder');
  } else entry = bundle;
}
if (!existsSync(fileURLToPath(entry))) {
  console.error('dakbox: not built yet: run `npm ci` (or `npm run build`) in the project folder');
  process.exit(1);
}
// For the memory benchmark: SIGUSR2 runs a full garbage collection and
// writes the memory figures from just before and just after it to stderr,
// so that a reading taken after the answer is what the device holds rather
// than garbage (panel pixels, PNGs, recordings) not yet collected, and what
// grows can be told apart from native memory. The second collection waits
// for the first's freeing of buffers, which V8 finishes on another thread:
// after one, most of the garbage buffers' memory was still resident.
if (process.env.DAKBOX_MEMORY_PROBE) {
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc');
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage();
    collectGarbage();
    collectGarbage();
    const after = process.memoryUsage();
    process.stderr.write(`dakbox-memory ${JSON.stringify({ before, after })}\n`);
  });
}
const { main } = await import(entry.href);
process.exitCode = await main(argv);
