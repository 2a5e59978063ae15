import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type { prettyFactory } from 'pino-pretty';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Human-readable lines for a terminal instead of JSON. */
  pretty?: boolean;
  /** Where JSON lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * The one logger. Features take a child with their own `feature` name so a
 * line says which part of the device wrote it.
 */
export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.DAKBOX_LOG ?? 'info';
  if (options.destination) return pino({ level }, options.destination);
  // Written before the call returns: a power cut or a crash loses no line
  // that was logged, so the last lines before it say what the device was doing.
  const stdout = pino.destination({ dest: 1, sync: true });
  if (options.pretty) {
    // Readable lines are made on this thread and written as the JSON lines
    // are, not by pino's transport for pino-pretty: its worker thread stops
    // reading once the reader of stdout has gone (EPIPE, e.g. after
    // `| head`), and every flush (the one at stop, and pino's own as the
    // process ends) then waits for it, so the process never ended.
    // Loaded here, and only for --pretty.
    const pretty = createRequire(import.meta.url)('pino-pretty') as { prettyFactory: typeof prettyFactory };
    const prettify = pretty.prettyFactory({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
    return pino({ level }, { write: (line: string) => stdout.write(prettify(line)) });
  }
  return pino({ level }, stdout);
}

/** A logger that drops everything, for tests and one-shot commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
