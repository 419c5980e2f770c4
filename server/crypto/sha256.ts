/**
 * consensus/sha256.ts for Node: OpenSSL's SHA-256 (SHA-NI where the CPU has it). A 600-byte tx
 * hashes in ~1.8 µs here against ~6.8 µs with noble; a string is hashed as UTF-8 without a copy
 * made in JS. package.json's `#sha256` import picks this file under the "node" condition.
 */
import { hash } from 'node:crypto';

/** SHA-256 of the bytes, or of a string's UTF-8 encoding (a plain Uint8Array, not a Buffer). */
export function sha256(data: Uint8Array | string): Uint8Array {
  const digest = hash('sha256', data, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}
