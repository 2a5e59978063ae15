import { formatRenderBench, renderBench } from '../bench/render.js';
import { formatVoiceBench, voiceBench } from '../bench/voice.js';
import { formatSaleBench, saleBench, saleResult } from '../bench/sale.js';
import { bootBench, bootResult, formatBootBench } from '../bench/boot.js';
import { formatLatencyBench, latencyBench, latencyResult } from '../bench/latency.js';
import { writeResult } from '../bench/results.js';
import { writeResultCharts } from '../bench/chart.js';
import { formatMemoryBench, MAX_SOAK_SALES, memoryBench, MEMORY_RESULTS } from '../bench/memory.js';
import { parsePanelSize } from '../adapters/display/panels.js';
import { InputError } from '../core/errors.js';
import { isLanguage, LANGUAGES, type Language } from '../core/language.js';
import { integer, parse } from './args.js';
import type { CommandIo } from './main.js';

export const BENCH_HELP = `dakbox bench [render] [--size 480x320] [--format rgb565|xrgb8888] [--iterations 400] [--memory-frames 10000]
dakbox bench voice [--payments 1000] [--synth-payments 100] [--lang en,hi,bn,kn] [--voice-dir DIR]
dakbox bench sale [--sales 500] [--gap-ms 0] [--dir DIR] [--out DIR]
dakbox bench boot [--runs 15] [--out DIR]
dakbox bench latency [--payments 1000] [--out DIR]
dakbox bench memory [--sales 100000] [--sample-every 1000] [--in-flight 1] [--without-memory-settings]
dakbox bench charts
  render: the LCD drawing path, median and p99 against the targets, and
  memory over many frames. voice: confirmation to first audio sample handed
  to the player, voice pack against synthesiser, p50 and p99 per language.
  sale: fsyncs (counted by strace) and main-thread time per sale, request to
  receipt, on a ledger in DIR. boot: start of dakbox run to subscribed at a
  real mosquitto, beside Node's bare start. latency: confirmation published
  to announcement start through a real mosquitto, beside the broker's own
  round trip. Each writes <name>.json into --out (bench/results).
  memory: \`dakbox run\` on a real mosquitto through many sales end to end,
  its resident memory read every --sample-every sales (--in-flight sales
  asked for at once); writes bench/results/memory.json and the charts.
  charts: docs/img/memory.svg and docs/img/latency.svg from the results in
  bench/results/. npm run bench runs them all, the memory soak last at its
  defaults (15 to 25 ms a sale on a 2-core machine: 25 to 40 minutes for
  100,000); name one to run it alone.`;

const BENCH_NAMES = ['render', 'voice', 'sale', 'boot', 'latency', 'memory', 'charts'] as const;
type BenchName = (typeof BENCH_NAMES)[number];

function isBenchName(name: string): name is BenchName | 'all' {
  return name === 'all' || (BENCH_NAMES as readonly string[]).includes(name);
}

/**
 * What `dakbox bench <which>` runs, in order: `all` is every benchmark,
 * the memory soak last as it takes the longest, then the charts of the
 * results; the soak is charted when it runs alone too.
 */
export function benchesToRun(which: BenchName | 'all'): BenchName[] {
  if (which === 'all') return [...BENCH_NAMES];
  return which === 'memory' ? ['memory', 'charts'] : [which];
}

export async function benchCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      size: { type: 'string' },
      format: { type: 'string' },
      iterations: { type: 'string' },
      'memory-frames': { type: 'string' },
      payments: { type: 'string' },
      'synth-payments': { type: 'string' },
      lang: { type: 'string' },
      'voice-dir': { type: 'string' },
      sales: { type: 'string' },
      'gap-ms': { type: 'string' },
      dir: { type: 'string' },
      out: { type: 'string' },
      runs: { type: 'string' },
      'sample-every': { type: 'string' },
      'in-flight': { type: 'string' },
      'without-memory-settings': { type: 'boolean' },
    },
    true,
  );
  const which = positionals[0] ?? 'all';
  if (!isBenchName(which) || positionals.length > 1) {
    throw new InputError('benchmark', `${JSON.stringify(positionals.join(' '))} is not a benchmark (there are: ${BENCH_NAMES.join(', ')})`);
  }
  for (const bench of benchesToRun(which)) {
    if (bench === 'render') await render(values, io);
    else if (bench === 'voice') await voice(values, io);
    else if (bench === 'sale') await sale(values, argv, io);
    else if (bench === 'boot') await boot(values, argv, io);
    else if (bench === 'latency') await latency(values, argv, io);
    // Under `all` the options given are for the benchmarks before it
    // (--sales is the sale benchmark's), so the soak runs at its defaults.
    else if (bench === 'memory') await memory(which === 'memory' ? values : {}, io);
    else charts(io);
  }
  return 0;
}

