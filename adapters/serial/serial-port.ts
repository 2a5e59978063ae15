import { SerialPortStream, type OpenOptions } from '@serialport/stream';
import { SerialPort } from 'serialport';

/** What the port library asks of the hardware: open, read, write, update, close. */
export type SerialBinding = OpenOptions['binding'];

export const DEFAULT_BAUD_RATE = 115_200;

export interface SerialPortOptions {
  /** `/dev/ttyUSB0`, or better a stable `/dev/serial/by-id/...` name. */
  path: string;
  baudRate: number;
  /** The hardware; the operating system's by default, a mock binding in tests. */
  binding?: SerialBinding;
}

/** Bad settings are a mistake in the caller, reported at once rather than as a failed open later. */
export function checkSerialPortOptions(options: SerialPortOptions): void {
  if (typeof options.path !== 'string' || options.path.trim() === '') {
    throw new TypeError(`serial port path must be a non-empty string, got ${JSON.stringify(options.path)}`);
  }
  if (!Number.isSafeInteger(options.baudRate) || options.baudRate <= 0) {
    throw new TypeError(`baudRate must be a positive integer, got ${String(options.baudRate)}`);
  }
}

/** A port not yet opened; `openSerialPort` is the usual way in. */
export function createSerialPort(options: SerialPortOptions): SerialPortStream {
  checkSerialPortOptions(options);
  const port = new SerialPortStream({
    binding: options.binding ?? SerialPort.binding,
    path: options.path,
    baudRate: options.baudRate,
    autoOpen: false,
  });
  port.on('open', () => keepBothWaitsArmed(port));
  return port;
}

const READABLE = 0b0001;
const WRITABLE = 0b0010;

interface UnixPoller {
  poll(eventFlag?: number): void;
  listenerCount(event: string): number;
}

/**
 * Works around a fault in @serialport/bindings-cpp on Linux and macOS.
 * A read or write that finds the port not ready calls `poller.once`, which
 * calls the native Poller::poll (src/poller.cpp). That records the event in
 * its `events` mask but starts the kernel watch with the new event alone:
 * `uv_poll_start(handle, events, ...)` with the argument, not the mask. So
 * when a write is waiting for room and a read then finds no bytes (the read
 * and the write run on libuv's thread pool, and either may finish last),
 * the wait for room is dropped. It comes back only when some other event
 * fires, since Poller::onData re-arms with the whole mask: in practice when
 * the billing PC writes another byte. Until then a reply or a `paid` event
 * sits unsent. The reverse drops a wait for bytes, and requests sit unread.
 * Here every wait asks for every event still waited for.
 */
function keepBothWaitsArmed(port: SerialPortStream): void {
  const poller = (port.port as { poller?: UnixPoller } | undefined)?.poller;
  if (!poller || typeof poller.poll !== 'function') return;
  const poll = poller.poll.bind(poller);
  poller.poll = (eventFlag = 0) => {
    let flag = eventFlag;
    if (poller.listenerCount('readable') > 0) flag |= READABLE;
    if (poller.listenerCount('writable') > 0) flag |= WRITABLE;
    poll(flag);
  };
}

/** Opens the port and resolves once bytes can flow; rejects with the operating system's reason. */
export function openSerialPort(options: SerialPortOptions): Promise<SerialPortStream> {
  const port = createSerialPort(options);
  return new Promise((resolve, reject) => {
    port.open((err) => {
      if (err) reject(new Error(`cannot open ${options.path}: ${err.message}`));
      else resolve(port);
    });
  });
}

/** Closes the port if it is open; a port already closed (unplugged) is not an error here. */
export function closeSerialPort(port: SerialPortStream): Promise<void> {
  if (!port.isOpen) return Promise.resolve();
  return new Promise((resolve) => {
    port.close(() => resolve());
  });
}
