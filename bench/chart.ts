import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Small SVG charts for the benchmark results in the README: plain SVG text,
 * no dependency, readable on GitHub in light and dark themes (white paper).
 */

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [x: number, y: number])[];
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Horizontal dashed lines, e.g. a target. */
  readonly marks?: readonly { readonly label: string; readonly y: number }[];
  readonly width?: number;
  readonly height?: number;
  /** Start the y axis at zero (default) or near the lowest value. */
  readonly yFromZero?: boolean;
}

export interface BarGroup {
  readonly label: string;
  /** One value per bar name, in the same order. */
  readonly values: readonly number[];
}

export interface BarChartOptions {
  readonly title: string;
  readonly yLabel: string;
  readonly barNames: readonly string[];
  readonly groups: readonly BarGroup[];
  readonly width?: number;
  readonly height?: number;
}

const COLOURS = ['#1f6fb2', '#d1495b', '#2e9e5b', '#e69f00', '#7b4ea3', '#555555'];
const MARGIN = { top: 40, right: 20, bottom: 66, left: 70 } as const;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About five round steps (1, 2 or 5 times a power of ten) covering [min, max]. */
export function ticks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) max = min + 1;
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if ((out.at(-1) ?? min) < max) out.push(Number(((out.at(-1) ?? min) + step).toPrecision(12)));
  return out;
}

function formatTick(v: number): string {
  if (Math.abs(v) >= 1000 && v % 1000 === 0) return `${v / 1000}k`;
  return String(Number(v.toPrecision(6)));
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly plotWidth: number;
  readonly plotHeight: number;
  readonly yTicks: readonly number[];
  y(value: number): number;
}

function frame(width: number, height: number, yMin: number, yMax: number): Frame {
  const yTicks = ticks(yMin, yMax);
  const lo = yTicks[0] ?? yMin;
  const hi = yTicks.at(-1) ?? yMax;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  return { width, height, plotWidth, plotHeight, yTicks, y: (v) => MARGIN.top + plotHeight - ((v - lo) / (hi - lo || 1)) * plotHeight };
}

function svg(f: Frame, title: string, yLabel: string, body: string[]): string {
  const grid = f.yTicks.map((t) => {
    const y = f.y(t).toFixed(1);
    return `<line x1="${MARGIN.left}" x2="${MARGIN.left + f.plotWidth}" y1="${y}" y2="${y}" stroke="#e3e3e3"/><text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif" font-size="12" fill="#222">`,
    `<rect width="${f.width}" height="${f.height}" fill="#ffffff"/>`,
    `<text x="${f.width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
    ...grid,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + f.plotHeight}" stroke="#222"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + f.plotWidth}" y1="${MARGIN.top + f.plotHeight}" y2="${MARGIN.top + f.plotHeight}" stroke="#222"/>`,
    `<text transform="translate(16 ${MARGIN.top + f.plotHeight / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function legend(names: readonly string[], width: number, height: number): string[] {
  // Right-aligned under the plot, one entry after another.
  const out: string[] = [];
  let x = width - MARGIN.right;
  const y = height - 8;
  for (let i = names.length - 1; i >= 0; i--) {
    const name = names[i] ?? '';
    x -= name.length * 7 + 26;
    out.push(`<rect x="${x}" y="${y - 9}" width="14" height="10" fill="${COLOURS[i % COLOURS.length]}"/><text x="${x + 18}" y="${y}">${escape(name)}</text>`);
  }
  return out;
}

/** One or more series as lines over a numeric x axis. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 360;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...o.series.flatMap((s) => s.points.map((p) => p[1])), ...(o.marks ?? []).map((m) => m.y)];
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMax = Math.max(...ys);
  const yMin = o.yFromZero === false ? Math.min(...ys) : Math.min(0, ...ys);
  const f = frame(width, height, yMin, yMax);
  const xTicks = ticks(xMin, xMax);
  const xLo = xTicks[0] ?? xMin;
  const xHi = xTicks.at(-1) ?? xMax;
  const x = (v: number): number => MARGIN.left + ((v - xLo) / (xHi - xLo || 1)) * f.plotWidth;
  const body: string[] = [];
  for (const t of xTicks) {
    body.push(`<text x="${x(t).toFixed(1)}" y="${MARGIN.top + f.plotHeight + 18}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  body.push(`<text x="${MARGIN.left + f.plotWidth / 2}" y="${MARGIN.top + f.plotHeight + 36}" text-anchor="middle">${escape(o.xLabel)}</text>`);
  for (const mark of o.marks ?? []) {
    const y = f.y(mark.y).toFixed(1);
    body.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + f.plotWidth}" y1="${y}" y2="${y}" stroke="#888" stroke-dasharray="6 4"/>`);
    body.push(`<text x="${MARGIN.left + f.plotWidth - 4}" y="${Number(y) - 5}" text-anchor="end" fill="#555">${escape(mark.label)}</text>`);
  }
  o.series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${f.y(p[1]).toFixed(1)}`).join(' ');
    body.push(`<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"/>`);
  });
  body.push(...legend(o.series.map((s) => s.name), width, height));
  return svg(f, o.title, o.yLabel, body);
}

