import { InputError } from './errors.js';

/**
 * What text may go into a QR and onto the screen. What a UPI app shows the
 * customer must be what the clerk sees, so nothing invisible or
 * direction-changing gets through: C0 and C1 controls, line and paragraph
 * separators, bidi overrides and isolates, zero-width spaces, byte-order
 * marks, lone surrogates, private-use and unassigned code points. The
 * zero-width joiner and non-joiner stay allowed: Devanagari, Bengali and
 * Kannada words need them to be spelt right.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\u2028\u2029]/u;
const JOINERS = /[\u200c\u200d]/gu;

/** The first character that must not be shown, as "U+202E", or undefined when there is none. */
export function hiddenCharacter(text: string): string | undefined {
  const found = HIDDEN.exec(text.replace(JOINERS, ''));
  if (!found) return undefined;
  return `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Length as a person counts it, and as the UPI limits count it: in code points, not UTF-16 units. */
export function textLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Checks text shown to the customer or the clerk (payee name, note,
 * identifiers echoed on screen): a string, not blank, at most `maxLength`
 * code points, nothing hidden. Throws InputError naming `field`.
 */
export function checkShownText(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string') throw new InputError(field, 'must be text');
  if (value.trim() === '') throw new InputError(field, 'is blank');
  if (textLength(value) > maxLength) throw new InputError(field, `is longer than ${maxLength} characters`);
  const hidden = hiddenCharacter(value);
  if (hidden) throw new InputError(field, `contains a control or invisible character (${hidden})`);
  return value;
}

/** The billing system's reference (an invoice number), kept in the ledger and echoed back: printable ASCII. */
export const REF_MAX_LENGTH = 64;
const REF_PATTERN = /^[\x20-\x7e]+$/;

export function checkRef(value: unknown, field = 'ref'): string {
  if (typeof value !== 'string') throw new InputError(field, 'must be text');
  if (value.length === 0) throw new InputError(field, 'is empty');
  if (value.length > REF_MAX_LENGTH) throw new InputError(field, `is longer than ${REF_MAX_LENGTH} characters`);
  if (!REF_PATTERN.test(value)) throw new InputError(field, 'must be printable ASCII: letters, digits, spaces and punctuation');
  return value;
}

/** A device id: the MQTT client id and username, and the start of every transaction reference. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,20}$/;
