import { networkInterfaces } from 'node:os';
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { DeviceSettings } from '../../core/config.js';
import type { Lcd } from '../../core/sale/lcd.js';
import type { Feature } from './feature.js';

/** How long the information screen stays up. */
export const INFO_SCREEN_MS = 30_000;

/** The first non-loopback IPv4 address, for the info screen. */
export function localAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const v4 = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return undefined;
}

export interface InfoScreenOptions {
  lcd: Pick<Lcd, 'current' | 'show'>;
  /** The settings in force: device id, payee and broker shown. */
  settings: () => DeviceSettings;
  firmware: string;
  clock: Clock;
  /** The board's network address; the first non-loopback IPv4 one unless told otherwise. */
  address?: () => string | undefined;
}

/**
 * The field engineer's information screen (a long press of cancel), for
 * INFO_SCREEN_MS or until the counter has something newer to show; then the
 * screen it covered comes back. Its QR identifies the device to the
 * engineer's phone.
 */
export class InfoScreen implements Feature {
  readonly name = 'info-screen';
  private timer?: TimerHandle | undefined;
  private running = false;

  constructor(private readonly o: InfoScreenOptions) {}

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  show(): void {
    if (!this.running) return;
    const { lcd, clock, firmware } = this.o;
    const previous = lcd.current;
    const s = this.o.settings();
    const ip = (this.o.address ?? localAddress)() ?? 'no network';
    const identity = `dakbox://device?id=${encodeURIComponent(s.deviceId)}&fw=${firmware}&pa=${encodeURIComponent(s.payee.vpa)}&ip=${encodeURIComponent(ip)}`;
    lcd.show({ kind: 'info', deviceId: s.deviceId, firmware, ip, broker: s.mqtt.url, identity });
    clock.clearTimeout(this.timer);
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      if (lcd.current.kind === 'info') lcd.show(previous.kind === 'collect' ? { ...previous, now: clock.now() } : previous);
    }, INFO_SCREEN_MS);
  }
}
