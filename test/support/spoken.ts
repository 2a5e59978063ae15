import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Language } from '../../core/language.js';
import { EspeakVoice } from '../../adapters/speaker/espeak.js';
import type { LogLine } from './device-process.js';

/** One sound the WAV speaker wrote, with the sentence it says when that is known. */
export interface SpokenFile {
  file: string;
  number: number;
  digest: string;
  text?: string | undefined;
}

/** The finished sound files in a WAV speaker's folder, in the order spoken (half-written `.part` files are not sounds). */
export function soundFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+-.*\.wav$/.test(n)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
}

/**
 * Says which sentence each sound file in `dir` holds. The device's log pairs
 * a file ("sentence written") with its text ("sentence spoken", logged once the
 * sound has finished); a run cut short may leave a file with no text logged.
 * Such a file is named by its sound: espeak-ng writes the same bytes for the
 * same sentence, so a file is the sentence of any other file with the same
 * digest, or failing that of a candidate sentence rendered here the way the
 * device renders it (`candidates`, those no file is known to say first, until
 * every file is named).
 */
export async function spokenFiles(dir: string, runs: readonly (readonly LogLine[])[], options: { language: Language; volume: number; candidates: () => string[] }): Promise<SpokenFile[]> {
  const textOf = new Map<string, string>();
  for (const lines of runs) {
    let written: string | undefined;
    for (const line of lines) {
      if (line.msg === 'sentence ready' && typeof line.file === 'string' && typeof line.text === 'string') textOf.set(basename(line.file), line.text);
      else if (line.msg === 'sentence written' && typeof line.file === 'string') written = basename(line.file);
      else if (line.msg === 'sentence spoken' && typeof line.text === 'string' && written !== undefined) {
        textOf.set(written, line.text);
        written = undefined;
      }
    }
  }
  const files: SpokenFile[] = soundFiles(dir).map((file) => ({
    file,
    number: parseInt(file, 10),
    digest: digest(readFileSync(join(dir, file))),
    text: textOf.get(file),
  }));
  const byDigest = new Map<string, string>();
  for (const f of files) if (f.text !== undefined) byDigest.set(f.digest, f.text);
  const unnamed = () => files.filter((f) => f.text === undefined && !byDigest.has(f.digest));
  if (unnamed().length > 0) {
    const voice = new EspeakVoice();
    const scratch = mkdtempSync(join(tmpdir(), 'dakbox-spoken-'));
    try {
      // A sentence no file is known to say yet is the likelier one.
      const known = new Set(byDigest.values());
      const candidates = options.candidates();
      for (const text of [...candidates.filter((t) => !known.has(t)), ...candidates.filter((t) => known.has(t))]) {
        if (unnamed().length === 0) break;
        const out = join(scratch, 'candidate.wav');
        await voice.render({ text, language: options.language, volume: options.volume }, out);
        byDigest.set(digest(readFileSync(out)), text);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  for (const f of files) f.text ??= byDigest.get(f.digest);
  return files;
}

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
