import { bytesToHex, hexToBytes as nobleHexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
// SHA-256: noble's, or OpenSSL's in Node (the same bytes; see sha256.ts)
import { sha256 } from '#sha256';

export { bytesToHex, sha256, utf8ToBytes };

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Lowercase even-length hex only: every hash, key and signature in OurSQL travels this way. */
export function isHex(s: unknown, bytes?: number): s is string {
  return typeof s === 'string' && HEX.test(s) && (bytes === undefined || s.length === bytes * 2);
}

export function hexToBytes(hex: string): Uint8Array {
  return nobleHexToBytes(hex);
}

export function sha256Hex(data: Uint8Array | string): string {
  return bytesToHex(sha256(data));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Strict UTF-8 → string: invalid bytes throw, and a leading BOM is kept (not silently dropped). */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}
