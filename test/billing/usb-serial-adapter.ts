import { PassThrough } from 'node:stream';
import { SerialPortMock } from 'serialport';
import type { DeviceIdentity } from '../../adapters/serial/billing-serial-port.js';
import type { SerialBinding } from '../../adapters/serial/serial-port.js';

type PortBinding = Awaited<ReturnType<SerialBinding['open']>>;
type MockPort = Awaited<ReturnType<typeof SerialPortMock.binding.open>>;

const mock = SerialPortMock.binding;

/**
 * A USB serial adapter on the bench that can be pulled out and put back.
 * It is node-serialport's MockBinding with what a real unplug adds: the
 * device node disappears (and a replugged adapter gets a new one), opening
 * the path fails until it is back, writes fail, and the pending read either
 * fails with EIO or, as node-serialport on Linux often has it, just never
 * completes. Everything else, including refusing overlapping writes, is the
 * mock's own contract.
 */
export class UsbSerialAdapter {
  /** Everything the device wrote, as the billing PC receives it. */
  readonly toPc = new PassThrough();
  /** Times (on the test's clock) at which the device tried to open the port. */
  readonly openAttempts: number[] = [];
  readonly binding: SerialBinding;
  /** The device node as `stat` would see it: a new one for each plug-in. */
  readonly identify: DeviceIdentity;
  private plugged: boolean;
  private generation = 1;
  private current: UnpluggablePort | undefined;

  constructor(
    readonly path: string,
    now: () => number,
    options: { plugged?: boolean } = {},
  ) {
    this.plugged = options.plugged ?? true;
    mock.createPort(path, {});
    this.identify = (asked) => Promise.resolve(this.plugged && asked === path ? `${path}#${this.generation}` : undefined);
    this.binding = {
      list: () => mock.list(),
      open: async (openOptions) => {
        this.openAttempts.push(now());
        if (!this.plugged) throw new Error(`ENOENT: no such file or directory, open '${openOptions.path}'`);
        const port = new UnpluggablePort(await mock.open(openOptions), this.toPc);
        this.current = port;
        return port;
      },
    };
  }

  /** The billing PC sends bytes down the cable. */
  send(data: string | Buffer): void {
    if (!this.current?.isOpen) throw new Error('the device has not opened the port');
    this.current.inner.emitData(data);
  }

  get isOpen(): boolean {
    return this.current?.isOpen ?? false;
  }

  /** Pulled out, and the pending read fails at once. */
  unplug(): void {
    this.plugged = false;
    this.current?.unplug(true);
  }

  /** Pulled out, and nothing tells the open port until it next writes. */
  vanish(): void {
    this.plugged = false;
    this.current?.unplug(false);
  }

  plugIn(): void {
    if (!this.plugged) this.generation++;
    this.plugged = true;
  }
}

class UnpluggablePort implements PortBinding {
  private failPendingRead: ((err: Error) => void) | undefined;
  private unplugged = false;

  constructor(
    readonly inner: MockPort,
    private readonly toPc: PassThrough,
  ) {}

  get openOptions(): PortBinding['openOptions'] {
    return this.inner.openOptions;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  unplug(failRead: boolean): void {
    this.unplugged = true;
    if (failRead) this.failPendingRead?.(ioError('read'));
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (this.unplugged) return Promise.reject(ioError('read'));
    return new Promise((resolve, reject) => {
      this.failPendingRead = reject;
      this.inner.read(buffer, offset, length).then(resolve, reject);
    });
  }

  async write(buffer: Buffer): Promise<void> {
    if (this.unplugged) throw ioError('write');
    await this.inner.write(buffer);
    this.toPc.write(Buffer.from(buffer));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  update(options: Parameters<PortBinding['update']>[0]): Promise<void> {
    return this.inner.update(options);
  }

  set(options: Parameters<PortBinding['set']>[0]): Promise<void> {
    return this.inner.set(options);
  }

  get(): ReturnType<PortBinding['get']> {
    return this.inner.get();
  }

  getBaudRate(): Promise<{ baudRate: number }> {
    return this.inner.getBaudRate();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  drain(): Promise<void> {
    return this.inner.drain();
  }
}

function ioError(call: string): Error {
  return Object.assign(new Error(`EIO: i/o error, ${call}`), { code: 'EIO' });
}
