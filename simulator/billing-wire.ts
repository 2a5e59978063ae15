import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { BillingLine, BillingLineTarget } from '../core/ports/billing-line.js';

/** Two connected stream ends: what one writes, the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (other: () => Duplex | undefined): Duplex =>
    new Duplex({
      read() {
        // Data is pushed by the other end's writes.
      },
      write(chunk: Buffer, _encoding, callback) {
        const peer = other();
        if (peer && !peer.destroyed) peer.push(chunk);
        callback();
      },
      final(callback) {
        other()?.push(null);
        callback();
      },
      destroy(err, callback) {
        const peer = other();
        if (peer && !peer.destroyed) peer.destroy();
        callback(err);
      },
    });
  ends.push(end(() => ends[1]), end(() => ends[0]));
  return [ends[0] as Duplex, ends[1] as Duplex];
}

type WireEvents = {
  /** A whole line the device wrote: what the billing PC receives. */
  'to-pc': [string];
  /** A whole line written to the device by a billing PC (this one or the one on the serial port). */
  'to-device': [string];
  plugged: [boolean];
};

/**
 * The cable between the billing PC and a simulated device, in memory. The
 * device's billing link sees a stream exactly as on a serial port: it is
 * attached when the cable is plugged in and closes when it is pulled, and
 * each plug-in starts a new session (`hello`, then the events the device's
 * port has not yet taken).
 *
 * The billing PC's end is shared: the simulator writes request lines with
 * `send`, and an outside program may talk too through a second stream
 * (`tee`, used for the socat pty). Lines from both are passed to the device
 * whole, one at a time, so they never interleave; every line the device
 * writes goes to both.
 */
export class BillingWire extends EventEmitter<WireEvents> implements BillingLine {
  private target: BillingLineTarget | undefined;
  private session: { detach(): void } | undefined;
  private pcEnd: Duplex | undefined;
  private fromDevice = '';
  private readonly outside = new Set<Duplex>();
  private pulled = false;

  /** Pulled out by `pull` and not yet put back. */
  get isPulled(): boolean {
    return this.pulled;
  }

  get plugged(): boolean {
    return this.pcEnd !== undefined;
  }

  start(target: BillingLineTarget): void {
    this.target = target;
    if (!this.pulled) this.plug();
  }

  stop(): Promise<void> {
    this.unplug();
    this.target = undefined;
    return Promise.resolve();
  }

  /** Pulls the cable out: the device's stream closes. */
  pull(): void {
    this.pulled = true;
    this.unplug();
  }

  /** Puts the cable back. */
  plugBack(): void {
    this.pulled = false;
    if (this.target && !this.pcEnd) this.plug();
  }

  /** Writes one line to the device, as the billing PC does; false when the cable is out. */
  send(line: string): boolean {
    if (!this.pcEnd) return false;
    this.emit('to-device', line);
    this.pcEnd.write(line.endsWith('\n') ? line : `${line}\n`);
    return true;
  }

  /** Joins another billing PC's stream (a serial port) to the PC's end. */
  tee(stream: Duplex): { detach(): void } {
    this.outside.add(stream);
    let partial = '';
    const onData = (chunk: Buffer): void => {
      partial += chunk.toString('utf8');
      for (let at = partial.indexOf('\n'); at >= 0; at = partial.indexOf('\n')) {
        const line = partial.slice(0, at + 1);
        partial = partial.slice(at + 1);
        if (this.pcEnd) {
          this.emit('to-device', line.trimEnd());
          this.pcEnd.write(line);
        }
      }
    };
    const detach = (): void => {
      stream.off('data', onData);
      stream.off('close', detach);
      this.outside.delete(stream);
    };
    stream.on('data', onData);
    stream.once('close', detach);
    return { detach };
  }

  private plug(): void {
    if (!this.target) return;
    const [deviceEnd, pcEnd] = duplexPair();
    // The link keeps its own listener while attached; this one outlives it.
    deviceEnd.on('error', () => undefined);
    pcEnd.on('error', () => undefined);
    this.pcEnd = pcEnd;
    this.fromDevice = '';
    pcEnd.on('data', (chunk: Buffer) => this.received(chunk));
    this.session = this.target.attach(deviceEnd);
    this.emit('plugged', true);
  }

  private unplug(): void {
    const end = this.pcEnd;
    if (!end) return;
    this.pcEnd = undefined;
    this.session?.detach();
    this.session = undefined;
    end.destroy();
    this.emit('plugged', false);
  }

  private received(chunk: Buffer): void {
    this.fromDevice += chunk.toString('utf8');
    for (let at = this.fromDevice.indexOf('\n'); at >= 0; at = this.fromDevice.indexOf('\n')) {
      const line = this.fromDevice.slice(0, at + 1);
      this.fromDevice = this.fromDevice.slice(at + 1);
      for (const stream of this.outside) if (!stream.destroyed) stream.write(line);
      this.emit('to-pc', line.trimEnd());
    }
  }
}
