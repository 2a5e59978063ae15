/** The `dakbox` command as a user runs it: output, exit codes, one-line refusals. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWav, rms } from '../adapters/speaker/wav.js';
import { loadConfig } from '../core/config.js';
import { generateNotifierKeys } from '../simulator/backend.js';
import { benchesToRun } from '../cli/bench.js';
import { DAKBOX_BIN } from './support/device-process.js';
import { deviceFixture } from './support/fixtures.js';
import { decodeWithJsQr, decodeWithZbar } from './support/frames.js';
import { Mosquitto } from './support/mosquitto.js';

function dakbox(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [DAKBOX_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scratch = mkdtempSync(join(tmpdir(), 'dakbox-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('dakbox announce --dry-run', () => {
  it.each([
    ['en', 'Received one lakh twenty-five thousand rupees and fifty paise'],
    ['hi', 'एक लाख पच्चीस हज़ार रुपये और पचास पैसे प्राप्त हुए'],
  ])('prints the %s sentence', (lang, sentence) => {
    const r = dakbox('announce', '125000.50', '--lang', lang, '--dry-run');
    expect(r).toEqual({ status: 0, stdout: `${sentence}\n`, stderr: '' });
  });

  it.each(['bn', 'kn'])('prints a %s sentence in its own script', (lang) => {
    const r = dakbox('announce', '125000.50', '--lang', lang, '--dry-run');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(lang === 'bn' ? /^[\u0980-\u09FF\s]+\n$/ : /^[\u0C80-\u0CFF\s]+\n$/);
  });

  it.each([
    [['0'], 'dakbox announce: amount: must be more than zero'],
    [['-5'], 'dakbox announce: amount: "-5" is negative'],
    [['1e3'], 'dakbox announce: amount: "1e3" uses an exponent; write the amount in rupees, like "1000.00"'],
    [['12.345'], 'dakbox announce: amount: "12.345" has more than two decimal places'],
    [['100', '--lang', 'ta'], 'dakbox announce: --lang: must be one of en, hi, bn, kn'],
    [['100', '--loud'], "dakbox announce: --loud: is not an option of this command"],
    [[], 'dakbox announce: amount: give exactly one amount, like 125000.50'],
  ])('refuses %j in one line with a non-zero exit', (args, message) => {
    const r = dakbox('announce', ...args, '--dry-run');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${message}\n`);
  });
});

describe('dakbox announce, spoken', () => {
  it('speaks through the speaker the config names: one audible WAV of plausible length', () => {
    const fixture = deviceFixture({ language: 'kn', speaker: { kind: 'wav', dir: 'sounds', realtime: false } });
    try {
      const r = dakbox('announce', '125000.50', '--config', fixture.configPath);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^[\u0C80-\u0CFF\s]+\n$/);
      const files = readdirSync(join(fixture.dir, 'sounds'));
      expect(files).toEqual(['0001-kn.wav']);
      const wav = readWav(readFileSync(join(fixture.dir, 'sounds', files[0]!)));
      const seconds = wav.samples.length / wav.sampleRate;
      expect(seconds).toBeGreaterThan(2);
      expect(seconds).toBeLessThan(15);
      expect(rms(wav.samples)).toBeGreaterThan(0.01);
    } finally {
      fixture.cleanup();
    }
  });
});

describe('dakbox qr', () => {
  it('writes the collect screen and prints the URI its QR decodes to', async () => {
    const out = join(scratch, 'collect.png');
    const r = dakbox('qr', '--vpa', 'counter01@postbank', '--name', 'Mysuru HO', '--amount', '250.00', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const uri = r.stdout.trim();
    expect(uri).toMatch(/^upi:\/\/pay\?ver=01&mode=15&pa=counter01@postbank&pn=Mysuru%20HO&mc=9402&tr=QR-\d+&am=250\.00&cu=INR&qrMedium=03&QRts=/);
    expect(await decodeWithZbar(out)).toBe(uri);
    expect(decodeWithJsQr(out)).toBe(uri);
  });

  it.each([
    [['--vpa', 'counter01', '--name', 'x', '--amount', '1', '--out', 'x.png'], 'dakbox qr: vpa: "counter01" is not a UPI address like "counter01@postbank" (one @; letters, digits, . - _)'],
    [['--vpa', 'a@b', '--name', 'x', '--amount', '0', '--out', 'x.png'], 'dakbox qr: --amount: must be more than zero'],
    [['--vpa', 'a@b', '--name', 'x', '--amount', '1', '--out', 'x.png', '--size', 'big'], 'dakbox qr: --size: must be a panel size like 320x240, 480x320, 320x480, 240x240, 800x480'],
    [['--vpa', 'a@b', '--name', 'x', '--amount', '1'], 'dakbox qr: --out: is required'],
    [['--vpa', 'a@b', '--name', 'x', '--amount', '-1', '--out', 'x.png'], 'dakbox qr: --amount: "-1" is negative'],
    [['--vpa', 'a@b', '--name', 'x', '--amount', '1', '--note', 'Speed\u0085post', '--out', 'x.png'], 'dakbox qr: note: contains a control or invisible character (U+0085)'],
    [['--vpa', 'a@b', '--name', 'Mysuru \u2028HO', '--amount', '1', '--out', 'x.png'], 'dakbox qr: payee name: contains a control or invisible character (U+2028)'],
  ])('refuses %j in one line', (args, message) => {
    const r = dakbox('qr', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${message}\n`);
  });
});

describe('dakbox provision', () => {
  it('writes a config folder the device loads, secrets 0600, and prints the QR signing key', () => {
    const dir = join(scratch, 'etc-dakbox');
    const r = dakbox(
      'provision',
      '--dir', dir,
      '--device-id', 'MYS01',
      '--vpa', 'mysuruho@postbank',
      '--name', 'Mysuru HO',
      '--broker', 'mqtts://broker.example:8883',
      '--notifier-key', generateNotifierKeys().publicKeyBase64,
      '--username', 'MYS01',
      '--org-id', '159012',
      '--sign-qr',
      '--language', 'kn',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/-----BEGIN PUBLIC KEY-----/);
    expect(statSync(join(dir, 'device.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    const config = loadConfig(join(dir, 'device.json'));
    expect(config.settings.language).toBe('kn');
    expect(config.qrSigningKey).toBeDefined();
    const again = dakbox('provision', '--dir', dir, '--device-id', 'MYS01', '--vpa', 'a@b', '--name', 'x', '--broker', 'mqtt://x', '--notifier-key', generateNotifierKeys().publicKeyBase64);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^dakbox provision: --dir: .*device\.json exists; add --force to replace it\n$/);
  });

  it('refuses a folder others can write in, and writes nothing there', () => {
    const dir = join(scratch, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = dakbox('provision', '--dir', dir, '--device-id', 'MYS01', '--vpa', 'a@b', '--name', 'x', '--broker', 'mqtt://x', '--notifier-key', generateNotifierKeys().publicKeyBase64);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`dakbox provision: --dir: ${dir} can be written by others (mode 777); the device's secrets need a folder only its owner can write: chmod go-w it or choose another\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names a bad VPA', () => {
    const r = dakbox('provision', '--dir', join(scratch, 'bad'), '--device-id', 'MYS01', '--vpa', 'mysuru', '--name', 'x', '--broker', 'mqtt://x', '--notifier-key', generateNotifierKeys().publicKeyBase64);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('dakbox provision: device.json: payee.vpa: must be a UPI address like "counter01@postbank"\n');
  });
});

describe('dakbox check', () => {
  it('passes every check on a healthy device, and draws the self-test pattern', async () => {
    const broker = await Mosquitto.start();
    const fixture = deviceFixture({ mqtt: { url: broker.url, protocolVersion: 5 } });
    try {
      const r = spawnSync(process.execPath, [DAKBOX_BIN, 'check', '--config', fixture.configPath], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.every((l) => l.startsWith('ok '))).toBe(true);
      expect(lines.map((l) => l.slice(5).split(':')[0])).toEqual(['config', 'ledger', 'voice for en', 'voice for hi', 'voice for bn', 'voice for kn', 'voice pack for en', 'voice pack for hi', 'voice pack for bn', 'voice pack for kn', 'display', 'broker']);
      expect(statSync(join(fixture.dir, 'frames', 'screen.png')).size).toBeGreaterThan(1000);
    } finally {
      await broker.stop();
      fixture.cleanup();
    }
  });

  it('fails, naming the broker, when it cannot connect', () => {
    const fixture = deviceFixture({ mqtt: { url: 'mqtt://127.0.0.1:1', protocolVersion: 5 }, display: { kind: 'none' } });
    try {
      const r = dakbox('check', '--config', fixture.configPath);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^FAIL broker: mqtt:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/m);
    } finally {
      fixture.cleanup();
    }
  });
});

describe('dakbox billing', () => {
  it('--help prints its options and exit codes', () => {
    const r = dakbox('billing', '--help');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: dakbox billing <command> --port <path> \[--baud 115200\] \[--json\] \[--timeout 5\]\n/);
    expect(r.stdout).toContain('  sale <amount> [--ref <text>] [--note <text>] [--expires <seconds>] [--wait]\n');
    expect(r.stdout).toContain('\nexit codes:\n    0  done; with --wait, paid the amount asked\n');
    expect(r.stdout).toMatch(/\n {2}130 {2}interrupted while waiting\n$/);
  });

  it('is listed in dakbox --help', () => {
    const r = dakbox('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('dakbox billing <sale|cancel|status|ping|listen|events> --port /dev/ttyUSB0 [...]');
  });

  it('refuses a negative amount in one line, exit 2', () => {
    const r = dakbox('billing', 'sale', '-5', '--port', '/dev/dakbox-no-such-port');
    expect(r).toEqual({ status: 2, stdout: '', stderr: 'dakbox billing: amount: "-5" is negative\n' });
  });

  it('exits 3, naming the port, when the port will not open', () => {
    const r = dakbox('billing', 'ping', '--port', '/dev/dakbox-no-such-port');
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^dakbox billing: cannot open \/dev\/dakbox-no-such-port: .*\n$/);
  });
});

describe('dakbox run', () => {
  it('refuses a broken config in one line, without a stack trace', () => {
    const r = dakbox('run', '--config', join(scratch, 'missing.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^dakbox run: config: .*missing\.json does not exist\n$/);
  });

  it('names an unknown command', () => {
    const r = dakbox('pay');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^dakbox: pay: is not a command/);
  });
});

describe('dakbox bench', () => {
  it('runs every benchmark under `all`, the memory soak last before the charts', () => {
    expect(benchesToRun('all')).toEqual(['render', 'voice', 'sale', 'boot', 'latency', 'memory', 'charts']);
    expect(benchesToRun('memory')).toEqual(['memory', 'charts']);
    expect(benchesToRun('latency')).toEqual(['latency']);
  });

  it('names the benchmarks there are when given one that is not', () => {
    const r = dakbox('bench', 'speed');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('"speed" is not a benchmark (there are: render, voice, sale, boot, latency, memory, charts)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
