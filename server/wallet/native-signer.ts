/**
 * Signs node-held keys' txs with native libsecp256k1 (the addon the verifier uses) on the calling
 * thread: ~50 µs a signature here, against ~150 µs for the WebAssembly build on the signing
 * thread plus the messages to and from it, on a machine whose cores MariaDB needs too. The same
 * bytes as consensus/ makes (RFC 6979 nonces, low S; test/unit/native-signer proves it).
 */
import { bytesToHex, compactToDer, hexToBytes, parsePrivateKey, publicKeyOf, txSigner, type TxSigner } from '../../consensus/index.ts';
import { loadAddon, type Secp256k1Addon } from '../chain/verify.ts';

/** A signer for one key, or null where the native addon does not load. */
export function nativeSigner(privateKeyHex: string, addon: Secp256k1Addon | null = loadAddon()): TxSigner | null {
  if (!addon) return null;
  const key = parsePrivateKey(privateKeyHex);
  // A txid is the SHA-256 of the signed message (consensus txidOf): sign it, do not hash again.
  const sign = (txid: string) => bytesToHex(compactToDer(addon.ecdsaSign(hexToBytes(txid), key).signature));
  return txSigner(privateKeyHex, sign, nativePublicKey(privateKeyHex, addon));
}

/**
 * The compressed public key of a private key, as consensus publicKeyOf gives it: with libsecp256k1
 * where it loads. noble's first derivation in a process builds its tables (~50 ms), which a node's
 * start (its signer) and `oursql init`/`import` (a new wallet key) would pay for one key.
 */
export function nativePublicKey(privateKeyHex: string, addon: Secp256k1Addon | null = loadAddon()): string {
  return addon ? bytesToHex(addon.publicKeyCreate(parsePrivateKey(privateKeyHex), true)) : publicKeyOf(privateKeyHex);
}
