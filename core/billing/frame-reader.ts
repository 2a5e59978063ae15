import { Transform, type TransformCallback } from 'node:stream';

/** What the reader makes of the bytes between two newlines. */
export type Frame =
  | { kind: 'line'; text: string }
  | { kind: 'bad'; code: 'FRAME_TOO_LONG' | 'BAD_FRAME'; message: string };

export interface FrameReaderOptions {
  /** Longest line accepted, in bytes, not counting the `\n` and one `\r` before it. */
  maxLineBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 1024;

/** The smallest limit that still leaves room for a request. */
const MIN_LINE_BYTES = 16;

export function checkMaxLineBytes(max: number): number {
  if (!Number.isSafeInteger(max) || max < MIN_LINE_BYTES) {
    throw new TypeError(`maxLineBytes must be an integer of at least ${MIN_LINE_BYTES}, got ${String(max)}`);
  }
  return max;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Bytes a serial line produces on its own: NUL and 0xFF when a USB adapter
 * is plugged in or the far end opens the port, XON/XOFF, stray CRs. At either
 * end of a line they are noise, not a request, so they are dropped; inside a
 * line they make it a bad frame.
 */
function isNoise(byte: number): boolean {
  return byte < 0x20 || byte === 0x7f || byte === 0xff;
}

function isPadding(byte: number): boolean {
  return isNoise(byte) || byte === 0x20;
}

/**
 * Splits a byte stream into lines for the billing link and resynchronises
 * after anything that is not a good line: a bad line costs one `bad` frame and
 * the next newline starts afresh. Lines may arrive split at any byte, including
 * inside a multi-byte UTF-8 character. Memory stays bounded whatever arrives:
 * an over-long line is discarded as it comes, never held.
 */
export class FrameReader extends Transform {
  readonly maxLineBytes: number;
  private parts: Buffer[] = [];
  private length = 0;
  /** Inside an over-long line already reported: drop bytes until the next newline. */
  private discarding = false;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(options: FrameReaderOptions = {}) {
    super({ readableObjectMode: true });
    this.maxLineBytes = checkMaxLineBytes(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  }

  override _transform(chunk: unknown, encoding: BufferEncoding, done: TransformCallback): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), encoding);
    let start = 0;
    while (start < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, start);
      const end = newline === -1 ? bytes.length : newline;
      if (!this.discarding) this.collect(bytes.subarray(start, end));
      if (newline === -1) break;
      this.endLine();
      start = newline + 1;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    // A line the stream ended in the middle of was never finished by its
    // sender; carrying it out could act on half a request.
    this.reset();
    done();
  }

  private collect(piece: Buffer): void {
    if (piece.length === 0) return;
    this.parts.push(piece);
    this.length += piece.length;
    // One byte of slack for the `\r` of a CRLF line that is exactly at the limit.
    if (this.length > this.maxLineBytes + 1) {
      this.reset();
      this.discarding = true;
      this.report('FRAME_TOO_LONG', `line longer than ${this.maxLineBytes} bytes; discarded`);
    }
  }

  private endLine(): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    let line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.length);
    this.reset();
    if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, -1);
    if (line.length > this.maxLineBytes) {
      this.report('FRAME_TOO_LONG', `line longer than ${this.maxLineBytes} bytes; discarded`);
      return;
    }
    const body = trim(line);
    if (body.length === 0) return;
    const inner = body.findIndex((byte) => isNoise(byte) && byte !== 0x09);
    if (inner !== -1) {
      this.report('BAD_FRAME', `line holds stray byte 0x${hex(body[inner] as number)} at byte ${inner + 1}`);
      return;
    }
    let text: string;
    try {
      text = this.decoder.decode(body);
    } catch {
      this.report('BAD_FRAME', 'line is not valid UTF-8');
      return;
    }
    this.push({ kind: 'line', text } satisfies Frame);
  }

  private report(code: 'FRAME_TOO_LONG' | 'BAD_FRAME', message: string): void {
    this.push({ kind: 'bad', code, message } satisfies Frame);
  }

  private reset(): void {
    this.parts = [];
    this.length = 0;
  }
}

function trim(line: Buffer): Buffer {
  let start = 0;
  let end = line.length;
  while (start < end && isPadding(line[start] as number)) start++;
  while (end > start && isPadding(line[end - 1] as number)) end--;
  return line.subarray(start, end);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0').toUpperCase();
}
