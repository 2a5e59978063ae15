import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLanguage, type Language } from '../../core/language.js';
import type { Logger } from '../../core/log.js';
import type { Phrase, Token } from '../../core/announce/words-phrasebook.js';
import { volumeGain } from '../../core/ports/volume.js';
import { readWav, WavFormatError } from './wav.js';

/**
 * A voice pack: one short WAV clip per token a language can speak (number
 * words, units, frame words, every fixed prompt), and a manifest saying
 * which language and voice made them. An announcement is put together from
 * the clips in this process, with short pauses between tokens, so no speech
 * engine runs while a customer waits.
 */
export interface PackManifest {
  format: 1;
  language: Language;
  /** The voice that spoke the clips: "espeak-ng bn", "festival", or who recorded them. */
  voice: string;
  source: 'synthesised' | 'recorded';
  sampleRate: number;
  /**
   * Silence between words. Longer than any silence inside a word clip (a
   * synthesiser holds a doubled consonant such as the क्क of इक्कीस silent
   * for over 100 ms), so a listener hears where each word ends.
   */
  wordPauseMs: number;
  /** Every clip, in the phrasebook's order. `spoken` is the text the synthesiser read, when it differs from the written word. */
  tokens: PackToken[];
  /** SHA-256 over the sample rate and every token's id, text and clip bytes. */
  hash: string;
  createdAt: string;
}

export interface PackToken {
  id: string;
  text: string;
  file: string;
  spoken?: string;
}

export interface VoicePack {
  dir: string;
  manifest: PackManifest;
  /** Clip samples by token id, 16-bit. A token listed in the manifest whose clip is missing or unreadable is absent here. */
  clips: Map<string, Int16Array>;
}

export const MANIFEST = 'manifest.json';

/** Between words, at the least: long enough to hear each word, short enough to sound like one sentence. */
export const WORD_PAUSE_MS = 70;
const LONGEST_WORD_PAUSE_MS = 250;
/** At a comma, colon or full stop: this much longer than between words. */
export const MARK_PAUSE_EXTRA_MS = 200;

const TOKEN_ID = /^[a-z0-9][a-z0-9-]*$/;

/** The plain RIFF header of a mono 16-bit PCM WAV. Samples are little-endian, as on every board the firmware runs on. */
const WAV_HEADER = 44;

/**
 * Where packs live unless told otherwise: `var/voice/<lang>` in the folder
 * the firmware is installed in (beside package.json), so a reinstall keeps
 * them and the install step builds them in place.
 */
export function defaultVoiceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'var', 'voice');
    const up = dirname(dir);
    if (up === dir) return resolve('var', 'voice');
    dir = up;
  }
}

export function packDir(root: string, language: Language): string {
  return join(root, language);
}

export class PackError extends Error {
  override readonly name = 'PackError';
}

