import type { Language } from '../../core/language.js';
import type { Logger } from '../../core/log.js';
import type { Clock } from '../../core/clock.js';
import type { Speaker } from '../../core/ports/speaker.js';
import { VoicePicker, type Voice } from './voice.js';
import { EspeakVoice, type EspeakVoiceOptions } from './espeak.js';
import { SayVoice, type SayVoiceOptions } from './say.js';
import { ChimeVoice } from './chime.js';
import { StreamingPlayer, systemWavPlayer, type WavPlayer } from './player.js';
import { DeviceSpeaker } from './device-speaker.js';
import { WavSpeaker } from './wav-speaker.js';
import { defaultVoiceRoot, VoicePacks } from './voice-pack.js';

/**
 * Where speech goes, as the device config says: the board's loudspeaker,
 * numbered WAV files in a folder (`realtime` waits each sound's length as a
 * loudspeaker would), or nowhere.
 */
export type SpeakerOutput = { kind: 'system' } | { kind: 'wav'; dir: string; realtime?: boolean } | { kind: 'none' };

export interface StandardVoicesOptions {
  espeak?: EspeakVoiceOptions;
  say?: SayVoiceOptions;
  player?: WavPlayer;
  log: Logger;
}

/**
 * English through `say` (festival, macOS say, SAPI), falling back to
 * espeak-ng's English; Hindi, Bengali and Kannada through espeak-ng; the chime
 * when none of these is installed.
 */
export function standardVoicePicker(options: StandardVoicesOptions): VoicePicker {
  const espeak = new EspeakVoice(options.espeak);
  // English on the board's speaker goes through the same player as everything else, so every volume step applies.
  const say = new SayVoice({ ...options.say, ...(options.say?.player ?? options.player ? { player: options.say?.player ?? options.player } : {}) });
  const voices: Record<Language, readonly Voice[]> = { en: [say, espeak], hi: [espeak], bn: [espeak], kn: [espeak] };
  return new VoicePicker({ voices, chime: new ChimeVoice({ player: options.player }), log: options.log });
}

export interface CreateSpeakerOptions extends StandardVoicesOptions {
  output: SpeakerOutput;
  clock?: Clock;
  /**
   * Folder holding a voice pack per language (`<dir>/<lang>`); default
   * `var/voice` in the install folder. `false` synthesises every sentence.
   */
  voiceDir?: string | false;
}

export function createSpeaker(options: CreateSpeakerOptions): Speaker {
  const log = options.log.child({ feature: 'speaker' });
  const { output } = options;
  const packs = options.voiceDir === false ? undefined : new VoicePacks({ root: options.voiceDir ?? defaultVoiceRoot(), log });
  switch (output.kind) {
    case 'system': {
      // On Linux one aplay stays open and is fed each announcement; elsewhere each sound is played by its own program.
      const player = options.player ?? (process.platform === 'linux' ? new StreamingPlayer({ clock: options.clock }) : systemWavPlayer({ clock: options.clock }));
      return new DeviceSpeaker({ picker: standardVoicePicker({ ...options, player, log }), log, packs, player });
    }
    case 'wav':
      return new WavSpeaker({ folder: output.dir, realTime: output.realtime, picker: standardVoicePicker({ ...options, log }), log, clock: options.clock, packs });
    case 'none':
      return silentSpeaker;
  }
}

/** A device configured without a speaker: every sentence is "spoken" at once, to nobody. */
const silentSpeaker: Speaker = {
  speak: () => Promise.resolve(),
  chime: () => Promise.resolve(),
  close: () => Promise.resolve(),
};
