import { describe, expect, it } from 'vitest';
import { FrameReader, type Frame } from '../../core/billing/frame-reader.js';

async function read(chunks: (Buffer | string)[], maxLineBytes?: number): Promise<Frame[]> {
  const reader = new FrameReader(maxLineBytes === undefined ? {} : { maxLineBytes });
  const frames: Frame[] = [];
  reader.on('data', (frame: Frame) => frames.push(frame));
  const done = new Promise((resolve) => reader.on('end', resolve));
  for (const chunk of chunks) reader.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  reader.end();
  await done;
  return frames;
}

const line = (text: string): Frame => ({ kind: 'line', text });

describe('FrameReader', () => {
  const session = Buffer.from(
    '{"id":1,"op":"sale","amount":"250.00","note":"स्पीड पोस्ट ₹"}\n{"id":2,"op":"ping"}\r\n',
  );
  const expected = [line('{"id":1,"op":"sale","amount":"250.00","note":"स्पीड पोस्ट ₹"}'), line('{"id":2,"op":"ping"}')];

  it('reads the same lines however the bytes are split in two', async () => {
    for (let cut = 0; cut <= session.length; cut++) {
      expect(await read([session.subarray(0, cut), session.subarray(cut)])).toEqual(expected);
    }
  });

  it('reads the same lines when every byte arrives alone', async () => {
    const bytes = [...session].map((byte) => Buffer.from([byte]));
    expect(await read(bytes)).toEqual(expected);
  });

  it('reads the same lines when split at every pair of boundaries', async () => {
    const short = Buffer.from('{"a":"é"}\r\n{"b":2}\n');
    for (let first = 0; first <= short.length; first++) {
      for (let second = first; second <= short.length; second++) {
        const frames = await read([short.subarray(0, first), short.subarray(first, second), short.subarray(second)]);
        expect(frames).toEqual([line('{"a":"é"}'), line('{"b":2}')]);
      }
    }
  });

  it('accepts CRLF and bare LF, and ignores blank and whitespace-only lines', async () => {
    expect(await read(['{"a":1}\r\n', '\r\n', '\n', '   \t \r\n', '{"b":2}\n'])).toEqual([line('{"a":1}'), line('{"b":2}')]);
  });

  it('drops line noise at the ends of a line: NUL, 0xFF, XON/XOFF, stray CR', async () => {
    const noisy = Buffer.concat([Buffer.from([0x00, 0x00, 0xff, 0x11, 0x0d]), Buffer.from('{"id":1}'), Buffer.from([0x13, 0x00, 0x0d, 0x0a])]);
    expect(await read([noisy])).toEqual([line('{"id":1}')]);
  });

  it('ignores a line of nothing but noise, as after plugging in an adapter', async () => {
    expect(await read([Buffer.from([0x00, 0xff, 0x00, 0x0a]), '{"id":1}\n'])).toEqual([line('{"id":1}')]);
  });

  it('reports garbage inside a line once and resynchronises at the next newline', async () => {
    const garbage = Buffer.concat([Buffer.from('{"id":1,'), Buffer.from([0x00, 0x07]), Buffer.from('"op":"ping"}\n{"id":2}\n')]);
    expect(await read([garbage])).toEqual([
      { kind: 'bad', code: 'BAD_FRAME', message: 'line holds stray byte 0x00 at byte 9' },
      line('{"id":2}'),
    ]);
  });

  it('passes printable garbage on as a line: whether it is a request is for the request parser to say', async () => {
    expect(await read(['AT\r\n', 'ATZ\r\n{"id":1}\n'])).toEqual([line('AT'), line('ATZ'), line('{"id":1}')]);
  });

  it('reports invalid UTF-8 and keeps going', async () => {
    const bad = Buffer.concat([Buffer.from('{"note":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
    const truncated = Buffer.concat([Buffer.from('{"note":"'), Buffer.from([0xe0, 0xa4])]);
    const frames = await read([bad, truncated, '\n', '{"id":3}\n']);
    expect(frames).toEqual([
      { kind: 'bad', code: 'BAD_FRAME', message: 'line is not valid UTF-8' },
      { kind: 'bad', code: 'BAD_FRAME', message: 'line is not valid UTF-8' },
      line('{"id":3}'),
    ]);
  });

  it('reports an over-long line once however many chunks it spans, then reads the next good line', async () => {
    const chunks = Array.from({ length: 100 }, () => 'x'.repeat(97));
    const frames = await read([...chunks, '\n{"id":2,"op":"ping"}\n']);
    expect(frames).toEqual([
      { kind: 'bad', code: 'FRAME_TOO_LONG', message: 'line longer than 1024 bytes; discarded' },
      line('{"id":2,"op":"ping"}'),
    ]);
  });

  it('reports a stream of noise with no newline at all once', async () => {
    const noise = Buffer.alloc(64 * 1024, 0xaa);
    const frames = await read([noise, noise, noise]);
    expect(frames).toEqual([{ kind: 'bad', code: 'FRAME_TOO_LONG', message: 'line longer than 1024 bytes; discarded' }]);
  });

  it('takes a line of exactly the limit, with or without CR, and refuses one byte more', async () => {
    const exact = `{"n":"${'a'.repeat(32 - 8)}"}`;
    expect(Buffer.byteLength(exact)).toBe(32);
    expect(await read([`${exact}\n`, `${exact}\r\n`], 32)).toEqual([line(exact), line(exact)]);
    const over = `{"n":"${'a'.repeat(32 - 7)}"}`;
    expect(await read([`${over}\n`, `${exact}\n`], 32)).toEqual([
      { kind: 'bad', code: 'FRAME_TOO_LONG', message: 'line longer than 32 bytes; discarded' },
      line(exact),
    ]);
  });

  it('counts the limit in bytes, not characters', async () => {
    const hindi = `{"n":"${'क'.repeat(10)}"}`; // 10 characters, 30 bytes of text
    expect(hindi.length).toBeLessThan(32);
    expect(await read([`${hindi}\n`], 32)).toEqual([{ kind: 'bad', code: 'FRAME_TOO_LONG', message: 'line longer than 32 bytes; discarded' }]);
  });

  it('does not act on a last line the stream ended before finishing', async () => {
    expect(await read(['{"id":1}\n{"id":2,"op":"sa'])).toEqual([line('{"id":1}')]);
  });

  it('always recovers the good line that follows random garbage', async () => {
    let seed = 20260115;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 200; round++) {
      const garbage = Buffer.from(Array.from({ length: Math.floor(random() * 3000) }, () => Math.floor(random() * 256)));
      const good = Buffer.from(`{"id":${round},"op":"ping"}\n`);
      const all = Buffer.concat([garbage, Buffer.from('\n'), good]);
      const cuts = [0, Math.floor(random() * all.length), all.length].sort((a, b) => a - b);
      const frames = await read([all.subarray(0, cuts[1]), all.subarray(cuts[1])]);
      expect(frames.at(-1)).toEqual(line(`{"id":${round},"op":"ping"}`));
      // Every other frame is a report or a line that came out of the garbage, never an exception.
      for (const frame of frames.slice(0, -1)) expect(['bad', 'line']).toContain(frame.kind);
    }
  });

  it('refuses a nonsensical limit at construction', () => {
    expect(() => new FrameReader({ maxLineBytes: 0 })).toThrow(TypeError);
    expect(() => new FrameReader({ maxLineBytes: 1.5 })).toThrow(TypeError);
  });
});
