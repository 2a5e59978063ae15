import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

/**
 * The simulator's broker: aedes in-process, on loopback. It speaks MQTT
 * 3.1.1, so devices run by the simulator use protocol version 4; real
 * brokers (mosquitto, EMQX) take version 5 as well.
 */
export class EmbeddedBroker {
  private readonly sockets = new Set<Socket>();
  private server: Server;
  private readonly boundPort: number;
  private down = false;

  private constructor(
    private readonly aedes: Aedes,
    server: Server,
    private readonly host: string,
  ) {
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  static async start(port = 0, host = '127.0.0.1'): Promise<EmbeddedBroker> {
    const aedes = await Aedes.createBroker();
    const broker = new EmbeddedBroker(aedes, await listen(aedes, port, host), host);
    broker.track(broker.server);
    return broker;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get isDown(): boolean {
    return this.down;
  }

  /**
   * Takes the broker off the network, as a crash does: the port stops
   * listening and every client's connection is dropped without a word. What
   * the broker holds in memory (sessions, queued messages) stays, as on a
   * broker that persists them.
   */
  async goDown(): Promise<void> {
    if (this.down) return;
    this.down = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    await closed;
  }

  /** Back on the same port. */
  async comeUp(): Promise<void> {
    if (!this.down) return;
    this.server = await listen(this.aedes, this.boundPort, this.host);
    this.track(this.server);
    this.down = false;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    if (!this.down) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(server: Server): void {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }
}

async function listen(aedes: Aedes, port: number, host: string): Promise<Server> {
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
