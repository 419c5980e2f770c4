// Checks transaction signatures for the chain's verify pool. Plain JS, so a worker starts in
// ~30 ms with no TS loader: the main thread prepares each tx (the SHA-256 of its signed message,
// the signature as 64-byte r‖s, the compressed key: consensus code) and this thread only runs
// libsecp256k1's verify on them, as server/chain/verify.ts does: the native addon where its
// prebuilt binary loads, else the WebAssembly build; not strict (high S is normalized first).
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

let addon = null;
try {
  addon = createRequire(import.meta.url)('secp256k1/bindings.js');
} catch {
  // no prebuilt addon for this platform
}
const wasm = addon ? null : await import('tiny-secp256k1');

function verify(digest, compact, pub) {
  try {
    if (addon) return addon.ecdsaVerify(addon.signatureNormalize(compact), digest, pub);
    return wasm.verify(digest, pub, compact, false);
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
