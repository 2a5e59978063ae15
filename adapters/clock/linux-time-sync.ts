import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import type { TimeSync, TimeSyncStatus } from '../../core/ports/time-sync.js';

/**
 * Whether Linux has synchronised its clock, asked without native code. The
 * kernel keeps the answer (the STA_UNSYNC flag of adjtimex), which Node
 * cannot read and /proc does not show, so this asks those who can, in turn,
 * and the first that says "synchronised" settles it:
 *
 * 1. systemd-timesyncd (Debian and Raspberry Pi OS out of the box) touches
 *    /run/systemd/timesync/synchronized at every synchronisation. /run is
 *    emptied at every start, so the file means "since this boot". Costs one
 *    stat, no process.
 * 2. `timedatectl show -p NTP -p NTPSynchronized`: systemd's view of the
 *    kernel flag, whatever service set it (timesyncd, ntpd, chrony with
 *    `rtcsync`); `NTP` says whether a time service is switched on.
 * 3. `chronyc -n tracking`, "Leap status": chrony leaves the kernel flag set
 *    unless it is configured with `rtcsync`, so timedatectl can say "no"
 *    while chrony is synchronised. `-n` keeps chronyc from looking names up
 *    on a network that may not be there.
 *
 * If none says "synchronised" but one says "not synchronised", that is the
 * answer. If none can be asked (no systemd, no chrony), the answer is
 * "unknown" and the core's rule decides.
 */

export const TIMESYNCD_SYNCHRONIZED = '/run/systemd/timesync/synchronized';
const COMMAND_TIMEOUT_MS = 5_000;

export interface CommandResult {
  /** Exited 0. */
  ok: boolean;
  stdout: string;
  /** Why it did not run or failed, in a few words: "not installed", "exit 1: Failed to connect to bus". */
  problem?: string;
}

/** Runs a command without a shell; never rejects. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<CommandResult>;

export interface LinuxTimeSyncOptions {
  run?: CommandRunner;
  /** Whether a file exists; tests point it elsewhere. */
  exists?: (path: string) => Promise<boolean>;
  /** The file systemd-timesyncd touches when it has synchronised. */
  synchronizedFile?: string;
}

export class LinuxTimeSync implements TimeSync {
  private readonly run: CommandRunner;
  private readonly exists: (path: string) => Promise<boolean>;
  private readonly synchronizedFile: string;

  constructor(options: LinuxTimeSyncOptions = {}) {
    this.run = options.run ?? runCommand;
    this.exists = options.exists ?? fileExists;
    this.synchronizedFile = options.synchronizedFile ?? TIMESYNCD_SYNCHRONIZED;
  }

  async status(): Promise<TimeSyncStatus> {
    const answers: TimeSyncStatus[] = [];
    for (const ask of [() => this.timesyncd(), () => this.timedatectl(), () => this.chrony()]) {
      const answer = await ask();
      if (answer.state === 'synchronised') return answer;
      answers.push(answer);
    }
    const no = answers.filter((a) => a.state === 'unsynchronised');
    if (no.length) return { state: 'unsynchronised', detail: no.map((a) => a.detail).join('; ') };
    return { state: 'unknown', detail: answers.map((a) => a.detail).join('; ') };
  }

  private async timesyncd(): Promise<TimeSyncStatus> {
    if (await this.exists(this.synchronizedFile)) return { state: 'synchronised', detail: `systemd-timesyncd has synchronised the clock (${this.synchronizedFile})` };
    return { state: 'unknown', detail: `no ${this.synchronizedFile}` };
  }

  private async timedatectl(): Promise<TimeSyncStatus> {
    const result = await this.run('timedatectl', ['show', '-p', 'NTP', '-p', 'NTPSynchronized']);
    if (!result.ok) return { state: 'unknown', detail: `timedatectl: ${result.problem ?? 'failed'}` };
    return parseTimedatectlShow(result.stdout);
  }

  private async chrony(): Promise<TimeSyncStatus> {
    const result = await this.run('chronyc', ['-n', 'tracking']);
    if (!result.ok) return { state: 'unknown', detail: `chronyc: ${result.problem ?? 'failed'}` };
    return parseChronycTracking(result.stdout);
  }
}

/** `timedatectl show -p NTP -p NTPSynchronized`: lines of `Key=value`. */
export function parseTimedatectlShow(stdout: string): TimeSyncStatus {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const synced = values.get('NTPSynchronized');
  const service = values.get('NTP');
  if (synced === 'yes') return { state: 'synchronised', detail: 'timedatectl: NTPSynchronized=yes' };
  if (synced === 'no') {
    const why = service === 'yes' ? 'the time service is on' : service === 'no' ? 'no time service is on: timedatectl set-ntp true' : 'time service state not reported';
    return { state: 'unsynchronised', detail: `timedatectl: NTPSynchronized=no, ${why}` };
  }
  return { state: 'unknown', detail: `timedatectl: no NTPSynchronized in ${JSON.stringify(stdout.trim().slice(0, 80))}` };
}

/** `chronyc -n tracking`: the "Leap status" line says whether chronyd is synchronised. */
export function parseChronycTracking(stdout: string): TimeSyncStatus {
  const leap = /^Leap status\s*:\s*(.+?)\s*$/m.exec(stdout)?.[1];
  if (leap === 'Normal' || leap === 'Insert second' || leap === 'Delete second') return { state: 'synchronised', detail: `chronyc: leap status ${leap}` };
  if (leap === 'Not synchronised') return { state: 'unsynchronised', detail: 'chronyc: leap status Not synchronised' };
  return { state: 'unknown', detail: leap === undefined ? 'chronyc: no leap status in its answer' : `chronyc: leap status ${leap}` };
}

function fileExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The runner the device uses: no shell, the C locale, and a bound on how long a command may take. */
export function runCommand(file: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) {
        resolve({ ok: true, stdout });
        return;
      }
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
      let problem: string;
      if (e.code === 'ENOENT') problem = 'not installed';
      else if (e.killed) problem = `no answer within ${timeoutMs / 1000} s`;
      else problem = `exit ${String(e.code ?? '?')}: ${(stderr.trim().split('\n')[0] ?? '').slice(0, 120) || e.message}`;
      resolve({ ok: false, stdout, problem });
    });
  });
}
