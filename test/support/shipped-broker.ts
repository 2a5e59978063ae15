import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess, freePort } from './mosquitto.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/mosquitto/', import.meta.url));
const INSTALLED = '/etc/mosquitto/';
/** Options the test sets itself; the shipped value, if any, is dropped. */
const OWN = new Set(['persistence_location', 'log_dest', 'log_type', 'user', 'pid_file']);

export interface ShippedBrokerOptions {
  /** The configuration in deploy/mosquitto/ to run (default dakbox.conf). */
  conf?: string;
  /** Device id → password, written with mosquitto_passwd to the shipped password file. */
  devices?: Record<string, string>;
  /** Rewrites each configuration line (not comments): what a deployment fills in, such as a circle's name or a bridge's address. */
  fill?: (line: string) => string;
  /** Files the configuration names under /etc/mosquitto/ (by path below it) that come from elsewhere: another broker's CA, a certificate it issued. */
  files?: Record<string, string>;
}

/** What a client needs to check the broker's certificate and present its own. */
export interface ClientCertificate {
  ca: string;
  cert: string;
  key: string;
}

/**
 * A broker exactly as deploy/mosquitto/dakbox.conf (or another shipped
 * configuration there) configures it, run on a real mosquitto for a test: the
 * files it names under /etc/mosquitto/ live in a temporary folder instead
 * (the shipped ACLs copied, the password file written, files from another
 * broker copied, the certificates made with openssl: a CA for the broker's
 * own certificate and every CA it names), and every listener moves to a free
 * loopback port. Nothing else in the configuration is changed but what
 * `fill` fills in.
 */
export class ShippedBroker {
  private readonly broker: BrokerProcess;

  private constructor(
    readonly dir: string,
    /** Port in the configuration → port it runs on here. */
    private readonly ports: Map<number, number>,
    private readonly confName: string,
  ) {
    this.broker = new BrokerProcess(join(dir, 'mosquitto.conf'), [...ports.values()]);
  }

  static async start(options: ShippedBrokerOptions = {}): Promise<ShippedBroker> {
    const confName = options.conf ?? 'dakbox.conf';
    const fill = options.fill ?? ((line: string) => line);
    const dir = mkdtempSync(join(tmpdir(), 'dakbox-shipped-broker-'));
    const ports = new Map<number, number>();
    const referenced = new Set<string>();
    const lines: string[] = [
      `persistence_location ${dir}/`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      // Started as root (CI), mosquitto would switch to its own user and lose
      // access to this private folder; stay the user who started it.
      `user ${userInfo().username}`,
    ];
    for (const shippedLine of readFileSync(join(DEPLOY, confName), 'utf8').split('\n')) {
      if (shippedLine.trim().startsWith('#')) continue;
      const line = fill(shippedLine);
      const words = line.trim().split(/\s+/);
      if (OWN.has(words[0] ?? '')) continue;
      if (words[0] === 'listener') {
        const shipped = Number(words[1]);
        if (ports.has(shipped)) throw new Error(`${confName}: listener ${shipped} twice`);
        const port = await freePort();
        ports.set(shipped, port);
        lines.push(`listener ${port} 127.0.0.1`);
        continue;
      }
      lines.push(
        line.replace(new RegExp(`${INSTALLED}(\\S+)`, 'g'), (_, rel: string) => {
          referenced.add(rel);
          return join(dir, rel);
        }),
      );
    }
    const broker = new ShippedBroker(dir, ports, confName);
    for (const [rel, source] of Object.entries(options.files ?? {})) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      copyFileSync(source, join(dir, rel));
    }
    broker.provide(referenced, options.devices ?? {});
    writeFileSync(join(dir, 'mosquitto.conf'), `${lines.join('\n')}\n`, { mode: 0o600 });
    await broker.run();
    return broker;
  }

  /** The files the configuration names: shipped ones copied, the rest made. */
  private provide(referenced: Set<string>, devices: Record<string, string>): void {
    mkdirSync(join(this.dir, 'certs'), { recursive: true });
    this.makeCa('broker-ca');
    this.issue('broker', 'localhost', 'broker-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
    for (const rel of referenced) {
      const path = join(this.dir, rel);
      if (existsSync(path)) continue;
      mkdirSync(dirname(path), { recursive: true });
      if (existsSync(join(DEPLOY, basename(rel)))) copyFileSync(join(DEPLOY, basename(rel)), path);
      else if (rel.endsWith('.passwd')) this.writePasswords(path, devices);
      else if (rel.startsWith('certs/') && rel.endsWith('-ca.crt')) this.makeCa(basename(rel, '.crt'));
      else throw new Error(`${this.confName} names ${INSTALLED}${rel}, which this test does not know how to make`);
    }
  }

  private writePasswords(path: string, users: Record<string, string>): void {
    writeFileSync(path, '', { mode: 0o600 });
    for (const [user, password] of Object.entries(users)) {
      const made = spawnSync('mosquitto_passwd', ['-b', path, user, password], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
    }
  }

  private ssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: join(this.dir, 'certs'), stdio: 'pipe' });
  }

  private makeCa(name: string): void {
    this.ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=dakbox test ${name}`);
  }

  private issue(name: string, cn: string, ca: string, ext?: string): void {
    this.ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    const extArgs: string[] = [];
    if (ext) {
      writeFileSync(join(this.dir, 'certs', `${name}.ext`), `${ext}\n`);
      extArgs.push('-extfile', `${name}.ext`);
    }
    this.ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...extArgs);
  }

  /**
   * A client certificate with this CN from one of the CAs the configuration
   * names (device-ca, backend-ca, edge-ca), with the CA that checks the
   * broker's certificate.
   */
  certificate(cn: string, ca: 'device-ca' | 'backend-ca' | 'edge-ca'): ClientCertificate {
    const name = `client-${ca}-${cn}`;
    if (!existsSync(join(this.dir, 'certs', `${name}.crt`))) this.issue(name, cn, ca);
    return { ca: this.brokerCa, cert: join(this.dir, 'certs', `${name}.crt`), key: join(this.dir, 'certs', `${name}.key`) };
  }

  /** The CA a client checks the broker's certificate with. */
  get brokerCa(): string {
    return join(this.dir, 'certs', 'broker-ca.crt');
  }

  /** mqtt.js TLS options: check the broker, and present this certificate if given. */
  tls(certificate?: ClientCertificate): { ca: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: true } {
    return {
      ca: readFileSync(this.brokerCa),
      ...(certificate ? { cert: readFileSync(certificate.cert), key: readFileSync(certificate.key) } : {}),
      rejectUnauthorized: true,
    };
  }

  /** The port the configuration's listener `shippedPort` runs on here. */
  port(shippedPort: number): number {
    const port = this.ports.get(shippedPort);
    if (port === undefined) throw new Error(`${this.confName} has no listener ${shippedPort}`);
    return port;
  }

  /** The URL of the listener the configuration puts on this port. */
  url(shippedPort: number): string {
    return `mqtts://127.0.0.1:${this.port(shippedPort)}`;
  }

  get output(): string {
    return this.broker.output;
  }

  private run(): Promise<void> {
    return this.broker.run();
  }

  /** Stops the broker (it saves its store) and starts it again on the same ports. */
  async restart(): Promise<void> {
    await this.halt();
    await this.run();
  }

  /** Kills the broker without warning (it saves nothing more), waits `downMs`, and starts it again on the same ports and store. */
  async crash(downMs: number): Promise<void> {
    await this.broker.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, downMs));
    await this.run();
  }

  private halt(): Promise<void> {
    return this.broker.kill('SIGTERM');
  }

  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
