/**
 * What the fleet's main thread and its device threads say to each other.
 * Each device thread hosts a slice of the fleet; the main thread plays the
 * payments backend and keeps the figures.
 */

export type LedgerKind = 'memory' | 'disk';

/** Handed to a device thread when it starts. */
export interface DeviceThreadData {
  /** Device ids of this thread's slice. */
  deviceIds: string[];
  brokerUrl: string;
  prefix: string;
  /** The notifier's public key, base64 raw Ed25519, as a provisioned device holds it. */
  notifierKey: string;
  ledger: LedgerKind;
  /** Folder for the devices' ledgers (disk) and the config path each device would save to. */
  dir: string;
}

/** main → device thread */
export type ToDeviceThread = { type: 'build' } | { type: 'connect' } | { type: 'measure' } | { type: 'cpu' } | { type: 'stop' };

/** The thread's own heap, after a full collection. */
export interface ThreadMemory {
  heapUsedBytes: number;
  externalBytes: number;
}

/** device thread → main */
export type FromDeviceThread =
  | { type: 'loaded'; memory: ThreadMemory }
  | { type: 'built'; memory: ThreadMemory; ms: number }
  /** Devices that went online / went offline since the last report. */
  | { type: 'links'; online: number; offline: number }
  /** `paidEvents`: payments the devices' counters reported paid; `reconnects`: connections made again since start. */
  | { type: 'measured'; memory: ThreadMemory; paidEvents: number; reconnects: number }
  /** The thread's own CPU time so far, seconds; null where it cannot be read. */
  | { type: 'cpu'; seconds: number | null }
  | { type: 'stopped'; ms: number }
  | { type: 'failed'; message: string };
