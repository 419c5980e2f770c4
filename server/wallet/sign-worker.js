// Signs transactions off the main thread. ECDSA is the largest single cost of a node-signed
// update, so this thread signs with libsecp256k1 (compiled to WebAssembly, in tiny-secp256k1):
// ~2.7× noble's speed here. Like consensus/ it signs the SHA-256 of the tx's signed message (its
// txid) with RFC 6979 nonces and low S, so the signature bytes are the same (test/unit/signer-thread
// proves it). Plain JS that loads the consensus code through tsx for key checks and DER.
import { parentPort } from 'node:worker_threads';
import { sign } from 'tiny-secp256k1';
import { register } from 'tsx/esm/api';

register();
const { bytesToHex } = await import('../../consensus/bytes.ts');
const { compactToDer } = await import('../../consensus/der.ts');
const { parsePrivateKey } = await import('../../consensus/keys.ts');

parentPort.on('message', ({ id, digest, privateKey }) => {
  try {
    if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new Error('a digest is 32 bytes');
    parentPort.postMessage({ id, sig: bytesToHex(compactToDer(sign(digest, parsePrivateKey(privateKey)))) });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
parentPort.postMessage({ ready: true });
