import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Announcer } from '../core/announce/announcer.js';
import { vocabulary } from '../core/announce/words.js';
import { LANGUAGES, type Language } from '../core/language.js';
import { silentLogger } from '../core/log.js';
import { paise } from '../core/money.js';
import type { Utterance } from '../core/ports/speaker.js';
import { ChimeVoice } from '../adapters/speaker/chime.js';
import { DeviceSpeaker } from '../adapters/speaker/device-speaker.js';
import { EspeakVoice } from '../adapters/speaker/espeak.js';
import { buildPack, defaultEngine } from '../adapters/speaker/pack-builder.js';
import type { WavPlayer } from '../adapters/speaker/player.js';
import { SayVoice } from '../adapters/speaker/say.js';
import { VoicePicker, type Voice } from '../adapters/speaker/voice.js';
import { checkPack, defaultVoiceRoot, packDir, VoicePacks } from '../adapters/speaker/voice-pack.js';

export interface VoiceBenchOptions {
  /** Payments spoken from the pack per language; default 1,000. */
  readonly payments?: number;
  /** Payments spoken by the synthesiser per language; default 100 (festival takes a third of a second each). */
  readonly synthPayments?: number;
  /** Where the packs are; a language without a complete pack there gets one built in a temporary folder. */
  readonly voiceDir?: string;
  readonly languages?: readonly Language[];
}

export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** This process's CPU time over the same stretch: the wall-clock tail minus time the machine gave to other programs. */
  readonly cpuP50Ms: number;
  readonly cpuP99Ms: number;
  readonly samples: number;
}

export interface VoiceBenchRow {
  readonly language: Language;
  readonly synthesiser: string;
  readonly pack: Latency;
  readonly synth: Latency;
  /** synth p50 / pack p50. */
  readonly speedup: number;
  /** Where the pack came from. */
  readonly packDir: string;
}

export interface VoiceBenchReport {
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly rows: readonly VoiceBenchRow[];
  readonly targets: { readonly packP99Ms: number; readonly speedupOverFestival: number };
  readonly met: { readonly packP99: boolean; readonly speedupOverFestival: boolean };
}

const TARGETS = { packP99Ms: 20, speedupOverFestival: 10 } as const;

/**
 * From a confirmed payment handed to the announcer to the first audio sample
 * handed to the player: the time a customer waits in silence. The pack path
 * assembles clips in-process; the synthesiser path runs festival (English)
 * or espeak-ng into a WAV, as the device did before packs, then hands it over.
 * The player is a stand-in that takes the sound and returns at once, so
 * payments are measured one after another with nothing else in the queue.
 */
