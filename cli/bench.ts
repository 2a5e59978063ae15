import { formatRenderBench, renderBench } from '../bench/render.js';
import { parsePanelSize } from '../adapters/display/panels.js';
import { InputError } from '../core/errors.js';
import { integer, parse } from './args.js';
import type { CommandIo } from './main.js';

export const BENCH_HELP = `dakbox bench [render] [--size 480x320] [--format rgb565|xrgb8888] [--iterations 400] [--memory-frames 10000]
  Measures the LCD drawing path on this machine and prints median and p99
  times against the targets, and memory over many frames.`;

export async function benchCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { size: { type: 'string' }, format: { type: 'string' }, iterations: { type: 'string' }, 'memory-frames': { type: 'string' } },
    true,
  );
  const which = positionals[0] ?? 'render';
  if (which !== 'render' || positionals.length > 1) throw new InputError('benchmark', `${JSON.stringify(positionals.join(' '))} is not a benchmark (there is: render)`);
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
  return 0;
}
