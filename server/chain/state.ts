import { addressOfCheckedKey, outpoint, parseUnits, type ChainView, type Coin, type Tx, type TxBody, isCoinbase } from '../../consensus/index.ts';

/** An unspent output on the active branch, with the height of the block that made it. */
export interface ConfirmedCoin extends Coin { height: number }

/**
 * The active branch's spendable state, in memory for fast validation and balances. The same data
 * is in `<db>_chain`.utxo/refs/txindex, written a moment after each block (index-backlog.ts).
 */
export class ConfirmedState implements ChainView {
  readonly utxo = new Map<string, ConfirmedCoin>();
  readonly refs = new Map<string, string>();
  readonly txids = new Set<string>();
  /** address → its unspent outpoints, so coin selection needs no MySQL query. */
  readonly byAddress = new Map<string | null, Set<string>>();

  constructor(public genesis: string) {}

  addCoin(key: string, coin: ConfirmedCoin): void {
    const old = this.utxo.get(key);
    if (old) this.byAddress.get(old.to)?.delete(key);
    this.utxo.set(key, coin);
    let set = this.byAddress.get(coin.to);
    if (!set) this.byAddress.set(coin.to, (set = new Set()));
    set.add(key);
  }

  deleteCoin(key: string): void {
    const old = this.utxo.get(key);
    if (!old) return;
    this.utxo.delete(key);
    this.byAddress.get(old.to)?.delete(key);
  }

  /** Confirmed unspent outputs of `address`, oldest first. */
  coinsOf(address: string): { txid: string; n: number; amount: bigint; height: number }[] {
    const out = [];
    for (const key of this.byAddress.get(address) ?? []) {
      const c = this.utxo.get(key)!;
      const i = key.lastIndexOf(':');
      out.push({ txid: key.slice(0, i), n: Number(key.slice(i + 1)), amount: c.amount, height: c.height });
    }
    return out.sort((a, b) => a.height - b.height || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.n - b.n));
  }

  /** Sum of the confirmed unspent outputs of `address`. */
  balanceOf(address: string): bigint {
    let sum = 0n;
    for (const key of this.byAddress.get(address) ?? []) sum += this.utxo.get(key)!.amount;
    return sum;
  }

  unspent(txid: string, n: number): ConfirmedCoin | undefined {
    return this.utxo.get(outpoint(txid, n));
  }
  latestOnRef(ref: string): string | null {
    return this.refs.get(ref) ?? null;
  }
  hasTx(txid: string): boolean {
    return this.txids.has(txid);
  }

  /** Folds a committed delta into memory (after its MySQL transaction committed). */
  merge(delta: StateDelta): void {
    for (const [k, c] of delta.utxo) c ? this.addCoin(k, c) : this.deleteCoin(k);
    for (const [r, t] of delta.refs) t ? this.refs.set(r, t) : this.refs.delete(r);
    for (const [t, present] of delta.txids) present ? this.txids.add(t) : this.txids.delete(t);
  }
}

/** Rows of the index tables (utxo, refs, txindex, addr_txs) to write; null or `added: false`: remove. */
export interface IndexRows {
  readonly utxo: ReadonlyMap<string, ConfirmedCoin | null>;
  readonly refs: ReadonlyMap<string, string | null>;
  /** txid → [height, pos] in the active chain. */
  readonly index: ReadonlyMap<string, readonly [number, number] | null>;
  /** txid → the addresses it touches. */
  readonly addresses: ReadonlyMap<string, { addresses: string[]; added: boolean }>;
}

/**
 * Changes to the confirmed state while blocks are applied or undone, not yet committed. It reads
 * through to its base, records every change for MySQL, and merges into memory only after COMMIT.
 */
export class StateDelta implements ChainView, IndexRows {
  /** null = deleted */
  readonly utxo = new Map<string, ConfirmedCoin | null>();
  readonly refs = new Map<string, string | null>();
  readonly txids = new Map<string, boolean>();
  /** txid → [height, pos] for txindex rows added; removed ones map to null. */
  readonly index = new Map<string, [number, number] | null>();
  /** txid → the addresses it touches: addr_txs rows added (true) or removed (false). */
  readonly addresses = new Map<string, { addresses: string[]; added: boolean }>();
  readonly chain = new Map<number, string | null>();

  constructor(readonly base: ConfirmedState) {}

  get genesis(): string {
    return this.base.genesis;
  }
  unspent(txid: string, n: number): ConfirmedCoin | undefined {
    const k = outpoint(txid, n);
    return this.utxo.has(k) ? this.utxo.get(k) ?? undefined : this.base.utxo.get(k);
  }
  latestOnRef(ref: string): string | null {
    return this.refs.has(ref) ? this.refs.get(ref) ?? null : this.base.latestOnRef(ref);
  }
  hasTx(txid: string): boolean {
    return this.txids.get(txid) ?? this.base.hasTx(txid);
  }

  /** Connects a validated tx at `height`, position `pos` in its block. */
  applyTx(tx: Tx, height: number, pos: number): void {
    if (!isCoinbase(tx.body)) {
      for (const i of tx.body.in) this.utxo.set(outpoint(i.tx, i.n), null);
      for (const ref of tx.body.sql?.refs ?? []) this.refs.set(ref, tx.id);
    }
    tx.body.out.forEach((o, n) => this.utxo.set(outpoint(tx.id, n), { to: o.to, amount: parseUnits(o.amount), height }));
    this.txids.set(tx.id, true);
    this.index.set(tx.id, [height, pos]);
    this.addresses.set(tx.id, { addresses: addressesOf(tx.body), added: true });
  }

  /**
   * Disconnects a tx (last tx of the last block first). `spentCoin` gives back each input's output
   * and the height it was made at, read from stored bodies; refs return to the tx's `base`.
   */
  undoTx(tx: Tx, spentCoin: (txid: string, n: number) => ConfirmedCoin): void {
    tx.body.out.forEach((_, n) => this.utxo.set(outpoint(tx.id, n), null));
    if (!isCoinbase(tx.body)) {
      for (const i of tx.body.in) this.utxo.set(outpoint(i.tx, i.n), spentCoin(i.tx, i.n));
      for (const [ref, base] of Object.entries(tx.body.sql?.base ?? {})) this.refs.set(ref, base);
    }
    this.txids.set(tx.id, false);
    this.index.set(tx.id, null);
    this.addresses.set(tx.id, { addresses: addressesOf(tx.body), added: false });
  }
}

/** The signer's address (not of a coinbase) and every address a tx pays (not a burn), once each. */
export function addressesOf(body: TxBody): string[] {
  const out = new Set<string>();
  for (const o of body.out) if (o.to !== null) out.add(o.to);
  if (!isCoinbase(body)) out.add(addressOfCheckedKey(body.from));
  return [...out];
}
