/**
 * The chain a signature is for. The first time the client talks to a node (or at `setnode`) it
 * checks that the genesis block commits to the consensus config the node serves and pins both
 * hashes; later, a node on another chain or with another config is refused before anything is
 * signed.
 */
import { z } from 'zod';
import { blockHash, parseConsensusConfig, type ConsensusConfig } from '../consensus/index.ts';
import { Hash, Header } from '../server/rpc/shapes.ts';
import { TamperError } from './errors.ts';
import type { Call } from './rpc.ts';
import { writeSettings, type Settings } from './settings.ts';

const ChainInfo = z.object({ genesis: Hash, height: z.number().int().min(0) });
const Consensus = z.object({ hash: Hash, genesis: Hash, config: z.record(z.string(), z.unknown()) });
const GenesisWire = z.object({ header: Header, txs: z.array(z.unknown()) });

export interface ChainView {
  genesis: string;
  consensus: ConsensusConfig;
  /** Height of the node's tip: a new tx is checked at height + 1. */
  height: number;
}

/** What the node says its chain is, checked for consistency (genesis ↔ consensus hash). */
export async function readChain(call: Call): Promise<ChainView> {
  const info = await call('getblockchaininfo', [], ChainInfo);
  const c = await call('getconsensus', [], Consensus);
  let consensus: ConsensusConfig;
  try {
    consensus = parseConsensusConfig(c.config);
  } catch (e) {
    throw new TamperError(`the node serves a consensus config that does not parse: ${(e as Error).message}`);
  }
  if (consensus.hash !== c.hash) throw new TamperError(`the node's consensus config hashes to ${consensus.hash}, not the ${c.hash} it claims`);
  if (c.genesis !== info.genesis) throw new TamperError('the node names two different genesis blocks');
  const genesis = await call('getblock', [info.genesis, 0], GenesisWire);
  if (blockHash(genesis.header) !== info.genesis || genesis.header.height !== 0) throw new TamperError('the genesis block the node sends does not hash to its genesis hash');
  if (genesis.header.prev !== consensus.hash) throw new TamperError('the genesis block does not commit to the consensus config the node serves');
  return { genesis: info.genesis, consensus, height: info.height };
}

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
