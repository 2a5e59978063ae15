import { writeFile } from 'node:fs/promises';
import type { Language } from '../../core/language.js';
import type { Utterance } from '../../core/ports/speaker.js';
import type { Voice } from './voice.js';
import { systemWavPlayer, type WavPlayer } from './player.js';
import { encodeWav } from './wav.js';
import { volumeGain } from '../../core/ports/volume.js';

const SAMPLE_RATE = 16_000;

/** Two bell-like notes, high then low: the "ding-dong" counter staff know from soundboxes. */
const NOTES: readonly { hz: number; ms: number }[] = [
  { hz: 1318.5, ms: 220 },
  { hz: 1046.5, ms: 480 },
];

/** Peak of the chime at full volume, leaving headroom for the harmonics. */
const FULL_SCALE = 0.8;

/** The chime's samples at a volume step, generated rather than stored so nothing can be missing. */
export function chimeSamples(volume: number): Float32Array {
  const gain = volumeGain(volume) * FULL_SCALE;
  const total = NOTES.reduce((sum, n) => sum + Math.round((n.ms / 1000) * SAMPLE_RATE), 0);
  const samples = new Float32Array(total);
  let at = 0;
  for (const note of NOTES) {
    const length = Math.round((note.ms / 1000) * SAMPLE_RATE);
    for (let i = 0; i < length; i++) {
      const t = i / SAMPLE_RATE;
      // A quick attack avoids a click; the exponential decay makes it a bell, not a beep.
      const envelope = Math.min(1, t / 0.005) * Math.exp(-t * 6);
      const tone = 0.8 * Math.sin(2 * Math.PI * note.hz * t) + 0.2 * Math.sin(2 * Math.PI * note.hz * 2 * t);
      samples[at + i] = gain * envelope * tone;
    }
    at += length;
  }
  return samples;
}

export function chimeWav(volume: number): Buffer {
  return encodeWav(chimeSamples(volume), SAMPLE_RATE);
}

export interface ChimeVoiceOptions {
  player?: WavPlayer;
}

/** The sound made when no voice can speak: the text is ignored, the chime always plays. */
export class ChimeVoice implements Voice {
  readonly name = 'chime';
  private readonly player: WavPlayer;

  constructor(options: ChimeVoiceOptions = {}) {
    this.player = options.player ?? systemWavPlayer();
  }

  problem(_language: Language): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  async speak(utterance: Utterance): Promise<void> {
    if (utterance.volume <= 0) return;
    await this.player.play(chimeWav(utterance.volume));
  }

  async render(utterance: Utterance, file: string): Promise<void> {
    await writeFile(file, chimeWav(utterance.volume));
  }
}
