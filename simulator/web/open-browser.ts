import { spawn } from 'node:child_process';

/**
 * Opens the page in the desktop's browser, when there is a desktop: on
 * Linux only with a display (an SSH session or a service has none, and
 * xdg-open would start a text browser in the terminal). Returns whether it
 * tried. The command runs detached; its failure costs nothing, since the
 * address is printed anyway.
 */
export function openInBrowser(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  const command = browserCommand(url, env, platform);
  if (!command) return false;
  try {
    const child = spawn(command[0], command.slice(1), { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export function browserCommand(url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): [string, ...string[]] | undefined {
  if (platform === 'darwin') return ['open', url];
  // `start` is a cmd.exe built-in; the empty string is the window title.
  if (platform === 'win32') return ['cmd', '/c', 'start', '', url];
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  return ['xdg-open', url];
}
