import type { Duplex } from 'node:stream';
import type { SerialPortStream } from '@serialport/stream';
import type { Clock, TimerHandle } from '../../firmware/clock.js';
import { describeError } from '../../firmware/errors.js';
import type { Logger } from '../../firmware/log.js';
import { Backoff } from '../../firmware/backoff.js';
import { checkSerialPortOptions, closeSerialPort, createSerialPort, type SerialBinding } from './serial-port.js';

/**
 * - `stopped`: not started, or stopped.
 * - `opening`: an open is under way.
 * - `open`: the billing link is talking over the port.
 * - `waiting`: the port is missing or was unplugged; another open is due after a pause.
 */
export type SerialPortState = 'stopped' | 'opening' | 'open' | 'waiting';

/** The side of the billing link this adapter needs; `BillingLink` is one. */
export interface SerialLinkTarget {
  attach(stream: Duplex): { detach(): void };
}

export interface BillingSerialPortOptions {
  path: string;
  baudRate: number;
  link: SerialLinkTarget;
  clock: Clock;
  log: Logger;
  binding?: SerialBinding;
  retry?: RetryOptions;
}

export interface RetryOptions {
  /** Pause before the first reopen. */
  firstDelayMs?: number;
  /** The pause doubles up to this and stays there. */
  maxDelayMs?: number;
}

/**
 * Keeps the billing link on a serial port for as long as it runs. A USB
 * serial adapter can be pulled and put back at any time; the port is then
 * opened again after a pause that grows while it stays away, and the link
 * picks up where it was.
 */
export class BillingSerialPort {
  private readonly options: BillingSerialPortOptions;
  private readonly backoff: Backoff;
  private current: SerialPortState = 'stopped';
  private listeners = new Set<(state: SerialPortState) => void>();
  /** Bumped by start and stop so that callbacks from an earlier run are ignored. */
  private run = 0;
  private port: SerialPortStream | undefined;
  private retryTimer: TimerHandle | undefined;
  private opening: Promise<void> | undefined;
  /** Opens failed in a row; only the first is worth a warning. */
  private failedOpens = 0;

  constructor(options: BillingSerialPortOptions) {
    checkSerialPortOptions(options);
    const firstDelayMs = options.retry?.firstDelayMs ?? 500;
    const maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
    if (!(firstDelayMs > 0) || !(maxDelayMs >= firstDelayMs)) {
      throw new TypeError(`retry delays must satisfy 0 < firstDelayMs <= maxDelayMs, got ${firstDelayMs} and ${maxDelayMs}`);
    }
    this.options = options;
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

  start(): void {
    if (this.current !== 'stopped') return;
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
    await this.opening;
    const port = this.port;
    this.port = undefined;
    if (port) await closeSerialPort(port);
    this.setState('stopped');
  }

  private open(run: number): void {
    const { path, baudRate, binding, log } = this.options;
    this.setState('opening');
    const port = createSerialPort({ path, baudRate, ...(binding ? { binding } : {}) });
    // Without a listener an 'error' event is an uncaught exception, and a
    // serial port reports its failures (a write to a pulled adapter) that way.
    port.on('error', (err) => log.warn({ err: describeError(err), path }, 'billing serial port error'));
    this.opening = new Promise<void>((settle) => {
      port.open((err) => {
        this.opening = undefined;
        if (run !== this.run) {
          // Stopped while opening: stop() waits for this close.
          if (err) settle();
          else void closeSerialPort(port).then(settle);
          return;
        }
        settle();
        if (err) {
          const failure = { path, err: describeError(err) };
          if (this.failedOpens++ === 0) log.warn(failure, 'billing serial port cannot be opened; will keep trying');
          else log.debug(failure, 'billing serial port still cannot be opened');
          this.retryLater(run);
          return;
        }
        this.connected(run, port);
      });
    });
  }

  private connected(run: number, port: SerialPortStream): void {
    const { link, log, path, baudRate } = this.options;
    this.backoff.reset();
    this.failedOpens = 0;
    this.port = port;
    let session: { detach(): void };
    try {
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
      if (run !== this.run) return;
      this.port = undefined;
      log.warn({ path, reason: closeError ? describeError(closeError) : 'closed' }, 'billing serial port went away; reopening');
      this.retryLater(run);
    });
    log.info({ path, baudRate }, 'billing serial port open');
    this.setState('open');
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
