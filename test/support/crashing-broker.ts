import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess, freePort } from './mosquitto.js';

/**
 * A real mosquitto configured as deploy/mosquitto/dakbox.conf keeps its
 * store (persistence, sessions kept 14 days, 1000 queued messages per
 * client), but saving every second rather than every 30, on a free loopback
 * port with its own temp folder. `crash()` kills it with SIGKILL — no
 * chance to save — and starts it again on the same port and store, so it
 * comes back with whatever it last saved and nothing since.
 */
export class CrashingBroker {
  private readonly broker: BrokerProcess;
  private stopped = false;
  crashes = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.broker = new BrokerProcess(join(dir, 'mosquitto.conf'), [port]);
  }

  static async start(options: { autosaveSeconds?: number } = {}): Promise<CrashingBroker> {
    const dir = mkdtempSync(join(tmpdir(), 'dakbox-crashing-broker-'));
    const port = await freePort();
    const conf = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      `autosave_interval ${options.autosaveSeconds ?? 1}`,
      'persistent_client_expiration 14d',
      'max_queued_messages 1000',
      'message_size_limit 65536',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      // Started as root (CI), mosquitto would switch to its own user and lose
      // access to this private folder; stay the user who started it.
      `user ${userInfo().username}`,
    ];
    writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`, { mode: 0o600 });
    const broker = new CrashingBroker(dir, port);
    await broker.run();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get output(): string {
    return this.broker.output;
  }

  private run(): Promise<void> {
    return this.broker.run();
  }

  private kill(signal: NodeJS.Signals): Promise<void> {
    return this.broker.kill(signal);
  }

  /** SIGKILL, then the same broker again after `downMs`. */
  async crash(downMs = 0): Promise<void> {
    await this.kill('SIGKILL');
    this.crashes++;
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    if (!this.stopped) await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
