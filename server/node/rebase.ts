/**
 * After a fork switch: the node's own proxy-signed SQL txs that were dropped because a row they
 * touched changed on the winning branch are run again on the new state, as new txs signed by the
 * same key (SPEC 8). Other nodes never re-sign them: they only drop them, and get the new tx by relay.
 */
import { sqlOf } from '../../consensus/index.ts';
import type { Chain, DroppedTx } from '../chain/engine.ts';
import { mysql2Executor } from '../sql/mysql-executor.ts';
import { isLockError } from '../sql/errors.ts';
import type { ReplicatedWrites } from '../sql/replicate.ts';
import type { Pool } from 'mysql2/promise';

/** Tries of one re-base that blocks keep pushing back (a lock error, 1213 or 1205, from the write path). */
const TRIES = 5;
const RETRY_MS = 200;

export function rebaseOwnTxs(chain: Chain, writes: ReplicatedWrites, mysql: Pool, log: (m: string) => void): () => void {
  let queue = Promise.resolve();
  let stopped = false;
  const rebase = async (d: DroppedTx) => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        const conn = await mysql.getConnection();
        try {
          const r = await writes.rerun(mysql2Executor(conn), sqlOf(d.tx)!.stmts);
          log(r.txid ? `pool: re-based ${d.tx.id} on the new chain as ${r.txid}` : `pool: ${d.tx.id} changes nothing on the new chain: not re-based`);
        } finally {
          conn.release();
        }
        return;
      } catch (e) {
        const again = isLockError((e as { errno?: number }).errno) && attempt < TRIES;
        if (!again || stopped) {
          if (!stopped) log(`pool: could not re-base ${d.tx.id}: ${(e as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_MS * attempt));
      }
    }
  };
  const onDropped = (list: DroppedTx[]) => {
    const own = list.filter((d) => d.code === 'stale-base' && sqlOf(d.tx) && 'from' in d.tx.body && d.tx.body.from === writes.signerPubkey);
    for (const d of own) queue = queue.then(() => rebase(d));
  };
  chain.on('dropped', onDropped);
  return () => {
    stopped = true;
    chain.off('dropped', onDropped);
  };
}
