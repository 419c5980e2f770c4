/**
 * After a fork switch: the node's own proxy-signed SQL txs that were dropped because a row they
 * touched changed on the winning branch (or because they grew too old for any next block while
 * the node was down) are run again on the new state, as new txs signed by the same key (SPEC 8).
 * Other nodes never re-sign them: they only drop them, and get the new tx by relay.
 *
 * A re-run is one more copy of the client's write, so each is recorded with the write it re-runs
 * (the chain's `rebased` table, in the commit of its pool entry). A dropped copy is not run again
 * while any copy of its line is in the chain: when the network flips back to a branch on which the
 * original was mined after all, the write already counts once there (docs/protocol.md, "Re-bases").
 * What became of each is stored with the dropped tx (the chain's `dropped` table): one a stop or a
 * crash left undone is resumed at the next start.
 */
import { ConsensusError, sqlOf } from '../../consensus/index.ts';
import type { Chain, DroppedTx } from '../chain/engine.ts';
import { REBASED_CODES } from '../chain/store.ts';
import { mysql2Executor } from '../sql/mysql-executor.ts';
import { isLockError } from '../sql/errors.ts';
import type { ReplicatedWrites } from '../sql/replicate.ts';
import type { Pool } from 'mysql2/promise';

/**
 * A re-base that blocks or clients keep pushing back (a lock error, 1213 or 1205) is tried again
 * until it runs: its client was told the write happened, and a lock is always let go in the end.
 * The wait grows to RETRY_MAX_MS; a note is logged once it has been tried NOTE_AFTER times.
 */
const RETRY_MS = 200;
const RETRY_MAX_MS = 2000;
const NOTE_AFTER = 5;

/** Re-bases run one after another; `pending` counts those queued or running. */
export function rebaseOwnTxs(
  chain: Pick<Chain, 'on' | 'off' | 'state' | 'store' | 'unsettledDrops'>,
  writes: Pick<ReplicatedWrites, 'rerun' | 'signerPubkey'>,
  mysql: Pool,
  log: (m: string) => void,
  retryMs = RETRY_MS,
): { stop: () => void; pending: () => number } {
  let queue = Promise.resolve();
  let stopped = false;
  let pending = 0;
  /** Shown by `oursql pool`; stored, except on success, where it commits with the new tx. */
  const settle = (d: DroppedTx, outcome: string) => {
    d.rebase = outcome;
    chain.store.mysql.query(chain.store.rebaseOutcomeSql(d.tx.id, outcome)).catch((e: Error) => log(`pool: could not store what became of ${d.tx.id}: ${e.message}`));
  };
  const rebase = async (d: DroppedTx) => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        const line = await chain.store.rebaseLine(d.tx.id);
        const inChain = () => line.txids.find((id) => chain.state.hasTx(id));
        const already = inChain();
        if (already) throw alreadyInChain(already);
        const conn = await mysql.getConnection();
        try {
          const r = await writes.rerun(mysql2Executor(conn), sqlOf(d.tx)!.stmts, {
            // checked again where the tx is made: a switch may have brought a copy in meanwhile
            guard: () => {
              const hit = inChain();
              if (hit) throw alreadyInChain(hit);
            },
            persist: (txid) => [chain.store.rebasedInsertSql(txid, line.origin), chain.store.rebaseOutcomeSql(d.tx.id, `re-based as ${txid}`)],
            extraRefs: sqlOf(d.tx)!.refs,
          });
          if (r.txid) d.rebase = `re-based as ${r.txid}`;
          else settle(d, 'not re-based: it changes nothing on the new chain');
          log(r.txid ? `pool: re-based ${d.tx.id} on the new chain as ${r.txid}` : `pool: ${d.tx.id} changes nothing on the new chain: not re-based`);
        } finally {
          conn.release();
        }
        return;
      } catch (e) {
        if (stopped) return;
        if (e instanceof ConsensusError && e.code === 'duplicate-tx') {
          settle(d, `not re-based: ${e.message}`);
          log(`pool: ${d.tx.id} not re-based: ${e.message}`);
          return;
        }
        if (!isLockError((e as { errno?: number }).errno)) {
          settle(d, `could not re-base: ${(e as Error).message}`);
          log(`pool: could not re-base ${d.tx.id}: ${(e as Error).message}`);
          return;
        }
        if (attempt === NOTE_AFTER) {
          d.rebase = 'to re-base: its rows are locked, still trying';
          log(`pool: re-basing ${d.tx.id} keeps meeting locked rows (${(e as Error).message}); still trying`);
        }
        await new Promise((r) => setTimeout(r, Math.min(retryMs * attempt, RETRY_MAX_MS)));
      }
    }
  };
  const onDropped = (list: DroppedTx[]) => {
    const own = list.filter((d) => d.code !== undefined && REBASED_CODES.has(d.code) && sqlOf(d.tx) && 'from' in d.tx.body && d.tx.body.from === writes.signerPubkey);
    for (const d of own) {
      d.rebase = 'to re-base';
      pending++;
      queue = queue.then(() => rebase(d)).finally(() => pending--);
    }
  };
  onDropped(chain.unsettledDrops); // left undone by a stop or a crash
  chain.on('dropped', onDropped);
  return {
    stop: () => {
      stopped = true;
      chain.off('dropped', onDropped);
    },
    pending: () => pending,
  };
}

const alreadyInChain = (txid: string) =>
  new ConsensusError('duplicate-tx', `the write it re-runs is in the chain as ${txid}`, { txid });
