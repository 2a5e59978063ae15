import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Telemetry } from '../../core/link/topics.js';
import { paise } from '../../core/money.js';
import { TelemetryReporter } from '../../device/features/telemetry.js';
import { coreParts, MORNING, type CoreParts } from '../support/core-parts.js';
import { settle } from '../support/stand-ins.js';

let parts: CoreParts;
const board = { freeMemory: 300 * 1024 * 1024, freeStorage: 2 * 1024 * 1024 * 1024 };
let probedPaths: string[];

afterEach(async () => {
  await parts.close();
});

function reporter(telemetrySeconds = 60): TelemetryReporter {
  parts = coreParts({ mqtt: { url: 'mqtt://127.0.0.1:1', protocolVersion: 5, telemetrySeconds }, sale: { limit: '5000.00' } });
  probedPaths = [];
  const { link, counter, ledger, announcer, outbox, settings, config, clock, log } = parts;
  return new TelemetryReporter({
    link,
    counter,
    ledger,
    announcer,
    outbox,
    settings,
    ledgerPath: config.ledgerPath,
    spread: () => 0,
    probe: {
      freeMemoryBytes: () => board.freeMemory,
      freeStorageBytes: (path) => {
        probedPaths.push(path);
        return board.freeStorage;
      },
    },
    bootAt: MORNING - 5_000,
    clock,
    log,
  });
}

function reports(): Telemetry[] {
  return parts.link.sent('telemetry') as Telemetry[];
}

describe('telemetry', () => {
  it('reports the board, the sale on screen and the day so far', async () => {
    const telemetry = reporter();
    parts.counter.boot();
    const paid = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    parts.counter.handlePayment(parts.confirmation(paid.tr, { amount: '250.00' }));
    parts.counter.handlePayment(Buffer.from('{"forged":true}'));
    const showing = await parts.counter.startSale({ amount: paise(9950), source: 'serial' });
    expect(telemetry.report()).toMatchObject({
      v: 1,
      at: '2026-01-15T10:00:00+05:30',
      uptimeSeconds: 5,
      memory: { systemFreeBytes: board.freeMemory },
      storageFreeBytes: board.freeStorage,
      lastSale: { tr: showing.tr, amount: '99.50', state: 'showing' },
      today: { count: 1, total: '250.00' },
      volume: parts.config.settings.volume,
      language: 'en',
      link: { state: 'offline', reconnects: 0 },
      rejected: { confirmations: 1, collects: 0 },
    });
    // Offline, the QRs and the receipt wait in the outbox.
    expect(telemetry.report().queueDepth.outbox).toBeGreaterThanOrEqual(3);
    expect(probedPaths.at(-1)).toBe(dirname(parts.config.ledgerPath));
  });

  it('names the last payment when no sale is on screen', async () => {
    const telemetry = reporter();
    parts.counter.boot();
    const sale = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    parts.counter.handlePayment(parts.confirmation(sale.tr, { amount: '250.00' }));
    expect(telemetry.report().lastSale).toEqual({ tr: sale.tr, amount: '250.00', state: 'paid' });
  });

  it('is published every period while the link is up, and not while it is down', () => {
    const telemetry = reporter(60);
    telemetry.start();
    parts.link.goTo('online');
    parts.clock.advance(59_999);
    expect(reports()).toHaveLength(0);
    parts.clock.advance(1);
    expect(reports()).toHaveLength(1);
    expect(parts.link.published.at(-1)).toMatchObject({ topic: 'telemetry', qos: 0 });
    parts.clock.advance(60_000);
    expect(reports().map((r) => r.at)).toEqual(['2026-01-15T10:01:00+05:30', '2026-01-15T10:02:00+05:30']);
    parts.link.goTo('offline');
    parts.clock.advance(120_000);
    expect(reports()).toHaveLength(2);
    parts.link.goTo('online');
    parts.clock.advance(60_000);
    expect(reports()).toHaveLength(3);
    expect(reports().at(-1)).toMatchObject({ uptimeSeconds: 305 });
  });

  it('hands every report to its listeners, online or not', () => {
    const telemetry = reporter(30);
    const heard: Telemetry[] = [];
    telemetry.subscribe((r) => heard.push(r));
    const forgotten: Telemetry[] = [];
    const forget = telemetry.subscribe((r) => forgotten.push(r));
    telemetry.start();
    parts.clock.advance(30_000);
    forget();
    parts.clock.advance(30_000);
    expect(heard.map((r) => r.at)).toEqual(['2026-01-15T10:00:30+05:30', '2026-01-15T10:01:00+05:30']);
    expect(forgotten).toHaveLength(1);
    expect(reports()).toEqual([]);
  });

  it('starts the period again from now when it is rescheduled', () => {
    const telemetry = reporter(60);
    telemetry.start();
    parts.link.goTo('online');
    parts.clock.advance(50_000);
    parts.config.settings = { ...parts.config.settings, mqtt: { ...parts.config.settings.mqtt, telemetrySeconds: 10 } };
    telemetry.reschedule();
    parts.clock.advance(9_999);
    expect(reports()).toHaveLength(0);
    parts.clock.advance(1);
    parts.clock.advance(10_000);
    expect(reports().map((r) => r.at)).toEqual(['2026-01-15T10:01:00+05:30', '2026-01-15T10:01:10+05:30']);
  });

  it('reports nothing more once stopped, even if rescheduled', async () => {
    const telemetry = reporter(60);
    telemetry.start();
    parts.link.goTo('online');
    await settle();
    const waiting = parts.clock.pending();
    telemetry.stop();
    expect(parts.clock.pending()).toBe(waiting - 1);
    telemetry.reschedule();
    parts.clock.advance(600_000);
    expect(reports()).toEqual([]);
  });
});

describe('a fleet started together', () => {
  it('spreads its first reports over the period: the first falls between half a period and a whole one after start, then every period', () => {
    const firsts: number[] = [];
    for (const spread of [0, 0.5, 0.999]) {
      parts = coreParts({ mqtt: { url: 'mqtt://127.0.0.1:1', protocolVersion: 5, telemetrySeconds: 60 }, sale: { limit: '5000.00' } });
      const { link, counter, ledger, announcer, outbox, settings, config, clock, log } = parts;
      const r = new TelemetryReporter({ link, counter, ledger, announcer, outbox, settings, ledgerPath: config.ledgerPath, probe: { freeMemoryBytes: () => 1, freeStorageBytes: () => 1 }, bootAt: clock.now(), clock, log, spread: () => spread });
      const at: number[] = [];
      const start = clock.now();
      r.subscribe(() => at.push(clock.now() - start));
      r.start();
      for (let s = 0; s < 130; s++) clock.advance(1_000);
      r.stop();
      firsts.push(at[0] ?? -1);
      expect(at[1]! - at[0]!).toBe(60_000);
      parts.ledger.close();
    }
    expect(firsts).toEqual([60_000, 45_000, 30_030]);
  });
});
