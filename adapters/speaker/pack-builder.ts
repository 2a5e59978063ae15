import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Language } from '../../core/language.js';
import type { Token } from '../../core/announce/words-phrasebook.js';
import { EspeakVoice, ESPEAK_VOICES } from './espeak.js';
import { runEngine, EngineError } from './engine-process.js';
import { pronounceable } from './pronounce.js';
import { speakableText } from './speakable.js';
import { readWav } from './wav.js';
import { clipProblem, normalise, PackError, trimSilence, writePack, type PackManifest } from './voice-pack.js';

export type PackEngine = 'espeak-ng' | 'festival';

/** festival speaks English only; every language has an espeak-ng voice. */
export function defaultEngine(language: Language): PackEngine {
  return language === 'en' ? 'festival' : 'espeak-ng';
}

export interface BuildPackOptions {
  language: Language;
  engine: PackEngine;
  dir: string;
  vocabulary: readonly Token[];
  /** espeak-ng clips are made this many at a time. */
  concurrency?: number;
  /** festival voice function, e.g. voice_kal_diphone. */
  festivalVoice?: string;
}

export interface BuildResult {
  manifest: PackManifest;
  /** Tokens left out because the engine made a bad clip for them: the device falls back to synthesis for those. */
  rejected: { id: string; problem: string }[];
  ms: number;
}

/** The text the engine reads for a token: the speakable, respelt form. */
export function spokenText(token: Token, language: Language): string {
  return pronounceable(speakableText(token.text, language), language);
}

/**
 * Speaks every token of a language with a synthesiser into a voice pack.
 * Each clip is checked (not silent, not clipped), trimmed of the engine's
 * own leading and trailing silence, and the pack normalised as a whole.
 */
