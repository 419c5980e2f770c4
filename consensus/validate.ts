import { parseUnits } from './amount.ts';
import { blockWork, meetsTarget, merkleMatches, type Block, type BlockHeader } from './block.ts';
import { bitsForHeight, minTxForHeight, type ConsensusConfig } from './config.ts';
import { fail } from './errors.ts';
import { addressOfCheckedKey } from './keys.ts';
import { checkAllowed, isUnmanagedTable, sqlCost, type SqlAction } from './rules.ts';
import { hasValidSignature } from './sign.ts';
import type { Verifier } from './signature.ts';
import { outpoint, type ChainView } from './state.ts';
import { isCoinbase, type CoinbaseBody, type TransferBody, type Tx } from './tx.ts';

export const MAX_CLOCK_DRIFT_MS = 2 * 60 * 60 * 1000;
export const MEDIAN_TIME_SPAN = 11;

export interface TxContext {
  /** Height of the block the tx is (to be) mined in: rules are checked at this height. */
  height: number;
  /** The block's time, or now for pool admission. */
  time: number;
  verify?: Verifier;
  /** The node's SQL classifier; needed only for transactions that carry SQL. */
  classify?: (stmt: string) => SqlAction;
  /** True for a tx whose exact (txid, sig) this node verified before (a block's pool txs). */
  signatureKnownGood?: (tx: Tx) => boolean;
  /** Transactions made by `oursql init` from existing tables: exempt from rules and costs. */
  exemptSql?: boolean;
}

export interface TxCheck {
  /** Units the tx pays for its SQL (goes to PaidTransactionsWallet or is burned). */
  cost: bigint;
  actions: SqlAction[];
}

/** The one part of `checkTx` that depends on the block's time: a tx within 2 hours of it. */
export function checkTxTime(body: TransferBody, time: number): void {
  if (Math.abs(body.time - time) > MAX_CLOCK_DRIFT_MS) fail('bad-time', 'transaction time is more than 2 hours away from the block time', { time: body.time });
}

/** Full validity of a non-coinbase transaction on a branch (SPEC 2). Throws ConsensusError. */
export function checkTx(tx: Tx, view: ChainView, cfg: ConsensusConfig, ctx: TxContext): TxCheck {
  const body = tx.body;
  if (isCoinbase(body)) fail('bad-encoding', 'a coinbase is only valid as the first transaction of a block');
  if (body.chain !== view.genesis) fail('wrong-chain', 'transaction belongs to another chain', { chain: body.chain });
  checkTxTime(body, ctx.time);
  if (view.hasTx(tx.id)) fail('duplicate-tx', `transaction ${tx.id} is already in the chain`, { txid: tx.id });
  if (!ctx.signatureKnownGood?.(tx) && !hasValidSignature(tx, ctx.verify)) fail('bad-signature', 'signature does not match the transaction and its from key', { txid: tx.id });

  const owner = addressOfCheckedKey(body.from);
  const seen = new Set<string>();
  let sumIn = 0n;
  for (const input of body.in) {
    const key = outpoint(input.tx, input.n);
    if (seen.has(key)) fail('double-spend', `input ${key} is spent twice in one transaction`, { input: key });
    seen.add(key);
    const coin = view.unspent(input.tx, input.n);
    if (!coin) fail('missing-input', `input ${key} does not exist or is already spent`, { input: key });
    if (coin.to !== owner) fail('not-owner', `input ${key} does not belong to ${owner}`, { input: key });
    sumIn += coin.amount;
  }
  const sumOut = body.out.reduce((s, o) => s + parseUnits(o.amount), 0n);
  if (sumIn !== sumOut) fail('unbalanced', `inputs (${sumIn}) and outputs (${sumOut}) differ`, { in: String(sumIn), out: String(sumOut) });

  if (!body.sql) return { cost: 0n, actions: [] };
  if (!ctx.classify) fail('sql-refused', 'this validator cannot check SQL transactions');
  const actions = body.sql.stmts.map(ctx.classify);
  for (const a of actions) {
    if (isUnmanagedTable(cfg, a.table)) fail('sql-refused', `table ${a.table} is unmanaged: its SQL is not replicated`, { table: a.table });
  }
  // Undo runs as it came when a node undoes its pool or drops the block: it may only be what a
  // statement may be (one write, no executable comments), on a table the statements change.
  const tables = new Set(actions.map((a) => a.table));
  for (const stmt of body.sql.undo) {
    let table: string;
    try {
      table = ctx.classify(stmt).table;
    } catch (e) {
      fail('sql-refused', `undo statement refused: ${(e as Error).message}`, { stmt });
    }
    if (!tables.has(table)) fail('sql-refused', `undo statement on table ${table}, which the transaction does not change`, { stmt });
  }
  for (const [ref, base] of Object.entries(body.sql.base)) {
    if (view.latestOnRef(ref) !== base) fail('stale-base', `row ${ref} was changed by another transaction since this one was prepared`, { ref, base });
  }
  if (ctx.exemptSql) return { cost: 0n, actions };
  checkSqlKind(body.sql.refs, actions);
  for (const a of actions) checkAllowed(cfg, a, ctx.height);
  const cost = sqlCost(cfg, actions, ctx.height);
  if (cost > 0n) {
    const payee = cfg.paidTransactionsWallet;
    const paid = body.out.some((o) => o.to === payee && parseUnits(o.amount) === cost);
    if (!paid) {
      fail('sql-unpaid', `this SQL costs ${cost} units, to be paid as one output to ${payee ?? 'burn (to: null)'}`, { cost: String(cost), to: payee });
    }
  }
  return { cost, actions };
}

