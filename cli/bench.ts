import { formatRenderBench, renderBench } from '../bench/render.js';
import { formatVoiceBench, voiceBench } from '../bench/voice.js';
import { writeResultCharts } from '../bench/chart.js';
import { formatMemoryBench, MAX_SOAK_SALES, memoryBench, MEMORY_RESULTS } from '../bench/memory.js';
import { parsePanelSize } from '../adapters/display/panels.js';
import { InputError } from '../core/errors.js';
import { isLanguage, LANGUAGES, type Language } from '../core/language.js';
import { integer, parse } from './args.js';
import type { CommandIo } from './main.js';

export const BENCH_HELP = `dakbox bench [render] [--size 480x320] [--format rgb565|xrgb8888] [--iterations 400] [--memory-frames 10000]
dakbox bench voice [--payments 1000] [--synth-payments 100] [--lang en,hi,bn,kn] [--voice-dir DIR]
dakbox bench memory [--sales 100000] [--sample-every 1000] [--in-flight 1] [--without-memory-settings]
dakbox bench charts
  render: the LCD drawing path, median and p99 against the targets, and
  memory over many frames. voice: confirmation to first audio sample handed
  to the player, voice pack against synthesiser, p50 and p99 per language.
  memory: \`dakbox run\` on a real mosquitto through many sales end to end,
  its resident memory read every --sample-every sales (--in-flight sales
  asked for at once); writes
  bench/results/memory.json and the charts. charts: docs/img/memory.svg
  and docs/img/latency.svg from the results in bench/results/.
  npm run bench runs render and voice; the memory soak only when named (about
  25 ms a sale on an idle 2-core machine: 40 minutes or more for 100,000).`;

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
      'sample-every': { type: 'string' },
      'in-flight': { type: 'string' },
      'without-memory-settings': { type: 'boolean' },
    },
    true,
  );
  const which = positionals[0] ?? 'all';
  if (!['all', 'render', 'voice', 'memory', 'charts'].includes(which) || positionals.length > 1) {
    throw new InputError('benchmark', `${JSON.stringify(positionals.join(' '))} is not a benchmark (there are: render, voice, memory, charts)`);
  }
  if (which === 'render' || which === 'all') await render(values, io);
  if (which === 'voice' || which === 'all') await voice(values, io);
  if (which === 'memory') await memory(values, io);
  if (which === 'memory' || which === 'charts') charts(io);
  return 0;
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
