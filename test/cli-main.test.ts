import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = (s: PassThrough) => () => (s.read() as Buffer | null)?.toString('utf8') ?? '';
  return { io: { stdout, stderr }, out: text(stdout), err: text(stderr) };
}

describe('the dakbox command, imported', () => {
  it('runs nothing at import, and dispatches when asked', async () => {
    const { io: streams, out } = io();
    expect(await main(['--help'], streams)).toBe(0);
    const help = out();
    for (const command of ['qr', 'announce', 'billing', 'provision', 'check', 'bench', 'voice', 'run', 'simulate', 'scenario', 'fleet']) expect(help).toContain(`dakbox ${command}`);
  });

  it('refuses an unknown command in one line, naming the ones there are', async () => {
    const { io: streams, err } = io();
    expect(await main(['pay'], streams)).toBe(2);
    expect(err()).toBe('dakbox: pay: is not a command (try: qr, announce, billing, provision, check, bench, voice, run, simulate, scenario, fleet)\n');
  });

  it('turns a bad argument into one line and exit 2, never a stack trace', async () => {
    const { io: streams, err } = io();
    expect(await main(['qr', '--vpa', 'nope', '--name', 'Mysuru HO', '--amount', '250.00', '--out', '/nonexistent/collect.png'], streams)).toBe(2);
    const line = err();
    expect(line).toMatch(/^dakbox qr: .*vpa/);
    expect(line.trim().split('\n')).toHaveLength(1);
  });
});
