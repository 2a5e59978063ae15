import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createCanvas, type Canvas, type CanvasRenderingContext2D } from 'canvas';
import QRCode from 'qrcode';
import { countdownFace } from '../adapters/display/countdown.js';
import { FramebufferDisplay } from '../adapters/display/framebuffer.js';
import type { Composition } from '../adapters/display/layout.js';
import { paintBlock } from '../adapters/display/paint.js';
import { bytesPerPixel, PixelEncoder, type PixelFormat } from '../adapters/display/pixels.js';
import { QrCodes } from '../adapters/display/qr.js';
import { FrameRenderer } from '../adapters/display/renderer.js';
import type { Frame, PanelSize, Screen } from '../core/ports/display.js';
import type { Language } from '../core/language.js';
import { paise } from '../core/money.js';

export interface RenderBenchOptions {
  /** Panel to draw; default 480x320, the size the targets are set for. */
  readonly size?: PanelSize;
  /** Framebuffer format to convert to; default RGB565. */
  readonly format?: PixelFormat;
  readonly language?: Language;
  /** Samples per timed case (ticks take five times as many); default 400. */
  readonly iterations?: number;
  /** Frames drawn while watching memory; default 10,000. */
  readonly memoryFrames?: number;
}

export interface Timing {
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly samples: number;
}

export interface MemorySample {
  readonly frame: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  readonly rssBytes: number;
}

export interface RenderBenchReport {
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly size: PanelSize;
  readonly format: PixelFormat;
  /** Full repaint of the sale screen (layout, QR, text, countdown) and every pixel converted; the sale's QR and text already cached. */
  readonly fullFrame: Timing;
  /** First frame of a sale never shown before: QR encoded, its text drawn, every pixel converted. */
  readonly newSale: Timing;
  /** One countdown second: changed cells repainted and converted. */
  readonly tick: Timing;
  /** Pixels converted per tick, on average. */
  readonly tickPixels: number;
  /** The tick written to a framebuffer stand-in file through the real adapter. */
  readonly tickToFramebuffer: Timing;
  /** qrcode's toCanvas, the whole screen repainted, getImageData and a per-pixel conversion. */
  readonly naive: Timing;
  /** naive median / full frame median. */
  readonly speedup: number;
  /** naive median / new sale median. */
  readonly newSaleSpeedup: number;
  readonly memory: {
    readonly frames: number;
    readonly samples: readonly MemorySample[];
    readonly heapGrowthBytes: number;
    readonly externalGrowthBytes: number;
    readonly rssGrowthBytes: number;
  };
  readonly targets: {
    readonly fullFrameMs: number;
    readonly tickMs: number;
    readonly speedup: number;
    /** Allowed growth of JavaScript heap plus external buffers. */
    readonly memoryGrowthBytes: number;
    /** Allowed growth of the resident set, which also covers cairo and Pango's own memory (allocator noise included). */
    readonly rssGrowthBytes: number;
  };
  readonly met: { readonly fullFrame: boolean; readonly tick: boolean; readonly speedup: boolean; readonly memory: boolean };
}

const TARGETS = { fullFrameMs: 1.5, tickMs: 0.2, speedup: 3, memoryGrowthBytes: 2 * 1024 * 1024, rssGrowthBytes: 16 * 1024 * 1024 } as const;

const START = Date.parse('2026-01-15T10:00:00+05:30');

/** A realistic sale screen; `n` makes each sale's URI, reference and amount its own. */
function sale(n: number): Extract<Screen, { kind: 'collect' }> {
  const tr = `MYS01-${1767312000 + n}`;
  const amountPaise = 25000 + ((n * 137) % 500000);
  const amount = `${Math.floor(amountPaise / 100)}.${String(amountPaise % 100).padStart(2, '0')}`;
  return {
    kind: 'collect',
    uri: `upi://pay?ver=01&mode=15&pa=counter01@postbank&pn=Mysuru%20HO&mc=9402&tr=${tr}&tn=Speed%20post&am=${amount}&cu=INR&qrMedium=03&QRts=2026-01-15T10:00:00+05:30&QRexpire=2026-01-15T10:05:00+05:30`,
    amount: paise(amountPaise),
    payeeName: 'Mysuru HO',
    tr,
    expiresAt: START + 300_000,
    now: START + 1_000,
  };
}