export async function voiceBench(options: VoiceBenchOptions = {}): Promise<VoiceBenchReport> {
  const payments = options.payments ?? 1000;
  const synthPayments = options.synthPayments ?? 100;
  const root = options.voiceDir ?? defaultVoiceRoot();
  const rows: VoiceBenchRow[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'dakbox-voice-bench-'));
  try {
    for (const language of options.languages ?? LANGUAGES) {
      let dir = root;
      const report = await checkPack(packDir(root, language), language, vocabulary(language));
      if (report.problem || report.missing.length || report.bad.length || report.stale.length) {
        dir = scratch;
        await buildPack({ language, engine: defaultEngine(language), dir: packDir(scratch, language), vocabulary: vocabulary(language) });
      }
      const synthesiser = language === 'en' ? new SayVoice() : new EspeakVoice();
      const pack = await measure(language, payments, { packs: new VoicePacks({ root: dir, log: silentLogger() }) });
      const synth = await measure(language, synthPayments, { voice: renderingVoice(synthesiser, scratch) });
      rows.push({ language, synthesiser: synthesiser.name, pack, synth, speedup: synth.p50Ms / pack.p50Ms, packDir: packDir(dir, language) });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const english = rows.find((r) => r.language === 'en');
  return {
    node: process.versions.node,
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    rows,
    targets: TARGETS,
    met: {
      packP99: rows.every((r) => r.pack.p99Ms <= TARGETS.packP99Ms),
      speedupOverFestival: english ? english.speedup >= TARGETS.speedupOverFestival : false,
    },
  };
}

/** A synthesiser as the device used one before packs: the sentence written as WAV, then played. */
function renderingVoice(voice: Voice, folder: string): (player: WavPlayer) => Voice {
  let n = 0;
  return (player) => ({
    name: voice.name,
    problem: (language) => voice.problem(language),
    render: (utterance, file) => voice.render(utterance, file),
    async speak(utterance: Utterance) {
      const file = join(folder, `sentence-${n++}.wav`);
      await voice.render(utterance, file);
      const wav = await readFile(file);
      await rm(file, { force: true });
      await player.play(wav);
    },
  });
}

async function measure(language: Language, count: number, how: { packs?: VoicePacks; voice?: (player: WavPlayer) => Voice }): Promise<Latency> {
  const log = silentLogger();
  let startedAt = 0;
  let cpuAt = process.cpuUsage();
  const times: number[] = [];
  const cpu: number[] = [];
  const player: WavPlayer = {
    play() {
      times.push(performance.now() - startedAt);
      const used = process.cpuUsage(cpuAt);
      cpu.push((used.user + used.system) / 1000);
      return Promise.resolve();
    },
  };
  const chime = new ChimeVoice({ player });
  const voices = how.voice ? { [language]: [how.voice(player)] } : {};
  const picker = new VoicePicker({ voices, chime, log });
  const speaker = new DeviceSpeaker({ picker, log, player, ...(how.packs ? { packs: how.packs } : {}) });
  const announcer = new Announcer({ speaker, volumeStore: { loadVolume: () => 7, saveVolume: () => undefined }, language: () => language, log });
  // The first payment loads the pack or checks the voice once; it is not counted.
  await announcer.announce({ kind: 'payment', amount: paise(100) });
  times.length = 0;
  cpu.length = 0;
  let seed = 0x2545f491;
  for (let i = 0; i < count; i++) {
    // Amounts from a rupee to a lakh and a half, with paise: a busy post office's spread.
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const amount = paise(100 + (seed % 15_000_000));
    cpuAt = process.cpuUsage();
    startedAt = performance.now();
    await announcer.announce({ kind: 'payment', amount });
  }
  await announcer.close();
  const at = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  };
  return { p50Ms: at(times, 0.5), p99Ms: at(times, 0.99), cpuP50Ms: at(cpu, 0.5), cpuP99Ms: at(cpu, 0.99), samples: times.length };
}

export function formatVoiceBench(report: VoiceBenchReport): string {
  const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const lines = [
    `Announcement latency: confirmation to first sample handed to the player, Node ${report.node}, ${report.cpu} (${report.cores} cores)`,
    `  ${'language'.padEnd(9)} ${'pack p50'.padStart(10)} ${'pack p99'.padStart(10)} ${'cpu p99'.padStart(9)} ${'n'.padStart(6)}   ${'synthesiser'.padEnd(16)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'n'.padStart(5)}  faster`,
  ];
  for (const r of report.rows) {
    lines.push(
      `  ${r.language.padEnd(9)} ${ms(r.pack.p50Ms).padStart(10)} ${ms(r.pack.p99Ms).padStart(10)} ${ms(r.pack.cpuP99Ms).padStart(9)} ${String(r.pack.samples).padStart(6)}   ${r.synthesiser.padEnd(16)} ${ms(r.synth.p50Ms).padStart(8)} ${ms(r.synth.p99Ms).padStart(8)} ${String(r.synth.samples).padStart(5)}  ${r.speedup.toFixed(0)}x`,
    );
  }
  lines.push(
    `  pack p99 <= ${report.targets.packP99Ms} ms in every language: ${mark(report.met.packP99)}; pack >= ${report.targets.speedupOverFestival}x faster than festival: ${mark(report.met.speedupOverFestival)}`,
    '  (cpu p99: this process\'s CPU time for the same stretch; a wall-clock tail far above it is time the machine gave to other programs)',
  );
  return lines.join('\n');
}
