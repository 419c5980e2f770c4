import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { verify as secpVerify } from 'tiny-secp256k1';
import { hexToBytes, signatureToCompact, type Verifier } from '../../consensus/index.ts';

// SubjectPublicKeyInfo prefix for a compressed secp256k1 point (id-ecPublicKey, secp256k1).
const SPKI_PREFIX = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex');
const MAX_CACHED_KEYS = 10_000;

/** Parsed public keys by hex, oldest dropped first: one signer usually sends many transactions. */
function keyCache<K>(parse: (pub: string) => K): (pub: string) => K {
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

/**
 * The server's verifier: libsecp256k1 (WebAssembly, in tiny-secp256k1, which the signing thread
 * uses too), ~1.4× OpenSSL and ~11–13× noble per core (`npm run bench`, crypto rows). Not strict, so
 * high-S signatures pass as with OpenSSL and noble (SPEC 5); test/unit/verify-native proves the
 * three agree on the same vectors.
 */
export function makeFastVerifier(): Verifier {
  const keyOf = keyCache((pub) => {
    const k = hexToBytes(pub);
    // A compressed point only, as the OpenSSL verifier's key prefix and the consensus rules take.
    if (k.length !== 33 || (k[0] !== 2 && k[0] !== 3)) throw new Error('not a compressed public key');
    return k;
  });
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
export function makeNativeVerifier(): Verifier {
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
