/**
 * Passphrase-based encryption of private keys: scrypt derives a 256-bit key from the passphrase and
 * a random salt; AES-256-GCM seals each secret under it with a random 96-bit nonce. The associated
 * data binds a sealed key to its address, so entries cannot be swapped between addresses.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { scrypt, scryptAsync } from '@noble/hashes/scrypt.js';
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export interface KdfParams {
  name: 'scrypt';
  /** CPU/memory cost (a power of 2): 2^16 takes about half a second and 64 MiB. */
  N: number;
  r: number;
  p: number;
  /** 16 random bytes, hex. */
  salt: string;
}

export interface Sealed {
  /** 12 random bytes, hex. */
  nonce: string;
  /** Ciphertext followed by the 16-byte GCM tag, hex. */
  data: string;
}

export const DEFAULT_SCRYPT_N = 2 ** 16;

export function newKdf(N = DEFAULT_SCRYPT_N): KdfParams {
  return { name: 'scrypt', N, r: 8, p: 1, salt: bytesToHex(randomBytes(16)) };
}

export function deriveKey(passphrase: string, kdf: KdfParams): Uint8Array {
  return scrypt(utf8ToBytes(passphrase.normalize('NFC')), hexToBytes(kdf.salt), { N: kdf.N, r: kdf.r, p: kdf.p, dkLen: 32 });
}

/** As deriveKey, yielding to the event loop while it works (a browser page stays responsive). */
export function deriveKeyAsync(passphrase: string, kdf: KdfParams): Promise<Uint8Array> {
  return scryptAsync(utf8ToBytes(passphrase.normalize('NFC')), hexToBytes(kdf.salt), { N: kdf.N, r: kdf.r, p: kdf.p, dkLen: 32 });
}

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Sealed {
  const nonce = randomBytes(12);
  return { nonce: bytesToHex(nonce), data: bytesToHex(gcm(key, nonce, utf8ToBytes(aad)).encrypt(plaintext)) };
}

/** The plaintext, or undefined when the key, the associated data or the ciphertext is wrong. */
export function unseal(key: Uint8Array, box: Sealed, aad: string): Uint8Array | undefined {
  try {
    return gcm(key, hexToBytes(box.nonce), utf8ToBytes(aad)).decrypt(hexToBytes(box.data));
  } catch {
    return undefined;
  }
}
