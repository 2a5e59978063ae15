import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { runEngine, EngineError } from './engine-process.js';

/** Plays a WAV file's bytes through the sound output; resolves when it has finished. */
export interface WavPlayer {
  play(wav: Buffer): Promise<void>;
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
