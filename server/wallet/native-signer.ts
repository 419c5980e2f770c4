/**
 * Signs node-held keys' txs with native libsecp256k1 (the addon the verifier uses) on the calling
 * thread: ~50 µs a signature here, against ~150 µs for the WebAssembly build on the signing
 * thread plus the messages to and from it, on a machine whose cores MariaDB needs too. The same
 * bytes as consensus/ makes (RFC 6979 nonces, low S; test/unit/native-signer proves it).
 */
import { bytesToHex, compactToDer, fail, hexToBytes, makeTx, parsePrivateKey, publicKeyOf, type TxSigner } from '../../consensus/index.ts';
import { loadAddon, type Secp256k1Addon } from '../chain/verify.ts';

/** A signer for one key, or null where the native addon does not load. */
export function nativeSigner(privateKeyHex: string, addon: Secp256k1Addon | null = loadAddon()): TxSigner | null {
  if (!addon) return null;
  const key = parsePrivateKey(privateKeyHex);
  const pubkey = publicKeyOf(privateKeyHex);
  return {
    pubkey,
    sign(body) {
      if (body.from !== pubkey) fail('bad-key', "private key does not match the body's from");
      const unsigned = makeTx(body);
      // The txid is the SHA-256 of the signed message (consensus txidOf): sign it, do not hash again.
      const { signature } = addon.ecdsaSign(hexToBytes(unsigned.id), key);
      return { ...unsigned, sig: bytesToHex(compactToDer(signature)) };
    },
  };
}
