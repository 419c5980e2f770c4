import {
  addressOf, ConsensusError, sqlCost, unitsToCoins, type SqlAction, type SqlPart, type TransferBody, type TxOutput,
} from '../../consensus/index.ts';
import type { Chain } from './engine.ts';

/** What the SQL layer produced for one blockchain transaction (one statement, or a whole BEGIN…COMMIT). */
export interface SqlChange {
  stmts: string[];
  undo: string[];
  refs: string[];
}

/** The table of a ref (`table:<pk>` or `table:*`); table names with a colon are not supported. */
export const tableOfRef = (ref: string): string => ref.slice(0, ref.indexOf(':'));

/** Some ref of `a` names a row (or table) of `b`; `t:*` covers every row of t. */
export function refsOverlap(a: readonly string[], b: ReadonlySet<string>): boolean {
  return a.some((r) => b.has(r) || b.has(`${tableOfRef(r)}:*`) || (r.endsWith(':*') && [...b].some((x) => tableOfRef(x) === tableOfRef(r))));
}

/**
 * Rows each statement of a tx may change at most, as MySQL counts affected rows: twice the rows its
 * refs name on the statement's table (an upsert or a REPLACE counts a row twice). A peer's tx whose
 * statement changes more touched rows it does not name, which its undo would not restore and no
 * base check would guard. A schema change (`table:*`) is not counted.
 */
export function rowLimits(sql: Pick<SqlPart, 'stmts' | 'refs'>, tableOf: (stmt: string) => string): number[] {
  if (sql.refs.some((r) => r.endsWith(':*'))) return sql.stmts.map(() => Infinity);
  const named = new Map<string, number>();
  for (const r of sql.refs) {
    const t = tableOfRef(r).toLowerCase();
    named.set(t, (named.get(t) ?? 0) + 1);
  }
  return sql.stmts.map((s) => 2 * (named.get(tableOf(s).toLowerCase()) ?? 0));
}

/** Throws when MySQL's answer to a statement says it changed more rows than `limit` (rowLimits). */
export function checkRowsChanged(result: unknown, limit: number, what: string, stmt: string): void {
  const n = (result as { affectedRows?: unknown } | null)?.affectedRows;
  if (typeof n === 'number' && n > limit) {
    throw new ConsensusError('bad-block', `SQL of ${what} changed ${n} rows, more than the ${limit / 2} its refs name on that table: a statement may change only the rows its transaction names`, { stmt });
  }
}

/** Joins the changes of several statements into one tx's SQL: undo of the last statement runs first. */
export function joinChanges(changes: readonly SqlChange[]): SqlChange {
  const refs = [...new Set(changes.flatMap((c) => c.refs))];
  return { stmts: changes.flatMap((c) => c.stmts), undo: [...changes].reverse().flatMap((c) => c.undo), refs };
}

/**
 * The unsigned body of an SQL transaction by `fromPubkey`: each ref's base is the latest tx on it
 * (pool included), and a paid statement carries its exact payment, funded from the signer's coins
 * with change back. Call it inside the chain's critical section so the bases cannot move.
 */
export function buildSqlBody(chain: Chain, fromPubkey: string, change: SqlChange, time = Date.now()): { body: TransferBody; cost: bigint; actions: SqlAction[] } {
  const view = chain.pool.view;
  const base: Record<string, string | null> = {};
  for (const ref of change.refs) base[ref] = view.latestOnRef(ref);
  const sql: SqlPart = { stmts: change.stmts, undo: change.undo, refs: change.refs, base };
  const classify = chain.opts.classify;
  if (!classify) throw new ConsensusError('sql-refused', 'this node cannot check SQL transactions');
  const actions = change.stmts.map(classify);
  const cost = sqlCost(chain.config, actions, chain.height + 1);
  const body: TransferBody = { v: 1, chain: chain.genesis, time, from: fromPubkey, in: [], out: [], sql };
  if (cost === 0n) return { body, cost, actions };

  const from = addressOf(fromPubkey);
  const coins = chain.spendableNow(from);
  let sum = 0n;
  for (const c of coins) {
    if (sum >= cost) break;
    body.in.push({ tx: c.txid, n: c.n });
    sum += c.amount;
  }
  if (sum < cost) {
    throw new ConsensusError('insufficient-funds', `this SQL costs ${unitsToCoins(cost)} coins and ${from} has ${unitsToCoins(coins.reduce((s, c) => s + c.amount, 0n))}`, {
      address: from, cost: cost.toString(),
    });
  }
  const out: TxOutput[] = [{ to: chain.config.paidTransactionsWallet, amount: cost.toString() }];
  if (sum > cost) out.push({ to: from, amount: (sum - cost).toString() });
  body.out = out;
  return { body, cost, actions };
}
