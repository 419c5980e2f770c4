/**
 * The chain this wallet signs for. The first time the wallet talks to its node it checks that the
 * genesis block commits to the consensus config the node serves (remoteclient/chain-read.ts) and
 * pins both hashes in IndexedDB; before every signature the node must still be on that chain with
 * that config, else nothing is signed (the chain view offers to pin the new one, as
 * `oursql-remote setnode` does).
 */
import { readChain, type ChainView } from '../../remoteclient/chain-read.ts';
import { TamperError } from '../../remoteclient/errors.ts';
import type { Call } from '../../remoteclient/rpc.ts';
import type { KeyValueStore } from './idb.ts';
import { readPin, writePin, type ChainPin } from './storage.ts';

/** The node is on another chain (or config) than the pinned one. */
export class ChainMovedError extends TamperError {
  override name = 'ChainMovedError';
  constructor(
    readonly view: ChainView,
    readonly pin: ChainPin,
  ) {
    super(
      `the node is on chain ${view.genesis.slice(0, 16)}… (consensus ${view.consensus.hash.slice(0, 16)}…), ` +
        `this wallet is pinned to ${pin.chain.slice(0, 16)}… (consensus ${pin.consensus.slice(0, 16)}…); ` +
        'the Chain screen can pin the new chain if you trust it',
    );
  }
}

/** The node's chain, which must be the pinned one; pins it when nothing is pinned yet. */
export async function pinnedChain(call: Call, kv: KeyValueStore): Promise<ChainView> {
  const view = await readChain(call);
  const pin = await readPin(kv);
  if (pin === undefined) {
    await writePin(kv, { chain: view.genesis, consensus: view.consensus.hash });
    return view;
  }
  if (view.genesis !== pin.chain || view.consensus.hash !== pin.consensus) throw new ChainMovedError(view, pin);
  return view;
}

/** Pins the chain the node is on now (checked for consistency first). */
export async function repin(call: Call, kv: KeyValueStore): Promise<ChainView> {
  const view = await readChain(call);
  await writePin(kv, { chain: view.genesis, consensus: view.consensus.hash });
  return view;
}
