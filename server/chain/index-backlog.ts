import type { ConfirmedCoin, IndexRows } from './state.ts';

/**
 * Index rows (utxo, refs, txindex, addr_txs) of connected blocks that MySQL has not got yet.
 *
 * A block's commit holds what a restart cannot rebuild: its row, the active-chain row, its
 * application SQL and the pool. Its index rows (about three per tx) are derived from its txs, so
 * they are kept here and written later, many blocks in one transaction, with `meta.index_tip`
 * naming the block the tables then reach (Bitcoin's chainstate cache does the same). After a
 * crash the node replays the txs of the blocks after `index_tip` (Chain.open). Memory holds the
 * same state, so validation reads nothing here; lookups that read the tables merge these rows.
 */
export class IndexBacklog implements IndexRows {
  readonly utxo = new Map<string, ConfirmedCoin | null>();
  readonly refs = new Map<string, string | null>();
  readonly index = new Map<string, readonly [number, number] | null>();
  readonly addresses = new Map<string, { addresses: string[]; added: boolean }>();
  /** The block the tables reach once these rows are written. */
  tip?: string;
  blocks = 0;

  /** Adds the rows of blocks connected up to `tip`, later changes replacing earlier ones. */
  add(rows: IndexRows, tip: string, blocks: number): void {
    for (const [k, v] of rows.utxo) this.utxo.set(k, v);
    for (const [k, v] of rows.refs) this.refs.set(k, v);
    for (const [k, v] of rows.index) this.index.set(k, v);
    for (const [k, v] of rows.addresses) this.addresses.set(k, v);
    this.tip = tip;
    this.blocks += blocks;
  }

  get rows(): number {
    return this.utxo.size + this.refs.size + this.index.size + this.addresses.size;
  }
  get empty(): boolean {
    return this.tip === undefined;
  }

  /** Where the backlog puts `txid`: [height, pos], null when it removes it, undefined when it does not know. */
  location(txid: string): readonly [number, number] | null | undefined {
    return this.index.get(txid);
  }
}