/** What a header is checked against: its parent and the recent past of its branch. */
export interface HeaderContext {
  parent: BlockHeader;
  /** Median time of the last 11 blocks ending at the parent. */
  medianTimePast: number;
  now: number;
}

export function medianTime(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Header rules that need no transactions: linkage, height, time, PoW target (SPEC 3). */
export function checkHeader(cfg: ConsensusConfig, header: BlockHeader, hash: string, ctx: HeaderContext): void {
  if (header.height !== ctx.parent.height + 1) fail('bad-block', `height ${header.height} does not follow parent height ${ctx.parent.height}`);
  const bits = bitsForHeight(cfg, header.height);
  if (header.bits !== bits) fail('bad-pow', `block at height ${header.height} must have bits ${bits}, has ${header.bits}`);
  if (!meetsTarget(hash, header.bits)) fail('bad-pow', `block hash ${hash} does not meet its proof-of-work target`);
  if (header.time <= ctx.medianTimePast) fail('bad-time', 'block time is not after the median of the last 11 blocks');
  if (header.time >= ctx.now + MAX_CLOCK_DRIFT_MS) fail('bad-time', 'block time is more than 2 hours in the future');
}

/** Whether a block at `height` with `txCount` non-coinbase txs is full enough (SPEC 3). */
export function hasEnoughTxs(cfg: ConsensusConfig, height: number, txCount: number, time: number, parentTime: number): boolean {
  if (txCount >= minTxForHeight(cfg, height)) return true;
  const interval = cfg.maxBlockIntervalSeconds;
  return interval > 0 && txCount >= 1 && time - parentTime >= interval * 1000;
}

/** Block rules over its transaction list; each tx is then checked with checkTx in order. */
export function checkBlockShape(cfg: ConsensusConfig, block: Block, parentTime: number, genesis: string): void {
  const { header, txs } = block;
  if (!merkleMatches(block)) fail('bad-block', 'merkle root does not match the transactions');
  // Merkle trees with a repeated last node let [..., t, t] share a root with [..., t] (CVE-2012-2459):
  // refuse repeats here, before the block is stored, so the real block's hash is never marked bad.
  if (new Set(txs.map((t) => t.id)).size !== txs.length) fail('bad-block', 'block lists a transaction twice');
  const count = txs.length - 1;
  if (count > cfg.maxNumberTransactionInBlock) fail('bad-block', `block has ${count} transactions, at most ${cfg.maxNumberTransactionInBlock} allowed`);
  if (!hasEnoughTxs(cfg, header.height, count, header.time, parentTime)) {
    fail('bad-block', `block at height ${header.height} needs at least ${minTxForHeight(cfg, header.height)} transactions, has ${count}`);
  }
  checkCoinbase(cfg, txs[0], header.height, genesis);
  if (txs.slice(1).some((t) => isCoinbase(t.body))) fail('bad-block', 'only the first transaction may be a coinbase');
}

export function checkCoinbase(cfg: ConsensusConfig, tx: Tx, height: number, chain: string): void {
  if (!tx || !isCoinbase(tx.body)) fail('bad-block', 'the first transaction must be the coinbase');
  const cb = tx.body as CoinbaseBody;
  if (cb.coinbase !== height) fail('bad-block', `coinbase height ${cb.coinbase} is not the block height ${height}`);
  if (cb.chain !== chain) fail('wrong-chain', 'coinbase belongs to another chain');
  if (parseUnits(cb.out[0].amount) !== cfg.coinsForBlockMade) fail('bad-block', `coinbase must pay exactly ${cfg.coinsForBlockMade} units`);
}

export { blockWork };

/**
 * A tx changes either schema or rows (our decision, docs/consensus.md "Schema changes and row
 * changes"): a schema change names each of its tables as `table:*`, and a tx naming `table:*`
 * holds one statement, a schema change. A node runs the two kinds differently (a schema change commits by
 * itself, and is undone from the node's own copy of the table), and a `table:*` ref bases only on
 * the table's last schema change: rows changed under it would escape their bases. Table names are
 * compared without case (the ref carries the name the server stores, which may be lower case).
 */
export function checkSqlKind(refs: readonly string[], actions: readonly SqlAction[]): void {
  const whole = new Set(refs.filter((r) => r.endsWith(':*')).map((r) => r.slice(0, -2).toLowerCase()));
  // one statement: MySQL commits around each, so a second one failing would leave the first done
  if (whole.size > 0 && actions.length > 1) fail('sql-refused', `a schema change is one statement (this transaction holds ${actions.length})`);
  for (const a of actions) {
    if (a.schema && !whole.has(a.table.toLowerCase())) {
      fail('sql-refused', `a schema change of table ${a.table} must name it as ${a.table}:* in its refs`, { table: a.table });
    }
    if (!a.schema && whole.size > 0) {
      fail('sql-refused', `a transaction that names a whole table (${[...whole].map((t) => `${t}:*`).join(', ')}) may hold only schema changes, not row changes (${a.op.toUpperCase()})`, { table: a.table });
    }
  }
}
