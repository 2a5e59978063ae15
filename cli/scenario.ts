import { InputError } from '../core/errors.js';
import { createLogger, silentLogger } from '../core/log.js';
import type { Simulation } from '../simulator/simulation.js';
import { parse } from './args.js';
import type { CommandIo } from './main.js';

export const SCENARIO_HELP = `dakbox scenario run FILE.yaml... [--headless] [--out DIR] [--update-golden] [--verbose]
  Runs each scenario against a fresh simulator (embedded broker on a free
  port, in a temporary folder) and exits 0 when every step passed, or 1
  naming the failing step, what it expected and what it saw. Without
  --headless the simulator page is served while the scenario runs and its
  address printed. Screenshots go to --out (default: the current folder).
  --update-golden writes golden images that do not exist yet. Steps and
  files: docs/scenarios.md.`;

/** The page module's exports the scenario command uses, looked up at run time. */
interface PageModules {
  PageServer: { start(options: { simulation: unknown; port: number; log: ReturnType<typeof silentLogger> }): Promise<{ url: string; stop(): Promise<void> }> };
  PageBridge: new (sim: Simulation) => unknown;
}

export async function scenarioCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      headless: { type: 'boolean' },
      out: { type: 'string' },
      'update-golden': { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
    true,
  );
  const [action, ...files] = positionals;
  if (action !== 'run') throw new InputError('scenario', action === undefined ? 'needs an action: run FILE.yaml' : `${JSON.stringify(action)} is not an action (run)`);
  if (files.length === 0) throw new InputError('run', 'needs a scenario file');
  // Loaded here, not at the top: the runner reads PNGs and QRs with libraries
  // a device's own install does not carry.
  const { formatFailure, loadScenario, runScenario } = await import('../simulator/scenario/runner.js').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new InputError('scenario', 'needs the packages jsqr, pngjs and pixelmatch, which an install without development packages lacks (run npm ci)');
  });
  // Every file is checked before any runs.
  const scenarios = files.map((file) => ({ file, ...loadScenario(file) }));
  const say = (line: string) => io.stdout.write(`${line}\n`);
  const log = values.verbose ? createLogger({ pretty: true, level: 'debug' }) : silentLogger();
  const page = values.headless ? undefined : await pageModules();
  let failed = 0;
  for (const { file, scenario, baseDir } of scenarios) {
    let server: { url: string; stop(): Promise<void> } | undefined;
    const result = await runScenario(scenario, {
      baseDir,
      log,
      ...(values.out !== undefined ? { outDir: values.out } : {}),
      ...(values['update-golden'] ? { updateGolden: true } : {}),
      onStep: (step, ms) => say(`  ✓ ${String(step.number).padStart(2)} ${step.text}  (${(ms / 1000).toFixed(1)} s)`),
      onStart: async (sim) => {
        say(`${file}: ${sim.deviceIds.join(', ')} on ${sim.brokerUrl}`);
        if (!page) return;
        server = await page.PageServer.start({ simulation: new page.PageBridge(sim), port: 0, log });
        say(`simulator page: ${server.url}`);
      },
      onEnd: async () => {
        await server?.stop();
      },
    });
    await server?.stop().catch(() => undefined);
    if (result.ok) {
      say(`${file}: passed, ${result.passed} steps in ${(result.durationMs / 1000).toFixed(1)} s`);
    } else {
      failed++;
      say(`${file}: FAILED ${result.failure ? formatFailure(result.failure) : ''}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

/** The simulator page, if this build has it; scenarios run headless without it. */
async function pageModules(): Promise<PageModules | undefined> {
  // Named at run time so the command works (headless) in a build without the page.
  const server = '../simulator/web/server.js';
  const bridge = '../simulator/web/bridge.js';
  try {
    const [s, b] = (await Promise.all([import(server), import(bridge)])) as [Partial<PageModules>, Partial<PageModules>];
    if (s.PageServer && b.PageBridge) return { PageServer: s.PageServer, PageBridge: b.PageBridge };
  } catch {
    // No page in this build.
  }
  return undefined;
}
