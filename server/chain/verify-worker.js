// Checks transaction signatures for the chain's verify pool: the same libsecp256k1 verifier and the
// same signed message as the main thread (consensus hasValidSignature), off the event loop.
// Plain JS that loads the TypeScript sources through tsx, as the signing thread does.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { hasValidSignature } = await import('../../consensus/sign.ts');
const { makeFastVerifier } = await import('./verify.ts');
const verify = makeFastVerifier();
parentPort.postMessage({ ready: true });

parentPort.on('message', ({ id, txs }) => {
  try {
    parentPort.postMessage({ id, ok: txs.map((tx) => hasValidSignature(tx, verify)) });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
