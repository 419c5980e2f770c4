/**
 * JSON shapes the RPC returns for blocks and transactions. Bodies and headers are returned exactly
 * as hashed (amounts in base units), so a client can re-check them; summaries add coins for people.
 */
import { addressOf, blockToWire, isCoinbase, parseUnits, unitsToCoins, type Block, type Tx } from '../../consensus/index.ts';
import type { Chain } from '../chain/engine.ts';
import type { PoolEntry } from '../chain/pool.ts';
import type { StoredHeader } from '../chain/store.ts';

/** Confirmations of a block at `height` on the active branch (bitcoind: -1 for a side branch). */
export function confirmations(chain: Chain, height: number, active: boolean): number {
  return active ? chain.height - height + 1 : -1;
}

export function headerView(chain: Chain, h: StoredHeader) {
  const active = chain.isActive(h.hash);
  return {
    hash: h.hash,
    height: h.header.height,
    confirmations: confirmations(chain, h.header.height, active),
    header: h.header,
    /** Cumulative work up to this block (decimal string). */
    work: h.work.toString(),
    next: active ? (chain.blockHashAt(h.header.height + 1) ?? null) : null,
    ntx: h.txids.length,
    /** Hash of the row images the block's SQL left here (SPEC 9); null until this node connected it. */
    stateDigest: h.digest ?? null,
  };
}

export type Verbosity = 0 | 1 | 2;

/** getblock: 0 = the wire form peers exchange, 1 = header view with txids, 2 = with full txs. */
export function blockView(chain: Chain, h: StoredHeader, block: Block, verbosity: Verbosity) {
  if (verbosity === 0) return blockToWire(block);
  const base = headerView(chain, h);
  return verbosity === 1 ? { ...base, txs: h.txids } : { ...base, txs: block.txs.map(txWire) };
}

/** A transaction exactly as stored (body in units, signature), with its id. */
export function txWire(tx: Tx) {
  return tx.sig === undefined ? { txid: tx.id, body: tx.body } : { txid: tx.id, body: tx.body, sig: tx.sig };
}

/** Sender address, or null for a coinbase. */
export function senderOf(tx: Tx): string | null {
  return isCoinbase(tx.body) ? null : addressOf(tx.body.from);
}

/** Outputs in coins, for people. */
export function outputsInCoins(tx: Tx): { to: string | null; amount: string }[] {
  return tx.body.out.map((o) => ({ to: o.to, amount: unitsToCoins(parseUnits(o.amount)) }));
}

/** Coins a tx moves away from its sender (outputs not back to the sender; change excluded). */
export function amountSent(tx: Tx): string {
  const from = senderOf(tx);
  return unitsToCoins(tx.body.out.filter((o) => o.to !== from).reduce((s, o) => s + parseUnits(o.amount), 0n));
}

export function poolEntryView(e: PoolEntry) {
  return {
    txid: e.tx.id,
    from: e.from,
    amount: amountSent(e.tx),
    out: outputsInCoins(e.tx),
    /** Coins the sender's inputs held (amount + change + SQL cost). */
    spends: unitsToCoins(e.spends),
    cost: unitsToCoins(e.cost),
    time: isCoinbase(e.tx.body) ? null : e.tx.body.time,
    added: e.added,
    sql: isCoinbase(e.tx.body) ? undefined : e.tx.body.sql?.stmts,
  };
}
