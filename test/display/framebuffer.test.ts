import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FramebufferDisplay, readFramebufferGeometry } from '../../adapters/display/framebuffer.js';
import { contains, rect, type Rect } from '../../adapters/display/geometry.js';
import { renderFramePng } from '../../adapters/display/png.js';
import type { Frame, PanelSize } from '../../core/ports/display.js';
import { collect, decodePng, frame, SCREENS } from './fixtures.js';

/** What the stand-in device file is filled with before the display writes. */
const UNTOUCHED = 0xa5;

interface FakeFramebuffer {
  readonly sysfs: string;
  readonly device: string;
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dakbox-fb-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fakeFramebuffer(files: Record<string, string>, deviceBytes: number): Promise<FakeFramebuffer> {
  const sysfs = join(root, 'sys', 'class', 'graphics', 'fb1');
  await mkdir(sysfs, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(sysfs, name), `${content}\n`);
  const device = join(root, 'fb1');
  await writeFile(device, Buffer.alloc(deviceBytes, UNTOUCHED));
  return { sysfs, device };
}

/** Straight RGBA of the frame as the PNG output draws it: the reference picture. */
function reference(f: Frame, size: PanelSize): (x: number, y: number) => [number, number, number] {
  const image = decodePng(renderFramePng(f, size));
  return (x, y) => {
    const i = (y * image.width + x) * 4;
    return [image.data[i] ?? -1, image.data[i + 1] ?? -1, image.data[i + 2] ?? -1];
  };
}

function rgb565(r: number, g: number, b: number): number {
  return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
}

interface Layout {
  readonly size: PanelSize;
  readonly stride: number;
  readonly bytesPerPixel: 2 | 4;
}

/** Checks every pixel of the panel in the device file against the reference, and every byte outside it against the fill. */
function expectPicture(file: Buffer, layout: Layout, f: Frame): void {
  const expected = reference(f, layout.size);
  const { size, stride, bytesPerPixel } = layout;
  let wrong = 0;
  let firstWrong = '';
  for (let y = 0; y < size.height; y++) {
    for (let x = 0; x < size.width; x++) {
      const [r, g, b] = expected(x, y);
      const at = y * stride + x * bytesPerPixel;
      const ok =
        bytesPerPixel === 2
          ? file.readUInt16LE(at) === rgb565(r, g, b)
          : file[at] === b && file[at + 1] === g && file[at + 2] === r && file[at + 3] === 0xff;
      if (!ok && wrong++ === 0) firstWrong = `pixel ${x},${y} at byte ${at}: expected rgb(${r},${g},${b})`;
    }
  }
  expect(wrong, firstWrong).toBe(0);
  let touched = 0;
  for (let at = 0; at < file.length; at++) {
    const y = Math.floor(at / stride);
    const x = Math.floor((at % stride) / bytesPerPixel);
    const inPanel = y < size.height && at % stride < size.width * bytesPerPixel;
    if (!inPanel && file[at] !== UNTOUCHED) {
      touched++;
      if (touched === 1) firstWrong = `byte ${at} (x ${x}, y ${y}) outside the panel was written`;
    }
  }
  expect(touched, firstWrong).toBe(0);
}

describe('framebuffer geometry from sysfs', () => {
  it('reads size, bits per pixel and stride, preferring the visible mode over a taller virtual size', async () => {
    const fb = await fakeFramebuffer({ virtual_size: '480,640', bits_per_pixel: '16', stride: '1024', modes: 'U:480x320p-0' }, 1024 * 640);
    expect(await readFramebufferGeometry(fb.sysfs)).toEqual({
      width: 480,
      height: 320,
      virtualWidth: 480,
      virtualHeight: 640,
      bitsPerPixel: 16,
      stride: 1024,
      format: 'rgb565',
    });
  });

  it('says which file is wrong and why', async () => {
    const missing = await fakeFramebuffer({ bits_per_pixel: '16', stride: '640' }, 10);
    await expect(readFramebufferGeometry(missing.sysfs)).rejects.toThrow(/virtual_size: expected "width,height", got no such file/);
    await rm(missing.sysfs, { recursive: true });
    const rgb888 = await fakeFramebuffer({ virtual_size: '320,240', bits_per_pixel: '24', stride: '960' }, 10);
    await expect(readFramebufferGeometry(rgb888.sysfs)).rejects.toThrow(/24 bits per pixel/);
    await rm(rgb888.sysfs, { recursive: true });
    const narrow = await fakeFramebuffer({ virtual_size: '320,240', bits_per_pixel: '32', stride: '640' }, 10);
    await expect(readFramebufferGeometry(narrow.sysfs)).rejects.toThrow(/stride: 640 bytes is less than a row of 320 pixels/);
  });

  it('refuses a stand-in file smaller than the framebuffer, and a malformed fb name', async () => {
    const fb = await fakeFramebuffer({ virtual_size: '320,240', bits_per_pixel: '16', stride: '640' }, 640 * 100);
    await expect(FramebufferDisplay.open({ devicePath: fb.device, sysfsPath: fb.sysfs })).rejects.toThrow(/smaller than the framebuffer/);
    await expect(FramebufferDisplay.open({ fb: '/dev/fb0' })).rejects.toThrow(TypeError);
  });
});

describe.each([
  { name: 'RGB565, rows packed', size: { width: 480, height: 320 }, bits: 16, stride: 960 },
  { name: 'XRGB8888, rows packed', size: { width: 480, height: 320 }, bits: 32, stride: 1920 },
  { name: 'RGB565, stride wider than a row', size: { width: 320, height: 240 }, bits: 16, stride: 704 },
  { name: 'XRGB8888, stride wider than a row', size: { width: 240, height: 240 }, bits: 32, stride: 1024 },
  { name: 'RGB565 portrait, stride wider than a row', size: { width: 320, height: 480 }, bits: 16, stride: 768 },
])('framebuffer display, $name', ({ size, bits, stride }) => {
  const bytesPerPixel = bits === 16 ? 2 : 4;
  const layout: Layout = { size, stride, bytesPerPixel };

  async function open(): Promise<{ display: FramebufferDisplay; device: string }> {
    // Two screens' worth of memory, as drivers that double-buffer report it.
    const fb = await fakeFramebuffer(
      { virtual_size: `${size.width},${size.height * 2}`, bits_per_pixel: String(bits), stride: String(stride), modes: `U:${size.width}x${size.height}p-0` },
      stride * size.height * 2,
    );
    const display = await FramebufferDisplay.open({ devicePath: fb.device, sysfsPath: fb.sysfs });
    return { display, device: fb.device };
  }

  it('writes every pixel in the framebuffer format at y * stride + x * bytes per pixel, and nothing else', async () => {
    const { display, device } = await open();
    expect(display.size).toEqual(size);
    for (const screen of [SCREENS.collect!, SCREENS.selftest!]) {
      const f = frame(screen, 'hi', 'offline');
      await display.show(f);
      expectPicture(await readFile(device), layout, f);
    }
    await display.close();
  });

  it('a countdown tick writes only the damaged cells: bytes elsewhere are not rewritten', async () => {
    const { display, device } = await open();
    const first = frame(collect(undefined, { secondsLeft: 121 }));
    await display.show(first);
    // Scribble over the whole device file: a byte the tick rewrote outside
    // its damage would no longer hold the scribble, even if it rewrote the
    // same colour the panel already showed.
    const scribbled = Buffer.alloc((await readFile(device)).length, 0x3c);
    await writeFile(device, scribbled);
    const second = frame(collect(undefined, { secondsLeft: 120 }));
    await display.show(second);
    const damage = display.lastDamage;
    expect(damage.length).toBe(1);
    const area = damage[0] as Rect;
    expect(area.width * area.height).toBeLessThan((size.width * size.height) / 50);
    const after = await readFile(device);
    const expected = reference(second, size);
    for (let at = 0; at < after.length; at++) {
      const y = Math.floor(at / stride);
      const x = Math.floor((at % stride) / bytesPerPixel);
      const inDamage = at % stride < size.width * bytesPerPixel && contains(area, rect(x, y, 1, 1));
      if (!inDamage) {
        if (after[at] !== 0x3c) expect.fail(`byte ${at} (x ${x}, y ${y}) outside ${JSON.stringify(area)} was written`);
        continue;
      }
      if ((at % stride) % bytesPerPixel !== 0) continue;
      const [r, g, b] = expected(x, y);
      if (bytesPerPixel === 2) expect(after.readUInt16LE(at), `pixel ${x},${y}`).toBe(rgb565(r, g, b));
      else expect([...after.subarray(at, at + 4)], `pixel ${x},${y}`).toEqual([b, g, r, 0xff]);
    }
    await display.close();
  });

  it('after many ticks the framebuffer holds exactly the current frame', async () => {
    const { display, device } = await open();
    let f = frame(collect(undefined, { secondsLeft: 95 }), 'kn', 'connecting');
    for (let left = 95; left >= 60; left--) {
      f = frame(collect(undefined, { secondsLeft: left }), 'kn', 'connecting');
      await display.show(f);
    }
    expectPicture(await readFile(device), layout, f);
    await display.close();
    await expect(display.show(f)).rejects.toThrow(/closed/);
  });
});
