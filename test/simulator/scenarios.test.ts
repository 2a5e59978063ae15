/**
 * Every scenario shipped in scenarios/ runs against a fresh simulator and
 * passes; scenarios that must fail say which step, what it expected and what
 * it saw; and files that are not valid scenarios are refused by step number
 * and field before anything runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeQr } from '../../simulator/scenario/glass-reader.js';
import { parseScenario } from '../../simulator/scenario/schema.js';
import { formatFailure, runScenario, runScenarioFile } from '../../simulator/scenario/runner.js';
import { DAKBOX_BIN } from '../support/device-process.js';

const SCENARIOS = join(import.meta.dirname, '..', '..', 'scenarios');
const files = readdirSync(SCENARIOS).filter((name) => name.endsWith('.yaml'));
const scratch = mkdtempSync(join(tmpdir(), 'dakbox-scenario-test-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the shipped scenarios', () => {
  it('include a sale in each language, a mismatch, an expiry, a broker outage and a power cut', () => {
    expect(files).toEqual(expect.arrayContaining(['cable-and-buttons.yaml', 'sale-en.yaml', 'sale-hi.yaml', 'sale-bn.yaml', 'sale-kn.yaml', 'mismatch.yaml', 'expiry.yaml', 'broker-outage.yaml', 'power-cut.yaml']));
  });

  // Run side by side: the expiry alone waits out a 30 s QR.
  it.concurrent.each(files)('%s passes', async (file) => {
    const result = await runScenarioFile(join(SCENARIOS, file), { outDir: scratch });
    expect(result.failure ? formatFailure(result.failure) : 'passed').toBe('passed');
    expect(result.passed).toBeGreaterThan(0);
  }, 90_000);
});

describe('a scenario that fails', () => {
  it.concurrent('names the step, what it expected and what it saw', async () => {
    const scenario = parseScenario(
      `
steps:
  - sale: {amount: "10.00"}
  - wait-qr: {amount: "10.00"}
  - screenshot: shots/qr.png
  - wait-speech: {text: Received ten rupees, timeout: 1500}
`,
      'never-paid.yaml',
    );
    const result = await runScenario(scenario, { baseDir: scratch, outDir: scratch });
    expect(result.ok).toBe(false);
    expect(result.passed).toBe(3);
    expect(decodeQr(readFileSync(join(scratch, 'shots', 'qr.png')))).toMatch(/^upi:\/\/pay\?.*&am=10\.00&/);
    expect(result.failure).toMatchObject({ step: 4, text: 'wait-speech {text: "Received ten rupees", timeout: 1500}' });
    expect(result.failure?.expected).toBe('a sentence containing "Received ten rupees" within 1500 ms');
    expect(formatFailure(result.failure!)).toMatch(/^step 4 \(wait-speech .*\) failed\n {2}expected: .*\n {2}seen: {5}.+/);
  }, 30_000);

  it.concurrent('reports what the screen showed instead, and a refused action in the device’s own words', async () => {
    const screen = await runScenario(parseScenario('steps:\n  - wait-screen: {shows: paid, timeout: 800}\n', 'screen.yaml'), { baseDir: scratch });
    expect(screen.failure).toMatchObject({ step: 1, expected: 'the paid screen on SIM01 within 800 ms' });
    expect(screen.failure?.seen).toMatch(/^idle screen, link online; text ".*Simulated Post Office.*"/);

    const golden = await runScenario(
      parseScenario('steps:\n  - sale: {amount: "10.00"}\n  - wait-screen: {shows: collect}\n  - wait-screen: {golden: golden/idle-480x320.png, timeout: 800}\n', 'golden.yaml'),
      { baseDir: SCENARIOS },
    );
    expect(golden.failure).toMatchObject({ step: 3, expected: 'the pixels of golden/idle-480x320.png (at most 0.20% differing) on SIM01 within 800 ms' });
    expect(golden.failure?.seen).toMatch(/^collect screen, link online; text ".*"; \d+ of 153600 pixels differing \(\d+\.\d\d%\)$/);

    const pay = await runScenario(parseScenario('steps:\n  - delay: 10\n  - pay\n', 'pay.yaml'), { baseDir: scratch });
    expect(pay.failure).toMatchObject({ step: 2, text: 'pay', seen: "pay: no QR is on SIM01's screen" });

    const sale = await runScenario(parseScenario('steps:\n  - sale: {amount: "200000.00"}\n', 'limit.yaml'), { baseDir: scratch });
    expect(sale.failure?.step).toBe(1);
    expect(sale.failure?.seen).toMatch(/^amount: BAD_FIELD: /);
  }, 30_000);

  it.concurrent('exits 1 from the command line, naming the step', async () => {
    const file = join(scratch, 'led.yaml');
    writeFileSync(file, 'name: LED\nsteps:\n  - wait-led: {led: paid, on: true, timeout: 700}\n');
    const child = spawn(process.execPath, [DAKBOX_BIN, 'scenario', 'run', file, '--headless']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(out).toContain('FAILED step 1 (wait-led {led: "paid", on: true, timeout: 700}) failed');
    expect(out).toContain('expected: the paid LED lit on SIM01 within 700 ms');
  }, 30_000);
});

describe('a file that is not a valid scenario', () => {
  const refusal = (yaml: string): string => {
    try {
      parseScenario(yaml, 'bad.yaml');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };

  it('is refused by step number and field', () => {
    expect(refusal('steps:\n  - pay\n  - sale: {amount: "1.00", colour: red}\n')).toBe('bad.yaml step 2 (sale): colour: is not a field of this step');
    expect(refusal('steps:\n  - sale: {ref: X}\n')).toBe('bad.yaml step 1 (sale): amount: is missing');
    expect(refusal('steps:\n  - pay\n  - fly: {to: moon}\n')).toMatch(/^bad\.yaml step 2: "fly" is not a step \(one of sale, pay, /);
    expect(refusal('steps:\n  - fault: {kind: network-drop}\n')).toBe('bad.yaml step 1 (fault): seconds: needs seconds for broker-stop and network-drop');
    expect(refusal('steps:\n  - wait-led: {led: green, on: true}\n')).toMatch(/^bad\.yaml step 1 \(wait-led\): led: /);
    expect(refusal('steps:\n  - wait-speech: {timeout: 5}\n')).toBe('bad.yaml step 1 (wait-speech): needs text, words or match');
    expect(refusal('steps:\n  - {pay: null, fail: null}\n')).toMatch(/^bad\.yaml step 1: must be one step name/);
    expect(refusal('settings: {language: fr}\nsteps: [pay]\n')).toMatch(/^bad\.yaml: settings\.language: /);
    expect(refusal('steps: []\n')).toBe('bad.yaml: steps: needs at least one step');
    expect(refusal('steps:\n  - sale: {amount: [\n')).toMatch(/^bad\.yaml: is not valid YAML at line \d+/);
  });
});
