/** setnode URL: the node this client talks to, and the chain it is pinned to from then on. */
import { readChain } from '../chain.ts';
import { emit, note } from '../output.ts';
import { nodeClient } from '../rpc.ts';
import { openSession, type RemoteOptions } from '../session.ts';
import { normalizeNodeUrl, writeSettings } from '../settings.ts';

export async function setNodeCommand(url: string, opts: RemoteOptions): Promise<void> {
  const node = normalizeNodeUrl(url);
  const s = await openSession(opts);
  const chain = await readChain(nodeClient(node));
  if (s.settings.chain !== undefined && s.settings.chain !== chain.genesis) {
    note(`note: this client was pinned to chain ${s.settings.chain}; it is now pinned to ${chain.genesis}`);
  }
  await writeSettings(s.paths.settings, { node, chain: chain.genesis, consensus: chain.consensus.hash });
  const out = { node, chain: chain.genesis, consensus: chain.consensus.hash, height: chain.height };
  emit(opts, out, `node ${node}: chain ${chain.genesis} at height ${chain.height}`);
}
