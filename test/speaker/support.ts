import { Writable } from 'node:stream';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../core/log.js';
import type { ManualClock } from '../../core/clock.js';
import { readWav, rms, peak } from '../../adapters/speaker/wav.js';
import type { Recording, WavSpeaker } from '../../adapters/speaker/wav-speaker.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real logger whose lines the test can read back. */
export function capturedLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

export const WARN = 40;
export const ERROR = 50;

export async function tempFolder(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `dakbox-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true, maxRetries: 5 }) };
}

export interface SoundStats {
  durationMs: number;
  peak: number;
  /** Share of 20 ms windows louder than a whisper: speech has many, silence none. */
  audibleShare: number;
}

export async function soundStats(file: string): Promise<SoundStats> {
  const wav = readWav(await readFile(file));
  const window = Math.round(wav.sampleRate * 0.02);
  let windows = 0;
  let audible = 0;
  for (let at = 0; at + window <= wav.samples.length; at += window) {
    windows++;
    if (rms(wav.samples, at, at + window) > 0.005) audible++;
  }
  return { durationMs: wav.durationMs, peak: peak(wav.samples), audibleShare: windows ? audible / windows : 0 };
}

/**
 * Stands in for the passing of time while a real-time WAV speaker "plays":
 * each time a sound starts, the clock moves on by exactly its length once the
 * speaker has started waiting. Engines still run for real.
 */
export function playInRealTime(speaker: WavSpeaker, clock: ManualClock): () => void {
  const onRecording = (recording: Recording) => setImmediate(() => clock.advance(recording.durationMs));
  speaker.on('recording', onRecording);
  return () => speaker.off('recording', onRecording);
}
