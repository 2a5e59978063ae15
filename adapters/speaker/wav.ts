/**
 * Just enough of RIFF/WAVE to write the chime, measure what an engine wrote
 * and check it in tests: 16-bit PCM and 32-bit float, any channel count.
 */

export interface Wav {
  sampleRate: number;
  channels: number;
  /** The first channel, as -1..1. */
  samples: Float32Array;
  durationMs: number;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export class WavFormatError extends Error {
  override readonly name = 'WavFormatError';
}

export function readWav(bytes: Buffer): Wav {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  let format: { tag: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const body = offset + 8;
    const declared = bytes.readUInt32LE(offset + 4);
    const present = bytes.length - body;
    // A writer on a pipe cannot seek back to fill in sizes (espeak-ng --stdout
    // leaves the data size huge, others leave it 0): the bytes present are the sound.
    const size = id === 'data' && (declared === 0 || declared > present) ? present : Math.min(declared, present);
    if (id === 'fmt ') {
      if (size < 16) throw new WavFormatError('fmt chunk too short');
      let tag = bytes.readUInt16LE(body);
      if (tag === FORMAT_EXTENSIBLE && size >= 26) tag = bytes.readUInt16LE(body + 24);
      format = {
        tag,
        channels: bytes.readUInt16LE(body + 2),
        sampleRate: bytes.readUInt32LE(body + 4),
        bits: bytes.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!format) throw new WavFormatError('data chunk before fmt chunk');
      return decode(bytes.subarray(body, body + size), format);
    }
    offset = body + size + (size % 2);
  }
  throw new WavFormatError('no data chunk');
}

function decode(data: Buffer, format: { tag: number; channels: number; sampleRate: number; bits: number }): Wav {
  const { tag, channels, sampleRate, bits } = format;
  if (channels < 1 || sampleRate < 1) throw new WavFormatError(`bad format: ${channels} channels at ${sampleRate} Hz`);
  let read: (at: number) => number;
  if (tag === FORMAT_PCM && bits === 16) read = (at) => data.readInt16LE(at) / 32768;
  else if (tag === FORMAT_FLOAT && bits === 32) read = (at) => data.readFloatLE(at);
  else throw new WavFormatError(`unsupported encoding: format ${tag}, ${bits} bits`);
  const frameBytes = (bits / 8) * channels;
  const frames = Math.floor(data.length / frameBytes);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) samples[i] = read(i * frameBytes);
  return { sampleRate, channels, samples, durationMs: (frames / sampleRate) * 1000 };
}

/** Mono 16-bit PCM. Samples outside -1..1 are clipped. */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const clipped = Math.max(-1, Math.min(1, samples[i] ?? 0));
    data.writeInt16LE(Math.round(clipped * 32767), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(FORMAT_PCM, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Root-mean-square level of a stretch of samples (0..1), for telling speech from silence. */
export function rms(samples: Float32Array, from = 0, to = samples.length): number {
  let sum = 0;
  const end = Math.min(to, samples.length);
  for (let i = from; i < end; i++) sum += (samples[i] ?? 0) ** 2;
  return end > from ? Math.sqrt(sum / (end - from)) : 0;
}

export function peak(samples: Float32Array): number {
  let max = 0;
  for (const s of samples) max = Math.max(max, Math.abs(s));
  return max;
}
