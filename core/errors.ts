/**
 * A refusal of bad input. `field` names what was wrong so every boundary
 * (CLI, serial link, MQTT receipt) can report it in one line without a stack
 * trace.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** One-line description of any thrown value, for logs and replies. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A refusal because the device's ledger cannot be written (disk full,
 * read-only, failing): sales are paused, since a sale the device cannot
 * record must not be payable. Goes away by itself when the ledger can be
 * written again.
 */
export class StorageFault extends Error {
  override readonly name = 'StorageFault';
}
