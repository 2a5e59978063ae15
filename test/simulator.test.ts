/**
 * `dakbox simulate`, the README's first command, as a person uses it: type
 * at its prompt, run the billing client against its serial port, read the
 * screen and the sounds it writes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAKBOX_BIN } from './support/device-process.js';
import { decodeWithJsQr } from './support/frames.js';
import { eventually } from './support/ledger-reader.js';

let dir: string;
let sim: ChildProcessWithoutNullStreams;
let output = '';

function sounds(): string[] {
  try {
    return readdirSync(join(dir, 'SIM01', 'sounds'));
  } catch {
    return [];
  }
}

function type(line: string): void {
  sim.stdin.write(`${line}\n`);
}

function waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return eventually(() => output.match(pattern) ?? undefined, timeoutMs, `simulator output ${String(pattern)}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dakbox-sim-'));
  sim = spawn(process.execPath, [DAKBOX_BIN, 'simulate', '--dir', dir, '--port', '0', '--no-open'], { stdio: ['pipe', 'pipe', 'pipe'] });
  sim.stdout.on('data', (c: Buffer) => (output += c.toString()));
  sim.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await waitForOutput(/billing PC serial port → (\S+)/);
  // Online once the device says so at the prompt.
  for (let tries = 0; !/link online/.test(output); tries++) {
    if (tries > 60) throw new Error(`the simulated device did not come online:\n${output}`);
    type('status');
    await new Promise((r) => setTimeout(r, 300));
  }
});

afterAll(async () => {
  if (sim && sim.exitCode === null) {
    sim.kill('SIGTERM');
    await new Promise((r) => sim.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the simulator', () => {
  it('shows a QR for a sale typed at its prompt, and takes the payment', async () => {
    type('sale 250.00 Speed post');
    const [, uri] = await waitForOutput(/QR shown: ₹250\.00 tr=\S+\n\s+(upi:\/\/pay\?\S+)/);
    await eventually(() => decodeWithJsQr(join(dir, 'SIM01', 'frames', 'screen.png')) === uri, 10_000, 'the QR on the simulated screen');
    type('pay');
    await waitForOutput(/PAID ₹250\.00 utr=\S+/);
    await eventually(() => sounds().some((f) => /-en\.wav$/.test(f)), 15_000, 'the announcement written');
  });

  it('serves the billing PC on its serial port', async () => {
    const port = (await waitForOutput(/billing PC serial port → (\S+)/))[1]!;
    const billing = spawn(process.execPath, [DAKBOX_BIN, 'billing', 'sale', '99.00', '--wait', '--json', '--port', port]);
    let out = '';
    billing.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => billing.once('exit', r));
    await waitForOutput(/QR shown: ₹99\.00/);
    type('pay');
    expect(await exited).toBe(0);
    expect(out).toMatch(/"event":"paid".*"amount":"99.00"/);
  });

  it('has buttons: volume up is spoken', async () => {
    const before = sounds().length;
    type('press volume-up');
    await eventually(() => sounds().length > before, 15_000, 'the volume prompt');
  });

  it('refuses a bad command in one line and keeps going, and quits cleanly', async () => {
    type('sale 1e3');
    await waitForOutput(/amount: "1e3" uses an exponent/);
    type('quit');
    const code = await new Promise<number | null>((r) => (sim.exitCode !== null ? r(sim.exitCode) : sim.once('exit', r)));
    expect(code).toBe(0);
  });
});
