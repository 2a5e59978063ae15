import { InputError, describeError } from '../core/errors.js';

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface Command {
  help: string;
  /** The command prints its own detailed help. */
  ownHelp?: boolean;
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** Runs one command with its arguments; every refusal is one line on stderr and a non-zero exit, never a stack trace. */
export async function runCommandLine(name: string, command: Command, argv: string[], io: CommandIo): Promise<number> {
  if (!command.ownHelp && (argv.includes('--help') || argv.includes('-h'))) {
    io.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(argv, io);
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr.write(`dakbox ${name}: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`dakbox ${name}: failed: ${describeError(err)}\n`);
    return 1;
  }
}
