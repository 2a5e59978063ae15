import { runCommandLine, type Command, type CommandIo } from './command.js';

export type { CommandIo };

/**
 * Each command's module is loaded when that command runs: `dakbox run` on a
 * device does not load the simulator's broker, the benchmarks or the
 * drawing code of `dakbox qr`, and starts sooner for it.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  qr: () => import('./qr.js').then((m) => ({ help: m.QR_HELP, run: m.qrCommand })),
  announce: () => import('./announce.js').then((m) => ({ help: m.ANNOUNCE_HELP, run: m.announceCommand })),
  billing: () => import('./billing.js').then((m) => ({ help: m.BILLING_HELP, ownHelp: true, run: m.billingCommand })),
  provision: () => import('./provision.js').then((m) => ({ help: m.PROVISION_HELP, run: m.provisionCommand })),
  check: () => import('./check.js').then((m) => ({ help: m.CHECK_HELP, run: m.checkCommand })),
  bench: () => import('./bench.js').then((m) => ({ help: m.BENCH_HELP, run: m.benchCommand })),
  voice: () => import('./voice.js').then((m) => ({ help: m.VOICE_HELP, run: m.voiceCommand })),
  run: () => import('./run.js').then((m) => m.RUN),
  simulate: () => import('./simulate.js').then((m) => ({ help: m.SIMULATE_HELP, run: m.simulateCommand })),
  scenario: () => import('./scenario.js').then((m) => ({ help: m.SCENARIO_HELP, run: m.scenarioCommand })),
  fleet: () => import('./fleet.js').then((m) => ({ help: m.FLEET_HELP, ownHelp: true, run: m.fleetCommand })),
};

async function usage(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  return `dakbox: counter payment device firmware\n\n${commands.map((c) => c.help).join('\n\n')}\n`;
}

/** Runs one command; every refusal is one line on stderr and a non-zero exit, never a stack trace. */
export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`dakbox: ${name}: is not a command (try: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  return runCommandLine(name, await load(), rest, io);
}

