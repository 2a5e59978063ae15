import { afterEach, describe, expect, it } from 'vitest';
import { paise } from '../../core/money.js';
import { InfoScreen, INFO_SCREEN_MS } from '../../device/features/info-screen.js';
import { coreParts, type CoreParts } from '../support/core-parts.js';
import { settle } from '../support/stand-ins.js';

let parts: CoreParts;

afterEach(async () => {
  await parts.close();
});

/** `null`: the board has no network address. */
function started(address: string | null = '10.20.30.40'): InfoScreen {
  parts = coreParts({ deviceId: 'KOL12', payee: { vpa: 'kolkata.gpo@postbank', name: 'Kolkata GPO' }, mqtt: { url: 'mqtts://broker.example:8883', protocolVersion: 5 } });
  parts.counter.boot();
  const { lcd, settings, clock } = parts;
  const feature = new InfoScreen({ lcd, settings, firmware: '1.2.3', clock, address: () => address ?? undefined });
  feature.start();
  return feature;
}

async function onScreen(): Promise<string | undefined> {
  await settle();
  await parts.lcd.settled();
  return parts.display.last?.screen.kind;
}

describe('the information screen', () => {
  it('shows who the device is and where it connects, with a QR for the engineer', async () => {
    started().show();
    await settle();
    expect(parts.display.last?.screen).toEqual({
      kind: 'info',
      deviceId: 'KOL12',
      firmware: '1.2.3',
      ip: '10.20.30.40',
      broker: 'mqtts://broker.example:8883',
      identity: 'dakbox://device?id=KOL12&fw=1.2.3&pa=kolkata.gpo%40postbank&ip=10.20.30.40',
    });
  });

  it('says so when the board has no network address', async () => {
    started(null).show();
    await settle();
    const screen = parts.display.last?.screen;
    expect(screen?.kind === 'info' ? [screen.ip, screen.identity] : []).toEqual(['no network', 'dakbox://device?id=KOL12&fw=1.2.3&pa=kolkata.gpo%40postbank&ip=no%20network']);
  });

  it('goes back to the screen it covered after thirty seconds', async () => {
    started().show();
    expect(await onScreen()).toBe('info');
    parts.clock.advance(INFO_SCREEN_MS - 1);
    expect(await onScreen()).toBe('info');
    parts.clock.advance(1);
    expect(await onScreen()).toBe('idle');
  });

  it('brings a QR back with its countdown where it should be now', async () => {
    const feature = started();
    const sale = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    feature.show();
    parts.clock.advance(INFO_SCREEN_MS);
    await onScreen();
    expect(parts.lcd.current).toMatchObject({ kind: 'collect', now: sale.shownAt + INFO_SCREEN_MS });
  });

  it('gives way to anything newer the counter shows', async () => {
    const feature = started();
    const sale = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    feature.show();
    parts.counter.handlePayment(parts.confirmation(sale.tr, { amount: '250.00' }));
    expect(await onScreen()).toBe('paid');
    // The paid screen is held, then the counter goes idle; the covered QR does not come back.
    parts.clock.advance(INFO_SCREEN_MS);
    expect(await onScreen()).toBe('idle');
  });

  it('shows nothing, and leaves no timer, once stopped', async () => {
    const feature = started();
    feature.show();
    expect(await onScreen()).toBe('info');
    feature.stop();
    expect(parts.clock.pending()).toBe(0);
    const frames = parts.display.frames.length;
    feature.show();
    await onScreen();
    expect(parts.display.frames).toHaveLength(frames);
    expect(parts.lcd.current.kind).toBe('info');
  });
});
