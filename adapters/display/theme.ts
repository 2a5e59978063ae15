import type { Language } from '../../core/language.js';

/**
 * Colours chosen for a small TN/IPS panel seen at an angle across a counter:
 * dark ink on white paper (a QR scans best dark-on-light), India Post red for
 * the brand, and state colours that stay distinct for red-green colour
 * blindness because every state also has its own icon and words.
 */
export const COLOURS = {
  paper: '#ffffff',
  ink: '#1b1b1f',
  muted: '#55585e',
  brand: '#c8102e',
  onBrand: '#ffffff',
  success: '#12703a',
  warning: '#8a5200',
  warningPaper: '#fff3d6',
  danger: '#b3261e',
  neutral: '#5f6368',
  offline: '#26272b',
  onOffline: '#ffd54f',
  connecting: '#f2b01e',
  onConnecting: '#1b1b1f',
  qrDark: '#000000',
  qrLight: '#ffffff',
} as const;

export type Colour = string;

/**
 * Which family list a piece of text uses. `ui` is words in the device's
 * language; `figures` is amounts, ids and the countdown, which stay in Latin
 * digits in every language so they match what the customer's UPI app shows.
 */
export type TextRole = 'ui' | 'figures';

export interface TextStyle {
  readonly role: TextRole;
  readonly bold: boolean;
}

/**
 * Noto Sans comes first so Latin letters and digits look the same in every
 * language; Pango falls back per character to the script's own Noto family
 * for Indic text. DejaVu is the last resort on an image without Noto.
 */
const SCRIPT_FAMILY: Record<Language, string> = {
  en: '"Noto Sans", "DejaVu Sans", sans-serif',
  hi: '"Noto Sans", "Noto Sans Devanagari", "DejaVu Sans", sans-serif',
  bn: '"Noto Sans", "Noto Sans Bengali", "DejaVu Sans", sans-serif',
  kn: '"Noto Sans", "Noto Sans Kannada", "DejaVu Sans", sans-serif',
};

const FIGURES_FAMILY = '"Noto Sans", "DejaVu Sans", sans-serif';

export function cssFont(style: TextStyle, size: number, language: Language): string {
  const family = style.role === 'figures' ? FIGURES_FAMILY : SCRIPT_FAMILY[language];
  return `${style.bold ? 'bold ' : ''}${size}px ${family}`;
}
