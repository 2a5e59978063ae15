import { afterEach, describe, expect, it } from 'vitest';
import { paise } from '../../core/money.js';
import { ControlPanel } from '../../device/features/control-panel.js';
import { coreParts, type CoreParts } from '../support/core-parts.js';
import { RecordingControls, settle } from '../support/stand-ins.js';
import { capturedLog, ERROR } from '../speaker/support.js';

let parts: CoreParts;
let controls: RecordingControls;
let infoShown: number;

afterEach(async () => {
  await parts.close();
});

function started(board = new RecordingControls(), log = capturedLog().log): ControlPanel {
  parts = coreParts({ sale: { limit: '5000.00' } });
  parts.counter.boot();
  controls = board;
  infoShown = 0;
  const { link, announcer, counter, ledger } = parts;
  const feature = new ControlPanel({ controls, link, announcer, counter, ledger, showInfo: () => infoShown++, log });
  feature.start();
  return feature;
}

describe('the control panel', () => {
  it('starts the board and lights the link LED as the link goes', () => {
    started();
    parts.link.goTo('connecting');
    parts.link.goTo('online');
    expect(controls.calls).toEqual(['link offline', 'start', 'link connecting', 'link online']);
  });

  it("speaks the link, today's total and the last payment on a long press of replay", async () => {
    started();
    parts.link.goTo('online');
    const sale = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    parts.counter.handlePayment(parts.confirmation(sale.tr, { amount: '250.00' }));
    await parts.announcer.idle();
    controls.press('status');
    await parts.announcer.idle();
    expect(parts.speaker.said.at(-1)).toMatch(/^Network connected.*two hundred fifty rupees/);
  });

  it('cancels the sale on screen, and shows the information screen on a long press of cancel', async () => {
    started();
    const sale = await parts.counter.startSale({ amount: paise(25000), source: 'serial' });
    controls.press('cancel-sale');
    await settle();
    expect(parts.events.at(-1)).toMatchObject({ type: 'cancelled', tr: sale.tr, reason: 'clerk' });
    controls.press('info');
    expect(infoShown).toBe(1);
  });

  it('logs a board that never becomes ready, and does not throw', async () => {
    const { log, lines } = capturedLog();
    const board = new RecordingControls();
    board.start = () => Promise.reject(new Error('the raspi board was not ready within 10000 ms'));
    started(board, log);
    await settle();
    expect(lines.filter((l) => l.level === ERROR).map((l) => l.msg)).toEqual(['buttons and LEDs did not start; the counter runs without them']);
  });

  it('stops the board and lets go of the link when stopped', () => {
    const feature = started();
    feature.stop();
    parts.link.goTo('online');
    expect(controls.calls).toEqual(['link offline', 'start', 'stop']);
    expect(parts.link.listenerCount('state')).toBe(0);
  });
});
