import { closeSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that after a power cut it holds either the old or the new
 * content, never a mix: temp file in the same folder, fsync, rename, fsync
 * the folder. `mode` applies from the first byte, so a secret is never
 * readable by others even for a moment.
 */
export function writeFileAtomic(link: string, data: string | Uint8Array, mode = 0o600): void {
  // A symlinked file (device.json pointing into a provisioning folder) is
  // written where it points: renaming over the link itself would replace it
  // with a regular file and leave the target holding the old content.
  const path = isSymlink(link) ? realpathSync(link) : link;
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  renameSync(temp, path);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
