import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Language } from '../../core/language.js';
import type { Logger } from '../../core/log.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Speaker, Utterance } from '../../core/ports/speaker.js';
import type { Voice, VoicePicker } from './voice.js';
import { readWav } from './wav.js';
import { assemble, type VoicePacks } from './voice-pack.js';
import { EngineError } from './engine-process.js';

/** One sentence as it would have sounded, written to its own file. */
export interface Recording {
  /** 1, 2, 3... in the order spoken; also the start of the file name. */
  number: number;
  file: string;
  language: Language;
  /** The sentence as handed to the speaker (empty for a chime). */
  text: string;
  volume: number;
  /** The voice that produced it: "espeak-ng", "festival (say)", "chime". */
  voice: string;
  durationMs: number;
  /** Clock time the sound began and would end on a real speaker. */
  startedAt: number;
  endsAt: number;
}

export interface WavSpeakerOptions {
  folder: string;
  picker: VoicePicker;
  log: Logger;
  /**
   * Take as long as the sound lasts before resolving, as a real loudspeaker
   * does, so the queue above behaves as on the device. Waits on `clock`.
   */
  realTime?: boolean;
  clock?: Clock;
  /** Voice packs: a sentence a pack can say is written exactly as the board's speaker would play it. */
  packs?: VoicePacks;
  /** How many of the latest recordings `recordings` keeps; default RECENT_RECORDINGS. */
  recent?: number;
}

type WavSpeakerEvents = { recording: [Recording] };

const NUMBERED = /^(\d+)-.*\.wav$/;

/** How many recordings a speaker remembers by default: a device runs for months, two sentences a sale. */
export const RECENT_RECORDINGS = 1000;

/**
 * A speaker that writes each sentence to a numbered WAV file in a folder
 * ("0001-hi.wav", "0002-chime.wav"), synthesised by the same voices the
 * device uses. For the simulator and tests. Numbering continues after files
 * already in the folder, so a restarted simulator never overwrites one.
 */
export class WavSpeaker extends EventEmitter<WavSpeakerEvents> implements Speaker {
  /** The latest recordings, oldest first: at most `recent` of them. */
  readonly recordings: Recording[] = [];
  private readonly clock: Clock;
  private numbering: Promise<void> | undefined;
  private next = 1;

  constructor(private readonly options: WavSpeakerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
  }

  get folder(): string {
    return this.options.folder;
  }

  async speak(utterance: Utterance): Promise<void> {
    const fromPack = await this.fromPack(utterance);
    if (fromPack) {
      await this.record(fromPack.voice, utterance, utterance.language, fromPack.wav);
      return;
    }
    const voice = await this.options.picker.pick(utterance.language);
    const label = voice === this.options.picker.chime ? `${utterance.language}-chime` : utterance.language;
    await this.record(voice, utterance, label);
  }

  async chime(volume: number): Promise<void> {
    await this.record(this.options.picker.chime, { text: '', language: 'en', volume }, 'chime');
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The same assembly the board's speaker plays (see DeviceSpeaker), or undefined when the pack cannot say it. */
  private async fromPack(utterance: Utterance): Promise<{ wav: Buffer; voice: string } | undefined> {
    const { packs } = this.options;
    if (!packs || !utterance.phrase) return undefined;
    const pack = await packs.get(utterance.language);
    if (!pack) return undefined;
    const sound = assemble(pack, utterance.phrase, utterance.volume);
    if ('missing' in sound) {
      packs.reportMissing(utterance.language, sound.missing);
      return undefined;
    }
    return { wav: sound.wav, voice: `voice pack (${pack.manifest.voice})` };
  }

  private async record(voice: Voice | string, utterance: Utterance, label: string, ready?: Buffer): Promise<void> {
    await this.startNumbering();
    const number = this.next++;
    const file = join(this.options.folder, `${String(number).padStart(4, '0')}-${label}.wav`);
    // Written under another name and renamed, so a watcher never sees half a file.
    const part = `${file}.part`;
    try {
      const voiceName = typeof voice === 'string' ? voice : voice.name;
      if (typeof voice === 'string') await writeFile(part, ready ?? Buffer.alloc(0));
      else await voice.render(utterance, part);
      const wav = readWav(await readFile(part));
      if (wav.samples.length === 0) throw new EngineError(voiceName, 'wrote no sound');
      // Logged before the file appears, so that whoever finds the file (a
      // power cut right after, say) can tell which sentence it holds.
      this.options.log.debug({ file, text: utterance.text }, 'sentence ready');
      await rename(part, file);
      const startedAt = this.clock.now();
      const recording: Recording = {
        number,
        file,
        language: utterance.language,
        text: utterance.text,
        volume: utterance.volume,
        voice: voiceName,
        durationMs: Math.round(wav.durationMs),
        startedAt,
        endsAt: startedAt + Math.round(wav.durationMs),
      };
      this.recordings.push(recording);
      const excess = this.recordings.length - (this.options.recent ?? RECENT_RECORDINGS);
      if (excess > 0) this.recordings.splice(0, excess);
      this.options.log.debug({ file, voice: voiceName, durationMs: recording.durationMs }, 'sentence written');
      this.emit('recording', recording);
      if (this.options.realTime) await this.wait(recording.durationMs, utterance.signal);
    } finally {
      await rm(part, { force: true });
    }
  }

  /** As long as the sound lasts, or until a payment cuts it short. */
  private wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = this.clock.setTimeout(() => {
        signal?.removeEventListener('abort', stop);
        resolve();
      }, ms);
      const stop = () => {
        this.clock.clearTimeout(timer);
        resolve();
      };
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  private startNumbering(): Promise<void> {
    this.numbering ??= (async () => {
      await mkdir(this.options.folder, { recursive: true });
      for (const name of await readdir(this.options.folder)) {
        const match = NUMBERED.exec(name);
        if (match?.[1]) this.next = Math.max(this.next, Number(match[1]) + 1);
      }
    })();
    return this.numbering;
  }
}
