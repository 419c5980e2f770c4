import { genesisTemplate, makeBlock, type Block, type ConsensusConfig, type Tx } from '../../consensus/index.ts';
import { PowWorker } from './pow.ts';

/**
 * Mines the genesis block for `config` paying the first reward to `minter`; `importTxs` (the
 * existing tables and rows, server/sql/import.ts, made with the same `time`) follow the coinbase.
 */
export async function mineGenesis(config: ConsensusConfig, minter: string, time = Date.now(), importTxs: readonly Tx[] = []): Promise<Block> {
  const { header, txs } = genesisTemplate(config, minter, time, importTxs);
  const pow = new PowWorker();
  try {
    const r = await pow.search(header);
    if ('cancelled' in r) throw new Error('genesis mining was cancelled');
    return makeBlock({ ...header, nonce: r.nonce }, txs);
  } finally {
    await pow.close();
  }
}
