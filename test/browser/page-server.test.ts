/**
 * The simulator page's server without a browser: what it serves, what it
 * refuses, and that no message from a page can crash it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger } from '../../core/log.js';
import type { PageCommand, ServerMessage } from '../../simulator/web/protocol.js';
import { PageServer, type PageSimulation } from '../../simulator/web/server.js';
import { browserCommand } from '../../simulator/web/open-browser.js';

/** Records the commands that passed validation; the real bridge is driven by the browser tests. */
class RecordingSimulation implements PageSimulation {
  readonly commands: PageCommand[] = [];
  hello(): ServerMessage {
    return { type: 'hello', devices: [{ id: 'SIM01', size: '480x320', language: 'en' }], sizes: ['480x320'], broker: 'mqtt://127.0.0.1:1883', qrPublicKey: undefined };
  }
  snapshot(): ServerMessage[] {
    return [];
  }
  subscribe(): () => void {
    return () => undefined;
  }
  run(command: PageCommand): Promise<string | undefined> {
    this.commands.push(command);
    if (command.type === 'power-cut') return Promise.reject(new Error('SIM01: is restarting after a power cut; cannot cut the power yet'));
    return Promise.resolve('ok');
  }
}

let server: PageServer;
const simulation = new RecordingSimulation();

beforeAll(async () => {
  server = await PageServer.start({ simulation, port: 0, log: createLogger({ level: 'silent' }) });
});

afterAll(async () => {
  await server.stop();
});

/** Opens the page's socket, sends each frame in turn and collects every reply after the greeting. */
async function exchange(frames: (string | Buffer)[], replies: number, origin?: string): Promise<ServerMessage[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, origin ? { origin } : {});
  const received: ServerMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as ServerMessage;
      if (message.type === 'hello') {
        for (const frame of frames) ws.send(frame);
        return;
      }
      received.push(message);
      if (received.length === replies) resolve();
    });
  });
  ws.close();
  return received;
}

describe('the simulator page server', () => {
  it('listens on loopback and serves the page, its modules and jsQR', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(server.url);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<script type="module" src="/app.js">');
    for (const path of ['/app.js', '/phone.js', '/upi.js', '/style.css']) expect((await fetch(new URL(path, server.url))).status).toBe(200);
    const jsqr = await fetch(new URL('/vendor/jsQR.js', server.url));
    expect(jsqr.status).toBe(200);
    expect(await jsqr.text()).toContain('jsQR');
    expect((await fetch(new URL('/../package.json', server.url))).status).toBe(404);
    expect((await fetch(new URL('/server.ts', server.url))).status).toBe(404);
  });

  it('answers every bad message with one line naming what is wrong, and keeps working', async () => {
    const before = simulation.commands.length;
    const replies = await exchange(
      [
        'not json',
        JSON.stringify({ type: 'launch', device: 'SIM01' }),
        JSON.stringify({ id: 1, type: 'press', device: 'SIM01', button: 'power', holdMs: 100 }),
        JSON.stringify({ id: 2, type: 'stop-broker', seconds: 0 }),
        JSON.stringify({ id: 3, type: 'sale', device: 'SIM01', amount: '250', extra: true }),
        JSON.stringify({ id: 4, type: 'pay', device: 'SIM01', tr: 'bad tr!', outcome: 'pay', amount: '1' }),
        JSON.stringify({ id: 5, type: 'size', device: 'SIM01', size: '1x1' }),
        Buffer.from([0, 1, 2]),
        JSON.stringify({ id: 6, type: 'power-cut', device: 'SIM01' }),
        JSON.stringify({ id: 7, type: 'press', device: 'SIM01', button: 'volume-up', holdMs: 150 }),
      ],
      10,
    );
    const errors = replies.filter((r) => r.type === 'error').map((r) => (r.type === 'error' ? r.message : ''));
    expect(errors).toEqual([
      'message: is not JSON',
      'type: must be one of press, button, sale, pay, confirmation, stop-broker, drop-network, pull-cable, power-cut, step-clock, size',
      expect.stringMatching(/^button: /),
      'seconds: must be at least 1 second',
      'extra: is not a field of sale',
      'tr: must be the transaction reference from the QR',
      expect.stringMatching(/^size: must be one of 320x240, 480x320/),
      'message: must be a JSON text frame',
      'SIM01: is restarting after a power cut; cannot cut the power yet',
    ]);
    expect(replies.at(-1)).toEqual({ type: 'done', id: 7, text: 'ok' });
    // Only the two well-formed commands reached the simulation.
    expect(simulation.commands.slice(before).map((c) => c.type)).toEqual(['power-cut', 'press']);
  });

  it('lets go of the buttons a page still holds when its socket closes', async () => {
    const before = simulation.commands.length;
    const down = (button: string) => JSON.stringify({ type: 'button', device: 'SIM01', button, state: 'down' });
    const up = (button: string) => JSON.stringify({ type: 'button', device: 'SIM01', button, state: 'up' });
    // Replay is pushed and let go; cancel-sale is still down when the tab goes away.
    await exchange([down('replay'), up('replay'), down('cancel-sale')], 3);
    await expect.poll(() => simulation.commands.length - before).toBe(4);
    expect(simulation.commands.slice(before).map((c) => (c.type === 'button' ? `${c.button} ${c.state}` : c.type))).toEqual([
      'replay down',
      'replay up',
      'cancel-sale down',
      'cancel-sale up',
    ]);
  });

  it('refuses a socket opened by another site', async () => {
    await expect(exchange([], 1, 'http://evil.example')).rejects.toThrow(/403/);
  });
});

describe('opening the page in a browser', () => {
  it('uses the desktop opener only where there is a desktop', () => {
    const url = 'http://127.0.0.1:8080/';
    expect(browserCommand(url, { DISPLAY: ':0' }, 'linux')).toEqual(['xdg-open', url]);
    expect(browserCommand(url, { WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toEqual(['xdg-open', url]);
    expect(browserCommand(url, {}, 'linux')).toBeUndefined();
    expect(browserCommand(url, {}, 'darwin')).toEqual(['open', url]);
    expect(browserCommand(url, {}, 'win32')).toEqual(['cmd', '/c', 'start', '', url]);
  });
});
