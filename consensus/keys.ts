import * as secp from '@noble/secp256k1';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import bs58check from 'bs58check';
import { bytesToHex, concatBytes, hexToBytes, isHex, sha256 } from './bytes.ts';
import { fail } from './errors.ts';

// noble's synchronous API needs its hashes wired once; the assignment is idempotent.
secp.hashes.sha256 = nobleSha256;
secp.hashes.hmacSha256 = (key, msg) => hmac(nobleSha256, key, msg);

export { secp };

const ADDRESS_VERSION = 0x00;

export function newPrivateKey(): string {
  return bytesToHex(secp.utils.randomSecretKey());
}

export function parsePrivateKey(hex: unknown): Uint8Array {
  if (!isHex(hex, 32)) fail('bad-key', 'private key must be 64 lowercase hex characters');
  const key = hexToBytes(hex);
  if (!secp.utils.isValidSecretKey(key)) fail('bad-key', 'private key is out of range for secp256k1');
  return key;
}

/** Compressed (33-byte) public key hex of a private key. */
export function publicKeyOf(privateKeyHex: string): string {
  return bytesToHex(secp.getPublicKey(parsePrivateKey(privateKeyHex), true));
}

/** Accepts a 33- or 65-byte public key in hex; returns it compressed. Off-curve points are refused. */
export function normalizePublicKey(hex: unknown): string {
  if (typeof hex === 'string') hex = hex.toLowerCase();
  if (!isHex(hex, 33) && !isHex(hex, 65)) fail('bad-key', 'public key must be hex of 33 (compressed) or 65 (uncompressed) bytes');
  try {
    return secp.Point.fromHex(hex).toHex(true);
  } catch {
    fail('bad-key', 'public key is not a point on secp256k1');
  }
}

/** True when `hex` is already a valid compressed public key (the only form stored in bodies). */
export function isCompressedPublicKey(hex: unknown): hex is string {
  if (!isHex(hex, 33)) return false;
  if (validKeys.has(hex)) return true;
  try {
    secp.Point.fromHex(hex);
  } catch {
    return false;
  }
  // A pure function's memo: the on-curve check costs a modular square root, and one signer sends many txs.
  if (validKeys.size >= 10_000) validKeys.clear();
  validKeys.add(hex);
  return true;
}
const validKeys = new Set<string>();

/** bitcoin P2PKH: base58check(0x00 ‖ RIPEMD160(SHA256(compressed pubkey))). */
export function addressOf(publicKeyHex: string): string {
  return addressOfCheckedKey(normalizePublicKey(publicKeyHex));
}

/**
 * addressOf for a compressed key that was already checked (a parsed tx body's `from`): skips the
 * on-curve check, which costs a modular square root, on the validation hot path.
 */
export function addressOfCheckedKey(compressedHex: string): string {
  let address = addresses.get(compressedHex);
  if (address === undefined) {
    address = bs58check.encode(concatBytes(new Uint8Array([ADDRESS_VERSION]), ripemd160(sha256(hexToBytes(compressedHex)))));
    // A pure function's memo, as for validKeys: every tx of a signer asks for the same address.
    if (addresses.size >= 10_000) addresses.clear();
    addresses.set(compressedHex, address);
  }
  return address;
}
const addresses = new Map<string, string>();

export function isValidAddress(address: unknown): address is string {
  if (typeof address !== 'string' || address.length < 26 || address.length > 35) return false;
  if (validAddresses.has(address)) return true;
  try {
    const raw = bs58check.decode(address);
    if (raw.length !== 21 || raw[0] !== ADDRESS_VERSION) return false;
  } catch {
    return false;
  }
  if (validAddresses.size >= VALID_ADDRESSES_KEPT) validAddresses.clear();
  validAddresses.add(address);
  return true;
}

/**
 * Addresses found valid: a block's or a sync's txs name few of them, over and over, and the
 * base58 decode with its double SHA-256 (pure JS here) showed in replay profiles. A pure
 * function's answers, so any node in the process may share them; bounded.
 */
const validAddresses = new Set<string>();
const VALID_ADDRESSES_KEPT = 10_000;

/** Throws a clear error for an address that is malformed or has a wrong checksum. */
export function checkAddress(address: unknown, what = 'address'): string {
  if (!isValidAddress(address)) {
    fail('bad-address', `${what} ${JSON.stringify(address)} is not a valid OurSQL address (base58check, starts with 1)`);
  }
  return address;
}
