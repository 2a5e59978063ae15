import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const DAKBOX_BIN = fileURLToPath(new URL('../../bin/dakbox.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * `dakbox run` as a separate process, exactly as on a device, with its JSON
 * log lines collected so a test can wait for one.
 */
export class DeviceProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  /** `bin` is the command's start script: another copy of bin/dakbox.js than the project's own. */
  constructor(configPath: string, env: NodeJS.ProcessEnv = {}, bin = DAKBOX_BIN) {
    this.child = spawn(process.execPath, [bin, 'run', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DAKBOX_LOG: 'debug', ...env },
    });
    readLogLines(this.child, (line) => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first log line (already seen or still to come) with this message. */
  waitForLog(msg: string | ((l: LogLine) => boolean), timeoutMs = 20_000): Promise<LogLine> {
    const match = typeof msg === 'string' ? (l: LogLine) => l.msg === msg : msg;
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line ${String(msg)} within ${timeoutMs} ms; stderr: ${this.stderr}; last lines: ${JSON.stringify(this.lines.slice(-5))}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** Power cut: no chance to clean up. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Resolves with the exit code when the process ends by itself (or fails after `timeoutMs`). */
  exit(timeoutMs = 20_000): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      void this.exited.then((code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  /** Orderly stop, as systemd does. Resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Errors (level ≥ 50) logged so far. */
  errors(): LogLine[] {
    return this.lines.filter((l) => l.level >= 50);
  }
}

/** Calls `onLine` with each JSON log line the device process writes; a line that is not JSON becomes a fatal one saying so. */
export function readLogLines(child: ChildProcess, onLine: (line: LogLine) => void): void {
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 60, msg: `unparsed output: ${text}` };
      }
      onLine(line);
    }
  });
}
