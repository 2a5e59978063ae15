import { stat } from 'node:fs/promises';
import type { SerialPortStream } from '@serialport/stream';
import { Backoff } from '../../core/backoff.js';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { BillingLine, BillingLineTarget } from '../../core/ports/billing-line.js';
import { checkSerialPortOptions, closeSerialPort, createSerialPort, type SerialBinding } from './serial-port.js';

/**
 * - `stopped`: not started, or stopped.
 * - `opening`: an open is under way.
 * - `open`: the billing link is talking over the port.
 * - `waiting`: the port is missing or was unplugged; another open is due after a pause.
 */
export type SerialPortState = 'stopped' | 'opening' | 'open' | 'waiting';

/**
 * Names the device node behind a path, or says it is not there. Two answers
 * differ when the adapter was pulled (the node is gone) or replaced by
 * another (a new node under the same name).
 */
export type DeviceIdentity = (path: string) => Promise<string | undefined>;

/** The device node's numbers, through any `/dev/serial/by-id` link. */
export const deviceNodeIdentity: DeviceIdentity = async (path) => {
  try {
    const node = await stat(path);
    return `${node.dev}:${node.ino}:${node.rdev}`;
  } catch {
    return undefined;
  }
};

export interface RetryOptions {
  /** Pause before the first reopen. */
  firstDelayMs?: number;
  /** The pause doubles up to this and stays there. */
  maxDelayMs?: number;
}

export interface BillingSerialPortOptions {
  path: string;
  baudRate: number;
  clock: Clock;
  log: Logger;
  binding?: SerialBinding;
  retry?: RetryOptions;
  /** How often an open port's device node is checked for still being there. */
  watchIntervalMs?: number;
  /** How the device node is recognised; the file system's numbers by default. */
  identify?: DeviceIdentity;
}

export const DEFAULT_WATCH_INTERVAL_MS = 2_000;

/**
 * Keeps the billing link on a serial port for as long as it runs. A USB
 * serial adapter can be pulled and put back at any time; the port is then
 * opened again after a pause that grows while it stays away, and the link
 * picks up where it was.
 *
 * On Linux, node-serialport notices a pulled adapter only when a read or
 * write fails, and an idle port may never fail. So while the port is open its
 * device node is looked at every couple of seconds: gone or replaced means
 * the port is dead, and it is closed and reopened.
 */
export class BillingSerialPort implements BillingLine {
  private readonly options: BillingSerialPortOptions;
  private readonly backoff: Backoff;
  private readonly watchIntervalMs: number;
  private readonly identify: DeviceIdentity;
  private current: SerialPortState = 'stopped';
  private listeners = new Set<(state: SerialPortState) => void>();
  /** Bumped by start and stop so that callbacks from an earlier run are ignored. */
  private run = 0;
  private port: SerialPortStream | undefined;
  private retryTimer: TimerHandle | undefined;
  private watchTimer: TimerHandle | undefined;
  private opening: Promise<void> | undefined;
  /** Opens failed in a row; only the first is worth a warning. */
  private failedOpens = 0;
  private link: BillingLineTarget | undefined;

  constructor(options: BillingSerialPortOptions) {
    checkSerialPortOptions(options);
    const firstDelayMs = options.retry?.firstDelayMs ?? 500;
    const maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
    if (!(firstDelayMs > 0) || !(maxDelayMs >= firstDelayMs)) {
      throw new TypeError(`retry delays must satisfy 0 < firstDelayMs <= maxDelayMs, got ${firstDelayMs} and ${maxDelayMs}`);
    }
    this.watchIntervalMs = options.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
    if (!(this.watchIntervalMs > 0)) throw new TypeError(`watchIntervalMs must be more than 0, got ${this.watchIntervalMs}`);
    this.options = options;
    this.identify = options.identify ?? deviceNodeIdentity;
    // No jitter: one device retries one local port; there is no crowd of
    // clients to spread out. A replugged adapter is back within a second.
    this.backoff = new Backoff(firstDelayMs, maxDelayMs, () => 0);
  }

  get state(): SerialPortState {
    return this.current;
  }

