import { runCommandLine, type CommandIo } from './command.js';
import { RUN } from './run.js';

/**
 * The command line of the device's own start, `dakbox run`, and nothing
 * else: what `npm run build` bundles (scripts/bundle.js) into the one
 * minified file a device starts from. Every other command runs from the
 * compiled modules through main.ts.
 */
export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name !== 'run') {
    io.stderr.write(`dakbox: ${name ?? '(no command)'}: this entry runs only \`dakbox run\`; start bin/dakbox.js\n`);
    return 2;
  }
  return runCommandLine(name, RUN, rest, io);
}