export async function buildPack(options: BuildPackOptions): Promise<BuildResult> {
  const started = performance.now();
  const { language, engine, vocabulary } = options;
  if (engine === 'festival' && language !== 'en') throw new PackError('festival speaks English only; use --engine espeak-ng');
  const work = await mkdtemp(join(tmpdir(), 'dakbox-voice-'));
  try {
    const spoken = vocabulary.map((token) => spokenText(token, language));
    const files = vocabulary.map((token) => join(work, `${token.id}.wav`));
    if (engine === 'festival') await festivalClips(spoken, files, options.festivalVoice);
    else await espeakClips(language, spoken, files, options.concurrency ?? 2);
    const raw: { token: Token; samples: Float32Array; spoken: string }[] = [];
    const rejected: { id: string; problem: string }[] = [];
    let sampleRate = 0;
    for (const [i, token] of vocabulary.entries()) {
      const file = files[i] as string;
      let wav;
      try {
        wav = readWav(await readFile(file));
      } catch (err) {
        rejected.push({ id: token.id, problem: err instanceof Error ? err.message : String(err) });
        continue;
      }
      if (sampleRate === 0) sampleRate = wav.sampleRate;
      if (wav.sampleRate !== sampleRate) {
        rejected.push({ id: token.id, problem: `made at ${wav.sampleRate} Hz, the rest at ${sampleRate} Hz` });
        continue;
      }
      // Clipping is judged on what the engine made, before any scaling hides it.
      const problem = clipProblem(wav.samples, wav.sampleRate);
      if (problem) {
        rejected.push({ id: token.id, problem });
        continue;
      }
      raw.push({ token, samples: trimSilence(wav.samples, wav.sampleRate), spoken: spoken[i] as string });
    }
    if (raw.length === 0) throw new PackError(`${engine} made no usable clip for ${language}`);
    const scaled = normalise(raw.map((r) => r.samples));
    const voice = engine === 'festival' ? `festival${options.festivalVoice ? ` ${options.festivalVoice}` : ''}` : `espeak-ng ${ESPEAK_VOICES[language]}`;
    const manifest = await writePack(options.dir, {
      language,
      voice,
      source: 'synthesised',
      sampleRate,
      clips: raw.map((r, i) => ({ token: r.token, samples: scaled[i] as Float32Array, spoken: r.spoken })),
    });
    return { manifest, rejected, ms: Math.round(performance.now() - started) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function espeakClips(language: Language, texts: readonly string[], files: readonly string[], concurrency: number): Promise<void> {
  const voice = new EspeakVoice();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < texts.length; i = next++) {
      // The respelling is already applied; EspeakVoice applies it again harmlessly (it is idempotent).
      await voice.render({ text: texts[i] as string, language, volume: 10 }, files[i] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

/**
 * One festival process for the whole pack: starting festival costs more
 * than saying a word, so a clip per process would take a minute.
 */
async function festivalClips(texts: readonly string[], files: readonly string[], voice?: string): Promise<void> {
  if (voice !== undefined && !/^voice_[A-Za-z0-9_]+$/.test(voice)) throw new PackError(`festival voice ${JSON.stringify(voice)} is not a voice function`);
  const lines = voice ? [`(${voice})`] : [];
  for (const [i, text] of texts.entries()) {
    // speakableText has removed quotes and backslashes, so the text cannot leave its Scheme string.
    if (/["\\]/.test(text)) throw new PackError(`cannot give festival ${JSON.stringify(text)}`);
    lines.push(`(utt.save.wave (utt.synth (Utterance Text "${text}")) "${files[i] as string}" 'riff)`);
  }
  try {
    await runEngine('festival', ['--pipe'], { input: `${lines.join('\n')}\n`, timeoutMs: 300_000 });
  } catch (err) {
    if (err instanceof EngineError && err.missing) throw new PackError('festival is not installed (Debian: festival festvox-kallpc16k)');
    throw err;
  }
}

/**
 * Makes a pack from recordings: `list` is a CSV of token id and file (relative
 * to `from`), one per line, an optional "token,file" header first. Every
 * recording must be a WAV at one sample rate; each is checked and trimmed
 * like a synthesised clip, but not normalised: a person's level is kept.
 */
export async function importPack(options: { language: Language; from: string; list: string; dir: string; vocabulary: readonly Token[]; voice?: string }): Promise<BuildResult> {
  const started = performance.now();
  const known = new Map(options.vocabulary.map((t) => [t.id, t]));
  const rows = (await readFile(options.list, 'utf8'))
    .split(/\r?\n/u)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  if (rows[0]?.toLowerCase().replace(/\s/g, '').startsWith('token,file')) rows.shift();
  const clips: { token: Token; samples: Float32Array }[] = [];
  const rejected: { id: string; problem: string }[] = [];
  let sampleRate = 0;
  for (const row of rows) {
    // A third column (the words to say) may follow; only the first two matter here.
    const [id = '', file = ''] = row.split(',').map((field) => field.trim());
    const token = known.get(id);
    if (!token) throw new PackError(`${options.list}: ${JSON.stringify(id)} is not a ${options.language} token (dakbox voice tokens --lang ${options.language} lists them)`);
    if (!file) throw new PackError(`${options.list}: no file for ${id}`);
    const wav = readWav(await readFile(resolve(options.from, file)));
    if (sampleRate === 0) sampleRate = wav.sampleRate;
    if (wav.sampleRate !== sampleRate) throw new PackError(`${file} is ${wav.sampleRate} Hz; the other recordings are ${sampleRate} Hz`);
    const problem = clipProblem(wav.samples, wav.sampleRate);
    if (problem) {
      rejected.push({ id, problem });
      continue;
    }
    clips.push({ token, samples: trimSilence(wav.samples, wav.sampleRate) });
  }
  if (clips.length === 0) throw new PackError(`${options.list} lists no usable recording`);
  const manifest = await writePack(options.dir, {
    language: options.language,
    voice: options.voice ?? `recorded (${basename(resolve(options.from))})`,
    source: 'recorded',
    sampleRate,
    clips,
  });
  return { manifest, rejected, ms: Math.round(performance.now() - started) };
}

/** Writes the token list a recording session works from: id, the words to say, and the file name to save as. */
export async function writeTokenList(file: string, vocabulary: readonly Token[]): Promise<void> {
  await writeFile(file, `token,file,say\n${vocabulary.map((t) => `${t.id},${t.id}.wav,${t.text.replace(/,/g, ' ')}`).join('\n')}\n`);
}