/** Reads a pack's manifest and clips. Throws PackError when there is no usable manifest; missing clips are left out of `clips`. */
export async function loadPack(dir: string, language?: Language): Promise<VoicePack> {
  const manifest = await readManifest(dir);
  if (language !== undefined && manifest.language !== language) throw new PackError(`${dir} is a ${manifest.language} pack, not ${language}`);
  const clips = new Map<string, Int16Array>();
  for (const token of manifest.tokens) {
    try {
      const wav = readWav(await readFile(join(dir, token.file)));
      if (wav.sampleRate !== manifest.sampleRate || wav.samples.length === 0) continue;
      clips.set(token.id, toInt16(wav.samples));
    } catch (err) {
      if (err instanceof WavFormatError || (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
  }
  return { dir, manifest, clips };
}

export async function readManifest(dir: string): Promise<PackManifest> {
  let raw: string;
  try {
    raw = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new PackError(`no voice pack in ${dir}`);
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new PackError(`${join(dir, MANIFEST)} is not JSON`);
  }
  return checkManifest(parsed, dir);
}

function checkManifest(value: unknown, dir: string): PackManifest {
  const bad = (why: string) => new PackError(`${join(dir, MANIFEST)}: ${why}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const m = value as Partial<Record<keyof PackManifest, unknown>>;
  if (m.format !== 1) throw bad(`format ${String(m.format)} is not 1`);
  if (!isLanguage(m.language)) throw bad(`language ${JSON.stringify(m.language)} is not one the device speaks`);
  if (typeof m.voice !== 'string') throw bad('voice missing');
  if (m.source !== 'synthesised' && m.source !== 'recorded') throw bad('source must be synthesised or recorded');
  if (!Number.isInteger(m.sampleRate) || (m.sampleRate as number) < 8000 || (m.sampleRate as number) > 96_000) throw bad('sample rate must be 8000 to 96000');
  if (!Array.isArray(m.tokens)) throw bad('tokens missing');
  const tokens: PackToken[] = [];
  for (const t of m.tokens as unknown[]) {
    const token = t as Partial<Record<keyof PackToken, unknown>>;
    if (typeof token.id !== 'string' || !TOKEN_ID.test(token.id)) throw bad(`token id ${JSON.stringify(token.id)} is not a token name`);
    if (typeof token.text !== 'string') throw bad(`token ${token.id} has no text`);
    if (token.file !== `${token.id}.wav`) throw bad(`token ${token.id} must be in ${token.id}.wav`);
    tokens.push({ id: token.id, text: token.text, file: token.file, ...(typeof token.spoken === 'string' ? { spoken: token.spoken } : {}) });
  }
  if (typeof m.hash !== 'string') throw bad('hash missing');
  const wordPauseMs = typeof m.wordPauseMs === 'number' && m.wordPauseMs >= WORD_PAUSE_MS && m.wordPauseMs <= LONGEST_WORD_PAUSE_MS ? m.wordPauseMs : WORD_PAUSE_MS;
  return {
    format: 1,
    language: m.language,
    voice: m.voice,
    source: m.source,
    sampleRate: m.sampleRate as number,
    wordPauseMs,
    tokens,
    hash: m.hash,
    createdAt: typeof m.createdAt === 'string' ? m.createdAt : '',
  };
}

/** A pack's clips, ready to write. Samples are -1..1 at `sampleRate`. */
export interface PackContents {
  language: Language;
  voice: string;
  source: 'synthesised' | 'recorded';
  sampleRate: number;
  clips: { token: Token; samples: Float32Array; spoken?: string }[];
}

/**
 * Writes a pack into `dir`, replacing any pack there: written beside it and
 * renamed into place, so a device reading packs never sees half of one.
 */
export async function writePack(dir: string, contents: PackContents): Promise<PackManifest> {
  const building = `${dir}.building`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  const tokens: PackToken[] = [];
  const bytes = new Map<string, Buffer>();
  let longestGap = 0;
  for (const clip of contents.clips) {
    // Whole sentences pause at their own full stops; only words set the gap between words.
    if (!/[.।]/u.test(clip.token.text)) longestGap = Math.max(longestGap, longestSilence(clip.samples));
  }
  const wordPauseMs = Math.min(LONGEST_WORD_PAUSE_MS, Math.max(WORD_PAUSE_MS, Math.ceil(((longestGap / contents.sampleRate) * 1000 + 15) / 5) * 5));
  for (const clip of contents.clips) {
    if (!TOKEN_ID.test(clip.token.id)) throw new PackError(`token id ${JSON.stringify(clip.token.id)} is not a token name`);
    const file = `${clip.token.id}.wav`;
    const wav = encodePcm16(toInt16(clip.samples), contents.sampleRate);
    bytes.set(clip.token.id, wav);
    await writeFile(join(building, file), wav);
    tokens.push({ id: clip.token.id, text: clip.token.text, file, ...(clip.spoken !== undefined && clip.spoken !== clip.token.text ? { spoken: clip.spoken } : {}) });
  }
  const manifest: PackManifest = {
    format: 1,
    language: contents.language,
    voice: contents.voice,
    source: contents.source,
    sampleRate: contents.sampleRate,
    wordPauseMs,
    tokens,
    hash: packHash(contents.sampleRate, tokens, bytes),
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(building, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  const old = `${dir}.old`;
  await rm(old, { recursive: true, force: true });
  if (existsSync(dir)) await rename(dir, old);
  await rename(building, dir);
  await rm(old, { recursive: true, force: true });
  return manifest;
}

export function packHash(sampleRate: number, tokens: readonly PackToken[], clipBytes: ReadonlyMap<string, Buffer>): string {
  const hash = createHash('sha256');
  hash.update(`rate ${sampleRate}\n`);
  for (const token of tokens) {
    const clip = clipBytes.get(token.id);
    hash.update(`${token.id}\t${token.text}\t${clip ? createHash('sha256').update(clip).digest('hex') : 'missing'}\n`);
  }
  return hash.digest('hex');
}

/** An announcement put together from a pack, or the tokens the pack has no clip for. */
export type Assembly = { wav: Buffer; samples: Int16Array; sampleRate: number; tokens: number } | { missing: Token[] };

/**
 * Joins the clips for a phrase: a short pause between tokens, a longer one
 * at punctuation, every sample multiplied by the volume step's gain. Nothing
 * is resampled or filtered, so each stretch of sound is exactly its clip at
 * that volume. With `scratch` big enough, the sound is written into it
 * instead of new memory (the caller must be done with the last one):
 * a busy counter then makes no garbage per payment.
 */
export function assemble(pack: VoicePack, phrase: Phrase, volume: number, scratch?: ArrayBuffer): Assembly {
  const rate = pack.manifest.sampleRate;
  const wordPause = Math.round((pack.manifest.wordPauseMs / 1000) * rate);
  const markPause = Math.round(((pack.manifest.wordPauseMs + MARK_PAUSE_EXTRA_MS) / 1000) * rate);
  const parts: { clip: Int16Array; pauseBefore: number }[] = [];
  const missing: Token[] = [];
  let pending = 0;
  for (const piece of phrase) {
    if ('mark' in piece) {
      pending = markPause;
      continue;
    }
    const clip = pack.clips.get(piece.token.id);
    if (!clip) {
      missing.push(piece.token);
      continue;
    }
    parts.push({ clip, pauseBefore: parts.length === 0 ? 0 : Math.max(pending, wordPause) });
    pending = 0;
  }
  if (missing.length) return { missing };
  let length = 0;
  for (const part of parts) length += part.pauseBefore + part.clip.length;
  // Written straight into the WAV the player takes: one allocation per announcement, no copy.
  const size = WAV_HEADER + length * 2;
  const bytes = scratch && scratch.byteLength >= size ? scratch : new ArrayBuffer(size);
  const wav = Buffer.from(bytes, 0, size);
  writeHeader(wav, length, rate);
  const samples = new Int16Array(bytes, WAV_HEADER, length);
  if (bytes === scratch) samples.fill(0);
  const gain = volumeGain(volume);
  let at = 0;
  for (const part of parts) {
    at += part.pauseBefore;
    const clip = part.clip;
    if (gain === 1) samples.set(clip, at);
    else if (gain > 0) for (let i = 0; i < clip.length; i++) samples[i + at] = Math.round((clip[i] ?? 0) * gain);
    at += clip.length;
  }
  return { wav, samples, sampleRate: rate, tokens: parts.length };
}

/** The longest stretch of samples that are silent once written as 16-bit, in samples. */
export function longestSilence(samples: Float32Array): number {
  let run = 0;
  let longest = 0;
  for (const s of samples) {
    run = Math.abs(s) < 0.5 / 32767 ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

/** Mono 16-bit PCM WAV from 16-bit samples, without a detour through floating point. */
export function encodePcm16(samples: Int16Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(WAV_HEADER + samples.length * 2);
  writeHeader(out, samples.length, sampleRate);
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(out, WAV_HEADER);
  return out;
}


function writeHeader(out: Buffer, frames: number, sampleRate: number): void {
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + frames * 2, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(frames * 2, 40);
}

export function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.round(Math.max(-1, Math.min(1, samples[i] ?? 0)) * 32767);
  return out;
}

/** What is wrong with a clip, or undefined when it is fit to speak. */
export function clipProblem(samples: Float32Array, sampleRate: number): string | undefined {
  const ms = (samples.length / sampleRate) * 1000;
  if (ms < 60) return `too short (${Math.round(ms)} ms)`;
  if (ms > 10_000) return `too long (${Math.round(ms)} ms)`;
  let peak = 0;
  let sum = 0;
  let run = 0;
  let longestRun = 0;
  for (const s of samples) {
    const a = Math.abs(s);
    peak = Math.max(peak, a);
    sum += s * s;
    run = a >= 0.999 ? run + 1 : 0;
    longestRun = Math.max(longestRun, run);
  }
  const rms = Math.sqrt(sum / samples.length);
  if (peak < 0.02 || rms < 0.003) return `silent (peak ${peak.toFixed(3)}, rms ${rms.toFixed(4)})`;
  if (longestRun >= 3) return `clipped (${longestRun} samples in a row at full scale)`;
  return undefined;
}

/**
 * Cuts the silence an engine leaves before and after a word, keeping a few
 * milliseconds so no consonant is clipped; the pack's own pauses space the
 * words instead.
 */
export function trimSilence(samples: Float32Array, sampleRate: number, threshold = 0.01): Float32Array {
  let first = 0;
  while (first < samples.length && Math.abs(samples[first] ?? 0) < threshold) first++;
  let last = samples.length - 1;
  while (last > first && Math.abs(samples[last] ?? 0) < threshold) last--;
  if (first >= samples.length) return samples.subarray(0, 0);
  const keep = Math.round(sampleRate * 0.005);
  return samples.subarray(Math.max(0, first - keep), Math.min(samples.length, last + 1 + keep));
}

/**
 * A pack's clips scaled together so the loudest peaks just below full scale:
 * every pack plays at the same level whichever voice made it, and words keep
 * their natural loudness relative to each other.
 */
export function normalise(clips: readonly Float32Array[], target = 0.89): Float32Array[] {
  let peak = 0;
  for (const clip of clips) for (const s of clip) peak = Math.max(peak, Math.abs(s));
  if (peak === 0) return [...clips];
  const gain = target / peak;
  return clips.map((clip) => clip.map((s) => s * gain));
}

/** Checks a pack on disk against the tokens its language needs. */
export interface PackReport {
  dir: string;
  manifest?: PackManifest;
  /** Why there is no usable pack at all. */
  problem?: string;
  missing: string[];
  bad: { id: string; problem: string }[];
  /** The token's text in the pack differs from the phrasebook's: the clip says the wrong word. */
  stale: string[];
  hashMatches: boolean;
}

export async function checkPack(dir: string, language: Language, vocabulary: readonly Token[]): Promise<PackReport> {
  const report: PackReport = { dir, missing: [], bad: [], stale: [], hashMatches: false };
  let manifest: PackManifest;
  try {
    manifest = await readManifest(dir);
  } catch (err) {
    if (err instanceof PackError) return { ...report, problem: err.message };
    throw err;
  }
  report.manifest = manifest;
  if (manifest.language !== language) return { ...report, problem: `a ${manifest.language} pack, not ${language}` };
  const listed = new Map(manifest.tokens.map((t) => [t.id, t]));
  const bytes = new Map<string, Buffer>();
  for (const token of manifest.tokens) {
    let wav;
    try {
      const file = await readFile(join(dir, token.file));
      bytes.set(token.id, file);
      wav = readWav(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        report.missing.push(token.id);
        continue;
      }
      report.bad.push({ id: token.id, problem: err instanceof Error ? err.message : String(err) });
      continue;
    }
    if (wav.sampleRate !== manifest.sampleRate) {
      report.bad.push({ id: token.id, problem: `${wav.sampleRate} Hz, the pack is ${manifest.sampleRate} Hz` });
      continue;
    }
    const problem = clipProblem(wav.samples, wav.sampleRate);
    if (problem) report.bad.push({ id: token.id, problem });
  }
  for (const token of vocabulary) {
    const inPack = listed.get(token.id);
    if (!inPack) report.missing.push(token.id);
    else if (inPack.text !== token.text) report.stale.push(token.id);
  }
  report.hashMatches = packHash(manifest.sampleRate, manifest.tokens, bytes) === manifest.hash;
  return report;
}

/** A report in one line per problem, for `dakbox voice check` and `dakbox check`. */
export function packSummary(report: PackReport): string {
  if (report.problem || !report.manifest) return report.problem ?? 'no pack';
  const m = report.manifest;
  const problems = report.missing.length + report.bad.length + report.stale.length + (report.hashMatches ? 0 : 1);
  const state = problems === 0 ? 'complete' : `${report.missing.length} missing, ${report.bad.length} bad, ${report.stale.length} out of date${report.hashMatches ? '' : ', contents changed since built'}`;
  return `${report.dir}: ${m.tokens.length} clips, ${m.source} by ${m.voice}, ${m.sampleRate} Hz, ${state}`;
}

/** Loads packs on first use, once per language, and says once when one is missing. */
export class VoicePacks {
  private readonly loaded = new Map<Language, Promise<VoicePack | undefined>>();
  private readonly reported = new Set<string>();

  constructor(private readonly options: { root: string; log: Logger }) {}

  get root(): string {
    return this.options.root;
  }

  get(language: Language): Promise<VoicePack | undefined> {
    let pack = this.loaded.get(language);
    if (!pack) {
      pack = this.load(language);
      this.loaded.set(language, pack);
    }
    return pack;
  }

  /** Logs, once per token, that the pack could not say a phrase. */
  reportMissing(language: Language, missing: readonly Token[]): void {
    const fresh = missing.filter((t) => !this.reported.has(`${language}:${t.id}`));
    if (fresh.length === 0) return;
    for (const t of fresh) this.reported.add(`${language}:${t.id}`);
    this.options.log.warn(
      { language, missing: fresh.map((t) => t.id) },
      `the ${language} voice pack has no clip for ${fresh.map((t) => JSON.stringify(t.text)).join(', ')}: speaking those announcements with the synthesiser (dakbox voice build --lang ${language} fixes it)`,
    );
  }

  private async load(language: Language): Promise<VoicePack | undefined> {
    const dir = packDir(this.options.root, language);
    try {
      const pack = await loadPack(dir, language);
      this.options.log.info({ language, dir, clips: pack.clips.size, voice: pack.manifest.voice }, `${language} voice pack loaded`);
      return pack;
    } catch (err) {
      this.options.log.warn({ language, dir, err }, `no usable ${language} voice pack (${err instanceof Error ? err.message : String(err)}): announcements in ${language} are synthesised`);
      return undefined;
    }
  }
}
