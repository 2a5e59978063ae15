import { Duplex, PassThrough, type Readable } from 'node:stream';

export type WireMessage = Record<string, unknown>;

/**
 * Reads the lines a device writes and lets a test wait for the one it
 * expects. Waiting has no timer of its own: a line that never comes fails
 * the test at the test's timeout, never a race against a guessed delay.
 */
export class WireTap {
  readonly lines: WireMessage[] = [];
  private buffer = '';
  private readonly waiters: { matches: (m: WireMessage) => boolean; resolve: (m: WireMessage) => void }[] = [];
  private taken = 0;

  constructor(source: Readable) {
    source.on('data', (chunk: Buffer) => this.feed(chunk));
  }

  feed(chunk: Buffer | string): void {
    this.buffer += chunk.toString();
    for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
      const text = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      const message = JSON.parse(text) as WireMessage;
      this.lines.push(message);
      for (const waiter of [...this.waiters]) {
        if (waiter.matches(message)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    }
  }

  /** The first line, from any time, that matches. */
  find(matches: (m: WireMessage) => boolean): Promise<WireMessage> {
    const found = this.lines.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ matches, resolve }));
  }

  reply(id: string | number): Promise<WireMessage> {
    return this.find((m) => m.id === id && typeof m.ok === 'boolean');
  }

  event(name: string, extra: (m: WireMessage) => boolean = () => true): Promise<WireMessage> {
    return this.find((m) => m.event === name && extra(m));
  }

  /** Waits until `count` more lines than the last call have arrived and returns them. */
  async next(count = 1): Promise<WireMessage[]> {
    const want = this.taken + count;
    while (this.lines.length < want) {
      await new Promise<WireMessage>((resolve) => this.waiters.push({ matches: () => true, resolve }));
    }
    const lines = this.lines.slice(this.taken, want);
    this.taken = want;
    return lines;
  }
}

/** Both ends of a billing PC cable, in memory. */
export function cable(): { device: Duplex; pc: { write(text: string | Buffer): void; output: PassThrough; end(): void } } {
  const toDevice = new PassThrough();
  const fromDevice = new PassThrough();
  const device = Duplex.from({ readable: toDevice, writable: fromDevice });
  return {
    device,
    pc: {
      write: (text) => toDevice.write(text),
      output: fromDevice,
      end: () => toDevice.end(),
    },
  };
}

/** A null-modem cable: what one end writes, the other reads. */
export function nullModem(): { device: Duplex; pc: Duplex } {
  const toDevice = new PassThrough();
  const toPc = new PassThrough();
  return {
    device: Duplex.from({ readable: toDevice, writable: toPc }),
    pc: Duplex.from({ readable: toPc, writable: toDevice }),
  };
}

/** Stands in for stdout or stderr and lets a test wait for what gets printed. */
export class TextCapture {
  text = '';
  private waiters: { count: number; resolve: () => void }[] = [];
  write(chunk: string): boolean {
    this.text += chunk;
    for (const waiter of this.waiters.filter((w) => this.lines.length >= w.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    return true;
  }
  /** Resolves once `count` lines have been printed. */
  printed(count: number): Promise<void> {
    if (this.lines.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
  get lines(): string[] {
    return this.text.split('\n').filter((line) => line !== '');
  }
}
