/** Below this many seconds the countdown turns red so the clerk notices. */
export const URGENT_SECONDS = 30;

export interface CountdownFace {
  /** Always five characters, "mm:ss". */
  readonly text: string;
  readonly urgent: boolean;
}

/**
 * What the countdown shows for `expiresAt - now`. Seconds round up, so
 * "00:00" appears only once the QR has actually expired; anything beyond
 * 99:59 shows 99:59 (no sale QR lives that long).
 */
export function countdownFace(expiresAt: number, now: number): CountdownFace {
  const remainingMs = Math.max(0, expiresAt - now);
  const seconds = Math.min(99 * 60 + 59, Math.ceil(remainingMs / 1000));
  const mm = Math.floor(seconds / 60);
  const ss = seconds % 60;
  return { text: `${mm < 10 ? '0' : ''}${mm}:${ss < 10 ? '0' : ''}${ss}`, urgent: seconds <= URGENT_SECONDS };
}
