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
