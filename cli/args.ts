import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with refusals turned into InputError, so a mistyped
 * flag is one clear line, not a stack trace.
 */
export function parse<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: joinDashValues(argv, options), options, allowPositionals, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(-{1,2}[\w-]+)/.exec(message)?.[1] ?? 'arguments';
    const problem = message
      .replace(/^.*?Unknown option '[^']+'.*$/s, 'is not an option of this command')
      .replace(/^.*?Option '[^']+' argument missing.*$/s, 'needs a value')
      .replace(/^.*?Unexpected argument '[^']+'.*$/s, 'takes no positional arguments')
      .replace(/\. To specify.*$/s, '');
    throw new InputError(flag, problem);
  }
}

/**
 * `--amount -1` is a value that starts with a dash, not a flag: joined as
 * `--amount=-1` so the value's own check refuses it by name ("-1" is not an
 * amount), instead of parseArgs' three-line hint about ambiguity.
 */
function joinDashValues(argv: string[], options: Options): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const next = argv[i + 1];
    const name = word.startsWith('--') && !word.includes('=') ? word.slice(2) : undefined;
    if (name !== undefined && Object.hasOwn(options, name) && options[name]?.type === 'string' && next !== undefined && /^-[^-]/.test(next)) {
      joined.push(`${word}=${next}`);
      i++;
    } else {
      joined.push(word);
    }
  }
  return joined;
}

export function required(value: string | undefined, field: string): string {
  if (value === undefined || value === '') throw new InputError(field, 'is required');
  return value;
}

export function integer(value: string | undefined, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new InputError(field, `must be a whole number from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw new InputError(field, `must be a whole number from ${min} to ${max}`);
  return n;
}

type Values<T extends Options> = { [K in keyof T]?: T[K] extends { type: 'string' } ? string : true };

export interface Words<T extends Options> {
  /** The options in the table that were given: a string option's text, `true` for a flag. */
  values: Values<T>;
  /** Every long option given, in the table or not, by name, in the order given. */
  given: string[];
  positionals: string[];
}

/**
 * For a command whose first positional names a subcommand with options of
 * its own (`dakbox billing sale 250 --wait`): `options` holds every option
 * of every subcommand, and the caller, once it knows the subcommand, refuses
 * the ones in `given` that are not its own. Unlike `parse`:
 * - a word starting with a single dash ("-5") is a positional, so a negative
 *   amount is refused as an amount rather than as an unknown flag (short
 *   options are therefore not supported);
 * - an option's value may start with a single dash (`--note "-10% today"`),
 *   while `--port --json` is a missing value;
 * - a string option given twice is refused, as it is unclear which is meant.
 */
export function parseForSubcommands<T extends Options>(argv: string[], options: T): Words<T> {
  // Not strict: an unknown option is returned in `given` for the caller to refuse by subcommand.
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const values: Record<string, string | true> = {};
  const given: string[] = [];
  const positionals: string[] = [];
  let dashWordAt = -1;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (!token.rawName.startsWith('--')) {
      // parseArgs splits "-12.5" into a token per character, all at the word's index: keep the word once.
      if (token.index !== dashWordAt) positionals.push(argv[token.index] ?? token.rawName);
      dashWordAt = token.index;
      continue;
    }
    const flag = token.rawName;
    const type = Object.hasOwn(options, token.name) ? options[token.name]?.type : undefined;
    if (type === 'string') {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) throw new InputError(flag, 'needs a value');
      if (Object.hasOwn(values, token.name)) throw new InputError(flag, 'is given twice');
      values[token.name] = token.value;
    } else if (type === 'boolean') {
      if (token.value !== undefined) throw new InputError(flag, 'takes no value');
      values[token.name] = true;
    }
    if (!given.includes(token.name)) given.push(token.name);
  }
  // The loop stored each option under its own name with the value its type in `options` asks for.
  return { values: values as Values<T>, given, positionals };
}
