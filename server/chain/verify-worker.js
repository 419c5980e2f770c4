// Checks transaction signatures for the chain's verify pool, used where the native libsecp256k1
// addon does not load (server/node/node.ts). Plain JS, so a worker starts in ~50 ms with no TS
// loader: the main thread prepares each tx (the SHA-256 of its signed message, the signature as
// 64-byte r‖s, the compressed key: consensus code) and this thread only runs libsecp256k1's
// WebAssembly build on them (not strict: high S passes, as everywhere). Never the native addon:
// a native addon in a worker that is terminated can abort the whole process
// (cryptocoinjs/secp256k1-node#172; seen here as "terminate called after throwing Napi::Error").
import { parentPort } from 'node:worker_threads';
import { verify as wasmVerify } from 'tiny-secp256k1';

function verify(digest, compact, pub) {
  try {
    return wasmVerify(digest, pub, compact, false);
  } catch {
    return false;
  }
}

// { id, n, digests: n×32 bytes, sigs: n×64, pubs: n×33 } → { id, ok: Uint8Array(n) of 0/1 }
parentPort.on('message', ({ id, n, digests, sigs, pubs }) => {
  try {
    const ok = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      ok[i] = verify(digests.subarray(i * 32, i * 32 + 32), sigs.slice(i * 64, i * 64 + 64), pubs.subarray(i * 33, i * 33 + 33)) ? 1 : 0;
    }
    parentPort.postMessage({ id, ok }, [ok.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
parentPort.postMessage({ ready: true });
