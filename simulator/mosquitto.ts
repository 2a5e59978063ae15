import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, listening } from '../fleet/broker.js';

// The broker-process helpers are the fleet simulator's; the local simulator
// and the tests start their brokers with the same ones.
export { freePort, listening };

export interface MosquittoOptions {
  /** Lines of an ACL file; with them, clients must log in (see `users`). */
  acl?: string[];
  /** username → password, written with mosquitto_passwd. */
  users?: Record<string, string>;
  /** Extra mosquitto.conf lines. */
  extra?: string[];
}

/**
 * One mosquitto process on a config file, for the tests and benchmarks that
 * start a broker: started until it listens on every port given, stopped by a
 * signal, its log kept.
 */
export class BrokerProcess {
  private child?: ChildProcess;
  private log = '';

  constructor(
    private readonly confPath: string,
    private readonly ports: readonly number[],
  ) {}

  get output(): string {
    return this.log;
  }

  async run(): Promise<void> {
    const child = spawn('mosquitto', ['-c', this.confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.log += chunk.toString();
    });
    const deadline = Date.now() + 10_000;
    const pending = new Set(this.ports);
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${this.log}`);
      for (const port of pending) if (await listening(port)) pending.delete(port);
      if (pending.size === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`mosquitto did not listen on ${[...pending].join(', ')}: ${this.log}`);
  }

  /** Sends `signal` and waits for the broker to exit: SIGTERM saves its store, SIGKILL does not. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}

/**
 * A real mosquitto, started for a test or benchmark on a free loopback port
 * with its own folder, persistence on, and stopped by whoever started it. Restartable on the same
 * port and store, to test what survives a broker restart.
 */
export class Mosquitto {
  private readonly broker: BrokerProcess;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.broker = new BrokerProcess(join(dir, 'mosquitto.conf'), [port]);
  }

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'dakbox-mosquitto-'));
    const port = await freePort();
    const conf = [
      `listener ${port} 127.0.0.1`,
      'persistence true',
      `persistence_location ${dir}/`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'max_queued_messages 10000',
      // Started as root (CI), mosquitto would switch to its own user and lose
      // access to this private folder; stay the user who started it.
      `user ${userInfo().username}`,
    ];
    if (options.users) {
      const passwd = join(dir, 'passwd');
      writeFileSync(passwd, '', { mode: 0o600 });
      for (const [user, password] of Object.entries(options.users)) {
        const made = spawnSync('mosquitto_passwd', ['-b', passwd, user, password], { encoding: 'utf8' });
        if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
      }
      conf.push('allow_anonymous false', `password_file ${passwd}`);
    } else {
      conf.push('allow_anonymous true');
    }
    if (options.acl) {
      const acl = join(dir, 'acl');
      writeFileSync(acl, `${options.acl.join('\n')}\n`, { mode: 0o600 });
      conf.push(`acl_file ${acl}`);
    }
    conf.push(...(options.extra ?? []));
    writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`, { mode: 0o600 });
    const broker = new Mosquitto(dir, port);
    await broker.run();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  private run(): Promise<void> {
    return this.broker.run();
  }

  /** Stops the broker (keeping its store) and starts it again on the same port. */
  async restart(): Promise<void> {
    await this.halt();
    await this.run();
  }

  private halt(): Promise<void> {
    return this.broker.kill('SIGTERM');
  }

  get output(): string {
    return this.broker.output;
  }

  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

