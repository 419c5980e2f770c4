// Signs transaction messages off the main thread (noble's ECDSA costs ~0.25 ms a signature, the
// largest single cost of a node-signed update). Plain JS that loads the TypeScript consensus code
// through tsx, so the worker signs exactly as consensus/ does.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { signMessage } = await import('../../consensus/signature.ts');

parentPort.on('message', ({ id, message, privateKey }) => {
  try {
    parentPort.postMessage({ id, sig: signMessage(message, privateKey) });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
parentPort.postMessage({ ready: true });
