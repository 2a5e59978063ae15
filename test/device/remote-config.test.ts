import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paise } from '../../core/money.js';
import { RemoteConfig } from '../../device/features/remote-config.js';
import { coreParts, type CoreParts } from '../support/core-parts.js';
import { settle } from '../support/stand-ins.js';

let parts: CoreParts;
let feature: RemoteConfig;
let reschedules: number;

beforeEach(() => {
  parts = coreParts({ language: 'en', volume: 7, sale: { limit: '5000.00', expirySeconds: 300 } });
  reschedules = 0;
  const { link, config, persist, outbox, announcer, lcd, clock, log } = parts;
  feature = new RemoteConfig({ link, config, persist, outbox, announcer, lcd, telemetry: { reschedule: () => reschedules++ }, clock, log });
  feature.start();
  parts.link.goTo('online');
});

afterEach(async () => {
  await parts.close();
});

interface ConfigState {
  v: number;
  settings: Record<string, unknown>;
  at: string;
  error?: string;
}

function states(): ConfigState[] {
  return parts.link.sent('config/state') as ConfigState[];
}

function saved(): { language: string; volume: number; sale: { limit: string; expirySeconds: number } } {
  return JSON.parse(readFileSync(parts.config.path, 'utf8')) as ReturnType<typeof saved>;
}

describe('settings from the backend', () => {
  it('are reported as they stand on every new connection', async () => {
    await settle();
    expect(states()).toEqual([
      {
        v: 1,
        settings: { language: 'en', volume: 7, expirySeconds: 300, resultSeconds: 8, saleLimit: '5000.00', chimeOnQr: true, telemetrySeconds: 60 },
        at: '2026-01-15T10:00:00+05:30',
      },
    ]);
    parts.link.goTo('offline');
    parts.clock.advance(90_000);
    parts.link.goTo('online');
    await settle();
    expect(states().map((s) => s.at)).toEqual(['2026-01-15T10:00:00+05:30', '2026-01-15T10:01:30+05:30']);
  });

  it('are applied, kept in device.json and put in force at once', async () => {
    const framesBefore = parts.display.frames.length;
    await parts.link.deliver('config/set', { language: 'hi', volume: 4, saleLimit: '500.00', expirySeconds: 120 });
    await settle();
    expect(states().at(-1)).toMatchObject({ settings: { language: 'hi', volume: 4, saleLimit: '500.00', expirySeconds: 120 } });
    expect(states().at(-1)?.error).toBeUndefined();
    expect(saved()).toMatchObject({ language: 'hi', volume: 4, sale: { limit: '500.00', expirySeconds: 120 } });
    // The new volume is said, in the new language; the screen is drawn again in it.
    await parts.announcer.idle();
    expect(parts.speaker.utterances.at(-1)).toMatchObject({ language: 'hi', volume: 4 });
    expect(parts.display.frames.length).toBeGreaterThan(framesBefore);
    expect(parts.display.last?.language).toBe('hi');
    // The counter holds to the new limit and lifetime.
    parts.counter.boot();
    await expect(parts.counter.startSale({ amount: paise(60000), source: 'serial' })).rejects.toThrow(/500\.00/);
    const sale = await parts.counter.startSale({ amount: paise(50000), source: 'serial' });
    expect(sale.expiresAt - sale.shownAt).toBe(120_000);
    expect(reschedules).toBe(0);
  });

  it('start the telemetry period again when it changes', async () => {
    await parts.link.deliver('config/set', { telemetrySeconds: 300 });
    expect(reschedules).toBe(1);
    expect(parts.config.settings.mqtt.telemetrySeconds).toBe(300);
    await parts.link.deliver('config/set', { volume: 7 });
    expect(reschedules).toBe(1);
  });

  it.each([
    [{ payee: { vpa: 'thief@bank' } }, 'config/set: payee: is not a known setting'],
    [{ volume: 11 }, 'config/set: volume: must be at most 10'],
    ['{"language":', 'config/set: is not JSON'],
  ])('refuse %j, change nothing and say why on config/state', async (change, error) => {
    const before = readFileSync(parts.config.path, 'utf8');
    await parts.link.deliver('config/set', change);
    await settle();
    expect(states().at(-1)).toMatchObject({ error, settings: { language: 'en', volume: 7, saleLimit: '5000.00' } });
    expect(readFileSync(parts.config.path, 'utf8')).toBe(before);
    expect(parts.config.saleLimit).toBe(500000);
  });

  it('are no longer handled or reported once stopped', async () => {
    await settle();
    const reported = states().length;
    feature.stop();
    expect(parts.link.handles('config/set')).toBe(false);
    parts.link.goTo('offline');
    parts.link.goTo('online');
    await settle();
    expect(states()).toHaveLength(reported);
  });
});
