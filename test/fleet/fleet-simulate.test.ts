import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { defaultWorkers, type FleetReport } from '../../fleet/simulate.js';
import { DAKBOX_BIN } from '../support/device-process.js';

const dir = mkdtempSync(join(tmpdir(), 'dakbox-fleet-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The built command as the lead runs it, with its output and exit status. */
function fleet(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DAKBOX_BIN, 'fleet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dakbox fleet did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('dakbox fleet simulate', () => {
  it('runs 50 real devices on 2 threads against a real mosquitto: every payment gets exactly one announced receipt', async () => {
    const out = join(dir, 'fleet.json');
    const run = await fleet(['simulate', '--devices', '50', '--workers', '2', '--rate', '50', '--seconds', '3', '--out', out], 28_000);
    expect(run.stderr).toContain('connect storm: all 50 online');
    expect(run.code).toBe(0);

    const report = JSON.parse(readFileSync(out, 'utf8')) as FleetReport;
    const c = report.confirmations;
    // 50 a second for 3 s: 150 sales, each rung up, shown, paid and announced once.
    expect(c.collects).toBe(150);
    expect(c.payments).toBe(150);
    expect(c.announced).toBe(150);
    expect(c.lost).toBe(0);
    expect(c.duplicated).toBe(0);
    expect(c.announcedReceiptMissing).toBe(0);
    expect(c.brokerDropped).toBe(0);
    expect(c.collectsWithoutQr).toBe(0);
    expect(c.rejected).toBe(0);
    expect(c.strayQrs).toBe(0);
    expect(c.strayReceipts).toBe(0);
    // The devices' own count of payments agrees with the receipts.
    expect(c.paidEventsOnDevices).toBe(150);
    expect(report.connectStorm).toMatchObject({ complete: true, online: 50 });
    expect(report.connectStorm.ms).toBeGreaterThan(0);
    expect(report.setup).toMatchObject({ devices: 50, workers: 2, rate: 50, seconds: 3, ledger: 'memory' });
    expect(report.memory.rssPerDeviceBytes).toBeGreaterThan(0);
    expect(report.memory.heapPerDeviceBytes).toBeGreaterThan(0);
    expect(report.latencyMs.endToEnd.count).toBe(150);
    const { p50, p99, max } = report.latencyMs.endToEnd;
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeGreaterThanOrEqual(p50 ?? Infinity);
    expect(max).toBeGreaterThanOrEqual(p99 ?? Infinity);
    expect(report.confirmations.sustainedPerSecond).toBeGreaterThan(0);
    expect(report.traffic.brokerMessagesPerSale).toBeGreaterThan(0);
    // The process's CPU split between the device threads and the backend on the main thread (Linux).
    const { fleetPerSale, devicesPerSale, backendPerSale } = report.cpuMs;
    expect(devicesPerSale).toBeGreaterThan(0);
    expect(backendPerSale).toBeGreaterThan(0);
    expect((devicesPerSale ?? Infinity) + (backendPerSale ?? Infinity)).toBeLessThanOrEqual(fleetPerSale + 0.5);
    expect(report.command).toBe(`npx dakbox fleet simulate --devices 50 --workers 2 --rate 50 --seconds 3 --out ${out}`);

    // Each figure is printed for a person, and the summary as JSON on the last line.
    for (const figure of ['connect storm: all 50 online in', 'device threads', 'backend', 'memory per device:', 'RSS', 'heap', 'sustained', 'p50', 'p99', 'max', '0 lost', '0 duplicated', 'ledgers in memory', 'load average']) {
      expect(run.stdout).toContain(figure);
    }
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
    expect(summary).toMatchObject({ devices: 50, rate: 50, ledger: 'memory', lost: 0, duplicated: 0 });
    for (const key of ['stormMs', 'rssPerDeviceBytes', 'heapPerDeviceBytes', 'sustainedPerSecond', 'p50Ms', 'p99Ms', 'maxMs', 'command']) expect(summary).toHaveProperty(key);
    // Not a terminal: progress comes as plain lines, no carriage returns.
    expect(run.stderr).not.toContain('\r');
  }, 30_000);
});

describe('dakbox fleet simulate: threads', () => {
  it('uses one thread per CPU, and more where one would hold over 2,500 devices', () => {
    expect(defaultWorkers(50, 2)).toBe(2);
    expect(defaultWorkers(5_000, 2)).toBe(2);
    expect(defaultWorkers(5_001, 2)).toBe(3);
    expect(defaultWorkers(10_000, 2)).toBe(4);
    expect(defaultWorkers(10_000, 8)).toBe(8);
  });
});

describe('dakbox fleet: bad arguments', () => {
  const refusals: [string[], RegExp][] = [
    [['simulate', '--rate', '10'], /--devices: is required/],
    [['simulate', '--devices', '10'], /--rate: is required/],
    [['simulate', '--devices', '0', '--rate', '10'], /--devices: must be a whole number from 1 to 100000/],
    [['simulate', '--devices', 'many', '--rate', '10'], /--devices: must be a whole number/],
    [['simulate', '--devices', '10', '--rate', '2.5'], /--rate: must be a whole number/],
    [['simulate', '--devices', '10', '--rate', '1000'], /--rate: 1000\/s is more than 5 sales a second per device for 10 devices/],
    [['simulate', '--devices', '10', '--rate', '10', '--ledger', 'tape'], /--ledger: must be memory or disk/],
    [['simulate', '--devices', '10', '--rate', '10', '--broker', 'http://127.0.0.1:1883'], /--broker: must be a broker URL/],
    [['simulate', '--devices', '10', '--rate', '10', '--workers', '0'], /--workers: must be a whole number from 1/],
    [['simulate', '--devices', '10', '--rate', '10', '--seconds', '-3'], /--seconds: must be a whole number/],
    [['simulate', '--devices', '10', '--rate', '10', '--speed', 'fast'], /--speed: is not an option of this command/],
    [['launch'], /launch: is not a fleet subcommand/],
  ];
  for (const [args, message] of refusals) {
    it(`refuses "${args.join(' ')}" in one line`, async () => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      expect(await main(['fleet', ...args], { stdout, stderr })).toBe(2);
      const text = (stderr.read() as Buffer | null)?.toString('utf8') ?? '';
      expect(text).toMatch(/^dakbox fleet: /);
      expect(text).toMatch(message);
      expect(text.endsWith('\n')).toBe(true);
      expect(text.trim().split('\n')).toHaveLength(1);
    });
  }
});
