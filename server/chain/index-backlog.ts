import type { ConfirmedCoin, IndexRows } from './state.ts';

/**
 * Index rows (utxo, refs, txindex, addr_txs) of connected blocks that MySQL has not got yet, and
 * their txs whose bodies are still in the pool table.
 *
 * A block's commit holds what a restart cannot rebuild: its row, the active-chain row, its
 * application SQL and its bodies (in `txs`, or for a block made of pooled txs, in the `pool` rows
 * that hold them already). Its index rows (about three per tx) are derived from its txs, so they
 * are kept here and written later, many blocks in one transaction, with `meta.index_tip` naming the
 * block the tables then reach (Bitcoin's chainstate cache does the same); that transaction also
 * moves the pooled bodies to `txs`. After a crash the node replays the txs of the blocks after
 * `index_tip` (Chain.open). Memory holds the same state, so validation reads nothing here; lookups
 * that read the tables merge these rows, and body reads fall back to the pool table.
 */
export class IndexBacklog implements IndexRows {
  readonly utxo = new Map<string, ConfirmedCoin | null>();
  readonly refs = new Map<string, string | null>();
  readonly index = new Map<string, readonly [number, number] | null>();
  readonly addresses = new Map<string, { addresses: string[]; added: boolean }>();
  /** Txs of connected blocks whose pool rows (bodies) are moved to `txs` when these rows are written. */
  readonly pooled = new Set<string>();
  /** The block the tables reach once these rows are written. */
  tip?: string;

  /** Adds the rows of blocks connected up to `tip`, later changes replacing earlier ones. */
  add(rows: IndexRows, tip: string, pooled: Iterable<string> = []): void {
    for (const id of pooled) this.pooled.add(id);
    for (const [k, v] of rows.utxo) this.utxo.set(k, v);
    for (const [k, v] of rows.refs) this.refs.set(k, v);
    for (const [k, v] of rows.index) this.index.set(k, v);
    for (const [k, v] of rows.addresses) this.addresses.set(k, v);
    this.tip = tip;
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