  /** Calls the listener on every change of state; returns the unsubscribe function. */
  subscribe(listener: (state: SerialPortState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(link: BillingLineTarget): void {
    if (this.current !== 'stopped') return;
    this.link = link;
    this.run++;
    this.backoff.reset();
    this.failedOpens = 0;
    this.open(this.run);
  }

  /** Stops retrying and closes the port; resolves when it is closed. */
  async stop(): Promise<void> {
    this.run++;
    this.options.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.options.clock.clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    await this.opening;
    const port = this.port;
    this.port = undefined;
    if (port) await closeSerialPort(port);
    this.setState('stopped');
  }

  private open(run: number): void {
    const { path, baudRate, binding, log } = this.options;
    this.setState('opening');
    this.opening = (async () => {
      // Taken before opening, so that once the port is open the watch knows
      // what it is watching.
      const identity = await this.identify(path);
      if (run !== this.run) return;
      const port = createSerialPort({ path, baudRate, ...(binding ? { binding } : {}) });
      // Without a listener an 'error' event is an uncaught exception, and a
      // serial port reports its failures (a write to a pulled adapter) that way.
      port.on('error', (err) => log.warn({ err, path }, 'billing serial port error'));
      const err = await new Promise<Error | null>((resolve) => port.open(resolve));
      if (run !== this.run) {
        // Stopped while opening: stop() waits for this close.
        if (!err) await closeSerialPort(port);
        return;
      }
      if (err) {
        const failure = { path, err };
        if (this.failedOpens++ === 0) log.warn(failure, 'billing serial port cannot be opened; will keep trying');
        else log.debug(failure, 'billing serial port still cannot be opened');
        this.retryLater(run);
        return;
      }
      this.connected(run, port, identity);
    })()
      .catch((err: unknown) => {
        log.error({ err, path }, 'billing serial port open failed unexpectedly');
        if (run === this.run) this.retryLater(run);
      })
      .finally(() => {
        this.opening = undefined;
      });
  }

  private connected(run: number, port: SerialPortStream, identity: string | undefined): void {
    const { log, path, baudRate } = this.options;
    const link = this.link;
    this.backoff.reset();
    this.failedOpens = 0;
    this.port = port;
    let session: { detach(): void };
    try {
      if (!link) throw new Error('the port opened before the line was started');
      session = link.attach(port);
    } catch (err) {
      log.error({ err, path }, 'billing link could not take the serial port');
      this.port = undefined;
      void closeSerialPort(port);
      this.retryLater(run);
      return;
    }
    port.once('close', (closeError: Error | null) => {
      session.detach();
      this.options.clock.clearTimeout(this.watchTimer);
      this.watchTimer = undefined;
      if (run !== this.run) return;
      this.port = undefined;
      log.warn({ path, reason: closeError ? describeError(closeError) : 'closed' }, 'billing serial port went away; reopening');
      this.retryLater(run);
    });
    log.info({ path, baudRate }, 'billing serial port open');
    this.setState('open');
    // A path that is not a device node (a Windows COM name) cannot be watched;
    // there a failed read or write is the only sign of a pulled adapter.
    if (identity !== undefined) this.watch(run, port, identity);
  }

  private watch(run: number, port: SerialPortStream, identity: string): void {
    const { clock, log, path } = this.options;
    this.watchTimer = clock.setTimeout(() => {
      this.watchTimer = undefined;
      void this.identify(path).then((now) => {
        if (run !== this.run || this.port !== port) return;
        if (now === identity) {
          this.watch(run, port, identity);
          return;
        }
        log.warn({ path }, now === undefined ? 'billing serial device is gone' : 'billing serial device was replaced');
        // The close event takes it from here: detach, then reopen.
        void closeSerialPort(port);
      });
    }, this.watchIntervalMs);
  }

  private retryLater(run: number): void {
    const delay = this.backoff.next();
    this.retryTimer = this.options.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (run === this.run) this.open(run);
    }, delay);
    this.setState('waiting');
  }

  private setState(state: SerialPortState): void {
    if (state === this.current) return;
    this.current = state;
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch (err) {
        this.options.log.error({ err }, 'serial port state listener failed');
      }
    }
  }
}
