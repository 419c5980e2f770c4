// Signs transaction messages off the main thread. ECDSA is the largest single cost of a
// node-signed update, so this thread signs with libsecp256k1 (compiled to WebAssembly, in
// tiny-secp256k1): ~2.7× noble's speed here. Both sign the SHA-256 of the tx's signed message (its txid) with RFC 6979 nonces and
// low S, so the signature bytes are the same (test/unit/signer-thread proves it). Plain JS that
// loads the consensus code through tsx for key checks and DER.
import { parentPort } from 'node:worker_threads';
import { sign } from 'tiny-secp256k1';
import { register } from 'tsx/esm/api';

register();
const { bytesToHex } = await import('../../consensus/bytes.ts');
const { compactToDer } = await import('../../consensus/der.ts');
const { parsePrivateKey } = await import('../../consensus/keys.ts');

/** Parsed keys: a node signs with one or a few keys. */
const keys = new Map();
const keyOf = (hex) => {
  let k = keys.get(hex);
  if (!k) {
    k = parsePrivateKey(hex);
    if (keys.size >= 100) keys.clear();
    keys.set(hex, k);
  }
  return k;
};

parentPort.on('message', ({ id, digest, privateKey }) => {
  try {
    if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new Error('a digest is 32 bytes');
    parentPort.postMessage({ id, sig: bytesToHex(compactToDer(sign(digest, keyOf(privateKey)))) });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
parentPort.postMessage({ ready: true });
