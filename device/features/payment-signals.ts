import type { Announcer } from '../../core/announce/announcer.js';
import type { DeviceSettings } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { Controls } from '../../core/ports/controls.js';
import type { CounterEvent, CounterPort } from '../../core/sale/counter-port.js';
import type { Feature } from './feature.js';

export interface PaymentSignalsOptions {
  counter: Pick<CounterPort, 'subscribe'>;
  /** The buzzer and LEDs; absent on a headless device. */
  controls?: Pick<Controls, 'qrShown' | 'paid' | 'failed'> | undefined;
  announcer: Pick<Announcer, 'chime'>;
  /** The settings in force; `sale.chimeOnQr` decides whether a QR is signalled. */
  settings: () => DeviceSettings;
  log: Logger;
}

/**
 * What the clerk hears and sees besides words: a beep (or, with no buzzer,
 * the speaker's chime) when a QR goes up, if the counter wants one; the
 * green LED on a payment, the red one on a failure.
 */
export class PaymentSignals implements Feature {
  readonly name = 'payment-signals';
  private unsubscribe?: (() => void) | undefined;

  constructor(private readonly o: PaymentSignalsOptions) {}

  start(): void {
    this.unsubscribe = this.o.counter.subscribe((event) => this.signal(event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private signal(event: CounterEvent): void {
    const controls = this.o.controls;
    if (event.type === 'qr' && this.o.settings().sale.chimeOnQr) {
      // The buzzer beeps where there is one; otherwise the speaker chimes.
      if (controls) controls.qrShown();
      else this.o.announcer.chime().catch((err: unknown) => this.o.log.debug({ err }, 'chime not sounded'));
    }
    if (event.type === 'paid') controls?.paid();
    if (event.type === 'failed') controls?.failed();
  }
}
