/**
 * A whole device whose control panel fails: the board's driver throws when
 * the link LED is set and when it is stopped. The device logs that under
 * the panel's name and goes on with every other feature.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { loadConfig } from '../../core/config.js';
import type { LinkState } from '../../core/link/link-state.js';
import { Device } from '../../device/device.js';
import { EmbeddedBroker } from '../../simulator/broker.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { eventually } from '../support/ledger-reader.js';
import { RecordingControls, RecordingDisplay, RecordingSpeaker } from '../support/stand-ins.js';
import { capturedLog, ERROR, type LogLine } from '../speaker/support.js';

/** A board whose driver has gone wrong: it throws on the link LED and on stop. */
class FaultyControls extends RecordingControls {
  override showLink(_state: LinkState): void {
    throw new Error('GPIO 17: device or resource busy');
  }

  override stop(): void {
    throw new Error('GPIO 17: device or resource busy');
  }
}

let broker: EmbeddedBroker;
let fixture: DeviceFixture;
let clock: ManualClock;
let speaker: RecordingSpeaker;
let lines: LogLine[];
let device: Device;

beforeEach(async () => {
  broker = await EmbeddedBroker.start();
  fixture = deviceFixture({ mqtt: { url: broker.url, protocolVersion: 4 }, announce: { prompts: true, daySummaryAt: '20:00' } });
  // 19:59:00 IST, a minute before the end-of-day summary.
  clock = new ManualClock(Date.UTC(2026, 0, 15, 14, 29, 0));
  speaker = new RecordingSpeaker();
  const captured = capturedLog();
  lines = captured.lines;
  device = new Device({
    config: loadConfig(fixture.configPath),
    parts: { display: new RecordingDisplay(), speaker, controls: new FaultyControls() },
    log: captured.log,
    clock,
    // The test's clock is set in January, before this build; the clock check is not the subject here.
    clockTrust: { check: () => Promise.resolve({ trusted: true }) },
  });
});

afterEach(async () => {
  await device.stop();
  await broker.stop();
  fixture.cleanup();
});

function errors(): LogLine[] {
  return lines.filter((l) => l.level >= ERROR);
}

describe('a device whose control panel fails', () => {
  it('logs the failure under the panel and starts every other feature', async () => {
    expect(() => device.start()).not.toThrow();
    expect(errors()).toEqual([
      expect.objectContaining({ feature: 'controls', msg: 'did not start; the device runs without it', err: expect.objectContaining({ message: 'GPIO 17: device or resource busy' }) as unknown }),
    ]);
    // The link prompts started after it: the soundbox says it is connected.
    await eventually(() => device.link.state === 'online', 10_000, 'online');
    await device.announcer.idle();
    expect(speaker.said).toEqual(['Connected to the payment service']);
    // So did the day summary, the last but one.
    clock.advance(60_000);
    await device.announcer.idle();
    expect(speaker.said.at(-1)).toBe('Today: no payments');
    // And the information screen, the last.
    device.showInfo();
    expect(device.lcd.current.kind).toBe('info');
  });

  it('logs the failure to stop under the panel and still stops the device', async () => {
    device.start();
    await eventually(() => device.link.state === 'online', 10_000, 'online');
    await device.stop();
    expect(errors().map((l) => [l.feature, l.msg])).toEqual([
      ['controls', 'did not start; the device runs without it'],
      ['controls', 'did not stop cleanly'],
    ]);
    expect(lines.at(-1)?.msg).toBe('device stopped');
    expect(device.link.state).toBe('offline');
  });
});