function time(samples: number, warmup: number, run: (i: number) => void): Timing {
  for (let i = 0; i < warmup; i++) run(i);
  const times = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    run(warmup + i);
    times[i] = Number(process.hrtime.bigint() - start) / 1e6;
  }
  times.sort();
  return { medianMs: times[Math.floor(samples / 2)] ?? NaN, p99Ms: times[Math.min(samples - 1, Math.floor(samples * 0.99))] ?? NaN, samples };
}

/** Full garbage collection, so memory readings compare live data only. */
function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * The baseline: what drawing this screen costs done the obvious way.
 * The layout is computed once beforehand and not timed, so the baseline is
 * not slowed by anything but the three naive steps.
 */
class NaiveRenderer {
  private readonly canvas: Canvas;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly qrCanvas: Canvas;
  private readonly out: Buffer;
  private readonly painter = { qr: new QrCodes() };

  constructor(
    private readonly size: PanelSize,
    private readonly format: PixelFormat,
  ) {
    this.canvas = createCanvas(size.width, size.height);
    this.ctx = this.canvas.getContext('2d');
    this.qrCanvas = createCanvas(1, 1);
    this.out = Buffer.alloc(size.width * size.height * bytesPerPixel(format));
  }

  draw(composition: Composition, screen: Extract<Screen, { kind: 'collect' }>): Buffer {
    const ctx = this.ctx;
    ctx.fillStyle = composition.paper;
    ctx.fillRect(0, 0, this.size.width, this.size.height);
    for (const surface of composition.surfaces) {
      ctx.fillStyle = surface.colour;
      ctx.fillRect(surface.rect.x, surface.rect.y, surface.rect.width, surface.rect.height);
    }
    const face = countdownFace(screen.expiresAt, screen.now);
    for (const block of composition.blocks) {
      if (block.kind === 'qr') {
        // qrcode's own canvas renderer, encoding the URI every frame.
        QRCode.toCanvas(this.qrCanvas, screen.uri, { errorCorrectionLevel: block.plan.level, margin: 4, scale: block.plan.modulePx }, noop);
        ctx.drawImage(this.qrCanvas, block.rect.x, block.rect.y);
      } else {
        paintBlock(ctx, block, face, this.painter, composition);
      }
    }
    const { data } = ctx.getImageData(0, 0, this.size.width, this.size.height);
    const out = this.out;
    for (let i = 0, o = 0; i < data.length; i += 4) {
      const r = data[i] ?? 0;
      const g = data[i + 1] ?? 0;
      const b = data[i + 2] ?? 0;
      if (this.format === 'rgb565') {
        out.writeUInt16LE(((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3), o);
        o += 2;
      } else {
        out[o++] = b;
        out[o++] = g;
        out[o++] = r;
        out[o++] = 0xff;
      }
    }
    return out;
  }
}

function noop(): void {}

/**
 * Measures the LCD drawing path in one run on this machine: full frame,
 * new sale, countdown tick, the naive baseline, and memory over many frames.
 */
export async function renderBench(options: RenderBenchOptions = {}): Promise<RenderBenchReport> {
  const size = options.size ?? { width: 480, height: 320 };
  const format = options.format ?? 'rgb565';
  const language = options.language ?? 'en';
  const iterations = options.iterations ?? 400;
  const memoryFrames = options.memoryFrames ?? 10_000;
  const frameOf = (screen: Screen): Frame => ({ screen, language, link: 'online' });

  const renderer = new FrameRenderer(size);
  const encoder = new PixelEncoder(format);
  const show = (frame: Frame): number => {
    let pixels = 0;
    for (const area of renderer.render(frame)) {
      encoder.encode(renderer.canvas, renderer.ctx, area);
      pixels += area.width * area.height;
    }
    return pixels;
  };

  const known = sale(0);
  show(frameOf(known));
  const fullFrame = time(iterations, 200, () => {
    renderer.invalidate();
    show(frameOf(known));
  });

  let saleNumber = 1;
  const newSale = time(iterations, 20, () => {
    show(frameOf(sale(saleNumber++)));
  });

  const ticking = sale(saleNumber++);
  show(frameOf(ticking));
  let second = 0;
  let tickPixels = 0;
  const tickFrame = (): Frame => {
    // Count down from 04:59 to 00:00 and start again: every digit pattern,
    // including the switch to red for the last seconds.
    second = (second + 1) % 300;
    return frameOf({ ...ticking, now: ticking.now + second * 1000 });
  };
  const tick = time(iterations * 5, 100, () => {
    tickPixels += show(tickFrame());
  });

  const naiveRenderer = new NaiveRenderer(size, format);
  renderer.invalidate();
  show(frameOf(known));
  const knownComposition = renderer.composition;
  if (!knownComposition) throw new Error('renderer kept no composition');
  const naive = time(Math.max(50, Math.floor(iterations / 2)), 10, () => {
    naiveRenderer.draw(knownComposition, known);
  });

  const tickToFramebuffer = await framebufferTick(size, format, iterations * 5);

  const memory = await measureMemory(size, format, language, memoryFrames);

  const speedup = naive.medianMs / fullFrame.medianMs;
  const growth = Math.max(memory.heapGrowthBytes + memory.externalGrowthBytes, 0);
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    size,
    format,
    fullFrame,
    newSale,
    tick,
    tickPixels: Math.round(tickPixels / (iterations * 5 + 100)),
    tickToFramebuffer,
    naive,
    speedup,
    newSaleSpeedup: naive.medianMs / newSale.medianMs,
    memory,
    targets: TARGETS,
    met: {
      fullFrame: fullFrame.medianMs <= TARGETS.fullFrameMs,
      tick: tick.medianMs <= TARGETS.tickMs,
      speedup: speedup >= TARGETS.speedup,
      memory: growth <= TARGETS.memoryGrowthBytes && memory.rssGrowthBytes <= TARGETS.rssGrowthBytes,
    },
  };
}

