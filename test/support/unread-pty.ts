import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * One real pseudo-terminal whose far end stands for a billing PC that writes
 * and does not read: the device opens the terminal end, and what it writes
 * piles up in the kernel until the PC starts reading. Unlike a socat cable,
 * nothing between the two ends stalls the PC's writes when the device's are
 * not read, as on a real serial line, whose receiver never holds up the
 * other direction.
 */
export interface UnreadPty {
  /** The terminal the device opens. */
  devicePath: string;
  /** Writes to the device; resolves once the bytes are taken. */
  write(text: string): Promise<void>;
  /** Starts reading what the device wrote; it arrives on `output`. */
  startReading(): void;
  output: Readable;
  close(): Promise<void>;
}

const SCRIPT = String.raw`
import os, pty, select, signal, sys, tty
m, s = pty.openpty()
tty.setraw(s)
tty.setraw(m)
reading = [False]
signal.signal(signal.SIGUSR1, lambda *a: reading.__setitem__(0, True))
sys.stdout.write(os.ttyname(s) + "\n")
sys.stdout.flush()
out = sys.stdout.buffer
pending = b""
open_in = True
while True:
    rl = [0] if open_in and len(pending) < 65536 else []
    if reading[0]:
        rl.append(m)
    wl = [m] if pending else []
    try:
        r, w, _ = select.select(rl, wl, [], 0.05)
    except InterruptedError:
        continue
    if 0 in r:
        d = os.read(0, 65536)
        if not d:
            open_in = False
        pending += d
    if m in w and pending:
        n = os.write(m, pending[:4096])
        pending = pending[n:]
    if m in r:
        out.write(os.read(m, 65536))
        out.flush()
    if not open_in and not pending and not reading[0]:
        break
`;

export async function openUnreadPty(): Promise<UnreadPty> {
  const child: ChildProcessWithoutNullStreams = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  const devicePath = await new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      child.stdout.off('data', onData);
      child.stdout.pause();
      if (nl + 1 < text.length) child.stdout.unshift(Buffer.from(text.slice(nl + 1), 'latin1'));
      resolve(text.slice(0, nl));
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`pty helper exited (${String(code)})`)));
  });
  return {
    devicePath,
    write: (text) =>
      new Promise((resolve) => {
        if (child.stdin.write(text)) resolve();
        else child.stdin.once('drain', () => resolve());
      }),
    startReading: () => {
      child.stdout.resume();
      child.kill('SIGUSR1');
    },
    output: child.stdout,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
