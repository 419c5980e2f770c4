/**
 * What a node says its chain is, checked for consistency before anything is signed for it: the
 * genesis block must hash to the genesis hash the node names and commit to the consensus config the
 * node serves. Pure (RPC calls only): oursql-remote and the web signer both pin what this returns.
 */
import { z } from 'zod';
import { blockHash, parseConsensusConfig, type ConsensusConfig } from '../consensus/index.ts';
import { Hash, Header } from '../server/rpc/shapes.ts';
import { TamperError } from './errors.ts';
import type { Call } from './rpc.ts';

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
