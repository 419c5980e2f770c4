/**
 * Step one of the two-step flow and the checks before any signature, as oursql-remote does them:
 * the node prepares, the body is decoded here (txid, StringToSign and Text recomputed and compared),
 * checked against what the person asked for on the pinned chain (remoteclient/verify*.ts), and
 * described for the person: recipient, amounts, change, SQL and its cost, and the full message.
 * Nothing here touches a private key; `sign` in signing.ts does, after the person confirms.
 */
import {
  addressOf, checkAddress, coinsToUnits, parseUnits, unitsToCoins, type TransferBody,
} from '../../consensus/index.ts';
import type { ChainView } from '../../remoteclient/chain-read.ts';
import { RemoteError } from '../../remoteclient/errors.ts';
import type { PublicKeyInfo } from '../../remoteclient/keystore-core.ts';
import { checkSqlUpdate } from '../../remoteclient/verify-sql.ts';
import { checkTransfer, decodePrepared, type Decoded } from '../../remoteclient/verify.ts';
import type { SqlClassifier } from '../../server/sql/classify.ts';
import type { NodeApi, PreparedTx } from './node-api.ts';

/** One output of the body, as the person sees it. */
export interface OutputLine {
  to: string | null;
  coins: string;
  /** What it is: the payment asked for, change back to the signer, the SQL cost. */
  role: 'payment' | 'change' | 'sql-cost';
}

/** A prepared body that passed every check, and what to show before it is signed. */
export interface Review {
  kind: 'send' | 'sql';
  signer: PublicKeyInfo;
  prepared: PreparedTx;
  decoded: Decoded;
  /** One sentence saying what was checked (the line oursql-remote prints). */
  checked: string;
  outputs: OutputLine[];
  /** send: the amount and recipient asked for. */
  payment?: { to: string; coins: string };
  /** sql: the statement as signed, its table, undo and cost. */
  sql?: { stmts: string[]; undo: string[]; refs: string[]; table: string; cost: string; costTo: string | null };
}

function outputLines(body: TransferBody, own: string, special: (to: string | null, units: bigint) => OutputLine['role'] | undefined): OutputLine[] {
  let specialUsed = false;
  return body.out.map((o) => {
    const units = parseUnits(o.amount);
    const role = !specialUsed ? special(o.to, units) : undefined;
    if (role) specialUsed = true;
    return { to: o.to, coins: unitsToCoins(units), role: role ?? (o.to === own ? 'change' : 'payment') };
  });
}

/** preparesend → decoded and checked: `amount` coins from `signer` to `to`, change back, no SQL. */
export async function reviewSend(api: NodeApi, chain: ChainView, signer: PublicKeyInfo, to: string, amount: string): Promise<Review> {
  const recipient = checkAddress(to.trim(), 'recipient');
  const units = coinsToUnits(amount.trim());
  if (units <= 0n) throw new RemoteError('the amount must be more than 0');
  const coins = unitsToCoins(units);
  const prepared = await api.prepareSend(signer.pubkey, recipient, coins);
  const decoded = decodePrepared(prepared);
  checkTransfer(decoded, { pubkey: signer.pubkey, chain: chain.genesis, now: Date.now(), to: recipient, units });
  return {
    kind: 'send',
    signer,
    prepared,
    decoded,
    checked: `Checked: ${coins} coins from ${signer.address} to ${recipient}, change back to ${signer.address}.`,
    outputs: outputLines(decoded.body, signer.address, (o, u) => (o === recipient && u === units ? 'payment' : undefined)),
    payment: { to: recipient, coins },
  };
}

/** preparesql → decoded and checked: the statement asked for, its table only, its exact cost. */
export async function reviewSql(api: NodeApi, chain: ChainView, signer: PublicKeyInfo, statement: string, classifier: SqlClassifier): Promise<Review> {
  const sql = statement.trim();
  if (!sql) throw new RemoteError('write one statement (INSERT, UPDATE, DELETE, REPLACE, CREATE TABLE, ...)');
  const prepared = await api.prepareSql(signer.pubkey, sql);
  const decoded = decodePrepared(prepared);
  const { cost, table } = checkSqlUpdate(decoded, {
    pubkey: signer.pubkey, chain: chain.genesis, now: Date.now(), sql, consensus: chain.consensus, height: chain.height, classifier,
  });
  const part = decoded.body.sql!;
  const costTo = cost > 0n ? chain.consensus.paidTransactionsWallet : null;
  const own = addressOf(signer.pubkey);
  return {
    kind: 'sql',
    signer,
    prepared,
    decoded,
    checked: `Checked: your statement on table ${table}, signed by ${signer.address}${cost > 0n ? `, paying its cost of ${unitsToCoins(cost)} coins` : ''}.`,
    outputs: outputLines(decoded.body, own, (o, u) => (cost > 0n && o === costTo && u === cost ? 'sql-cost' : undefined)),
    sql: { stmts: part.stmts, undo: part.undo, refs: part.refs, table, cost: unitsToCoins(cost), costTo },
  };
}
