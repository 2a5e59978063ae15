import { spawn, type ChildProcess } from 'node:child_process';
import { DAKBOX_BIN, readLogLines, type LogLine } from './device-process.js';

/**
 * `dakbox run` as on a device, in a process group of its own so that a
 * power cut takes everything the device started (its speech engine) with it,
 * as a real one does. Its JSON log lines are kept; a test can wait for one,
 * or act the moment one arrives.
 */
export class PoweredDevice {
  readonly lines: LogLine[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly watchers = new Set<(line: LogLine) => void>();

  constructor(configPath: string, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [DAKBOX_BIN, 'run', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, DAKBOX_LOG: 'debug', ...env },
    });
    readLogLines(this.child, (line) => {
      this.lines.push(line);
      for (const watcher of [...this.watchers]) watcher(line);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Calls `watcher` with every line from now on, until the returned function is called. */
  watch(watcher: (line: LogLine) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Resolves with the first line (already seen or still to come) that matches. */
  waitForLog(match: string | ((l: LogLine) => boolean), timeoutMs = 20_000): Promise<LogLine> {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no log line ${String(match)} within ${timeoutMs} ms; stderr: ${this.stderr}; last lines: ${JSON.stringify(this.lines.slice(-5))}`));
      }, timeoutMs);
      const stop = this.watch((line) => {
        if (!test(line)) return;
        clearTimeout(timer);
        stop();
        resolve(line);
      });
    });
  }

  /** Power cut: SIGKILL to the whole group, no chance to clean up. Resolves when the device's output has ended. */
  async powerCut(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    }
    await this.exited;
  }

  /** Orderly stop, as systemd does. */
  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    await this.exited;
  }

  errors(): LogLine[] {
    return this.lines.filter((l) => l.level >= 50);
  }
}
