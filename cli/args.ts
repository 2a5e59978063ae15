import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with refusals turned into InputError, so a mistyped
 * flag is one clear line, not a stack trace.
 */
export function parse<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
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
