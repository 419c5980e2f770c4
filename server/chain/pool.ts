import {
  addressOfCheckedKey, checkTx, ConsensusError, isCoinbase, outpoint, parseUnits, StateOverlay,
  type ChainView, type ConsensusConfig, type Tx, type TxCheck, type TxContext,
} from '../../consensus/index.ts';

export interface PoolEntry {
  tx: Tx;
  cost: bigint;
  from: string;
  /** Sum of the inputs it spends. */
  spends: bigint;
  added: number;
  /** Admitted, but the MySQL transaction that persists it has not committed yet (proxy writes). */
  inflight: boolean;
}

/**
 * Pending transactions in admission order, on top of the confirmed state. A tx may spend outputs of
 * earlier pool txs; a second spend of one output is a conflict and is refused.
 */
export class TxPool {
  private readonly entries = new Map<string, PoolEntry>();
  private readonly spentBy = new Map<string, string>();
  private overlay: StateOverlay;

  constructor(base: ChainView) {
    this.overlay = new StateOverlay(base);
  }

  get size(): number {
    return this.entries.size;
  }
  get view(): ChainView {
    return this.overlay;
  }
  has(txid: string): boolean {
    return this.entries.has(txid);
  }
  get(txid: string): PoolEntry | undefined {
    return this.entries.get(txid);
  }
  txs(): Tx[] {
    return [...this.entries.values()].map((e) => e.tx);
  }
  list(): PoolEntry[] {
    return [...this.entries.values()];
  }

  /** Checks `tx` on top of the pool; conflicts get a message naming the pending tx that spent the input. */
  check(tx: Tx, cfg: ConsensusConfig, ctx: TxContext): TxCheck {
    if (this.entries.has(tx.id)) throw new ConsensusError('duplicate-tx', `transaction ${tx.id} is already in the pool`, { txid: tx.id });
    if (!isCoinbase(tx.body)) {
      for (const i of tx.body.in) {
        const other = this.spentBy.get(outpoint(i.tx, i.n));
        if (other) {
          throw new ConsensusError('double-spend', `input ${outpoint(i.tx, i.n)} is already spent by pending transaction ${other}`, { input: outpoint(i.tx, i.n), by: other });
        }
        // Nothing may build on a write whose MySQL transaction can still roll back.
        if (this.entries.get(i.tx)?.inflight) {
          throw new ConsensusError('missing-input', `input ${outpoint(i.tx, i.n)} comes from a write that is still committing: try again`, { input: outpoint(i.tx, i.n) });
        }
      }
    }
    return checkTx(tx, this.overlay, cfg, ctx);
  }

  /** After a block's state merged into memory, read through the merged state instead of the delta. */
  rebase(base: ChainView): void {
    this.overlay.base = base;
  }

  /** Adds a tx already checked with `check` against the current pool. */
  /** The same tx, now signed (an in-flight entry admitted before its signature was made). */
  replaceTx(tx: Tx): void {
    const e = this.entries.get(tx.id);
    if (e) e.tx = tx;
  }

  add(tx: Tx, check: TxCheck, added = Date.now(), inflight = false): void {
    if (isCoinbase(tx.body)) throw new Error('coinbase in pool');
    let spends = 0n;
    for (const i of tx.body.in) {
      spends += this.overlay.unspent(i.tx, i.n)?.amount ?? 0n;
      this.spentBy.set(outpoint(i.tx, i.n), tx.id);
    }
    this.overlay.apply(tx);
    this.entries.set(tx.id, { tx, cost: check.cost, from: addressOfCheckedKey(tx.body.from), spends, added, inflight });
  }

  /** Entries not yet committed to MySQL. */
  inflightCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.inflight) n++;
    return n;
  }

  /** The longest run of committed entries from the start: what a block may include. */
  committedPrefix(max: number): Tx[] {
    const out: Tx[] = [];
    for (const e of this.entries.values()) {
      if (e.inflight || out.length >= max) break;
      out.push(e.tx);
    }
    return out;
  }

  /**
   * Takes `txid` out and re-applies the rest in order; returns the entries that no longer fit
   * (they depended on it). Used when a proxy write fails after admission.
   */
  remove(txid: string, recheck: (tx: Tx, pool: TxPool) => TxCheck): PoolEntry[] {
    return this.removeAll(new Set([txid]), recheck);
  }

  /** Takes every tx of `txids` out at once; as `remove`. */
  removeAll(txids: ReadonlySet<string>, recheck: (tx: Tx, pool: TxPool) => TxCheck): PoolEntry[] {
    const rest = [...this.entries.values()].filter((e) => !txids.has(e.tx.id));
    this.entries.clear();
    this.spentBy.clear();
    this.overlay = new StateOverlay(this.overlay.base);
    const dropped: PoolEntry[] = [];
    for (const e of rest) {
      try {
        this.add(e.tx, recheck(e.tx, this), e.added, e.inflight);
      } catch {
        dropped.push(e);
      }
    }
    return dropped;
  }

  /**
   * This pool was rebuilt (a block, a fork switch) from entries that were in flight when the
   * rebuild began; `live` is the pool their writes settled on meanwhile. Each such entry becomes
   * what `live` holds now: signed, committed, or gone with what built on it (its write rolled
   * back). Returns the entries dropped with them.
   */
  carryInflight(live: TxPool, recheck: (tx: Tx, pool: TxPool) => TxCheck): PoolEntry[] {
    const gone = new Set<string>();
    for (const e of this.entries.values()) {
      if (!e.inflight) continue;
      const now = live.get(e.tx.id);
      if (!now) {
        gone.add(e.tx.id);
        continue;
      }
      e.tx = now.tx;
      e.inflight = now.inflight;
    }
    // after every entry is settled: removeAll re-adds the others as new entries, with their flags
    return gone.size ? this.removeAll(gone, recheck).filter((e) => !gone.has(e.tx.id)) : [];
  }

  /** Net effect of pending txs on an address: received minus spent (may be negative). */
  pendingOf(address: string): bigint {
    let net = 0n;
    for (const e of this.entries.values()) {
      for (const o of e.tx.body.out) if (o.to === address) net += parseUnits(o.amount);
      if (e.from === address) net -= e.spends;
    }
    return net;
  }

  /** Outputs an address can spend now: confirmed ones not spent by the pool, plus pool outputs. */
  spendable(address: string, confirmed: Iterable<{ txid: string; n: number; amount: bigint }>): { txid: string; n: number; amount: bigint }[] {
    const out = [...confirmed].filter((c) => !this.spentBy.has(outpoint(c.txid, c.n)));
    for (const e of this.entries.values()) {
      if (e.inflight) continue; // it may still roll back
      e.tx.body.out.forEach((o, n) => {
        if (o.to === address && !this.spentBy.has(outpoint(e.tx.id, n))) out.push({ txid: e.tx.id, n, amount: parseUnits(o.amount) });
      });
    }
    return out;
  }
}
