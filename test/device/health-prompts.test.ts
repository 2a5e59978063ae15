import { afterEach, describe, expect, it } from 'vitest';
import { HealthPrompts, type HealthReading } from '../../device/features/health-prompts.js';
import { coreParts, type CoreParts } from '../support/core-parts.js';

const MB = 1024 * 1024;

/** Telemetry reports the test sends when it likes. */
class Reports {
  private readonly listeners = new Set<(reading: HealthReading) => void>();

  subscribe(listener: (reading: HealthReading) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(freeMemoryMb: number, freeStorageMb: number | null): void {
    for (const listener of this.listeners) listener({ memory: { systemFreeBytes: freeMemoryMb * MB }, storageFreeBytes: freeStorageMb === null ? null : freeStorageMb * MB });
  }

  get listening(): number {
    return this.listeners.size;
  }
}

let parts: CoreParts;
let reports: Reports;

afterEach(async () => {
  await parts.close();
});

function started(prompts = true): HealthPrompts {
  parts = coreParts({ announce: { prompts } });
  reports = new Reports();
  const { announcer, settings, clock, log } = parts;
  const feature = new HealthPrompts({ reports, announcer, settings, clock, log });
  feature.start();
  return feature;
}

async function said(): Promise<string[]> {
  await parts.announcer.idle();
  return parts.speaker.said;
}

describe('the health prompts', () => {
  it('say nothing while memory and storage are plentiful', async () => {
    started();
    reports.send(512, 8 * 1024);
    reports.send(32, 64);
    expect(await said()).toEqual([]);
  });

  it('say memory is low and storage is almost full, once an hour each, not every report', async () => {
    started();
    reports.send(20, 10);
    expect(await said()).toEqual(['Memory is low', 'Storage is almost full']);
    parts.clock.advance(60_000);
    reports.send(20, 10);
    parts.clock.advance(59 * 60_000);
    reports.send(20, 10);
    expect(await said()).toHaveLength(2);
    parts.clock.advance(1);
    reports.send(20, 200);
    expect((await said()).slice(2)).toEqual(['Memory is low']);
  });

  it('count each shortage on its own', async () => {
    started();
    reports.send(20, 200);
    parts.clock.advance(10 * 60_000);
    reports.send(20, 10);
    expect(await said()).toEqual(['Memory is low', 'Storage is almost full']);
  });

  it('ignore storage that could not be measured', async () => {
    started();
    reports.send(512, null);
    expect(await said()).toEqual([]);
  });

  it('stay silent when the prompts are switched off', async () => {
    started(false);
    reports.send(20, 10);
    expect(await said()).toEqual([]);
  });

  it('stop listening once stopped', async () => {
    const feature = started();
    feature.stop();
    expect(reports.listening).toBe(0);
    reports.send(20, 10);
    expect(await said()).toEqual([]);
  });
});
