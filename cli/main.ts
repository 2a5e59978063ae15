import { InputError, describeError } from '../core/errors.js';
import { ANNOUNCE_HELP, announceCommand } from './announce.js';
import { BENCH_HELP, benchCommand } from './bench.js';
import { BILLING_HELP, billingCommand } from './billing.js';
import { CHECK_HELP, checkCommand } from './check.js';
import { PROVISION_HELP, provisionCommand } from './provision.js';
import { QR_HELP, qrCommand } from './qr.js';
import { RUN_HELP, runCommand } from './run.js';
import { SCENARIO_HELP, scenarioCommand } from './scenario.js';
import { SIMULATE_HELP, simulateCommand } from './simulate.js';
import { VOICE_HELP, voiceCommand } from './voice.js';

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface Command {
  help: string;
  /** The command prints its own detailed help. */
  ownHelp?: boolean;
  run(argv: string[], io: CommandIo): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  qr: { help: QR_HELP, run: qrCommand },
  announce: { help: ANNOUNCE_HELP, run: announceCommand },
  billing: { help: BILLING_HELP, ownHelp: true, run: billingCommand },
  provision: { help: PROVISION_HELP, run: provisionCommand },
  check: { help: CHECK_HELP, run: checkCommand },
  bench: { help: BENCH_HELP, run: benchCommand },
  voice: { help: VOICE_HELP, run: voiceCommand },
  run: { help: RUN_HELP, run: runCommand },
  simulate: { help: SIMULATE_HELP, run: simulateCommand },
  scenario: { help: SCENARIO_HELP, run: scenarioCommand },
};

function usage(): string {
  return `dakbox: counter payment device firmware\n\n${Object.values(COMMANDS)
    .map((c) => c.help)
    .join('\n\n')}\n`;
}

/** Runs one command; every refusal is one line on stderr and a non-zero exit, never a stack trace. */
export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`dakbox: ${name}: is not a command (try: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  if (!command.ownHelp && (rest.includes('--help') || rest.includes('-h'))) {
    io.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr.write(`dakbox ${name}: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`dakbox ${name}: failed: ${describeError(err)}\n`);
    return 1;
  }
}

