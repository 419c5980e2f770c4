import { bytesToHex, hexToBytes, isHex, sha256 } from './bytes.ts';
import { compactToDer, derToCompact } from './der.ts';
import { fail } from './errors.ts';
import { parsePrivateKey, secp } from './keys.ts';

/** Checks one ECDSA signature over SHA-256(message); the server may swap in a faster one. */
export type Verifier = (publicKeyHex: string, message: Uint8Array, signatureHex: string) => boolean;

/** Signature hex → 64-byte compact r‖s. Accepts DER (what we send) and compact. */
export function signatureToCompact(signatureHex: string): Uint8Array {
  if (!isHex(signatureHex)) fail('bad-signature', 'signature must be lowercase hex');
  const raw = hexToBytes(signatureHex);
  return raw.length === 64 ? raw : derToCompact(raw);
}

/** Signs SHA-256(message) with RFC 6979 nonces; low-S, DER hex. */
export function signMessage(message: Uint8Array, privateKeyHex: string): string {
  const compact = secp.sign(sha256(message), parsePrivateKey(privateKeyHex), { prehash: false, lowS: true });
  return bytesToHex(compactToDer(compact));
}

/** The reference verifier (pure JS, works in browsers). High-S is accepted, as OpenSSL makes it. */
export const nobleVerify: Verifier = (publicKeyHex, message, signatureHex) => {
  let compact: Uint8Array;
  try {
    compact = signatureToCompact(signatureHex);
  } catch {
    return false;
  }
  try {
    return secp.verify(compact, sha256(message), hexToBytes(publicKeyHex), { prehash: false, lowS: false });
  } catch {
    return false;
  }
};
