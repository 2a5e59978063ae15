import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A serial cable between the billing PC and the device: a socat pseudo-terminal pair. */
export interface Cable {
  process: ChildProcess;
  dir: string;
  devicePath: string;
  pcPath: string;
}

/** Starts socat and resolves once it says both ptys exist and bytes flow. */
export async function startCable(reuse?: Cable): Promise<Cable> {
  const dir = reuse?.dir ?? (await mkdtemp(join(tmpdir(), 'dakbox-pty-')));
  const devicePath = join(dir, 'device');
  const pcPath = join(dir, 'pc');
  const process = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${pcPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('starting data transfer loop')) {
        process.stderr?.off('data', onData);
        process.stderr?.resume();
        resolve();
      }
    };
    process.stderr?.on('data', onData);
    process.once('error', reject);
    process.once('exit', (code) => reject(new Error(`socat exited (${String(code)}) before the ptys were ready: ${log}`)));
  });
  return { process, dir, devicePath, pcPath };
}

/** Stops socat: both ptys vanish, as a USB adapter does when it is pulled. */
export async function unplugCable(cable: Cable | undefined): Promise<void> {
  if (!cable) return;
  const { process } = cable;
  if (process.exitCode === null && process.signalCode === null) {
    const exited = new Promise((resolve) => process.once('exit', resolve));
    process.kill('SIGTERM');
    await exited;
  }
}

export async function stopCable(cable: Cable | undefined): Promise<void> {
  if (!cable) return;
  await unplugCable(cable);
  await rm(cable.dir, { recursive: true, force: true });
}