/** The tick through the real framebuffer adapter into a file standing in for /dev/fb0. */
async function framebufferTick(size: PanelSize, format: PixelFormat, samples: number): Promise<Timing> {
  const folder = await mkdtemp(join(tmpdir(), 'dakbox-bench-fb-'));
  try {
    const sysfs = join(folder, 'fb0');
    await mkdir(sysfs);
    const stride = size.width * bytesPerPixel(format);
    await writeFile(join(sysfs, 'virtual_size'), `${size.width},${size.height}\n`);
    await writeFile(join(sysfs, 'bits_per_pixel'), format === 'rgb565' ? '16\n' : '32\n');
    await writeFile(join(sysfs, 'stride'), `${stride}\n`);
    const device = join(folder, 'device');
    await writeFile(device, Buffer.alloc(stride * size.height));
    const display = await FramebufferDisplay.open({ devicePath: device, sysfsPath: sysfs });
    const ticking = sale(900_000);
    display.draw({ screen: ticking, language: 'en', link: 'online' });
    let second = 0;
    const timing = time(samples, 100, () => {
      second = (second + 1) % 300;
      display.draw({ screen: { ...ticking, now: ticking.now + second * 1000 }, language: 'en', link: 'online' });
    });
    await display.close();
    return timing;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Draws `frames` frames the way a busy counter does (a new sale, a minute
 * of countdown, the paid screen, again) and samples memory after full
 * collections. The first sample is taken after a warm-up long enough for
 * every cache to fill to its bound; from there on memory must stay flat.
 */
async function measureMemory(size: PanelSize, format: PixelFormat, language: Language, frames: number): Promise<RenderBenchReport['memory']> {
  const gc = collector();
  const renderer = new FrameRenderer(size);
  const encoder = new PixelEncoder(format);
  let n = 1_000_000;
  let current = sale(n);
  const step = (i: number): void => {
    const phase = i % 62;
    let screen: Screen;
    if (phase === 0) {
      current = sale(++n);
      screen = current;
    } else if (phase < 61) {
      screen = { ...current, now: current.now + phase * 1000 };
    } else {
      screen = { kind: 'paid', amount: current.amount, utr: String(400000000000 + n), payer: 'ra****@okaxis', late: false };
    }
    for (const area of renderer.render({ screen, language, link: i % 1000 < 50 ? 'offline' : 'online' })) encoder.encode(renderer.canvas, renderer.ctx, area);
  };
  // The device draws each frame from a timer or a message, so the event
  // loop turns between frames; native finalizers run in those turns.
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const warmup = 5_000;
  for (let i = 0; i < warmup; i++) {
    step(i);
    await turn();
  }
  const samples: MemorySample[] = [];
  const sample = (frame: number): void => {
    gc();
    gc();
    const m = process.memoryUsage();
    samples.push({ frame, heapUsedBytes: m.heapUsed, externalBytes: m.external, rssBytes: m.rss });
  };
  sample(0);
  for (let i = 0; i < frames; i++) {
    step(warmup + i);
    await turn();
    if ((i + 1) % 2_000 === 0) sample(i + 1);
  }
  const first = samples[0] as MemorySample;
  const last = samples[samples.length - 1] as MemorySample;
  return {
    frames,
    samples,
    heapGrowthBytes: last.heapUsedBytes - first.heapUsedBytes,
    externalGrowthBytes: last.externalBytes - first.externalBytes,
    rssGrowthBytes: last.rssBytes - first.rssBytes,
  };
}

function ms(value: number): string {
  return value < 0.1 ? `${value.toFixed(3)} ms` : `${value.toFixed(2)} ms`;
}

function mb(bytes: number): string {
  return `${bytes >= 0 ? '+' : '-'}${(Math.abs(bytes) / 1024 / 1024).toFixed(2)} MB`;
}

function mark(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

/** The report as the `bench render` command prints it. */
export function formatRenderBench(report: RenderBenchReport): string {
  const row = (label: string, t: Timing, note = ''): string => `  ${label.padEnd(40)} ${ms(t.medianMs).padStart(10)} ${ms(t.p99Ms).padStart(10)}  ${note}`;
  const fmt = report.format === 'rgb565' ? 'RGB565' : 'XRGB8888';
  const { memory, targets, met } = report;
  return [
    `LCD render benchmark: ${report.size.width}x${report.size.height} panel, ${fmt}, Node ${report.node}, ${report.cpu} (${report.cores} cores)`,
    `  ${''.padEnd(40)} ${'median'.padStart(10)} ${'p99'.padStart(10)}`,
    row('full frame (repaint + convert all)', report.fullFrame, `target <= ${targets.fullFrameMs} ms: ${mark(met.fullFrame)}`),
    row('first frame of a new sale', report.newSale, '(QR encoded, new text drawn)'),
    row('countdown tick (partial update)', report.tick, `target <= ${targets.tickMs} ms: ${mark(met.tick)}; ${report.tickPixels} px converted per tick`),
    row('countdown tick to framebuffer file', report.tickToFramebuffer, '(adapter, incl. write)'),
    row('naive (toCanvas, repaint, per pixel)', report.naive),
    `  speed-up over naive: ${report.speedup.toFixed(1)}x full frame (target >= ${targets.speedup}x: ${mark(met.speedup)}), ${report.newSaleSpeedup.toFixed(1)}x new sale`,
    `  memory over ${memory.frames.toLocaleString('en-IN')} frames: heap ${mb(memory.heapGrowthBytes)}, external ${mb(memory.externalGrowthBytes)}, rss ${mb(memory.rssGrowthBytes)} (${mark(met.memory)}: heap + external <= ${mb(targets.memoryGrowthBytes)}, rss <= ${mb(targets.rssGrowthBytes)})`,
    `    by frame (heap / rss MB): ${memory.samples.map((s) => `${s.frame}: ${(s.heapUsedBytes / 1024 / 1024).toFixed(1)} / ${(s.rssBytes / 1024 / 1024).toFixed(0)}`).join(', ')}`,
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await renderBench();
  console.log(formatRenderBench(report));
}
