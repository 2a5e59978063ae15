import { InputError } from './errors.js';

/**
 * The first step of reading any message from the network: bounded in size,
 * JSON, and an object. Each caller turns a problem into its own refusal.
 */
export type JsonObjectResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; problem: 'too-large' | 'not-json' | 'not-object' };

export function readJsonObject(payload: Buffer, maxBytes: number): JsonObjectResult {
  if (payload.length > maxBytes) return { ok: false, problem: 'too-large' };
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, problem: 'not-json' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, problem: 'not-object' };
  return { ok: true, body: body as Record<string, unknown> };
}

/**
 * Reads a message that must be a JSON object, or throws an InputError naming
 * the message (`collect`, `config/set`) and what is wrong with it.
 */
export function readJsonMessage(payload: Buffer, maxBytes: number, message: string): Record<string, unknown> {
  const read = readJsonObject(payload, maxBytes);
  if (read.ok) return read.body;
  switch (read.problem) {
    case 'too-large':
      throw new InputError(message, `is ${payload.length} bytes; at most ${maxBytes}`);
    case 'not-json':
      throw new InputError(message, 'is not JSON');
    case 'not-object':
      throw new InputError(message, 'is not a JSON object');
  }
}
