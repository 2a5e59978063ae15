import { afterEach, describe, expect, it } from 'vitest';
import { paise } from '../../core/money.js';
import { PaymentSignals } from '../../device/features/payment-signals.js';
import { coreParts, type CoreParts } from '../support/core-parts.js';
import { RecordingControls, settle } from '../support/stand-ins.js';

let parts: CoreParts;

afterEach(async () => {
  await parts.close();
});

function signals(controls?: RecordingControls): PaymentSignals {
  const { counter, announcer, settings, log } = parts;
  return new PaymentSignals({ counter, controls, announcer, settings, log });
}

describe('the payment signals', () => {
  it('beep when a QR goes up, flash green on a payment and red on a failure', async () => {
    parts = coreParts({ sale: { limit: '5000.00', chimeOnQr: true } });
    const controls = new RecordingControls();
    signals(controls).start();
    parts.counter.boot();
    const first = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    parts.counter.handlePayment(parts.confirmation(first.tr, { amount: '250.00' }));
    const second = await parts.counter.startSale({ amount: paise(9900), source: 'serial' });
    parts.counter.handlePayment(parts.confirmation(second.tr, { amount: '99.00', status: 'FAILED' }));
    expect(controls.calls).toEqual(['qr', 'paid', 'qr', 'failed']);
    await parts.announcer.idle();
    expect(parts.speaker.chimes).toEqual([]);
  });

  it('sound the chime on the speaker when there is no buzzer', async () => {
    parts = coreParts({ sale: { limit: '5000.00', chimeOnQr: true } });
    signals().start();
    parts.counter.boot();
    await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    await settle();
    await parts.announcer.idle();
    expect(parts.speaker.chimes).toEqual([parts.config.settings.volume]);
  });

  it('stay quiet on a QR when the counter wants no chime, but still light the LEDs', async () => {
    parts = coreParts({ sale: { limit: '5000.00', chimeOnQr: false } });
    const controls = new RecordingControls();
    signals(controls).start();
    parts.counter.boot();
    const sale = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    parts.counter.handlePayment(parts.confirmation(sale.tr, { amount: '250.00' }));
    expect(controls.calls).toEqual(['paid']);
  });

  it('signal nothing once stopped', async () => {
    parts = coreParts({ sale: { limit: '5000.00', chimeOnQr: true } });
    const controls = new RecordingControls();
    const feature = signals(controls);
    feature.start();
    parts.counter.boot();
    await parts.counter.startSale({ amount: paise(100), source: 'serial' });
    feature.stop();
    const sale = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    parts.counter.handlePayment(parts.confirmation(sale.tr, { amount: '250.00' }));
    expect(controls.calls).toEqual(['qr']);
    expect(parts.events.map((e) => e.type)).toEqual(['qr', 'cancelled', 'qr', 'paid']);
  });
});
