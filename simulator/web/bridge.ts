import { InputError } from '../../core/errors.js';
import { formatRupees, parseAmountInput, type Paise } from '../../core/money.js';
import { formatIst } from '../../core/clock.js';
import type { PaymentRecord } from '../../core/payment/ledger.js';
import type { DeviceTopics } from '../../core/link/topics.js';
import type { PageSimulation } from './server.js';
import { PANEL_NAMES, type PageCommand, type RecordRow, type ServerMessage } from './protocol.js';
import { panelSize, type BillingEvent, type FrameEvent, type LogEntry, type SentConfirmation, type Simulation, type SimulatedCounter, type SpeechEvent } from '../simulation.js';

const LIST_LIMIT = 12;

/**
 * Turns the simulation into what the page shows (frames, LEDs, sounds,
 * lines, records) and what the page asks into calls on the simulation.
 */
export class PageBridge implements PageSimulation {
  private readonly listeners = new Set<(message: ServerMessage) => void>();
  /** The last status and records sent per device, so only changes go out. */
  private readonly sent = new Map<string, string>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(private readonly sim: Simulation) {
    sim.on('frame', (frame) => {
      this.broadcast(frameMessage(frame));
      this.refreshSoon();
    });
    sim.on('leds', ({ deviceId, leds }) => this.broadcast({ type: 'leds', device: deviceId, link: leds.link, paid: leds.paid, failed: leds.failed }));
    sim.on('speech', (speech) => {
      this.broadcast(speechMessage(speech));
      this.refreshSoon();
    });
    sim.on('billing', (event) => {
      this.broadcast(billingMessage(event));
      this.refreshSoon();
    });
    sim.on('log', (entry) => {
      this.broadcast(logMessage(entry));
      this.refreshSoon();
    });
    sim.on('power', () => this.refreshSoon());
    sim.on('receipt', ({ deviceId, message }) => {
      this.broadcast(receiptMessage(deviceId, message));
      this.refreshSoon();
    });
    sim.on('broker', ({ up }) => this.broadcast({ type: 'notice', text: up ? 'the broker is back' : 'the broker is down' }));
  }

  private get counters(): SimulatedCounter[] {
    return this.sim.deviceIds.map((id) => this.sim.counter(id));
  }

  hello(): ServerMessage {
    return {
      type: 'hello',
      devices: this.counters.map((c) => ({ id: c.deviceId, size: `${c.panelSize.width}x${c.panelSize.height}`, language: c.device.settings.language })),
      sizes: PANEL_NAMES,
      broker: this.sim.brokerUrl,
      qrPublicKey: this.sim.qrPublicKey.jwk,
    };
  }

  snapshot(): ServerMessage[] {
    const messages: ServerMessage[] = [];
    for (const counter of this.counters) {
      for (const receipt of this.sim.receipts(counter.deviceId).slice(-20)) messages.push(receiptMessage(receipt.deviceId, receipt.message));
      const frame = counter.frame;
      if (frame) messages.push(frameMessage(frame));
      messages.push({ type: 'leds', device: counter.deviceId, ...counter.leds });
      for (const entry of counter.logLines().slice(-100)) messages.push(logMessage(entry));
      messages.push(...this.state(counter));
    }
    return messages;
  }

  subscribe(send: (message: ServerMessage) => void): () => void {
    this.listeners.add(send);
    return () => this.listeners.delete(send);
  }

  async run(command: PageCommand): Promise<string | undefined> {
    if (command.type === 'stop-broker') {
      await this.sim.stopBroker(command.seconds);
      return `broker stopped for ${command.seconds} s`;
    }
    const counter = this.sim.counter(command.device);
    switch (command.type) {
      case 'press':
        await counter.press(command.button, command.holdMs);
        return undefined;
      case 'button':
        if (command.state === 'down') counter.buttonDown(command.button);
        else await counter.buttonUp(command.button);
        return undefined;
      case 'sale': {
        const reply = await counter.sale({
          amount: command.amount,
          ...(command.ref ? { ref: command.ref } : {}),
          ...(command.note ? { note: command.note } : {}),
          ...(command.expiresIn !== undefined ? { expiresIn: command.expiresIn } : {}),
        });
        return `sale ${formatRupees(parseAmountInput(command.amount))} on screen${typeof reply.tr === 'string' ? ` (tr ${reply.tr})` : ''}`;
      }
      case 'pay':
        return this.pay(counter, command);
      case 'confirmation':
        return sentLine(command.kind === 'forged' ? await this.sim.forgeConfirmation(counter.deviceId) : await this.sim.replayConfirmation(counter.deviceId));
      case 'drop-network':
        counter.dropNetwork(command.seconds);
        this.refreshSoon();
        return `network dropped for ${command.seconds} s`;
      case 'pull-cable':
        if (counter.cablePulled) {
          counter.plugCable();
          this.refreshSoon();
          return 'billing cable plugged back in';
        }
        counter.pullCable();
        this.refreshSoon();
        return 'billing cable pulled out';
      case 'power-cut':
        await counter.powerCut();
        this.refreshSoon();
        return 'power cut; the device started again on the same ledger';
      case 'step-clock':
        counter.stepClock(command.minutes * 60_000);
        return `device clock stepped ${command.minutes >= 0 ? 'forward' : 'back'} ${Math.abs(command.minutes)} min`;
      case 'size':
        await counter.setPanelSize(panelSize(command.size));
        return `panel is now ${command.size.replace('x', ' × ')}`;
    }
  }

