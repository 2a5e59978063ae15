import { spawn } from 'node:child_process';
import { systemClock, type Clock } from '../../core/clock.js';

/** A speech or audio program that could not do its job. */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly command: string,
    readonly problem: string,
    /** The program is not installed at all. */
    readonly missing = false,
  ) {
    super(`${command}: ${problem}`);
  }
}

export interface EngineRunOptions {
  /** Written to the program's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** A speech engine that hangs must not hold the announcement queue for ever. */
  timeoutMs?: number;
  clock?: Clock;
}

export interface EngineOutput {
  stdout: Buffer;
  stderr: string;
}

const STDERR_KEPT = 4096;

/**
 * Runs a speech or audio program with an argument vector, never through a
 * shell: nothing in the arguments or the input is ever interpreted by one.
 * Rejects with an EngineError on a missing program, a non-zero exit, a
 * signal or a timeout.
 */
export function runEngine(command: string, args: readonly string[], options: EngineRunOptions = {}): Promise<EngineOutput> {
  const clock = options.clock ?? systemClock;
  return new Promise((resolve, reject) => {
    let settled = false;
    const stdout: Buffer[] = [];
    let stderr = '';
    const child = spawn(command, args, { shell: false, windowsHide: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : clock.setTimeout(() => {
            child.kill('SIGKILL');
            finish(new EngineError(command, `did not finish within ${options.timeoutMs} ms`));
          }, options.timeoutMs);

    function finish(error?: EngineError): void {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      if (error) reject(error);
      else resolve({ stdout: Buffer.concat(stdout), stderr });
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') finish(new EngineError(command, 'is not installed', true));
      else finish(new EngineError(command, err.message));
    });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    // A program that exits without reading all its input is reported by its
    // exit status, not by a write error on a closed pipe.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.on('close', (code, signal) => {
      if (code === 0) finish();
      else finish(new EngineError(command, `${signal ? `killed by ${signal}` : `exited with ${code}`}${lastLines(stderr)}`));
    });
  });
}

/** The tail of an engine's complaint, on one line, for a log message. */
export function lastLines(stderr: string, count = 3): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-count);
  return lines.length ? `: ${lines.join(' | ')}` : '';
}
