import { describe, expect, it } from 'vitest';
import { parseForSubcommands } from '../cli/args.js';
import { refusal } from './support/refusal.js';

const OPTIONS = {
  port: { type: 'string' },
  note: { type: 'string' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

describe('command lines with subcommands', () => {
  it('returns the options typed, every option name given, and the positionals in order', () => {
    const words = parseForSubcommands(['sale', '250', '--port', '/dev/ttyUSB0', '--wait', '--colour=red', 'extra'], OPTIONS);
    expect(words.values).toEqual({ port: '/dev/ttyUSB0', wait: true });
    expect(words.given).toEqual(['port', 'wait', 'colour']);
    expect(words.positionals).toEqual(['sale', '250', 'extra']);
  });

  it.each([['-5'], ['-12.5'], ['-h']])('keeps %s as one positional, not a flag', (word) => {
    const words = parseForSubcommands(['sale', word, '--json'], OPTIONS);
    expect(words.positionals).toEqual(['sale', word]);
    expect(words.values).toEqual({ json: true });
  });

  it('takes a value starting with one dash, and everything after -- as positionals', () => {
    const words = parseForSubcommands(['sale', '--note', '-10% today', '--', '--wait', '-5'], OPTIONS);
    expect(words.values).toEqual({ note: '-10% today' });
    expect(words.positionals).toEqual(['sale', '--wait', '-5']);
  });

  it('accepts an empty value given with =, for the caller to judge', () => {
    expect(parseForSubcommands(['--port='], OPTIONS).values).toEqual({ port: '' });
  });

  it('lets a flag be repeated: it changes nothing', () => {
    expect(parseForSubcommands(['--json', '--json'], OPTIONS).values).toEqual({ json: true });
  });

  it.each([
    [['--port'], '--port: needs a value'],
    [['--port', '--json'], '--port: needs a value'],
    [['--port', 'a', '--port', 'b'], '--port: is given twice'],
    [['--wait=yes'], '--wait: takes no value'],
  ])('refuses %j: %s', (argv, message) => {
    expect(refusal(() => parseForSubcommands(argv, OPTIONS)).message).toBe(message);
  });

  it('does not mistake an option named like an Object property for a known one', () => {
    const words = parseForSubcommands(['--constructor', '--toString=x'], OPTIONS);
    expect(words.values).toEqual({});
    expect(words.given).toEqual(['constructor', 'toString']);
  });
});
