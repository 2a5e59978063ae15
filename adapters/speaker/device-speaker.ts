import type { Logger } from '../../core/log.js';
import type { Speaker, Utterance } from '../../core/ports/speaker.js';
import type { VoicePicker } from './voice.js';
import type { WavPlayer } from './player.js';
import { assemble, type VoicePacks } from './voice-pack.js';

export interface DeviceSpeakerOptions {
  picker: VoicePicker;
  log: Logger;
  /** Voice packs, and the player their sound goes to. Without them every sentence is synthesised. */
  packs?: VoicePacks;
  player?: WavPlayer;
}

/**
 * The loudspeaker on the device. A sentence the language's voice pack can
 * say is put together from its clips here and handed straight to the
 * player, at the volume step; anything else is spoken by the voice picked for
 * the language, or chimed when there is none. A voice that fails while
 * speaking rejects; the announcer decides what to do (log, chime, go on).
 */
export class DeviceSpeaker implements Speaker {
  /** Memory the last announcement was assembled in, reused once the player has finished with it. */
  private scratch: ArrayBuffer | undefined;
  private scratchInUse = false;

  constructor(private readonly options: DeviceSpeakerOptions) {}

  async speak(utterance: Utterance): Promise<void> {
    if (utterance.volume <= 0) {
      this.options.log.debug({ language: utterance.language }, 'volume is 0: not speaking');
      return;
    }
    const wav = this.options.player ? await this.fromPack(utterance) : undefined;
    if (wav && this.options.player) {
      try {
        await this.options.player.play(wav, utterance.signal);
      } finally {
        if (wav.buffer === this.scratch) this.scratchInUse = false;
      }
      return;
    }
    const voice = await this.options.picker.pick(utterance.language);
    await voice.speak(utterance);
  }

  /** The sentence as WAV bytes from the voice pack, or undefined when the pack cannot say it. */
  async fromPack(utterance: Utterance): Promise<Buffer | undefined> {
    const { packs } = this.options;
    if (!packs || !utterance.phrase) return undefined;
    const pack = await packs.get(utterance.language);
    if (!pack) return undefined;
    // A player still holding the last sound (one that timed out) keeps it; this one gets fresh memory.
    const sound = assemble(pack, utterance.phrase, utterance.volume, this.scratchInUse ? undefined : this.scratch);
    if ('missing' in sound) {
      packs.reportMissing(utterance.language, sound.missing);
      return undefined;
    }
    if (!this.scratchInUse) {
      this.scratch = sound.wav.buffer as ArrayBuffer;
      this.scratchInUse = true;
    }
    return sound.wav;
  }

  async chime(volume: number): Promise<void> {
    if (volume <= 0) return;
    await this.options.picker.chime.speak({ text: '', language: 'en', volume });
  }

  async close(): Promise<void> {
    // Packs are read into memory; only a player that keeps a process open has anything to stop.
    await this.options.player?.close?.();
  }
}
