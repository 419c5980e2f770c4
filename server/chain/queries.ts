/**
 * Address lookups the RPC needs beyond balances: the transactions that touch an address (as
 * sender or receiver) on the active chain and in the pool, and its spendable outputs. Read-only;
 * uses the chain database through the store's connection and the engine's public state.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { addressOfCheckedKey, isCoinbase, outpoint, parseCanonical, parseUnits, type TxBody } from '../../consensus/index.ts';
import type { Chain } from './engine.ts';

/** One transaction that touches an address, with what it did to that address (base units). */
export interface AddressTx {
  txid: string;
  body: TxBody;
  /** null while pooled. */
  height: number | null;
  /** Position in its block (0 = coinbase); null while pooled. */
  pos: number | null;
  /** Units the address received (change included). */
  received: bigint;
  /** Units the address spent: every input of a tx it signed (inputs all belong to the signer). */
  sent: bigint;
}

/** What an address's spendable output looks like to a caller; `height` null while pooled. */
export interface AddressCoin {
  txid: string;
  n: number;
  amount: bigint;
  height: number | null;
}

const sumOut = (body: TxBody, to?: string): bigint =>
  body.out.reduce((s, o) => (to === undefined || o.to === to ? s + parseUnits(o.amount) : s), 0n);

function touch(txid: string, body: TxBody, address: string, height: number | null, pos: number | null): AddressTx | undefined {
  const signer = isCoinbase(body) ? null : addressOfCheckedKey(body.from);
  const received = sumOut(body, address);
  // sum(in) = sum(out) for every valid tx, so what the signer spent is the sum of all outputs.
  const sent = signer === address ? sumOut(body) : 0n;
  if (signer !== address && !body.out.some((o) => o.to === address)) return undefined;
  return { txid, body, height, pos, received, sent };
}

/** Confirmed transactions of the active chain that touch `address`, oldest first (addr_txs). */
export async function confirmedTxsOf(chain: Chain, address: string): Promise<AddressTx[]> {
  const db = chain.store.db;
  const [rows] = await chain.store.mysql.query<RowDataPacket[]>(
    `SELECT i.txid, i.height, i.pos, t.body FROM ${db}.addr_txs a JOIN ${db}.txindex i ON i.txid = a.txid JOIN ${db}.txs t ON t.txid = a.txid
      WHERE a.address = ? ORDER BY i.height, i.pos`,
    [address],
  );
  const out: AddressTx[] = [];
  for (const r of rows) {
    const hit = touch(r.txid, parseCanonical(r.body) as TxBody, address, r.height, r.pos);
    if (hit) out.push(hit);
  }
  return out;
}

/** Pending transactions that touch `address`, in pool order. */
export function pooledTxsOf(chain: Chain, address: string): AddressTx[] {
  const out: AddressTx[] = [];
  for (const e of chain.pool.list()) {
    const hit = touch(e.tx.id, e.tx.body, address, null, null);
    if (hit) out.push(hit);
  }
  return out;
}

/** Outputs `address` can spend now: confirmed ones the pool does not spend, and pooled ones. */
export function spendableCoinsOf(chain: Chain, address: string): AddressCoin[] {
  const heights = new Map(chain.state.coinsOf(address).map((c) => [outpoint(c.txid, c.n), c.height]));
  return chain.spendableNow(address).map((c) => ({ ...c, height: heights.get(outpoint(c.txid, c.n)) ?? null }));
}
