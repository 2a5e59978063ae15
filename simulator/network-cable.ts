import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * The network between one simulated device and its broker: a TCP relay on
 * loopback that can be cut. Cutting destroys both sides of every connection
 * (no MQTT DISCONNECT, no FIN handshake the device waits for) and refuses new
 * ones until it is restored, as a pulled Ethernet cable or a dead Wi-Fi does.
 */
export class NetworkCable {
  private readonly pairs = new Set<[Socket, Socket]>();
  private cut = false;

  private constructor(
    private readonly server: Server,
    private readonly brokerHost: string,
    private readonly brokerPort: number,
  ) {
    server.on('connection', (socket) => this.relay(socket));
  }

  /** Relays to the broker at `brokerUrl` (mqtt://host:port). */
  static async lay(brokerUrl: string): Promise<NetworkCable> {
    const url = new URL(brokerUrl);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new NetworkCable(server, url.hostname, Number(url.port || 1883));
  }

  /** The URL the device dials: the broker's scheme, this relay's port. */
  urlFor(brokerUrl: string): string {
    const url = new URL(brokerUrl);
    return `${url.protocol}//127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get isCut(): boolean {
    return this.cut;
  }

  /**
   * Cuts the network: every open connection is destroyed and new ones are
   * dropped. Resolves once each destroyed connection has closed, when the
   * device's side has seen it go.
   */
  sever(): Promise<void> {
    this.cut = true;
    return this.dropAll();
  }

  restore(): void {
    this.cut = false;
  }

  /** Takes the relay away for good; connections die abruptly. */
  async remove(): Promise<void> {
    this.cut = true;
    await this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dropAll(): Promise<void> {
    const closed: Promise<unknown>[] = [];
    for (const [device, broker] of this.pairs) {
      if (!device.closed) closed.push(new Promise((resolve) => device.once('close', resolve)));
      device.resetAndDestroy();
      broker.resetAndDestroy();
    }
    this.pairs.clear();
    return Promise.all(closed).then(() => undefined);
  }

  private relay(device: Socket): void {
    if (this.cut) {
      device.resetAndDestroy();
      return;
    }
    device.setNoDelay(true);
    const broker = connect({ host: this.brokerHost, port: this.brokerPort, noDelay: true });
    const pair: [Socket, Socket] = [device, broker];
    this.pairs.add(pair);
    const end = (): void => {
      this.pairs.delete(pair);
      device.destroy();
      broker.destroy();
    };
    device.on('error', end);
    broker.on('error', end);
    device.on('close', end);
    broker.on('close', end);
    device.pipe(broker);
    broker.pipe(device);
  }
}
