/**
 * The chain a signature is for. The first time the client talks to a node (or at `setnode`) it
 * checks that the genesis block commits to the consensus config the node serves and pins both
 * hashes; later, a node on another chain or with another config is refused before anything is
 * signed.
 */
import { readChain, type ChainView } from './chain-read.ts';
import { TamperError } from './errors.ts';
import type { Call } from './rpc.ts';
import { writeSettings, type Settings } from './settings.ts';

export { readChain, type ChainView };

/**
 * The node's chain, which must be the pinned one; pins it when nothing is pinned yet (the settings
 * are saved then). `settingsFile` is where the pin is written.
 */
export async function pinnedChain(call: Call, settings: Settings, settingsFile: string): Promise<ChainView> {
  const view = await readChain(call);
  if (settings.chain === undefined) {
    await writeSettings(settingsFile, { ...settings, chain: view.genesis, consensus: view.consensus.hash });
    return view;
  }
  if (view.genesis !== settings.chain || view.consensus.hash !== settings.consensus) {
    throw new TamperError(
      `the node at ${settings.node} is on chain ${view.genesis.slice(0, 16)}… (consensus ${view.consensus.hash.slice(0, 16)}…), ` +
        `this client is pinned to ${settings.chain.slice(0, 16)}… (consensus ${settings.consensus?.slice(0, 16)}…); ` +
        'run `oursql-remote setnode URL` to move to another chain',
    );
  }
  return view;
}
