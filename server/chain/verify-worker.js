// Checks transaction signatures for the chain's verify pool (verify-pool.ts), as a worker thread
// or as a child process. Plain JS, so it starts with no TS loader (a process here: ~135 ms): the
// main thread prepares each tx (the SHA-256 of its signed message, the signature as 64-byte r‖s,
// the compressed key: consensus code) and this side only runs libsecp256k1 on them (not strict:
// high S passes, as everywhere).
// - A child process uses the native addon where it loads (~4x the WebAssembly build).
// - A worker thread never does: a native addon in a worker that is terminated can abort the whole
//   process (cryptocoinjs/secp256k1-node#172; seen here as "terminate called after throwing
//   Napi::Error"). It runs the WebAssembly build (tiny-secp256k1).
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

function nativeAddon() {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings.js');
  } catch {
    return null;
  }
}

const addon = parentPort ? null : nativeAddon();
// Only where the addon is not used: loading the WebAssembly build takes ~45 ms, a third of a
// helper process's start (which a sync's first blocks wait for).
const wasm = addon ? null : await import('tiny-secp256k1');

function verify(digest, compact, pub) {
  try {
    // signatureNormalize: high S becomes low S in place; r or s ≥ n throws (invalid)
    return addon ? addon.ecdsaVerify(addon.signatureNormalize(compact), digest, pub) : wasm.verify(digest, pub, compact, false);
  } catch {
    return false;
  }
}

// { id, n, digests: n×32 bytes, sigs: n×64, pubs: n×33 } → { id, ok: Uint8Array(n) of 0/1 }
function check({ id, n, digests, sigs, pubs }) {
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    ok[i] = verify(digests.subarray(i * 32, i * 32 + 32), sigs.slice(i * 64, i * 64 + 64), pubs.subarray(i * 33, i * 33 + 33)) ? 1 : 0;
  }
  return ok;
}

function serve(send, on) {
  on((m) => {
    try {
      send({ id: m.id, ok: check(m) });
    } catch (e) {
      send({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
  send({ ready: true, native: addon !== null });
}

if (parentPort) serve((m) => parentPort.postMessage(m), (f) => parentPort.on('message', f));
else {
  // a child process: ends with the node that started it
  process.on('disconnect', () => process.exit(0));
  serve((m) => process.send(m), (f) => process.on('message', f));
}
