import { resolve } from 'node:path';
import { buildPack, defaultEngine, importPack, writeTokenList, type PackEngine } from '../adapters/speaker/pack-builder.js';
import { checkPack, defaultVoiceRoot, packDir, packSummary, PackError } from '../adapters/speaker/voice-pack.js';
import { vocabulary } from '../core/announce/words.js';
import { InputError } from '../core/errors.js';
import { isLanguage, LANGUAGES, type Language } from '../core/language.js';
import { parse } from './args.js';
import type { CommandIo } from './main.js';

export const VOICE_HELP = `dakbox voice build [--lang en|hi|bn|kn|all] [--engine espeak-ng|festival] [--dir DIR]
dakbox voice check [--lang …|all] [--dir DIR]
dakbox voice import --lang LANG FOLDER tokens.csv [--dir DIR] [--voice NAME]
dakbox voice tokens --lang LANG [--out tokens.csv]
  Voice packs: a WAV clip per word the soundbox says, so a payment is
  spoken at once instead of waiting for a synthesiser. build makes a pack
  with festival (English) or espeak-ng; check lists missing or bad clips;
  import makes one from recordings listed as "token,file" lines; tokens
  lists the words to record. Packs live in DIR/<lang> (default var/voice
  in the install folder).`;

export async function voiceCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { lang: { type: 'string' }, engine: { type: 'string' }, dir: { type: 'string' }, voice: { type: 'string' }, out: { type: 'string' } },
    true,
  );
  const [action, ...rest] = positionals;
  const root = values.dir ? resolve(values.dir) : defaultVoiceRoot();
  try {
    switch (action ?? '') {
      case 'build':
        return await build(languages(values.lang), engine(values.engine), root, io);
      case 'check':
        return await check(languages(values.lang), root, io);
      case 'import': {
        const language = oneLanguage(values.lang);
        if (rest.length !== 2) throw new InputError('import', 'give the folder of recordings and the tokens.csv that lists them');
        const result = await importPack({ language, from: rest[0] as string, list: rest[1] as string, dir: packDir(root, language), vocabulary: vocabulary(language), ...(values.voice ? { voice: values.voice } : {}) });
        io.stdout.write(`${language}: ${result.manifest.tokens.length} recordings imported into ${packDir(root, language)}\n`);
        for (const r of result.rejected) io.stdout.write(`  left out ${r.id}: ${r.problem}\n`);
        return check([language], root, io);
      }
      case 'tokens': {
        const language = oneLanguage(values.lang);
        if (values.out) {
          await writeTokenList(values.out, vocabulary(language));
          io.stdout.write(`${values.out}: ${vocabulary(language).length} tokens\n`);
        } else {
          for (const t of vocabulary(language)) io.stdout.write(`${t.id}\t${t.text}\n`);
        }
        return 0;
      }
      default:
        throw new InputError('voice', `${JSON.stringify(action ?? '')} is not an action (build, check, import, tokens)`);
    }
  } catch (err) {
    if (err instanceof PackError) {
      io.stderr.write(`dakbox voice: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function build(langs: Language[], chosen: PackEngine | undefined, root: string, io: CommandIo): Promise<number> {
  const started = performance.now();
  // The languages are built side by side: festival and espeak-ng each keep one core busy.
  const results = await Promise.all(
    langs.map(async (language) => {
      const result = await buildPack({ language, engine: chosen ?? defaultEngine(language), dir: packDir(root, language), vocabulary: vocabulary(language), concurrency: 1 });
      return { language, result };
    }),
  );
  let failed = false;
  for (const { language, result } of results) {
    io.stdout.write(`${language}: ${result.manifest.tokens.length} clips by ${result.manifest.voice} in ${packDir(root, language)} (${(result.ms / 1000).toFixed(1)} s)\n`);
    for (const r of result.rejected) io.stdout.write(`  left out ${r.id}: ${r.problem}\n`);
    failed ||= result.rejected.length > 0;
  }
  io.stdout.write(`built ${langs.length} pack${langs.length === 1 ? '' : 's'} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return failed ? 1 : 0;
}

async function check(langs: Language[], root: string, io: CommandIo): Promise<number> {
  let failed = false;
  for (const language of langs) {
    const report = await checkPack(packDir(root, language), language, vocabulary(language));
    const ok = !report.problem && report.missing.length === 0 && report.bad.length === 0 && report.stale.length === 0 && report.hashMatches;
    failed ||= !ok;
    io.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${language}: ${packSummary(report)}\n`);
    if (report.missing.length) io.stdout.write(`  missing: ${report.missing.join(' ')}\n`);
    for (const b of report.bad) io.stdout.write(`  bad ${b.id}: ${b.problem}\n`);
    if (report.stale.length) io.stdout.write(`  out of date (the phrasebook now says otherwise): ${report.stale.join(' ')}\n`);
  }
  return failed ? 1 : 0;
}

function languages(value: string | undefined): Language[] {
  if (value === undefined || value === 'all') return [...LANGUAGES];
  return value.split(',').map((v) => oneLanguage(v));
}

function oneLanguage(value: string | undefined): Language {
  if (!isLanguage(value)) throw new InputError('--lang', `must be one of ${LANGUAGES.join(', ')}`);
  return value;
}

function engine(value: string | undefined): PackEngine | undefined {
  if (value === undefined) return undefined;
  if (value !== 'espeak-ng' && value !== 'festival') throw new InputError('--engine', 'must be espeak-ng or festival');
  return value;
}
