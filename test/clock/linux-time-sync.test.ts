import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deviceClockTrust } from '../../core/clock-trust.js';
import { LinuxTimeSync, parseChronycTracking, parseTimedatectlShow, runCommand, type CommandResult } from '../../adapters/clock/linux-time-sync.js';
import { ManualClock } from '../../core/clock.js';
import { StandInTimeSync, recordingLogger } from '../support/clock-stand-ins.js';

/** What `chronyc -n tracking` prints; only the leap status differs between the two. */
function tracking(leap: string): string {
  return [
    'Reference ID    : C0A80001 (192.168.0.1)',
    'Stratum         : 3',
    'Ref time (UTC)  : Thu Jan 15 04:29:58 2026',
    'System time     : 0.000012345 seconds fast of NTP time',
    'Last offset     : +0.000004567 seconds',
    'RMS offset      : 0.000023456 seconds',
    'Frequency       : 12.345 ppm slow',
    'Residual freq   : +0.001 ppm',
    'Skew            : 0.012 ppm',
    'Root delay      : 0.012345678 seconds',
    'Root dispersion : 0.001234567 seconds',
    'Update interval : 64.2 seconds',
    `Leap status     : ${leap}`,
    '',
  ].join('\n');
}

const NO_SYSTEMD: CommandResult = { ok: false, stdout: '', problem: 'exit 1: System has not been booted with systemd as init system (PID 1). Can\'t operate.' };
const NOT_INSTALLED: CommandResult = { ok: false, stdout: '', problem: 'not installed' };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dakbox-timesync-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The adapter on a board whose commands answer as the test says, and whose timesyncd file is in a temp folder. */
function board(answers: { timedatectl?: CommandResult; chronyc?: CommandResult; synchronized?: boolean }) {
  const synchronizedFile = join(dir, 'synchronized');
  if (answers.synchronized) writeFileSync(synchronizedFile, '');
  const ran: string[] = [];
  const sync = new LinuxTimeSync({
    synchronizedFile,
    run: (file, args) => {
      ran.push([file, ...args].join(' '));
      return Promise.resolve((file === 'timedatectl' ? answers.timedatectl : file === 'chronyc' ? answers.chronyc : undefined) ?? NOT_INSTALLED);
    },
  });
  return { sync, ran };
}

describe('LinuxTimeSync on a board', () => {
  it('with systemd-timesyncd synchronised: the file says so, no command is run', async () => {
    const { sync, ran } = board({ synchronized: true });
    await expect(sync.status()).resolves.toEqual({ state: 'synchronised', detail: expect.stringContaining('systemd-timesyncd has synchronised') as unknown });
    expect(ran).toEqual([]);
  });

  it('with systemd-timesyncd not yet synchronised: timedatectl says no, chrony is not there', async () => {
    const { sync, ran } = board({ timedatectl: { ok: true, stdout: 'NTP=yes\nNTPSynchronized=no\n' } });
    await expect(sync.status()).resolves.toEqual({ state: 'unsynchronised', detail: 'timedatectl: NTPSynchronized=no, the time service is on' });
    expect(ran).toEqual(['timedatectl show -p NTP -p NTPSynchronized', 'chronyc -n tracking']);
  });

  it('with ntpd or chrony setting the kernel flag: timedatectl says yes', async () => {
    const { sync, ran } = board({ timedatectl: { ok: true, stdout: 'NTP=yes\nNTPSynchronized=yes\n' } });
    await expect(sync.status()).resolves.toEqual({ state: 'synchronised', detail: 'timedatectl: NTPSynchronized=yes' });
    expect(ran).toHaveLength(1);
  });

  it('with chrony without rtcsync: timedatectl says no but chrony is synchronised', async () => {
    const { sync } = board({ timedatectl: { ok: true, stdout: 'NTP=yes\nNTPSynchronized=no\n' }, chronyc: { ok: true, stdout: tracking('Normal') } });
    await expect(sync.status()).resolves.toEqual({ state: 'synchronised', detail: 'chronyc: leap status Normal' });
  });

  it('with chrony still searching: both say not synchronised', async () => {
    const { sync } = board({ timedatectl: { ok: true, stdout: 'NTP=yes\nNTPSynchronized=no\n' }, chronyc: { ok: true, stdout: tracking('Not synchronised') } });
    await expect(sync.status()).resolves.toEqual({
      state: 'unsynchronised',
      detail: 'timedatectl: NTPSynchronized=no, the time service is on; chronyc: leap status Not synchronised',
    });
  });

  it('with no systemd and no chrony: nobody can say', async () => {
    const { sync } = board({ timedatectl: NO_SYSTEMD, chronyc: NOT_INSTALLED });
    const status = await sync.status();
    expect(status.state).toBe('unknown');
    expect(status.detail).toContain('timedatectl: exit 1: System has not been booted with systemd');
    expect(status.detail).toContain('chronyc: not installed');
  });

  it('with chronyd installed but not running', async () => {
    const { sync } = board({ timedatectl: NO_SYSTEMD, chronyc: { ok: false, stdout: '', problem: 'exit 1: 506 Cannot talk to daemon' } });
    await expect(sync.status()).resolves.toMatchObject({ state: 'unknown', detail: expect.stringContaining('chronyc: exit 1: 506 Cannot talk to daemon') as unknown });
  });
});

