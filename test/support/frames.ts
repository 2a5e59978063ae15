import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

const run = promisify(execFile);
// jsqr's CommonJS default arrives as the module object under NodeNext.
const jsQR = jsQRModule.default;

/** The QR in a PNG, as zbarimg (zbar-tools) reads it, or undefined. */
export async function decodeWithZbar(path: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('zbarimg', ['--nodbus', '--raw', '-q', path]);
    return stdout.replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/** The QR in a PNG, as jsQR reads it, or undefined. */
export function decodeWithJsQr(path: string): string | undefined {
  const image = PNG.sync.read(readFileSync(path));
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.width, image.height)?.data;
}
