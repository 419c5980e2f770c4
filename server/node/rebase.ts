/**
 * After a fork switch: the node's own proxy-signed SQL txs that were dropped because a row they
 * touched changed on the winning branch are run again on the new state, as new txs signed by the
 * same key (SPEC 8). Other nodes never re-sign them: they only drop them, and get the new tx by relay.
 */
import { sqlOf } from '../../consensus/index.ts';
import type { Chain, DroppedTx } from '../chain/engine.ts';
import { mysql2Executor } from '../sql/mysql-executor.ts';
import type { ReplicatedWrites } from '../sql/replicate.ts';
import type { Pool } from 'mysql2/promise';

export function rebaseOwnTxs(chain: Chain, writes: ReplicatedWrites, mysql: Pool, log: (m: string) => void): () => void {
  let queue = Promise.resolve();
  const onDropped = (list: DroppedTx[]) => {
    const own = list.filter((d) => d.code === 'stale-base' && sqlOf(d.tx) && 'from' in d.tx.body && d.tx.body.from === writes.signerPubkey);
    for (const d of own) {
      queue = queue.then(async () => {
        const conn = await mysql.getConnection();
        try {
          const r = await writes.rerun(mysql2Executor(conn), sqlOf(d.tx)!.stmts);
          log(r.txid ? `pool: re-based ${d.tx.id} on the new chain as ${r.txid}` : `pool: ${d.tx.id} changes nothing on the new chain: not re-based`);
        } catch (e) {
          log(`pool: could not re-base ${d.tx.id}: ${(e as Error).message}`);
        } finally {
          conn.release();
        }
      });
    }
  };
  chain.on('dropped', onDropped);
  return () => chain.off('dropped', onDropped);
}
