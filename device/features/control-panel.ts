import type { Controls } from '../../core/ports/controls.js';
import type { Announcement } from '../../core/announce/announcement.js';
import type { Announcer } from '../../core/announce/announcer.js';
import type { CounterPort } from '../../core/sale/counter-port.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

export interface ControlPanelWiring {
  announcer: Pick<Announcer, 'volumeUp' | 'volumeDown' | 'replayLast' | 'announce'>;
  counter: Pick<CounterPort, 'cancelSale'>;
  /** The sentence a long press of replay speaks: link, last payment, today's total. */
  status: () => Announcement;
  /** A long press of cancel: the field engineer's information screen. */
  showInfo: () => void;
  log: Logger;
}

/**
 * What each button does on the device: volume steps and replay go to the
 * announcer, cancel to the counter, the long presses to the status sentence
 * and the info screen. A refusal (nothing to cancel) is logged, never thrown.
 */
export function wireControlPanel(controls: Controls, w: ControlPanelWiring): void {
  controls.on('volume-up', () => w.announcer.volumeUp());
  controls.on('volume-down', () => w.announcer.volumeDown());
  controls.on('replay', () => {
    w.announcer.replayLast().catch((err: unknown) => w.log.warn({ err }, 'replay failed'));
  });
  controls.on('cancel-sale', () => {
    w.counter.cancelSale().catch((err: unknown) => w.log.info({ reason: describeError(err) }, 'cancel pressed with nothing to cancel'));
  });
  controls.on('status', () => {
    w.announcer.announce(w.status()).catch((err: unknown) => w.log.warn({ err }, 'status not spoken'));
  });
  controls.on('info', () => w.showInfo());
}
