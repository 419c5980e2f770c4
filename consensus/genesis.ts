import { blockHash, meetsTarget, merkleRoot, type Block, type BlockHeader } from './block.ts';
import { bitsForHeight, type ConsensusConfig } from './config.ts';
import { fail } from './errors.ts';
import { checkAddress } from './keys.ts';
import { hasValidSignature } from './sign.ts';
import type { Verifier } from './signature.ts';
import { isCoinbase, makeTx, type Tx } from './tx.ts';
import { checkCoinbase, MAX_CLOCK_DRIFT_MS } from './validate.ts';

/**
 * The genesis block commits to the consensus config: its `prev` is the config hash, and its
 * coinbase's `chain` is the config hash too (the genesis hash cannot be known inside itself).
 * Every later transaction names the genesis hash as its chain.
 *
 * `importTxs`: the tables and rows the application database held when `oursql init` ran, as signed
 * SQL transactions (server/sql/import.ts), after the coinbase. They name the config hash as their
 * chain too, and, being in the genesis, are exempt from the rules and costs (see checkGenesis).
 */
export function genesisTemplate(
  cfg: ConsensusConfig, minter: string, time: number, importTxs: readonly Tx[] = [],
): { header: Omit<BlockHeader, 'nonce'>; txs: Tx[] } {
  const coinbase = makeCoinbase(cfg.hash, 0, minter, cfg.coinsForBlockMade);
  const txs = [coinbase, ...importTxs];
  return {
    header: { v: 1, height: 0, prev: cfg.hash, merkle: merkleRoot(txs.map((t) => t.id)), time, bits: bitsForHeight(cfg, 0) },
    txs,
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

/**
 * Everything a genesis block must be for `cfg` (docs/consensus.md, Genesis). The genesis is not
 * checked against the consensus rules, block size or costs: it is made once, by `oursql init`,
 * and peers accept it by its hash, which commits to the config. Throws ConsensusError.
 *  - height 0, `prev` = config hash, bits = the bits of height 0, proof of work met, merkle root;
 *  - first tx: a coinbase for height 0 paying exactly `CoinsForBlockMade`, chain = config hash;
 *  - every other tx (the import of existing tables): a signed SQL transaction with chain = config
 *    hash, no inputs, no outputs, time within 2 h of the block's, a valid signature, listed once,
 *    and each `base` the previous genesis tx on that ref (or null), so refs chain as in later blocks.
 */
export function checkGenesis(block: Block, cfg: ConsensusConfig, verify?: Verifier): void {
  const { header, txs } = block;
  if (header.height !== 0) fail('bad-block', `a genesis block has height 0, this one ${header.height}`);
  if (header.prev !== cfg.hash) fail('bad-block', 'genesis block does not commit to this consensus config (its prev is not the config hash)');
  if (blockHash(header) !== block.hash) fail('bad-block', 'genesis hash does not match its header');
  const bits = bitsForHeight(cfg, 0);
  if (header.bits !== bits) fail('bad-pow', `genesis block must have bits ${bits}, has ${header.bits}`);
  if (!meetsTarget(block.hash, header.bits)) fail('bad-pow', 'genesis block has no valid proof of work');
  if (txs.length === 0) fail('bad-block', 'genesis block has no coinbase');
  if (merkleRoot(txs.map((t) => t.id)) !== header.merkle) fail('bad-block', 'genesis merkle root does not match its transactions');
  if (new Set(txs.map((t) => t.id)).size !== txs.length) fail('bad-block', 'genesis block lists a transaction twice');
  checkCoinbase(cfg, txs[0], 0, cfg.hash);
  const latest = new Map<string, string>();
  for (let i = 1; i < txs.length; i++) {
    const tx = txs[i];
    const body = tx.body;
    const where = `genesis tx ${i} (${tx.id})`;
    if (isCoinbase(body)) fail('bad-block', 'only the first transaction may be a coinbase');
    if (body.chain !== cfg.hash) fail('wrong-chain', `${where} must name the config hash as its chain`);
    if (body.in.length !== 0 || body.out.length !== 0) fail('bad-block', `${where} moves coins: genesis imports carry SQL only`);
    if (!body.sql) fail('bad-block', `${where} carries no SQL`);
    if (Math.abs(body.time - header.time) > MAX_CLOCK_DRIFT_MS) fail('bad-time', `${where} is more than 2 hours away from the genesis time`);
    if (!hasValidSignature(tx, verify)) fail('bad-signature', `${where}: signature does not match the transaction and its from key`);
    for (const ref of body.sql.refs) {
      if ((latest.get(ref) ?? null) !== body.sql.base[ref]) fail('stale-base', `${where}: base of ${ref} is not the previous genesis tx on it`, { ref });
      latest.set(ref, tx.id);
    }
  }
}
