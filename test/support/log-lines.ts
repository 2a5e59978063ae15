import { pino, type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger that keeps every line it writes, parsed, for a test to read. */
export function recordingLogger(level = 'debug'): { log: Logger; lines: LogLine[]; count: (msg: string) => number } {
  const lines: LogLine[] = [];
  const log = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines, count: (msg) => lines.filter((l) => l.msg === msg).length };
}
