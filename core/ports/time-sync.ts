/**
 * What the operating system says about its wall clock: whether a time
 * service (NTP) has synchronised it since the board started.
 *
 * - `synchronised`: a time service has set the clock from a time source.
 * - `unsynchronised`: the system says it has not (yet): a board without a
 *   battery clock runs on a stale time until then.
 * - `unknown`: the system offers no way to tell (no time service the
 *   adapter can ask).
 *
 * `detail` says who answered and what they said, for the log and the
 * engineer: "systemd-timesyncd has synchronised the clock",
 * "timedatectl: NTPSynchronized=no".
 */
export interface TimeSyncStatus {
  state: 'synchronised' | 'unsynchronised' | 'unknown';
  detail: string;
}

/** Asks the system whether its clock is synchronised; may take a moment, never rejects. */
export interface TimeSync {
  status(): Promise<TimeSyncStatus>;
}
