import { createSpeaker, type SpeakerOutput } from '../adapters/speaker/create-speaker.js';
import { phrase as phraseOf } from '../core/announce/words.js';
import { written } from '../core/announce/words-phrasebook.js';
import { inDir, loadConfig } from '../core/config.js';
import { InputError } from '../core/errors.js';
import { isLanguage, LANGUAGES, type Language } from '../core/language.js';
import { createLogger } from '../core/log.js';
import { parseAmountInput } from '../core/money.js';
import { integer, parse } from './args.js';
import type { CommandIo } from './main.js';

export const ANNOUNCE_HELP = `dakbox announce <amount> [--lang en|hi|bn|kn] [--dry-run] [--volume 0-10] [--wav-dir DIR] [--config device.json] [--voice-dir DIR] [--synthesise]
  Says "Received … rupees" as the soundbox would, through the speaker in
  --config (or the board's speaker): from the language's voice pack
  (var/voice, or --voice-dir), else say/festival for English and espeak-ng
  for Hindi, Bengali, Kannada; --synthesise skips the pack. --dry-run prints
  the sentence instead; --wav-dir writes the speech as a numbered WAV file in DIR.`;

export async function announceCommand(argv: string[], io: CommandIo): Promise<number> {
  // "-5" would otherwise be read as an unknown flag; refuse it as the amount it is.
  const negative = argv.find((a) => /^-[\d.]/.test(a));
  if (negative !== undefined) parseAmountInput(negative);
  const { values, positionals } = parse(
    argv,
    { lang: { type: 'string' }, 'dry-run': { type: 'boolean' }, volume: { type: 'string' }, 'wav-dir': { type: 'string' }, config: { type: 'string' }, synthesise: { type: 'boolean' }, 'voice-dir': { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new InputError('amount', 'give exactly one amount, like 125000.50');
  const amount = parseAmountInput(positionals[0]);
  if (amount <= 0) throw new InputError('amount', 'must be more than zero');
  const config = values.config ? loadConfig(values.config) : undefined;
  const lang = values.lang ?? config?.settings.language ?? 'en';
  if (!isLanguage(lang)) throw new InputError('--lang', `must be one of ${LANGUAGES.join(', ')}`);
  const language: Language = lang;
  const phrase = phraseOf({ kind: 'payment', amount }, language);
  const text = written(phrase);
  if (values['dry-run']) {
    io.stdout.write(`${text}\n`);
    return 0;
  }
  const volume = integer(values.volume, '--volume', 0, 10) ?? config?.settings.volume ?? 7;
  const log = createLogger({ level: 'warn', destination: io.stderr });
  // The speaker is, in order: --wav-dir, the one in --config, the board's own.
  const wavDir = values['wav-dir'];
  const configured = config?.settings.speaker;
  const output: SpeakerOutput = wavDir
    ? { kind: 'wav', dir: wavDir }
    : configured?.kind === 'wav'
      ? { ...configured, dir: inDir(config?.dir ?? '.', configured.dir) }
      : { kind: 'system' };
  const speaker = createSpeaker({ output, log, ...(values['voice-dir'] ? { voiceDir: values['voice-dir'] } : {}) });
  io.stdout.write(`${text}\n`);
  await speaker.speak(values.synthesise ? { text, language, volume } : { text, language, volume, phrase });
  await speaker.close();
  return 0;
}
