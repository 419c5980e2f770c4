/**
 * Signs node-held keys' txs with native libsecp256k1 (the addon the verifier uses) on the calling
 * thread: ~50 µs a signature here, against ~150 µs for the WebAssembly build on the signing
 * thread plus the messages to and from it, on a machine whose cores MariaDB needs too. The same
 * bytes as consensus/ makes (RFC 6979 nonces, low S; test/unit/native-signer proves it).
 */
import { bytesToHex, compactToDer, hexToBytes, parsePrivateKey, txSigner, type TxSigner } from '../../consensus/index.ts';
import { loadAddon, type Secp256k1Addon } from '../chain/verify.ts';

/** A signer for one key, or null where the native addon does not load. */
export function nativeSigner(privateKeyHex: string, addon: Secp256k1Addon | null = loadAddon()): TxSigner | null {
  if (!addon) return null;
  const key = parsePrivateKey(privateKeyHex);
  // A txid is the SHA-256 of the signed message (consensus txidOf): sign it, do not hash again.
  return txSigner(privateKeyHex, (txid) => bytesToHex(compactToDer(addon.ecdsaSign(hexToBytes(txid), key).signature)));
}
