import { describe, expect, it } from 'vitest';
import { startFeatures, stopFeatures, type Feature } from '../../device/features/feature.js';
import { capturedLog, ERROR } from '../speaker/support.js';

/** A feature that notes its start and stop in a shared diary, and throws when told to. */
function feature(name: string, diary: string[], fails: { start?: boolean; stop?: boolean } = {}): Feature {
  return {
    name,
    start: () => {
      diary.push(`start ${name}`);
      if (fails.start) throw new Error(`${name} cannot reach its board`);
    },
    stop: () => {
      diary.push(`stop ${name}`);
      if (fails.stop) throw new Error(`${name} is stuck`);
    },
  };
}

describe('the device features', () => {
  it('start in order and stop in the reverse order', () => {
    const diary: string[] = [];
    const { log } = capturedLog();
    const features = [feature('a', diary), feature('b', diary), feature('c', diary)];
    startFeatures(features, log);
    stopFeatures(features, log);
    expect(diary).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('go on without one whose start throws, and log it under its own name', () => {
    const diary: string[] = [];
    const { log, lines } = capturedLog();
    startFeatures([feature('telemetry', diary), feature('link-prompts', diary, { start: true }), feature('day-summary', diary)], log);
    expect(diary).toEqual(['start telemetry', 'start link-prompts', 'start day-summary']);
    const errors = lines.filter((l) => l.level === ERROR);
    expect(errors).toEqual([
      expect.objectContaining({ feature: 'link-prompts', msg: 'did not start; the device runs without it', err: expect.objectContaining({ message: 'link-prompts cannot reach its board' }) as unknown }),
    ]);
  });

  it('all stop even when one of them throws, which is logged under its own name', () => {
    const diary: string[] = [];
    const { log, lines } = capturedLog();
    stopFeatures([feature('telemetry', diary), feature('info-screen', diary, { stop: true }), feature('day-summary', diary)], log);
    expect(diary).toEqual(['stop day-summary', 'stop info-screen', 'stop telemetry']);
    expect(lines.filter((l) => l.level === ERROR)).toEqual([
      expect.objectContaining({ feature: 'info-screen', msg: 'did not stop cleanly', err: expect.objectContaining({ message: 'info-screen is stuck' }) as unknown }),
    ]);
  });
});