/** Groups of bars side by side, one colour per bar name. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 360;
  const f = frame(width, height, 0, Math.max(0, ...o.groups.flatMap((g) => g.values)));
  const groupWidth = f.plotWidth / Math.max(1, o.groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, o.barNames.length);
  const body: string[] = [];
  o.groups.forEach((g, gi) => {
    const left = MARGIN.left + gi * groupWidth + groupWidth * 0.1;
    g.values.forEach((v, bi) => {
      const top = f.y(v);
      body.push(`<rect x="${(left + bi * barWidth).toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${(MARGIN.top + f.plotHeight - top).toFixed(1)}" fill="${COLOURS[bi % COLOURS.length]}"><title>${escape(`${g.label} ${o.barNames[bi] ?? ''}: ${v}`)}</title></rect>`);
    });
    body.push(`<text x="${(left + groupWidth * 0.4).toFixed(1)}" y="${MARGIN.top + f.plotHeight + 18}" text-anchor="middle">${escape(g.label)}</text>`);
  });
  body.push(...legend(o.barNames, width, height));
  return svg(f, o.title, o.yLabel, body);
}

/** Latency results as another benchmark writes them (bench/results/latency.json). */
export interface LatencyResults {
  readonly name: string;
  readonly runs: readonly { readonly label: string; readonly p50Ms: number; readonly p90Ms: number; readonly p99Ms: number; readonly maxMs: number }[];
}

/** Memory results as the memory soak writes them (bench/results/memory.json). */
export interface MemoryResults {
  readonly sales: number;
  readonly bootRssBytes: number;
  readonly samples: readonly { readonly sales: number; readonly rssBytes: number; readonly anonBytes?: number; readonly heapUsedBytes?: number }[];
  readonly targets?: { readonly bootRssBytes: number };
}

const MB = 1024 * 1024;

/** The device's resident memory over the soak's sales. */
export function memoryChart(r: MemoryResults): string {
  const mb = (b: number): number => Math.round((b / MB) * 10) / 10;
  const series: Series[] = [{ name: 'resident (RSS)', points: r.samples.map((s) => [s.sales, mb(s.rssBytes)]) }];
  const anon = r.samples.filter((s) => s.anonBytes !== undefined);
  if (anon.length > 0) series.push({ name: 'anonymous', points: anon.map((s) => [s.sales, mb(s.anonBytes!)]) });
  const heap = r.samples.filter((s) => s.heapUsedBytes !== undefined);
  if (heap.length > 0) series.push({ name: 'JS heap used', points: heap.map((s) => [s.sales, mb(s.heapUsedBytes!)]) });
  return lineChart({
    title: `dakbox run: memory over ${r.sales.toLocaleString('en-US')} sales`,
    xLabel: 'sales paid end to end',
    yLabel: 'MB',
    series,
    ...(r.targets ? { marks: [{ label: `boot target ${mb(r.targets.bootRssBytes)} MB`, y: mb(r.targets.bootRssBytes) }] } : {}),
  });
}

/** p50, p90, p99 and max of each latency run, as bars. */
export function latencyChart(r: LatencyResults): string {
  return barChart({
    title: 'Latency percentiles',
    yLabel: 'ms',
    barNames: ['p50', 'p90', 'p99', 'max'],
    groups: r.runs.map((run) => ({ label: run.label, values: [run.p50Ms, run.p90Ms, run.p99Ms, run.maxMs] })),
  });
}

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Draws docs/img/memory.svg and docs/img/latency.svg from the results in
 * bench/results/, each when its results are there; returns the files written.
 */
export function writeResultCharts(project = PROJECT): string[] {
  const written: string[] = [];
  const images = join(project, 'docs', 'img');
  const charts: [string, string, (json: unknown) => string][] = [
    ['memory.json', 'memory.svg', (j) => memoryChart(j as MemoryResults)],
    ['latency.json', 'latency.svg', (j) => latencyChart(j as LatencyResults)],
  ];
  for (const [results, image, draw] of charts) {
    const source = join(project, 'bench', 'results', results);
    if (!existsSync(source)) continue;
    mkdirSync(images, { recursive: true });
    const target = join(images, image);
    writeFileSync(target, draw(JSON.parse(readFileSync(source, 'utf8'))));
    written.push(target);
  }
  return written;
}