describe('reading what the tools print', () => {
  it.each([
    ['NTP=yes\nNTPSynchronized=yes\n', 'synchronised'],
    ['NTPSynchronized=yes\nNTP=no\n', 'synchronised'],
    ['NTP=yes\nNTPSynchronized=no\n', 'unsynchronised'],
    ['', 'unknown'],
    ['Failed to parse\n', 'unknown'],
  ] as const)('timedatectl show %j is %s', (stdout, state) => {
    expect(parseTimedatectlShow(stdout).state).toBe(state);
  });

  it('says what to do when no time service is switched on', () => {
    expect(parseTimedatectlShow('NTP=no\nNTPSynchronized=no\n')).toEqual({ state: 'unsynchronised', detail: 'timedatectl: NTPSynchronized=no, no time service is on: timedatectl set-ntp true' });
  });

  it.each([
    ['Normal', 'synchronised'],
    ['Insert second', 'synchronised'],
    ['Delete second', 'synchronised'],
    ['Not synchronised', 'unsynchronised'],
    ['Unknown', 'unknown'],
  ] as const)('chronyc leap status %s is %s', (leap, state) => {
    expect(parseChronycTracking(tracking(leap)).state).toBe(state);
  });

  it('knows nothing from chronyc output without a leap status', () => {
    expect(parseChronycTracking('506 Cannot talk to daemon\n')).toEqual({ state: 'unknown', detail: 'chronyc: no leap status in its answer' });
  });
});

describe('running the tools', () => {
  it('says a command is not installed, failed, or took too long, and never rejects', async () => {
    await expect(runCommand('dakbox-no-such-command', [])).resolves.toEqual({ ok: false, stdout: '', problem: 'not installed' });
    await expect(runCommand(process.execPath, ['-e', 'console.error("Failed to connect to bus"); process.exit(1)'])).resolves.toEqual({
      ok: false,
      stdout: '',
      problem: 'exit 1: Failed to connect to bus',
    });
    await expect(runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], 300)).resolves.toMatchObject({ ok: false, problem: 'no answer within 0.3 s' });
    await expect(runCommand(process.execPath, ['-e', 'console.log("NTPSynchronized=yes")'])).resolves.toEqual({ ok: true, stdout: 'NTPSynchronized=yes\n' });
  });

  it('answers on this machine, whatever it runs', async () => {
    const status = await new LinuxTimeSync({ synchronizedFile: join(dir, 'synchronized') }).status();
    expect(['synchronised', 'unsynchronised', 'unknown']).toContain(status.state);
    expect(status.detail).not.toBe('');
  });
});

describe('the device clock check', () => {
  it('checks against the build stamp, and says in the log when there is none', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 4, 30, 0));
    const { log, lines } = recordingLogger();
    const sync = new StandInTimeSync();
    const stamped = deviceClockTrust(clock, log, sync, { builtAt: Date.UTC(2026, 0, 16), stamp: '/opt/dakbox/dist/build.json' });
    await expect(stamped.check()).resolves.toMatchObject({ trusted: false });
    expect(lines).toEqual([]);
    const unstamped = deviceClockTrust(clock, log, sync, { builtAt: Date.UTC(2026, 0, 1), problem: '/opt/dakbox/dist/build.json is missing: run npm run build' });
    await expect(unstamped.check()).resolves.toMatchObject({ trusted: true });
    expect(lines).toMatchObject([{ msg: expect.stringContaining('no firmware build stamp') as unknown, problem: expect.stringContaining('npm run build') as unknown }]);
  });
});
