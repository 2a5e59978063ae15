import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/log.js';
import type { TimeSync, TimeSyncStatus } from '../../core/ports/time-sync.js';

/** The board's time service as the test says it is; counts how often it was asked. */
export class StandInTimeSync implements TimeSync {
  asked = 0;
  /** While set, answers wait for `answer()`. */
  private held: ((status: TimeSyncStatus) => void)[] | undefined;

  constructor(public current: TimeSyncStatus = { state: 'synchronised', detail: 'stand-in: synchronised' }) {}

  say(state: TimeSyncStatus['state']): void {
    this.current = { state, detail: `stand-in: ${state}` };
  }

  /** Questions from now on wait until `answer()`. */
  hold(): void {
    this.held = [];
  }

  answer(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const resolve of waiting) resolve(this.current);
  }

  status(): Promise<TimeSyncStatus> {
    this.asked++;
    if (this.held) {
      const held = this.held;
      return new Promise((resolve) => held.push(resolve));
    }
    return Promise.resolve(this.current);
  }
}

/** A logger whose lines the test can read. */
export function recordingLogger(): { log: Logger; lines: { level: number; msg: string; [key: string]: unknown }[] } {
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as { level: number; msg: string });
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}
