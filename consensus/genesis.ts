import { blockHash, meetsTarget, merkleRoot, type Block, type BlockHeader } from './block.ts';
import { bitsForHeight, type ConsensusConfig } from './config.ts';
import { checkAddress } from './keys.ts';
import { makeTx, type Tx } from './tx.ts';

/**
 * The genesis block commits to the consensus config: its `prev` is the config hash, and its
 * coinbase's `chain` is the config hash too (the genesis hash cannot be known inside itself).
 * Every later transaction names the genesis hash as its chain.
 */
export function genesisTemplate(cfg: ConsensusConfig, minter: string, time: number): { header: Omit<BlockHeader, 'nonce'>; txs: Tx[] } {
  const coinbase = makeCoinbase(cfg.hash, 0, minter, cfg.coinsForBlockMade);
  return {
    header: { v: 1, height: 0, prev: cfg.hash, merkle: merkleRoot([coinbase.id]), time, bits: bitsForHeight(cfg, 0) },
    txs: [coinbase],
  };
}

export function makeCoinbase(chain: string, height: number, minter: string, units: bigint): Tx {
  return makeTx({ v: 1, chain, coinbase: height, out: [{ to: checkAddress(minter, 'minter'), amount: units.toString() }] });
}

/** Plain nonce search: fine for tests and genesis; the node mines off-thread with node:crypto. */
export function mineSync(header: Omit<BlockHeader, 'nonce'>, startNonce = 0): BlockHeader {
  for (let nonce = startNonce; ; nonce++) {
    const h = { ...header, nonce };
    if (meetsTarget(blockHash(h), h.bits)) return h;
  }
}

export function isGenesisOf(block: Block, cfg: ConsensusConfig): boolean {
  return block.header.height === 0 && block.header.prev === cfg.hash;
}