async function latency(values: { payments?: string; out?: string }, argv: string[], io: CommandIo): Promise<void> {
  const payments = integer(values.payments, '--payments', 100, 100_000);
  const report = await latencyBench(payments ? { payments } : {});
  io.stdout.write(`${formatLatencyBench(report)}\n`);
  io.stdout.write(`  written to ${writeResult(latencyResult(report, benchCommandLine(argv)), values.out)}\n`);
}

async function boot(values: { runs?: string; out?: string }, argv: string[], io: CommandIo): Promise<void> {
  const runs = integer(values.runs, '--runs', 10, 1000);
  const report = await bootBench(runs ? { runs } : {});
  io.stdout.write(`${formatBootBench(report)}\n`);
  io.stdout.write(`  written to ${writeResult(bootResult(report, benchCommandLine(argv)), values.out)}\n`);
}

async function sale(values: { sales?: string; 'gap-ms'?: string; dir?: string; out?: string }, argv: string[], io: CommandIo): Promise<void> {
  const sales = integer(values.sales, '--sales', 5, 100_000);
  const gapMs = integer(values['gap-ms'], '--gap-ms', 0, 60_000);
  const report = await saleBench({ ...(sales ? { sales } : {}), ...(gapMs !== undefined ? { gapMs } : {}), ...(values.dir ? { dir: values.dir } : {}) });
  io.stdout.write(`${formatSaleBench(report)}\n`);
  const path = writeResult(saleResult(report, benchCommandLine(argv)), values.out);
  io.stdout.write(`  written to ${path}\n`);
}

/** The command as typed, for the result file. */
function benchCommandLine(argv: string[]): string {
  return ['npx dakbox bench', ...argv].join(' ');
}

function charts(io: CommandIo): void {
  const written = writeResultCharts();
  io.stdout.write(written.length > 0 ? `charts written: ${written.join(', ')}\n` : 'no results in bench/results/ to chart\n');
}

async function memory(values: { sales?: string; 'sample-every'?: string; 'in-flight'?: string; 'without-memory-settings'?: boolean }, io: CommandIo): Promise<void> {
  const sales = integer(values.sales, '--sales', 1, MAX_SOAK_SALES) ?? MAX_SOAK_SALES;
  const sampleEvery = integer(values['sample-every'], '--sample-every', 1, sales) ?? Math.min(1000, sales);
  const report = await memoryBench({
    sales,
    sampleEvery,
    inFlight: integer(values['in-flight'], '--in-flight', 1, 16) ?? 1,
    withoutMemorySettings: values['without-memory-settings'] === true,
    resultsPath: MEMORY_RESULTS,
    onSample: (s) => io.stderr.write(`${s.sales} sales: RSS ${(s.rssBytes / 1024 / 1024).toFixed(1)} MB\n`),
  });
  io.stdout.write(`${formatMemoryBench(report)}\nwritten to ${MEMORY_RESULTS}\n`);
}

async function render(values: { size?: string; format?: string; iterations?: string; 'memory-frames'?: string }, io: CommandIo): Promise<void> {
  const format = values.format;
  if (format !== undefined && format !== 'rgb565' && format !== 'xrgb8888') throw new InputError('--format', 'must be rgb565 or xrgb8888');
  let size;
  try {
    size = values.size ? parsePanelSize(values.size) : undefined;
  } catch {
    throw new InputError('--size', 'must be a panel size like 480x320');
  }
  const iterations = integer(values.iterations, '--iterations', 10, 100_000);
  const memoryFrames = integer(values['memory-frames'], '--memory-frames', 100, 1_000_000);
  const report = await renderBench({
    ...(size ? { size } : {}),
    ...(format ? { format } : {}),
    ...(iterations ? { iterations } : {}),
    ...(memoryFrames ? { memoryFrames } : {}),
  });
  io.stdout.write(`${formatRenderBench(report)}\n`);
}

async function voice(values: { payments?: string; 'synth-payments'?: string; lang?: string; 'voice-dir'?: string }, io: CommandIo): Promise<void> {
  const payments = integer(values.payments, '--payments', 10, 1_000_000);
  const synthPayments = integer(values['synth-payments'], '--synth-payments', 5, 100_000);
  let languages: Language[] | undefined;
  if (values.lang) {
    languages = values.lang.split(',').map((l) => {
      if (!isLanguage(l)) throw new InputError('--lang', `must be among ${LANGUAGES.join(', ')}`);
      return l;
    });
  }
  const report = await voiceBench({
    ...(payments ? { payments } : {}),
    ...(synthPayments ? { synthPayments } : {}),
    ...(languages ? { languages } : {}),
    ...(values['voice-dir'] ? { voiceDir: values['voice-dir'] } : {}),
  });
  io.stdout.write(`${formatVoiceBench(report)}\n`);
}
