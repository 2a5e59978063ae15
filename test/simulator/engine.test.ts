/**
 * The simulation engine the page and the scenarios drive: faults really
 * happen to a real Device, and what it does about them is the firmware's own
 * behaviour, seen through the same events the page shows.
 */
import { createVerify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { Simulation, type SimulationEvents, type SpeechEvent } from '../../simulator/simulation.js';
import { Mosquitto } from '../support/mosquitto.js';

const jsQR = jsQRModule.default;

/** Resolves with the first `name` event that `match` accepts, or fails after `timeoutMs` naming the last one seen. */
function next<K extends keyof SimulationEvents>(sim: Simulation, name: K, match: (event: SimulationEvents[K][0]) => boolean, timeoutMs = 20_000): Promise<SimulationEvents[K][0]> {
  return new Promise((resolve, reject) => {
    let last: unknown;
    const listener = (event: SimulationEvents[K][0]): void => {
      last = event;
      if (!match(event)) return;
      clearTimeout(timer);
      (sim as unknown as NodeJS.EventEmitter).off(name, listener);
      resolve(event);
    };
    const timer = setTimeout(() => {
      (sim as unknown as NodeJS.EventEmitter).off(name, listener);
      reject(new Error(`no matching ${name} event within ${timeoutMs} ms; last seen: ${JSON.stringify(last, (k, v: unknown) => (k === 'png' || k === 'wav' ? '<bytes>' : v))?.slice(0, 300)}`));
    }, timeoutMs);
    (sim as unknown as NodeJS.EventEmitter).on(name, listener);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const isPaymentSpeech = (s: SpeechEvent): boolean => /^Received /.test(s.text);

let dir: string;
let sim: Simulation;
const spoken: SpeechEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dakbox-engine-'));
  sim = await Simulation.start({ dir, log: silentLogger(), resultSeconds: 1 });
  sim.on('speech', (s) => spoken.push(s));
  if (process.env.SIM_TRACE) {
    const t0 = Date.now();
    const at = (): string => ((Date.now() - t0) / 1000).toFixed(2);
    sim.on('log', (l) => console.log(at(), 'log', l.level, l.feature, l.msg));
    sim.on('frame', (f) => console.log(at(), 'frame', f.frame.screen.kind, f.frame.link));
    sim.on('speech', (f) => console.log(at(), 'speech', f.text));
    sim.on('receipt', (r) => console.log(at(), 'receipt', JSON.stringify(r.message)));
  }
  await next(sim, 'frame', (f) => f.frame.link === 'online');
});

afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The screen of this kind: now, or when it is next drawn. */
async function screen(kind: string): Promise<void> {
  if (sim.counter().frame?.frame.screen.kind === kind) return;
  await next(sim, 'frame', (f) => f.frame.screen.kind === kind);
}

async function saleOnScreen(amount: string): Promise<string> {
  const qr = next(sim, 'frame', (f) => f.frame.screen.kind === 'collect');
  const reply = await sim.counter().sale({ amount, ref: `INV-${amount}` });
  await qr;
  return String((reply.sale as { tr: string }).tr);
}

describe('the simulation engine', () => {
  it('draws a signed mode-16 QR the phone can read from the pixels and verify with the published key', async () => {
    await saleOnScreen('120.00');
    const png = PNG.sync.read(sim.counter().frame!.png);
    const uri = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height)?.data ?? '';
    expect(uri).toMatch(/^upi:\/\/pay\?ver=01&mode=16&/);
    const [unsigned, sign] = uri.split('&sign=');
    const verified = createVerify('sha256').update(unsigned ?? '', 'utf8').verify(sim.qrPublicKey.pem, Buffer.from(decodeURIComponent(sign ?? ''), 'base64'));
    expect(verified).toBe(true);
    expect(uri).toContain(`orgid=${sim.qrPublicKey.orgId}`);
    await sim.pay(undefined);
    await next(sim, 'speech', isPaymentSpeech);
  });

  it('refuses bad input with one-line messages', async () => {
    expect(() => sim.counter('SIM09')).toThrow('device: "SIM09" is not a simulated device (SIM01)');
    await expect(sim.counter().sale({ amount: '1e3' })).rejects.toThrow(/exponent/);
    await expect(sim.counter().setPanelSize('123x45')).rejects.toThrow(/not a panel devices ship with/);
    await screen('idle');
    await expect(sim.pay(undefined)).rejects.toThrow("pay: no QR is on SIM01's screen");
    await expect(sim.payAfterExpiry()).rejects.toThrow(/no QR has expired/);
  });

  it('network drop: the link goes offline, and a payment made meanwhile is announced once it is back', async () => {
    await saleOnScreen('75.00');
    const before = spoken.filter(isPaymentSpeech).length;
    sim.counter().dropNetwork(3);
    await next(sim, 'frame', (f) => f.frame.link !== 'online');
    expect(sim.counter().leds.link).toBe(false);
    await sim.pay(undefined);
    await next(sim, 'speech', (s) => /^Received seventy.five rupees/.test(s.text), 30_000);
    await next(sim, 'receipt', (r) => r.message.outcome === 'announced');
    await sleep(1500);
    expect(spoken.filter(isPaymentSpeech).length).toBe(before + 1);
  });

  it('a forged confirmation changes nothing in the ledger', async () => {
    const tr = await saleOnScreen('60.00');
    const forged = await sim.forgeConfirmation();
    const receipt = await next(sim, 'receipt', (r) => r.message.utr === forged.utr);
    expect(receipt.message.outcome).toBe('rejected');
    expect(sim.counter().recentSales(5).find((s) => s.tr === tr)).toMatchObject({ state: 'showing', payments: [] });
    expect(sim.counter().status().sale?.tr).toBe(tr);
  });

  it('a replayed confirmation is not counted or said twice', async () => {
    const paid = await sim.pay(undefined);
    await next(sim, 'receipt', (r) => r.message.utr === paid.utr && r.message.outcome === 'announced');
    const saidBefore = spoken.filter(isPaymentSpeech).length;
    await sim.replayConfirmation();
    const again = await next(sim, 'receipt', (r) => r.message.utr === paid.utr && r.message.outcome !== 'announced');
    expect(again.message.outcome).toBe('duplicate');
    await sleep(500);
    expect(spoken.filter(isPaymentSpeech).length).toBe(saidBefore);
    expect(sim.counter().recentPayments(5).filter((p) => p.utr === paid.utr)).toHaveLength(1);
  });

  it('cable pull: the billing PC hears nothing while it is out, and gets the events it missed by seq after hello', async () => {
    const counter = sim.counter();
    const tr = await saleOnScreen('45.00');
    const status = await counter.billingRequest({ op: 'events', after: 0, limit: 1 });
    const lastSeq = Number(status.lastSeq);
    counter.pullCable();
    const heard: string[] = [];
    const onLine = (b: SimulationEvents['billing'][0]): void => {
      if (b.direction === 'to-pc') heard.push(b.line);
    };
    sim.on('billing', onLine);
    await sim.pay(undefined);
    await next(sim, 'speech', isPaymentSpeech);
    expect(heard).toEqual([]);
    await expect(counter.sale({ amount: '1.00' })).rejects.toThrow('billing: the billing cable is pulled out');
    const paidEvent = next(sim, 'billing', (b) => b.message?.event === 'paid' && b.message.tr === tr);
    counter.plugCable();
    const paid = await paidEvent;
    sim.off('billing', onLine);
    expect(JSON.parse(heard[0] ?? '{}')).toMatchObject({ event: 'hello' });
    expect(paid.message?.seq).toBe(lastSeq + 1);
  });

  it('power cut mid-announcement: the next start says the payment again, once', async () => {
    await screen('idle');
    await sim.counter().press('volume-up');
    const volume = sim.device.settings.volume;
    await saleOnScreen('33.00');
    const paid = await sim.pay(undefined);
    await next(sim, 'speech', (s) => /^Received thirty.three rupees/.test(s.text));
    await sim.counter().powerCut();
    expect(sim.counter().generation).toBe(2);
    expect(sim.device.settings.volume).toBe(volume);
    await next(sim, 'speech', (s) => /^Received thirty.three rupees/.test(s.text), 30_000);
    await next(sim, 'receipt', (r) => r.message.utr === paid.utr && r.message.outcome === 'announced');
    await sleep(1500);
    expect(spoken.filter((s) => /^Received thirty.three rupees/.test(s.text))).toHaveLength(2);
    expect(sim.counter().recentPayments(5).find((p) => p.utr === paid.utr)).toMatchObject({ announced: true });
    // The new start has its own buttons on the same board wiring.
    await sim.counter().press('volume-up');
    await next(sim, 'speech', (s) => /^Volume /.test(s.text));
  });

  it('broker outage: the device goes offline and a payment made during it is announced once after', async () => {
    await saleOnScreen('21.00');
    await sim.stopBroker(3);
    await next(sim, 'frame', (f) => f.frame.link !== 'online');
    await sim.pay(undefined);
    await next(sim, 'speech', (s) => /^Received twenty.one rupees/.test(s.text), 30_000);
    await sleep(1500);
    expect(spoken.filter((s) => /^Received twenty.one rupees/.test(s.text))).toHaveLength(1);
  });

  it('steps the wall clock and switches the panel size', async () => {
    const counter = sim.counter();
    const before = counter.clock.now();
    counter.stepClock(3_600_000);
    expect(counter.clock.now() - before).toBeGreaterThanOrEqual(3_600_000);
    counter.stepClock(-3_600_000);
    const redrawn = next(sim, 'frame', (f) => f.size.width === 800);
    await counter.setPanelSize('800x480');
    const frame = await redrawn;
    expect(PNG.sync.read(frame.png).width).toBe(800);
  });
});

describe('several counters on an outside broker', () => {
  it('runs each counter on its own ledger and screen, and cannot stop a broker it does not run', async () => {
    const broker = await Mosquitto.start();
    const folder = mkdtempSync(join(tmpdir(), 'dakbox-engine-multi-'));
    const multi = await Simulation.start({ dir: folder, log: silentLogger(), brokerUrl: broker.url, devices: 2, size: '320x240', language: 'hi' });
    try {
      expect(multi.deviceIds).toEqual(['SIM01', 'SIM02']);
      expect(multi.broker).toEqual({ url: broker.url, embedded: false, down: false });
      for (const id of multi.deviceIds) {
        if (multi.counter(id).frame?.frame.link !== 'online') await next(multi, 'frame', (f) => f.deviceId === id && f.frame.link === 'online');
      }
      const qr = next(multi, 'frame', (f) => f.deviceId === 'SIM02' && f.frame.screen.kind === 'collect');
      await multi.counter('SIM02').sale({ amount: '15.00' });
      expect((await qr).size).toEqual({ width: 320, height: 240 });
      await expect(multi.pay('SIM01')).rejects.toThrow("pay: no QR is on SIM01's screen");
      await multi.pay('SIM02');
      const said = await next(multi, 'speech', (s) => s.deviceId === 'SIM02' && s.text.includes('प्राप्त'));
      expect(said.language).toBe('hi');
      expect(said.wav.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(multi.counter('SIM01').recentPayments()).toEqual([]);
      expect(multi.counter('SIM02').recentPayments()).toHaveLength(1);
      await expect(multi.stopBroker(2)).rejects.toThrow(/outside broker/);
    } finally {
      await multi.stop();
      await broker.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});
