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

/**
 * Confirmed transactions of the active chain that touch `address`, oldest first: addr_txs, and
 * the index backlog's rows the tables do not hold yet.
 */
export async function confirmedTxsOf(chain: Chain, address: string): Promise<AddressTx[]> {
  const backlog = chain.indexBacklog; // taken first: once written it is replaced, and the query sees its rows
  const db = chain.store.db;
  const [rows] = await chain.store.mysql.query<RowDataPacket[]>(
    `SELECT i.txid, i.height, i.pos, t.body FROM ${db}.addr_txs a JOIN ${db}.txindex i ON i.txid = a.txid JOIN ${db}.txs t ON t.txid = a.txid
      WHERE a.address = ? ORDER BY i.height, i.pos`,
    [address],
  );
  const found = new Map<string, { body: TxBody; height: number; pos: number }>();
  for (const r of rows) {
    if (backlog.location(r.txid) === null) continue;
    found.set(r.txid, { body: parseCanonical(r.body) as TxBody, height: r.height, pos: r.pos });
  }
  const more = [...backlog.addresses].filter(([id, a]) => a.added && a.addresses.includes(address) && !found.has(id)).map(([id]) => id);
  for (const [id, tx] of more.length ? await chain.store.getTxs(more) : []) {
    const at = backlog.location(id);
    if (at) found.set(id, { body: tx.body, height: at[0], pos: at[1] });
  }
  const out: AddressTx[] = [];
  for (const [txid, { body, height, pos }] of found) {
    const hit = touch(txid, body, address, height, pos);
    if (hit) out.push(hit);
  }
  return out.sort((a, b) => a.height! - b.height! || a.pos! - b.pos!);
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
