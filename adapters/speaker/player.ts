import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.js';
import { runEngine, EngineError } from './engine-process.js';

/** Plays a WAV file's bytes through the sound output; resolves when it has finished. */
export interface WavPlayer {
  /** Resolves when played, or as soon as it has stopped once `signal` is aborted (where the player can stop). */
  play(wav: Buffer, signal?: AbortSignal): Promise<void>;
  /** Stops a player that keeps a process open. */
  close?(): Promise<void>;
}

export interface SystemWavPlayerOptions {
  platform?: NodeJS.Platform;
  timeoutMs?: number;
  clock?: Clock;
}

/** aplay (ALSA) on Linux, as on the device; afplay on a developer's Mac. */
export function systemWavPlayer(options: SystemWavPlayerOptions = {}): WavPlayer {
  const platform = options.platform ?? process.platform;
  const run = { timeoutMs: options.timeoutMs ?? 30_000, clock: options.clock };
  if (platform === 'linux') {
    return {
      async play(wav) {
        await runEngine('aplay', ['-q', '-t', 'wav', '-'], { ...run, input: wav });
      },
    };
  }
  if (platform === 'darwin') {
    return {
      async play(wav) {
        // afplay reads only files.
        const folder = await mkdtemp(join(tmpdir(), 'dakbox-chime-'));
        try {
          const file = join(folder, 'chime.wav');
          await writeFile(file, wav);
          await runEngine('afplay', [file], run);
        } finally {
          await rm(folder, { recursive: true, force: true });
        }
      },
    };
  }
  return {
    play() {
      return Promise.reject(new EngineError('player', `no WAV player on ${platform}`));
    },
  };
}

export interface StreamingPlayerOptions {
  /** The program that plays raw mono 16-bit PCM from stdin, and its arguments for a sample rate. Default: aplay. */
  command?: string;
  args?: (sampleRate: number) => string[];
  /** Sounds that are not plain 16-bit mono PCM WAV go here instead. */
  fallback?: WavPlayer;
  clock?: Clock;
}

/**
 * One player process kept open for the device's life, fed raw PCM: no
 * program starts when a payment is announced, so the first sample reaches
 * the sound card as soon as it is made. `play` resolves when the sound has
 * had time to finish (its length after whatever was still playing). A new
 * sample rate (another language's pack) restarts the process once.
 */
export class StreamingPlayer implements WavPlayer {
  private child: ChildProcessWithoutNullStreams | undefined;
  private rate = 0;
  private busyUntil = 0;
  private failure: Error | undefined;
  private readonly clock: Clock;
  private readonly command: string;
  private readonly args: (sampleRate: number) => string[];

  constructor(private readonly options: StreamingPlayerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.command = options.command ?? 'aplay';
    this.args = options.args ?? ((rate) => ['-q', '-t', 'raw', '-f', 'S16_LE', '-c', '1', '-r', String(rate), '-']);
  }

  /** How many player processes have been started, for tests and telemetry. */
  started = 0;

  async play(wav: Buffer, signal?: AbortSignal): Promise<void> {
    const pcm = plainPcm(wav);
    if (!pcm) {
      await (this.options.fallback ?? systemWavPlayer({ clock: this.options.clock })).play(wav);
      return;
    }
    const child = this.open(pcm.sampleRate);
    await new Promise<void>((resolve, reject) => {
      child.stdin.write(pcm.data, (err) => (err ? reject(new EngineError(this.command, err.message)) : resolve()));
    });
    this.throwIfFailed();
    const now = this.clock.now();
    const ms = (pcm.data.length / 2 / pcm.sampleRate) * 1000;
    this.busyUntil = Math.max(now, this.busyUntil) + ms;
    const wait = this.busyUntil - now;
    let onAbort: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(resolve, wait);
      if (!signal) return;
      // Stopping means dropping what the sound card still holds: the process goes, and the next sound starts a new one.
      onAbort = () => {
        this.clock.clearTimeout(timer);
        this.stopNow();
        resolve();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) return;
    this.throwIfFailed();
  }

  private stopNow(): void {
    const child = this.child;
    this.child = undefined;
    this.busyUntil = 0;
    child?.kill('SIGKILL');
  }

  /** The player process died or never started: this sound was not heard. */
  private throwIfFailed(): void {
    const failure = this.failure;
    if (failure) throw failure;
  }

  close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('close', () => resolve());
      child.stdin.end();
    });
  }

  private open(sampleRate: number): ChildProcessWithoutNullStreams {
    if (this.child && this.rate === sampleRate && !this.failure) return this.child;
    if (this.child) this.child.stdin.end();
    this.failure = undefined;
    this.rate = sampleRate;
    this.busyUntil = 0;
    const child = spawn(this.command, this.args(sampleRate), { shell: false, windowsHide: true, stdio: ['pipe', 'ignore', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
    this.started++;
    // ALSA reports each gap between sentences as an underrun; that is expected, not a fault.
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.failure = new EngineError(this.command, err.code === 'ENOENT' ? 'is not installed' : err.message, err.code === 'ENOENT');
    });
    child.on('close', (code, signal) => {
      if (this.child === child) {
        this.failure ??= new EngineError(this.command, signal ? `killed by ${signal}` : `exited with ${code}`);
        this.child = undefined;
      }
    });
    this.child = child;
    return child;
  }
}

/** The sample rate and PCM bytes of a mono 16-bit WAV with the plain 44-byte header (as voice packs make), or undefined. */
function plainPcm(wav: Buffer): { sampleRate: number; data: Buffer } | undefined {
  if (wav.length < 44 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 36, 40) !== 'data') return undefined;
  if (wav.readUInt16LE(20) !== 1 || wav.readUInt16LE(22) !== 1 || wav.readUInt16LE(34) !== 16) return undefined;
  return { sampleRate: wav.readUInt32LE(24), data: wav.subarray(44, 44 + Math.min(wav.readUInt32LE(40), wav.length - 44)) };
}
