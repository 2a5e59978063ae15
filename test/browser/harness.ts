/**
 * The simulator page in a real browser: `dakbox simulate` as a person runs
 * it, and Debian's chromium driven by playwright-core. Nothing here
 * downloads a browser; without /usr/bin/chromium the tests fail and say so.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DAKBOX_BIN } from '../support/device-process.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the simulator page is tested in Debian's chromium (./dakbox.sh test installs it, or: sudo apt-get install chromium)`);
  }
}

export async function launchBrowser(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      // The speaker plays each announcement as it comes, without a click.
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** `dakbox simulate` with its page server, in a fresh folder. */
export class SimulatorProcess {
  output = '';
  readonly dir: string;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(args: string[] = []) {
    this.dir = mkdtempSync(join(tmpdir(), 'dakbox-page-'));
    this.child = spawn(process.execPath, [DAKBOX_BIN, 'simulate', '--dir', this.dir, '--port', '0', '--http-port', '0', '--no-open', '--no-serial', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // A display in the test's environment must not open a browser window.
      env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '' },
    });
    this.child.stdout.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.stderr.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  /** The page's address, from the line the simulator prints for people. */
  async pageUrl(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = /^simulator page: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(this.output);
      if (match?.[1]) return match[1];
      if (this.child.exitCode !== null) throw new Error(`dakbox simulate exited (${this.child.exitCode}):\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`no "simulator page:" line within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
