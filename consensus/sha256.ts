/**
 * SHA-256 as every party computes it: noble's, in pure JS. Node processes load
 * server/crypto/sha256.ts instead (OpenSSL, 3–7× faster here), through the `#sha256` entry of
 * package.json's "imports": the same bytes (test/unit/sha256.test.ts), chosen by the "node"
 * condition, so browsers and bundlers never see a Node builtin.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

/** SHA-256 of the bytes, or of a string's UTF-8 encoding. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return nobleSha256(typeof data === 'string' ? utf8ToBytes(data) : data);
}
