import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Canvas } from 'canvas';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PngDisplay, renderFramePng } from '../../adapters/display/png.js';
import { FrameRenderer } from '../../adapters/display/renderer.js';
import { collect, decodePng, frame, pixelsOf, SCREENS } from './fixtures.js';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'dakbox-png-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('PNG display', () => {
  it('needs exactly one of a file path or a folder', () => {
    const size = { width: 320, height: 240 };
    expect(() => new PngDisplay({ size })).toThrow(TypeError);
    expect(() => new PngDisplay({ size, path: 'a.png', folder: 'b' })).toThrow(TypeError);
  });

  it('keeps the latest frame in one file, at the panel size', async () => {
    const path = join(folder, 'lcd.png');
    const display = new PngDisplay({ size: { width: 480, height: 320 }, path });
    await display.show(frame(SCREENS.idle!));
    await display.show(frame(SCREENS.collect!, 'hi'));
    await display.close();
    const image = decodePng(await readFile(path));
    expect([image.width, image.height]).toEqual([480, 320]);
    expect(Buffer.from(image.data).equals(decodePng(renderFramePng(frame(SCREENS.collect!, 'hi'), { width: 480, height: 320 })).data)).toBe(true);
    expect(await readdir(folder)).toEqual(['lcd.png']);
  });

  it("never uses node-canvas's asynchronous encoder, which keeps memory for every call", async () => {
    const toBuffer = vi.spyOn(Canvas.prototype, 'toBuffer');
    try {
      const display = new PngDisplay({ size: { width: 480, height: 320 }, path: join(folder, 'lcd.png') });
      for (let n = 0; n < 5; n++) await display.show(frame(collect(undefined, { secondsLeft: 100 - n })));
      await display.close();
      expect(display.framesWritten).toBe(5);
      expect(toBuffer.mock.calls).toHaveLength(5);
      // The synchronous form: a MIME type first, never a callback.
      for (const args of toBuffer.mock.calls) expect(args[0]).toBe('image/png');
    } finally {
      toBuffer.mockRestore();
    }
  });

  it('writes one numbered file per frame that changed anything, in order', async () => {
    const display = new PngDisplay({ size: { width: 240, height: 240 }, folder: join(folder, 'frames') });
    const shows = [
      display.show(frame(collect(undefined, { secondsLeft: 10 }))),
      display.show(frame(collect(undefined, { secondsLeft: 10 }))),
      display.show(frame(collect(undefined, { secondsLeft: 9 }))),
      display.show(frame(SCREENS.paid!)),
    ];
    await Promise.all(shows);
    await display.close();
    expect(display.framesWritten).toBe(3);
    const files = (await readdir(join(folder, 'frames'))).sort();
    expect(files).toEqual(['frame-000001.png', 'frame-000002.png', 'frame-000003.png']);
    const last = decodePng(await readFile(join(folder, 'frames', 'frame-000003.png')));
    expect(Buffer.from(last.data).equals(decodePng(renderFramePng(frame(SCREENS.paid!), { width: 240, height: 240 })).data)).toBe(true);
    await expect(display.show(frame(SCREENS.idle!))).rejects.toThrow(/closed/);
  });
});

describe('renderFramePng', () => {
  it('gives the same pixels the panel shows', () => {
    const size = { width: 800, height: 480 };
    const f = frame(SCREENS.collect!, 'kn', 'offline');
    const renderer = new FrameRenderer(size);
    renderer.render(f);
    const panel = pixelsOf(renderer.canvas);
    const png = decodePng(renderFramePng(f, size));
    expect([png.width, png.height]).toEqual([800, 480]);
    expect(Buffer.from(png.data).equals(Buffer.from(panel.data))).toBe(true);
  });
});
