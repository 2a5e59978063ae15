import type { PanelSize } from '../../core/ports/display.js';

/** The panels dakbox devices ship with; every screen is laid out and tested at each. */
export const PANEL_SIZES: Readonly<Record<string, PanelSize>> = {
  '320x240': { width: 320, height: 240 },
  '480x320': { width: 480, height: 320 },
  '320x480': { width: 320, height: 480 },
  '240x240': { width: 240, height: 240 },
  '800x480': { width: 800, height: 480 },
};

/** Parses "480x320" as typed on a command line. */
export function parsePanelSize(text: string): PanelSize {
  const match = /^(\d{2,4})x(\d{2,4})$/.exec(text.trim());
  if (!match) throw new TypeError(`panel size must look like 480x320, got ${JSON.stringify(text)}`);
  return { width: Number(match[1]), height: Number(match[2]) };
}
