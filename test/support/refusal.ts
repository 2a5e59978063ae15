import { InputError } from '../../core/errors.js';

/** Runs `fn`, which must refuse its input; returns the refusal so a test can read its field and message. */
export function refusal(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}