  /**
   * The phone pays the QR it read. The stand-in bank pays the QR on the
   * counter's screen, so the one the phone read must still be there (or,
   * paying late, be the newest expired one).
   */
  private async pay(counter: SimulatedCounter, command: Extract<PageCommand, { type: 'pay' }>): Promise<string> {
    const amount = command.amount;
    if (command.outcome === 'pay-after-expiry') {
      const expired = counter.recentSales(50).find((sale) => sale.state === 'expired');
      if (expired?.tr !== command.tr) throw new InputError('pay after expiry', `the QR the phone read (${command.tr}) has not expired yet; wait for the countdown or step the clock`);
      return sentLine(await this.sim.payAfterExpiry(counter.deviceId, { amount }));
    }
    const onScreen = counter.status().sale;
    if (onScreen?.tr !== command.tr) throw new InputError('pay', `the QR the phone read (${command.tr}) is no longer on ${counter.deviceId}'s screen`);
    if (command.outcome === 'fail') return sentLine(await this.sim.fail(counter.deviceId));
    return sentLine(await this.sim.pay(counter.deviceId, { amount }));
  }

  private broadcast(message: ServerMessage): void {
    for (const send of this.listeners) send(message);
  }

  /** Status and records change with nearly every event; they are read once things settle. */
  private refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      for (const counter of this.counters) {
        for (const message of this.state(counter)) {
          const key = `${message.type}/${counter.deviceId}`;
          const text = JSON.stringify(message);
          if (this.sent.get(key) === text) continue;
          this.sent.set(key, text);
          this.broadcast(message);
        }
      }
    }, 100);
    this.refreshTimer.unref();
  }

  /** The device's status line and its recent sales and payments; nothing while it is restarting. */
  private state(counter: SimulatedCounter): ServerMessage[] {
    try {
      const status = counter.status();
      const sales = counter.recentSales(LIST_LIMIT);
      const payments = counter.recentPayments(LIST_LIMIT);
      return [
        {
          type: 'status',
          device: counter.deviceId,
          link: status.link,
          volume: counter.device.settings.volume,
          todayCount: status.todayCount,
          todayTotal: formatRupees(status.todayTotal),
          sale: status.sale ? `${formatRupees(status.sale.amount)} (${status.sale.tr})` : undefined,
          cablePulled: counter.cablePulled,
          networkCut: counter.networkCut,
        },
        {
          type: 'records',
          device: counter.deviceId,
          sales: sales.map((s) => row(s.shownAt, s.amount, s.ref ?? s.tr, s.state)),
          payments: payments.map(paymentRow),
        },
      ];
    } catch {
      return [];
    }
  }
}

function row(at: number, amount: Paise, ref: string, state: string): RecordRow {
  return { at: formatIst(at).slice(11, 19), amount: formatRupees(amount), ref, state };
}

function paymentRow(p: PaymentRecord): RecordRow {
  const flags = [p.status.toLowerCase(), p.mismatch ? `mismatch, asked ${formatRupees(p.asked)}` : '', p.late ? 'late' : '', p.announced ? 'announced' : 'not yet announced'].filter(Boolean);
  return row(p.receivedAt, p.amount, p.utr, flags.join(', '));
}

function sentLine(sent: SentConfirmation): string {
  const what = { pay: 'payment confirmation', fail: 'failure confirmation', forged: 'forged confirmation', replay: 'the last confirmation again' }[sent.kind];
  return `sent ${what} for ${sent.tr} (utr ${sent.utr})`;
}

function receiptMessage(deviceId: string, message: DeviceTopics['receipt']): ServerMessage {
  return { type: 'receipt', device: deviceId, utr: message.utr ?? '(none)', outcome: `${message.outcome}${message.reason ? ` (${message.reason})` : ''}` };
}

function frameMessage(frame: FrameEvent): ServerMessage {
  return {
    type: 'frame',
    device: frame.deviceId,
    width: frame.size.width,
    height: frame.size.height,
    png: frame.png.toString('base64'),
    screen: frame.frame.screen.kind,
    offline: frame.frame.link !== 'online',
  };
}

function speechMessage(speech: SpeechEvent): ServerMessage {
  return { type: 'speech', device: speech.deviceId, text: speech.chime ? '♪ chime' : speech.text, language: speech.language, wav: speech.wav.toString('base64') };
}

function billingMessage(event: BillingEvent): ServerMessage {
  return { type: 'billing', device: event.deviceId, line: `${event.direction === 'to-pc' ? 'PC ←' : 'PC →'} ${event.line}` };
}

function logMessage(entry: LogEntry): ServerMessage {
  const fields = Object.entries(entry.fields)
    .filter(([key]) => key !== 'device' && key !== 'v')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : isError(value) ? value.message : JSON.stringify(value)}`)
    .join(' ');
  return { type: 'log', device: entry.deviceId, line: `${formatIst(entry.time).slice(11, 19)} ${entry.level.padEnd(5)} ${entry.feature ? `[${entry.feature}] ` : ''}${entry.msg}${fields ? `  ${fields}` : ''}` };
}

/** A serialised error in a log line: its message is enough on the page. */
function isError(value: unknown): value is { message: string } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}
