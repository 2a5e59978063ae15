import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * A serial cable between a billing PC and the device without either: a
 * socat pseudo-terminal pair whose two ends are links in `dir`.
 */
export interface SerialCable {
  process: ChildProcess;
  dir: string;
  /** The end the device opens. */
  devicePath: string;
  /** The end the billing PC opens. */
  pcPath: string;
}

/** Starts socat and resolves once it says both ptys exist and bytes flow. */
export async function plugSerialCable(dir: string, names = { device: 'device', pc: 'pc' }): Promise<SerialCable> {
  const devicePath = join(dir, names.device);
  const pcPath = join(dir, names.pc);
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${pcPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('starting data transfer loop')) {
        child.stderr.off('data', onData);
        child.stderr.resume();
        resolve();
      }
    };
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`socat exited (${String(code)}) before the ptys were ready: ${log}`)));
  });
  return { process: child, dir, devicePath, pcPath };
}

/** Stops socat: both ptys vanish, as a USB adapter does when it is pulled. */
export async function unplugSerialCable(cable: SerialCable | undefined): Promise<void> {
  if (!cable) return;
  const { process } = cable;
  if (process.exitCode === null && process.signalCode === null) {
    const exited = new Promise((resolve) => process.once('exit', resolve));
    process.kill('SIGTERM');
    await exited;
  }
}
