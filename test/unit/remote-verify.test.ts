// What oursql-remote checks in a prepared body before signing, without a node: transfers (amount,
// recipient, change, signer, chain, time, no SQL), updates (statement, undo, refs, exact cost) and
// the consistency of txid, StringToSign and Text with the body.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressOf, newPrivateKey, parseConsensusConfig, prepareTx, publicKeyOf, sha256Hex, type TransferBody } from '../../consensus/index.ts';
import { TamperError } from '../../remoteclient/errors.ts';
import { checkSqlUpdate } from '../../remoteclient/verify-sql.ts';
import { checkTransfer, decodePrepared } from '../../remoteclient/verify.ts';
import { SqlClassifier } from '../../server/sql/classify.ts';

const pubkey = publicKeyOf(newPrivateKey());
const me = addressOf(pubkey);
const bob = addressOf(publicKeyOf(newPrivateKey()));
const eve = addressOf(publicKeyOf(newPrivateKey()));
const chain = sha256Hex('chain');
const now = Date.now();
const coin = { tx: sha256Hex('coin'), n: 0 };

const transfer = (over: Partial<TransferBody> = {}): TransferBody => ({
  v: 1, chain, time: now, from: pubkey, in: [coin], out: [{ to: bob, amount: '150000000' }, { to: me, amount: '850000000' }], ...over,
});
const decoded = (b: TransferBody) => decodePrepared(prepareTx(b));
const want = { pubkey, chain, now, to: bob, units: 150_000_000n };
const refused = (fn: () => unknown, why: RegExp) => assert.throws(fn, (e: unknown) => e instanceof TamperError && why.test((e as Error).message));

test('a transfer as asked passes; paying oneself passes', () => {
  checkTransfer(decoded(transfer()), want);
  checkTransfer(decoded(transfer({ out: [{ to: bob, amount: '150000000' }] })), want);
  checkTransfer(decoded(transfer({ out: [{ to: me, amount: '150000000' }, { to: me, amount: '850000000' }] })), { ...want, to: me });
});

test('a transfer with anything else is refused', () => {
  refused(() => checkTransfer(decoded(transfer({ out: [{ to: bob, amount: '150000001' }, { to: me, amount: '849999999' }] })), want), /pays 1.50000001 coins/);
  refused(() => checkTransfer(decoded(transfer({ out: [{ to: eve, amount: '150000000' }, { to: me, amount: '850000000' }] })), want), /to 1/);
  refused(() => checkTransfer(decoded(transfer({ out: [{ to: bob, amount: '150000000' }, { to: eve, amount: '1' }, { to: me, amount: '849999999' }] })), want), /0.00000001 coins to/);
  refused(() => checkTransfer(decoded(transfer({ out: [{ to: me, amount: '1000000000' }] })), want), /does not pay 1.5 coins/);
  refused(() => checkTransfer(decoded(transfer({ from: publicKeyOf(newPrivateKey()) })), want), /not by this key/);
  refused(() => checkTransfer(decoded(transfer({ chain: sha256Hex('other') })), want), /pinned chain/);
  refused(() => checkTransfer(decoded(transfer({ time: now + 3 * 3600_000 })), want), /2 hours/);
  refused(() => checkTransfer(decoded(transfer({ in: [] , out: [], sql: { stmts: ['DELETE FROM t'], undo: [], refs: [], base: {} } })), want), /carries SQL/);
});

test('txid, StringToSign and Text must be those of the body', () => {
  const p = prepareTx(transfer());
  decodePrepared(p);
  refused(() => decodePrepared({ ...p, txid: sha256Hex('x') }), /txid/);
  refused(() => decodePrepared({ ...p, stringToSign: prepareTx(transfer({ time: now + 1 })).stringToSign }), /StringToSign/);
  refused(() => decodePrepared({ ...p, text: p.text.replace(bob, eve) }), /Text/);
  refused(() => decodePrepared({ ...p, transaction: p.transaction.toUpperCase() }), /hex/);
  refused(() => decodePrepared({ ...p, transaction: '7b7d' }), /not a valid body/);
});

test('an update: the statement asked for, its table only, and its exact cost by the pinned config', () => {
  const classifier = new SqlClassifier();
  const sqlBody = (over: Partial<NonNullable<TransferBody['sql']>> = {}, coins: Partial<TransferBody> = { in: [], out: [] }) => transfer({
    ...coins,
    sql: { stmts: ["INSERT INTO `notes` (`body`, `id`) VALUES ('hi', 7)"], undo: ['DELETE FROM `notes` WHERE `id` = 7'], refs: ['notes:7'], base: { 'notes:7': null }, ...over },
  });
  const free = parseConsensusConfig({});
  const base = { pubkey, chain, now, sql: "INSERT INTO notes (body) VALUES ('hi')", consensus: free, height: 5, classifier };
  assert.deepEqual(checkSqlUpdate(decoded(sqlBody()), base), { cost: 0n, table: 'notes' });
  refused(() => checkSqlUpdate(decoded(sqlBody({ stmts: ["INSERT INTO `notes` (`body`, `id`) VALUES ('ho', 7)"] })), base), /not the one asked for/);
  refused(() => checkSqlUpdate(decoded(sqlBody({ undo: ['DROP TABLE `users`'] })), base), /undo touches/);
  refused(() => checkSqlUpdate(decoded(sqlBody({ refs: ['users:1'], base: { 'users:1': null } })), base), /not of table notes/);
  refused(() => checkSqlUpdate(decoded(sqlBody({}, { in: [coin], out: [{ to: eve, amount: '1000000000' }] })), base), /10 coins to/);

  // Paid SQL: exactly the cost to PaidTransactionsWallet, change back; nothing else.
  const paid = parseConsensusConfig({ TransactionCost: { RowInsert: 0.5 }, PaidTransactionsWallet: bob });
  const pays = (amount: string, to = bob) => sqlBody({}, { in: [coin], out: [{ to, amount }, { to: me, amount: String(1_000_000_000 - Number(amount)) }] });
  assert.deepEqual(checkSqlUpdate(decoded(pays('50000000')), { ...base, consensus: paid }), { cost: 50_000_000n, table: 'notes' });
  refused(() => checkSqlUpdate(decoded(pays('60000000')), { ...base, consensus: paid }), /0.6 coins/);
  refused(() => checkSqlUpdate(decoded(pays('50000000', eve)), { ...base, consensus: paid }), /to 1/);
  refused(() => checkSqlUpdate(decoded(sqlBody()), { ...base, consensus: paid }), /does not pay 0.5 coins/);
});
