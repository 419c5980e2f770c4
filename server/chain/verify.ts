import { createRequire } from 'node:module';
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { verify as secpVerify } from 'tiny-secp256k1';
import { hexToBytes, signatureToCompact, type Verifier } from '../../consensus/index.ts';

// SubjectPublicKeyInfo prefix for a compressed secp256k1 point (id-ecPublicKey, secp256k1).
const SPKI_PREFIX = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex');
const MAX_CACHED_KEYS = 10_000;

/** Parsed public keys by hex, oldest dropped first: one signer usually sends many transactions. */
export function keyCache<K>(parse: (pub: string) => K): (pub: string) => K {
  const keys = new Map<string, K>();
  return (pub) => {
    let k = keys.get(pub);
    if (k === undefined) {
      k = parse(pub);
      if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
      keys.set(pub, k);
    }
    return k;
  };
}

/** libsecp256k1 compiled for this machine (the `secp256k1` package's prebuilt N-API addon), if it loads here. */
export interface Secp256k1Addon {
  signatureNormalize(sig: Uint8Array): Uint8Array;
  ecdsaVerify(sig: Uint8Array, msg32: Uint8Array, pub: Uint8Array): boolean;
  /** RFC 6979 nonce, low S: the signature noble makes. */
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array };
  /** The key's public key, compressed (33 bytes). */
  publicKeyCreate(key: Uint8Array, compressed: true): Uint8Array;
}
export function loadAddon(): Secp256k1Addon | null {
  try {
    // bindings.js: the addon only (index.js would fall back to a slow pure-JS curve instead)
    return createRequire(import.meta.url)('secp256k1/bindings.js') as Secp256k1Addon;
  } catch {
    return null;
  }
}

/** A public key as the verifiers take it: a compressed point (33 bytes); throws otherwise. */
export function compressedKey(pub: string): Uint8Array {
  const k = hexToBytes(pub);
  // A compressed point only, as the OpenSSL verifier's key prefix and the consensus rules take.
  if (k.length !== 33 || (k[0] !== 2 && k[0] !== 3)) throw new Error('not a compressed public key');
  return k;
}

/** Whether this machine verifies with native libsecp256k1 (its prebuilt addon loads here). */
export function hasNativeVerifier(): boolean {
  return loadAddon() !== null;
}

/**
 * The server's verifier: libsecp256k1, native where its prebuilt addon loads (~18,000 verify/s
 * per core here, ~6x OpenSSL), else as WebAssembly (tiny-secp256k1, which the signing thread uses
 * too; ~1.4x OpenSSL). Not strict: a high-S signature is normalized first, so it passes as with
 * OpenSSL and noble (SPEC 5); test/unit/verify-native proves they all agree on the same vectors.
 */
export function makeFastVerifier(): Verifier {
  return makeAddonVerifier() ?? makeWasmVerifier();
}

/** The native libsecp256k1 verifier, or null where its addon does not load. */
export function makeAddonVerifier(addon = loadAddon()): Verifier | null {
  if (!addon) return null;
  const keyOf = keyCache(compressedKey);
  return (publicKeyHex, message, signatureHex) => {
    try {
      const digest = createHash('sha256').update(message).digest();
      // normalizes in place: r or s ≥ n throws (invalid), high S becomes low S
      const sig = addon.signatureNormalize(signatureToCompact(signatureHex));
      return addon.ecdsaVerify(sig, digest, keyOf(publicKeyHex));
    } catch {
      return false; // malformed key or signature (the addon throws on those)
    }
  };
}

/** libsecp256k1 as WebAssembly (tiny-secp256k1): the fallback where the native addon does not load. */
export function makeWasmVerifier(): Verifier {
  const keyOf = keyCache(compressedKey);
  return (publicKeyHex, message, signatureHex) => {
    try {
      const digest = createHash('sha256').update(message).digest();
      return secpVerify(digest, keyOf(publicKeyHex), signatureToCompact(signatureHex), false);
    } catch {
      return false; // malformed key or signature (the library throws on those)
    }
  };
}

/** OpenSSL ECDSA verification (node:crypto), kept as a second reference and for the bench. */
export function makeOpensslVerifier(): Verifier {
  const keyOf = keyCache((pub): KeyObject => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(pub, 'hex')]), format: 'der', type: 'spki' }));
  return (publicKeyHex, message, signatureHex) => {
    try {
      const compact = signatureToCompact(signatureHex);
      return cryptoVerify('sha256', message, { key: keyOf(publicKeyHex), dsaEncoding: 'ieee-p1363' }, compact);
    } catch {
      return false;
    }
  };
}
