import { parseUnits } from './amount.ts';
import { isCoinbase, type Tx } from './tx.ts';

/** An unspent output. */
export interface Coin { to: string | null; amount: bigint }

/** What validity rules need to know about a branch (SPEC 2); the node backs it with its storage. */
export interface ChainView {
  readonly genesis: string;
  unspent(txid: string, n: number): Coin | undefined;
  /** Latest txid that touched `ref` on this branch, or null. */
  latestOnRef(ref: string): string | null;
  hasTx(txid: string): boolean;
}

export const outpoint = (txid: string, n: number): string => `${txid}:${n}`;

/**
 * A view with transactions applied on top of another view, in memory: used to check a block's
 * transactions in order and to keep the pool (which may spend its own unconfirmed outputs).
 */
export class StateOverlay implements ChainView {
  readonly spent = new Set<string>();
  readonly created = new Map<string, Coin>();
  readonly refs = new Map<string, string>();
  readonly txs = new Set<string>();

  constructor(public base: ChainView) {}

  get genesis(): string {
    return this.base.genesis;
  }

  unspent(txid: string, n: number): Coin | undefined {
    const key = outpoint(txid, n);
    if (this.spent.has(key)) return undefined;
    return this.created.get(key) ?? this.base.unspent(txid, n);
  }

  latestOnRef(ref: string): string | null {
    return this.refs.get(ref) ?? this.base.latestOnRef(ref);
  }

  hasTx(txid: string): boolean {
    return this.txs.has(txid) || this.base.hasTx(txid);
  }

  apply(tx: Tx): void {
    if (!isCoinbase(tx.body)) {
      for (const i of tx.body.in) {
        const key = outpoint(i.tx, i.n);
        if (!this.created.delete(key)) this.spent.add(key);
      }
      for (const ref of tx.body.sql?.refs ?? []) this.refs.set(ref, tx.id);
    }
    tx.body.out.forEach((o, n) => this.created.set(outpoint(tx.id, n), { to: o.to, amount: parseUnits(o.amount) }));
    this.txs.add(tx.id);
  }
}
