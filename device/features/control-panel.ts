import type { Controls } from '../../core/ports/controls.js';
import type { Announcement } from '../../core/announce/announcement.js';
import type { Announcer } from '../../core/announce/announcer.js';
import type { CounterPort } from '../../core/sale/counter-port.js';
import { describeError } from '../../core/errors.js';
import type { LinkState } from '../../core/link/link-state.js';
import type { Logger } from '../../core/log.js';
import type { Ledger } from '../../core/payment/ledger.js';
import type { Feature, WatchedLink } from './feature.js';

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

export interface ControlPanelOptions {
  controls: Controls;
  link: WatchedLink;
  announcer: ControlPanelWiring['announcer'];
  counter: ControlPanelWiring['counter'];
  /** Today's payments and the last one, for the status sentence. */
  ledger: Pick<Ledger, 'today' | 'lastPayment'>;
  /** A long press of cancel: the field engineer's information screen. */
  showInfo: () => void;
  log: Logger;
}

/**
 * The buttons, LEDs and buzzer on a running device: the buttons wired as
 * wireControlPanel says, the link LED following the link, and the board
 * started and stopped. A board that never becomes ready is logged; the
 * counter runs without it.
 */
export class ControlPanel implements Feature {
  readonly name = 'controls';
  private readonly showLink = (state: LinkState): void => this.o.controls.showLink(state);

  constructor(private readonly o: ControlPanelOptions) {}

  start(): void {
    const { controls, link, log } = this.o;
    wireControlPanel(controls, {
      announcer: this.o.announcer,
      counter: this.o.counter,
      status: () => this.status(),
      showInfo: this.o.showInfo,
      log,
    });
    controls.showLink(link.state);
    link.on('state', this.showLink);
    controls.start().catch((err: unknown) => log.error({ err }, 'buttons and LEDs did not start; the counter runs without them'));
  }

  stop(): void {
    this.o.link.off('state', this.showLink);
    this.o.controls.stop();
  }

  private status(): Announcement {
    const today = this.o.ledger.today();
    const last = this.o.ledger.lastPayment();
    return { kind: 'status', online: this.o.link.state === 'online', todayCount: today.count, todayTotal: today.total, ...(last ? { lastPayment: last.amount } : {}) };
  }
}
