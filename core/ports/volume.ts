/** The speaker's volume steps, as on the device's buttons: 0 is silent, 10 is loudest. */
export const VOLUME_MIN = 0;
export const VOLUME_MAX = 10;
/** Loud enough for a busy counter without distorting the small speaker. */
export const VOLUME_DEFAULT = 7;

/** Each step is 3 dB, so a press sounds like the same change at any level. */
const DECIBELS_PER_STEP = 3;

export function isVolume(level: unknown): level is number {
  return typeof level === 'number' && Number.isInteger(level) && level >= VOLUME_MIN && level <= VOLUME_MAX;
}

/** Rounds and clamps anything numeric into a volume step; anything else becomes the default. */
export function clampVolume(level: number): number {
  if (!Number.isFinite(level)) return VOLUME_DEFAULT;
  return Math.min(VOLUME_MAX, Math.max(VOLUME_MIN, Math.round(level)));
}

/**
 * Linear amplitude factor (0..1) for a volume step, 1 being the engine's full
 * undistorted level. Every engine and the chime use this one curve, so the
 * same step sounds equally loud whichever voice is speaking.
 */
export function volumeGain(level: number): number {
  const step = clampVolume(level);
  if (step === VOLUME_MIN) return 0;
  return 10 ** (((step - VOLUME_MAX) * DECIBELS_PER_STEP) / 20);
}
