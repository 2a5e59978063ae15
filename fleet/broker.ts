import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** File descriptors the broker asks for: one per connection, and room to spare. */
const BROKER_OPEN_FILES = 200_000;

/**
 * A mosquitto for one fleet run, on a free loopback port, set up as
 * deploy/mosquitto/dakbox.conf is in what a large fleet depends on: no
 * Nagle delay, no cap on connections, and enough file descriptors. It keeps
 * no store (the run measures the live path, and mosquitto 2.0 rewrites its
 * whole store on each save), and publishes its $SYS counters every second
 * so the run can count messages and bytes per sale.
 */
export class FleetBroker {
  private log = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-4000);
    });
  }

  static async start(): Promise<FleetBroker> {
    const dir = mkdtempSync(join(tmpdir(), 'dakbox-fleet-broker-'));
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'set_tcp_nodelay true',
        'max_connections -1',
        'max_queued_messages 1000',
        'message_size_limit 65536',
        'sys_interval 1',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        // Started as root, mosquitto would switch to its own user; stay the one who started it.
        `user ${userInfo().username}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // mosquitto does not raise its own limit: the shell does, up to the hard
    // limit where it may not go further.
    const script = `ulimit -n ${BROKER_OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec mosquitto -c "$1"`;
    const child = spawn('sh', ['-c', script, 'sh', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const broker = new FleetBroker(child, dir, port);
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (spawned) throw new Error(`mosquitto could not be started: ${spawned.message}`);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${broker.log.trim() || `status ${child.exitCode}`} (is mosquitto installed?)`);
      if (await listening(port)) return broker;
      await new Promise((r) => setTimeout(r, 20));
    }
    await broker.stop();
    throw new Error(`mosquitto did not listen on port ${port}: ${broker.log.trim()}`);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The broker's resident memory. */
  rssBytes(): number | undefined {
    const status = this.proc('status');
    const kb = status && /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  }

  /** CPU time the broker has used, in seconds. */
  cpuSeconds(): number | undefined {
    const stat = this.proc('stat');
    return stat === undefined ? undefined : processCpuSeconds(stat);
  }

  /** Its open-file limit as mosquitto got it. */
  openFileLimit(): number | undefined {
    const limits = this.proc('limits');
    const soft = limits && /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return soft ? Number(soft) : undefined;
  }

  private proc(file: string): string | undefined {
    try {
      return readFileSync(`/proc/${this.child.pid}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** mosquitto's version line, e.g. "mosquitto version 2.0.11". */
export function mosquittoVersion(): string | undefined {
  const run = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' });
  return /mosquitto version [\d.]+/.exec(`${run.stdout ?? ''}${run.stderr ?? ''}`)?.[0];
}

/** utime + stime from a /proc/<pid>/stat line, in seconds. */
export function processCpuSeconds(stat: string): number {
  // The command name may hold spaces: the fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** The calling thread's own CPU time so far (utime + stime), in seconds; undefined where Linux's /proc/thread-self is missing. */
export function threadCpuSeconds(): number | undefined {
  try {
    return processCpuSeconds(readFileSync('/proc/thread-self/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout;
    ticks = Number(out?.trim()) || 100;
  }
  return ticks;
}

/** The whole machine's busy CPU time so far, in seconds (all cores), from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.split(/\s+/).slice(1).map(Number);
    if (!cpu || cpu.length < 8) return undefined;
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / clockTicks();
  } catch {
    return undefined;
  }
}

/** A port nobody is listening on right now, on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port on loopback'))));
    });
  });
}

/** Whether something accepts connections on this loopback port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
