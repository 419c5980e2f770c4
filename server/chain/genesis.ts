import { genesisTemplate, makeBlock, type Block, type ConsensusConfig } from '../../consensus/index.ts';
import { PowWorker } from './pow.ts';

/** Mines the genesis block for `config` paying the first reward to `minter`. */
export async function mineGenesis(config: ConsensusConfig, minter: string, time = Date.now()): Promise<Block> {
  const { header, txs } = genesisTemplate(config, minter, time);
  const pow = new PowWorker();
  try {
    const r = await pow.search(header);
    if ('cancelled' in r) throw new Error('genesis mining was cancelled');
    return makeBlock({ ...header, nonce: r.nonce }, txs);
  } finally {
    await pow.close();
  }
}
