// Proof-of-work search off the main thread. Plain JS so it runs in a worker without a TS loader.
// The header's canonical JSON has sorted keys: bits, height, merkle, nonce, prev, time, v, so the
// text is prefix + nonce + suffix and only the nonce digits change.
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';

function zeroBits(digest) {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) { bits += 8; continue; }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

parentPort.on('message', ({ job, prefix, suffix, bits, start, cancel }) => {
  const current = new Int32Array(cancel);
  const head = createHash('sha256').update(prefix);
  let hashes = 0;
  for (let nonce = start; nonce <= Number.MAX_SAFE_INTEGER; nonce++) {
    if ((++hashes & 0x3fff) === 0 && Atomics.load(current, 0) !== job) {
      parentPort.postMessage({ job, cancelled: true, hashes });
      return;
    }
    const digest = head.copy().update(nonce + suffix).digest();
    if (zeroBits(digest) >= bits) {
      parentPort.postMessage({ job, nonce, hashes });
      return;
    }
  }
  parentPort.postMessage({ job, exhausted: true, hashes });
});
