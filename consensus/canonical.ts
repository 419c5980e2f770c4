import canonicalizeJcs from 'canonicalize';
import { fail } from './errors.ts';

/** RFC 8785 (JCS) canonical JSON: every hashed or signed JSON in OurSQL is this string. */
export function canonicalize(value: unknown): string {
  let s: string | undefined;
  try {
    s = canonicalizeJcs(value);
  } catch (e) {
    fail('bad-encoding', `value cannot be encoded as canonical JSON: ${(e as Error).message}`); // e.g. a lone surrogate
  }
  if (s === undefined) fail('bad-encoding', 'value cannot be encoded as JSON');
  return s;
}

/** Parses text that must already be canonical JSON (signed bodies are checked byte for byte). */
export function parseCanonical(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    fail('bad-encoding', `not JSON: ${(e as Error).message}`);
  }
  if (canonicalize(value) !== text) fail('bad-encoding', 'JSON is not in canonical (RFC 8785) form');
  return value;
}
