import { pino, type Logger } from 'pino';

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
  if (options.pretty) {
    return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } });
  }
  if (options.destination) return pino({ level }, options.destination);
  // Written before the call returns: a power cut or a crash loses no line
  // that was logged, so the last lines before it say what the device was doing.
  return pino({ level }, pino.destination({ dest: 1, sync: true }));
}

/** A logger that drops everything, for tests and one-shot commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
