import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { paise } from '../../core/money.js';
import { sentence } from '../../core/announce/words.js';
import { Announcer, type VolumeStore } from '../../core/announce/announcer.js';
import { wireControlPanel } from '../../device/features/control-panel.js';
import type { CounterEvent, CounterPort, CounterStatus, SaleRequest, SaleSnapshot } from '../../core/sale/counter-port.js';
import { VirtualIo } from '../../adapters/controls/virtual-io.js';
import { BoardControls, DEFAULT_CONTROLS_PINS as PINS } from '../../adapters/controls/board-controls.js';
import { WavSpeaker } from '../../adapters/speaker/wav-speaker.js';
import { standardVoicePicker } from '../../adapters/speaker/create-speaker.js';
import { capturedLog, tempFolder } from '../speaker/support.js';

/** A counter with one sale on screen; records what the buttons asked of it. */
class CounterAtTheDesk implements CounterPort {
  cancelled: (string | undefined)[] = [];
  private readonly sale: SaleSnapshot = {
    tr: 'DAK01-000042',
    amount: paise(25000),
    uri: 'upi://pay?ver=01&mode=15',
    state: 'showing',
    source: 'serial',
    shownAt: 0,
    expiresAt: 300_000,
  };
  startSale(_request: SaleRequest): Promise<SaleSnapshot> {
    return Promise.reject(new Error('not used by the buttons'));
  }
  cancelSale(tr?: string): Promise<SaleSnapshot> {
    this.cancelled.push(tr);
    return Promise.resolve({ ...this.sale, state: 'cancelled' });
  }
  status(): CounterStatus {
    return { deviceId: 'DAK01', firmware: 'test', link: 'online', sale: this.sale, todayCount: 3, todayTotal: paise(75000) };
  }
  subscribe(_listener: (event: CounterEvent) => void): () => void {
    return () => undefined;
  }
}

let folder: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  folder = await tempFolder('wiring');
});
afterEach(async () => {
  await folder.remove();
});

describe('buttons wired to the announcer and the counter', () => {
  it('change the volume, replay, cancel the sale and speak the status', async () => {
    const { log } = capturedLog();
    const clock = new ManualClock();
    const io = new VirtualIo();
    const saved: number[] = [];
    const store: VolumeStore = { loadVolume: () => 6, saveVolume: (level) => void saved.push(level) };
    const speaker = new WavSpeaker({ folder: folder.path, picker: standardVoicePicker({ log }), log });
    const announcer = new Announcer({ speaker, volumeStore: store, language: () => 'hi', log, clock });
    const counter = new CounterAtTheDesk();
    const controls = new BoardControls({ io, clock, log });
    // The device's own wiring, with a counter and a status at the desk.
    wireControlPanel(controls, {
      announcer,
      counter,
      status: () => {
        const status = counter.status();
        return { kind: 'status', online: status.link === 'online', lastPayment: paise(25000), todayCount: status.todayCount, todayTotal: status.todayTotal };
      },
      showInfo: () => undefined,
      log,
    });
    await controls.start();
    const tap = (pin: number | string, holdMs = 100) => {
      io.drive(pin, 0);
      clock.advance(holdMs);
      io.drive(pin, undefined);
      clock.advance(100);
    };

    await announcer.announce({ kind: 'payment', amount: paise(25000) });
    tap(PINS['volume-up']);
    tap(PINS['volume-up']);
    await announcer.idle();
    tap(PINS['volume-down']);
    await announcer.idle();
    tap(PINS.replay);
    await announcer.idle();
    tap(PINS['cancel-sale']);
    tap(PINS.replay, 2500);
    await announcer.idle();

    expect(saved).toEqual([7, 8, 7]);
    expect(announcer.volume).toBe(7);
    expect(counter.cancelled).toEqual([undefined]);
    expect(speaker.recordings.map((r) => [r.text, r.volume])).toEqual([
      [sentence({ kind: 'payment', amount: paise(25000) }, 'hi'), 6],
      [sentence({ kind: 'volume', level: 7 }, 'hi'), 7],
      [sentence({ kind: 'volume', level: 8 }, 'hi'), 8],
      [sentence({ kind: 'volume', level: 7 }, 'hi'), 7],
      [sentence({ kind: 'payment', amount: paise(25000) }, 'hi'), 7],
      [sentence({ kind: 'status', online: true, lastPayment: paise(25000), todayCount: 3, todayTotal: paise(75000) }, 'hi'), 7],
    ]);
    controls.stop();
  });
});
