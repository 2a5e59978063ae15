import type { Logger } from '../../core/log.js';
import type { Speaker, Utterance } from '../../core/ports/speaker.js';
import type { VoicePicker } from './voice.js';

export interface DeviceSpeakerOptions {
  picker: VoicePicker;
  log: Logger;
}

/**
 * The loudspeaker on the device: each sentence is spoken by the voice picked
 * for its language, or chimed when there is none. A voice that fails while
 * speaking rejects; the announcer decides what to do (log, chime, go on).
 */
export class DeviceSpeaker implements Speaker {
  constructor(private readonly options: DeviceSpeakerOptions) {}

  async speak(utterance: Utterance): Promise<void> {
    if (utterance.volume <= 0) {
      this.options.log.debug({ language: utterance.language }, 'volume is 0: not speaking');
      return;
    }
    const voice = await this.options.picker.pick(utterance.language);
    await voice.speak(utterance);
  }

  async chime(volume: number): Promise<void> {
    if (volume <= 0) return;
    await this.options.picker.chime.speak({ text: '', language: 'en', volume });
  }

  close(): Promise<void> {
    // Every sentence runs its own engine process; nothing stays open.
    return Promise.resolve();
  }
}
