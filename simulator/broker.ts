import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';

/**
 * The simulator's broker: aedes in-process, on loopback. It speaks MQTT
 * 3.1.1, so devices run by the simulator use protocol version 4; real
 * brokers (mosquitto, EMQX) take version 5 as well.
 */
export class EmbeddedBroker {
  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
  ) {}

  static async start(port = 0, host = '127.0.0.1'): Promise<EmbeddedBroker> {
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new EmbeddedBroker(aedes, server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
