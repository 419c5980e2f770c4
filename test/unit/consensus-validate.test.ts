import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressOf, checkTx, makeCoinbase, makeTx, MAX_CLOCK_DRIFT_MS, parseConsensusConfig, publicKeyOf, signTx, StateOverlay,
  type ConsensusConfig, type SqlAction, type SqlPart, type TransferBody, type Tx, type TxContext, type Verifier,
} from '../../consensus/index.ts';
import {
  KEY_A, KEY_B, KEY_C, MapChainView, exampleText, opensslVerify, sha256Hex, throwsCode,
} from './consensus-helpers.ts';

const COIN = 100_000_000n;
const GENESIS = sha256Hex('consensus-validate genesis');
const PUB = { A: publicKeyOf(KEY_A), B: publicKeyOf(KEY_B), C: publicKeyOf(KEY_C) };
const ADDR = { A: addressOf(PUB.A), B: addressOf(PUB.B), C: addressOf(PUB.C) };
const KEY = { A: KEY_A, B: KEY_B, C: KEY_C };
const F1 = sha256Hex('fund 1');
const F2 = sha256Hex('fund 2');
const F3 = sha256Hex('fund 3');
const NOW = 1_700_000_000_000;

const SIMPLE = parseConsensusConfig(exampleText('configs-simplest'));
const ctx = (over: Partial<TxContext> = {}): TxContext => ({ height: 10, time: NOW, classify, ...over });

/** A tiny SQL classifier for the test: statements are written as "<op> <table> ...". */
function classify(stmt: string): SqlAction {
  const [op, table] = stmt.split(' ');
  if (!['insert', 'update', 'delete', 'create', 'drop', 'alter'].includes(op)) throw new Error(`unclassifiable: ${stmt}`);
  return { op: op as SqlAction['op'], table, schema: ['create', 'drop', 'alter'].includes(op) };
}

function freshView(): MapChainView {
  return new MapChainView(GENESIS)
    .addCoin(F1, 0, ADDR.A, 10n * COIN)
    .addCoin(F2, 1, ADDR.A, 5n * COIN)
    .addCoin(F3, 0, ADDR.B, 3n * COIN);
}

type Who = keyof typeof KEY;
interface SpendOpts { time?: number; chain?: string; sql?: SqlPart; signer?: Who }

function spend(from: Who, inputs: [string, number][], outputs: [string | null, bigint][], o: SpendOpts = {}): Tx {
  const body: TransferBody = {
    v: 1,
    chain: o.chain ?? GENESIS,
    time: o.time ?? NOW,
    from: PUB[from],
    in: inputs.map(([tx, n]) => ({ tx, n })),
    out: outputs.map(([to, amount]) => ({ to, amount: amount.toString() })),
  };
  if (o.sql) body.sql = o.sql;
  if (o.signer && o.signer !== from) {
    const t = makeTx(body);
    return { ...t, sig: signTx({ ...body, from: PUB[o.signer] }, KEY[o.signer]).sig };
  }
  return signTx(body, KEY[from]);
}

const sql = (stmts: string[], base: Record<string, string | null> = {}, undo = stmts.map((s) => `delete ${s.split(' ')[1]} (undo)`)): SqlPart => ({
  stmts, undo, refs: Object.keys(base), base,
});

test('a valid spend with change passes and returns no cost', () => {
  const view = freshView();
  const tx = spend('A', [[F1, 0]], [[ADDR.B, 3n * COIN], [ADDR.A, 7n * COIN]]);
  assert.deepEqual(checkTx(tx, view, SIMPLE, ctx()), { cost: 0n, actions: [] });
  // two inputs, a burn output, exact sums
  const tx2 = spend('A', [[F1, 0], [F2, 1]], [[ADDR.B, 14n * COIN], [null, COIN]]);
  assert.deepEqual(checkTx(tx2, view, SIMPLE, ctx()), { cost: 0n, actions: [] });
  // B spends its own coin
  assert.deepEqual(checkTx(spend('B', [[F3, 0]], [[ADDR.C, 3n * COIN]]), view, SIMPLE, ctx()), { cost: 0n, actions: [] });
});

test('wrong chain', () => {
  const tx = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]], { chain: sha256Hex('other genesis') });
  const e = throwsCode(() => checkTx(tx, freshView(), SIMPLE, ctx()), 'wrong-chain');
  assert.equal(e.details?.chain, sha256Hex('other genesis'));
});

test('bad signatures: another key, a changed signature, no signature, a refusing verifier', () => {
  const view = freshView();
  const byB = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]], { signer: 'B' });
  throwsCode(() => checkTx(byB, view, SIMPLE, ctx()), 'bad-signature');
  const good = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]]);
  const flipped = good.sig!.slice(0, -2) + (good.sig!.endsWith('00') ? '01' : '00');
  throwsCode(() => checkTx({ ...good, sig: flipped }, view, SIMPLE, ctx()), 'bad-signature');
  throwsCode(() => checkTx({ ...good, sig: undefined }, view, SIMPLE, ctx()), 'bad-signature');
  throwsCode(() => checkTx(good, view, SIMPLE, ctx({ verify: () => false })), 'bad-signature');
  // a swapped-in OpenSSL verifier accepts the good one
  const openssl: Verifier = (pub, m, sig) => opensslVerify(pub, m, sig);
  assert.deepEqual(checkTx(good, view, SIMPLE, ctx({ verify: openssl })), { cost: 0n, actions: [] });
});

test('missing inputs, inputs owned by someone else, and the same input twice in one tx', () => {
  const view = freshView();
  for (const [tx, n] of [[sha256Hex('nothing'), 0], [F1, 1], [F2, 0]] as [string, number][]) {
    const t = spend('A', [[tx, n]], [[ADDR.B, 1n]]);
    const e = throwsCode(() => checkTx(t, view, SIMPLE, ctx()), 'missing-input');
    assert.equal(e.details?.input, `${tx}:${n}`);
  }
  const stolen = spend('A', [[F3, 0]], [[ADDR.A, 3n * COIN]]);
  const e = throwsCode(() => checkTx(stolen, view, SIMPLE, ctx()), 'not-owner', ADDR.A);
  assert.equal(e.details?.input, `${F3}:0`);
  // a burned output belongs to nobody
  view.addCoin(sha256Hex('burned'), 0, null, COIN);
  throwsCode(() => checkTx(spend('A', [[sha256Hex('burned'), 0]], [[ADDR.A, COIN]]), view, SIMPLE, ctx()), 'not-owner');
  const twice = spend('A', [[F1, 0], [F1, 0]], [[ADDR.B, 20n * COIN]]);
  throwsCode(() => checkTx(twice, view, SIMPLE, ctx()), 'double-spend');
  const twiceBalanced = spend('A', [[F1, 0], [F1, 0]], [[ADDR.B, 10n * COIN]]);
  throwsCode(() => checkTx(twiceBalanced, view, SIMPLE, ctx()), 'double-spend');
});

test('two transactions spending the same input: the second fails missing-input on the overlay', () => {
  const view = freshView();
  const t1 = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]]);
  const t2 = spend('A', [[F1, 0]], [[ADDR.C, 10n * COIN]]);
  const overlay = new StateOverlay(view);
  checkTx(t1, overlay, SIMPLE, ctx());
  overlay.apply(t1);
  throwsCode(() => checkTx(t2, overlay, SIMPLE, ctx()), 'missing-input');
  // the base view is untouched: t2 alone is still valid there
  assert.ok(view.unspent(F1, 0));
  assert.deepEqual(checkTx(t2, view, SIMPLE, ctx()), { cost: 0n, actions: [] });
});

test('unbalanced transactions are refused, in both directions, to the unit', () => {
  const view = freshView();
  for (const out of [10n * COIN + 1n, 10n * COIN - 1n, 0n, 20n * COIN]) {
    const t = spend('A', [[F1, 0]], [[ADDR.B, out]]);
    const e = throwsCode(() => checkTx(t, view, SIMPLE, ctx()), 'unbalanced');
    assert.deepEqual(e.details, { in: String(10n * COIN), out: String(out) });
  }
  const split = spend('A', [[F1, 0]], [[ADDR.B, 1n], [ADDR.B, 10n * COIN - 2n], [null, 1n]]);
  assert.deepEqual(checkTx(split, view, SIMPLE, ctx()), { cost: 0n, actions: [] });
});

test('time more than 2 h away from the block time is refused', () => {
  const view = freshView();
  assert.equal(MAX_CLOCK_DRIFT_MS, 7_200_000);
  for (const dt of [MAX_CLOCK_DRIFT_MS + 1, -MAX_CLOCK_DRIFT_MS - 1, 10 * MAX_CLOCK_DRIFT_MS]) {
    const t = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]], { time: NOW + dt });
    throwsCode(() => checkTx(t, view, SIMPLE, ctx()), 'bad-time', undefined, String(dt));
  }
  for (const dt of [MAX_CLOCK_DRIFT_MS, -MAX_CLOCK_DRIFT_MS, 0, 1]) {
    const t = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]], { time: NOW + dt });
    assert.doesNotThrow(() => checkTx(t, view, SIMPLE, ctx()), String(dt));
  }
  // the same tx checked in a block 3 h later is refused: the reference is the block's time
  const t = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]]);
  throwsCode(() => checkTx(t, view, SIMPLE, ctx({ time: NOW + 3 * 3_600_000 })), 'bad-time');
});

test('a txid already in the branch is refused as duplicate', () => {
  const view = freshView();
  const t = spend('A', [[F1, 0]], [[ADDR.B, 10n * COIN]]);
  view.txs.add(t.id);
  const e = throwsCode(() => checkTx(t, view, SIMPLE, ctx()), 'duplicate-tx');
  assert.equal(e.details?.txid, t.id);
  const v2 = freshView();
  const overlay = new StateOverlay(v2);
  overlay.apply(t);
  throwsCode(() => checkTx(t, overlay, SIMPLE, ctx()), 'duplicate-tx');
  assert.ok(overlay.hasTx(t.id));
  assert.equal(v2.hasTx(t.id), false);
});

test('chains of unconfirmed spends through StateOverlay', () => {
  const view = freshView();
  const t1 = spend('A', [[F1, 0]], [[ADDR.B, 3n * COIN], [ADDR.A, 7n * COIN]]);
  const t2 = spend('A', [[t1.id, 1]], [[ADDR.B, 2n * COIN], [ADDR.A, 5n * COIN]]);
  const t3 = spend('B', [[t1.id, 0], [t2.id, 0], [F3, 0]], [[ADDR.C, 8n * COIN]]);
  const t4 = spend('C', [[t3.id, 0]], [[null, 8n * COIN]]);
  const pool = new StateOverlay(view);
  throwsCode(() => checkTx(t2, pool, SIMPLE, ctx()), 'missing-input', undefined, 'before its parent');
  for (const t of [t1, t2, t3, t4]) {
    checkTx(t, pool, SIMPLE, ctx());
    pool.apply(t);
  }
  assert.equal(pool.unspent(F1, 0), undefined);
  assert.equal(pool.unspent(F3, 0), undefined);
  assert.equal(pool.unspent(t1.id, 0), undefined);
  assert.equal(pool.unspent(t3.id, 0), undefined);
  assert.deepEqual(pool.unspent(t2.id, 1), { to: ADDR.A, amount: 5n * COIN });
  assert.deepEqual(pool.unspent(t4.id, 0), { to: null, amount: 8n * COIN });
  assert.deepEqual(pool.unspent(F2, 1), { to: ADDR.A, amount: 5n * COIN }, 'untouched base coin shows through');
  // outputs created and spent inside the overlay leave no trace in `spent`
  assert.equal(pool.spent.has(`${t1.id}:0`), false);
  assert.equal(pool.spent.has(`${F1}:0`), true);
  // the base view never changed
  assert.deepEqual(view.unspent(F1, 0), { to: ADDR.A, amount: 10n * COIN });
  assert.equal(view.hasTx(t1.id), false);
  // an overlay on an overlay (a block checked on top of the pool's view)
  const top = new StateOverlay(pool);
  const t5 = spend('A', [[t2.id, 1]], [[ADDR.B, 5n * COIN]]);
  checkTx(t5, top, SIMPLE, ctx());
  top.apply(t5);
  assert.equal(top.unspent(t2.id, 1), undefined);
  assert.ok(pool.unspent(t2.id, 1), 'the lower overlay is untouched');
  throwsCode(() => checkTx(spend('A', [[t2.id, 1]], [[ADDR.C, 5n * COIN]]), top, SIMPLE, ctx()), 'missing-input');
  // coinbase outputs become spendable once applied
  const cb = makeCoinbase(GENESIS, 11, ADDR.C, SIMPLE.coinsForBlockMade);
  top.apply(cb);
  assert.deepEqual(top.unspent(cb.id, 0), { to: ADDR.C, amount: 10n * COIN });
  assert.doesNotThrow(() => checkTx(spend('C', [[cb.id, 0]], [[ADDR.A, 10n * COIN]]), top, SIMPLE, ctx()));
  throwsCode(() => checkTx(cb, top, SIMPLE, ctx()), 'bad-encoding', 'coinbase');
});

test('SQL: refused operations, unmanaged tables and a validator without classifier', () => {
  const view = freshView();
  const del = spend('A', [[F1, 0]], [[ADDR.A, 10n * COIN]], { sql: sql(['delete members where id=1'], { 'members:1': null }) });
  const e = throwsCode(() => checkTx(del, view, SIMPLE, ctx()), 'sql-refused', 'deleting rows from table members');
  assert.equal(e.details?.height, 10);
  throwsCode(() => checkTx(del, view, SIMPLE, ctx({ classify: undefined })), 'sql-refused', 'cannot check SQL');
  const tmp = spend('A', [[F1, 0]], [[ADDR.A, 10n * COIN]], { sql: sql(['insert temp values(1)'], { 'temp:1': null }) });
  throwsCode(() => checkTx(tmp, view, SIMPLE, ctx()), 'sql-refused', 'unmanaged');
  throwsCode(() => checkTx(tmp, view, SIMPLE, ctx({ exemptSql: true })), 'sql-refused', 'unmanaged');
  // oursql init's import transactions are exempt from rules and costs
  assert.deepEqual(checkTx(del, view, SIMPLE, ctx({ exemptSql: true })), { cost: 0n, actions: [{ op: 'delete', table: 'members', schema: false }] });
  // free SQL on another table, with no inputs at all
  const free = spend('A', [], [], { sql: sql(['insert posts values(1)', 'delete posts where id=2'], { 'posts:1': null, 'posts:2': null }) });
  assert.deepEqual(checkTx(free, view, SIMPLE, ctx()), {
    cost: 0n, actions: [{ op: 'insert', table: 'posts', schema: false }, { op: 'delete', table: 'posts', schema: false }],
  });
});

test('undo: each statement must classify as a write on a table the tx changes', () => {
  const view = freshView();
  const withUndo = (undo: string[]) => spend('A', [], [], { sql: sql(['insert posts values(1)'], { 'posts:1': null }, undo) });
  assert.doesNotThrow(() => checkTx(withUndo(['delete posts where id=1']), view, SIMPLE, ctx()));
  assert.doesNotThrow(() => checkTx(withUndo([]), view, SIMPLE, ctx()));
  const e = throwsCode(() => checkTx(withUndo(['grant all']), view, SIMPLE, ctx()), 'sql-refused', 'undo statement refused');
  assert.equal(e.details?.stmt, 'grant all');
  throwsCode(() => checkTx(withUndo(['delete posts where id=1', 'drop members']), view, SIMPLE, ctx()), 'sql-refused', 'undo statement on table members');
});

test('paid SQL: without the exact payment output → sql-unpaid; with it → ok and the cost is returned', () => {
  const view = freshView();
  const ins = (outputs: [string | null, bigint][], stmts = ['insert members values(1)']) =>
    spend('A', [[F1, 0]], outputs, { sql: sql(stmts, { 'members:1': null }) });
  const fee = 5_000_000n; // 0.05 coin, burned (no PaidTransactionsWallet)
  const unpaid = ins([[ADDR.A, 10n * COIN]]);
  const e = throwsCode(() => checkTx(unpaid, view, SIMPLE, ctx()), 'sql-unpaid', 'burn');
  assert.deepEqual(e.details, { cost: '5000000', to: null });
  throwsCode(() => checkTx(ins([[null, fee - 1n], [ADDR.A, 10n * COIN - fee + 1n]]), view, SIMPLE, ctx()), 'sql-unpaid');
  throwsCode(() => checkTx(ins([[null, fee + 1n], [ADDR.A, 10n * COIN - fee - 1n]]), view, SIMPLE, ctx()), 'sql-unpaid');
  throwsCode(() => checkTx(ins([[ADDR.C, fee], [ADDR.A, 10n * COIN - fee]]), view, SIMPLE, ctx()), 'sql-unpaid', undefined, 'paid to someone');
  const paid = ins([[null, fee], [ADDR.A, 10n * COIN - fee]]);
  assert.deepEqual(checkTx(paid, view, SIMPLE, ctx()), { cost: fee, actions: [{ op: 'insert', table: 'members', schema: false }] });
  // the payment is part of the balance: paying without taking it from the change is unbalanced
  throwsCode(() => checkTx(ins([[null, fee], [ADDR.A, 10n * COIN]]), view, SIMPLE, ctx()), 'unbalanced');
  // two statements cost twice, paid as ONE output
  const two = ['insert members values(1)', 'update members set x=1'];
  assert.equal(checkTx(ins([[null, 2n * fee], [ADDR.A, 10n * COIN - 2n * fee]], two), view, SIMPLE, ctx()).cost, 2n * fee);
  throwsCode(() => checkTx(ins([[null, fee], [null, fee], [ADDR.A, 10n * COIN - 2n * fee]], two), view, SIMPLE, ctx()), 'sql-unpaid');
  // SQL-only (no inputs) can never pay
  const noIn = spend('A', [], [], { sql: sql(['insert members values(2)'], { 'members:2': null }) });
  throwsCode(() => checkTx(noIn, view, SIMPLE, ctx()), 'sql-unpaid');
});

test('paid SQL goes to PaidTransactionsWallet when one is set', () => {
  const raw = JSON.parse(exampleText('configs-simplest'));
  raw.PaidTransactionsWallet = ADDR.C;
  const cfg: ConsensusConfig = parseConsensusConfig(raw);
  const view = freshView();
  const fee = 5_000_000n;
  const mk = (outputs: [string | null, bigint][]) => spend('A', [[F1, 0]], outputs, { sql: sql(['insert members values(1)'], { 'members:1': null }) });
  const burned = mk([[null, fee], [ADDR.A, 10n * COIN - fee]]);
  const e = throwsCode(() => checkTx(burned, view, cfg, ctx()), 'sql-unpaid', ADDR.C);
  assert.deepEqual(e.details, { cost: '5000000', to: ADDR.C });
  assert.deepEqual(checkTx(mk([[ADDR.C, fee], [ADDR.A, 10n * COIN - fee]]), view, cfg, ctx()).cost, fee);
});

test('SQL rules and costs are checked at the height the tx is mined in', () => {
  const cfg = parseConsensusConfig(exampleText('tests-disabledcreate'));
  const view = freshView();
  const ins = (outputs: [string | null, bigint][]) => spend('A', [[F1, 0]], outputs, { sql: sql(['insert members values(1)'], { 'members:1': null }) });
  const free = ins([[ADDR.A, 10n * COIN]]);
  assert.deepEqual(checkTx(free, view, cfg, ctx({ height: 5 })), { cost: 0n, actions: [{ op: 'insert', table: 'members', schema: false }] });
  throwsCode(() => checkTx(free, view, cfg, ctx({ height: 6 })), 'sql-unpaid');
  const paid = ins([[null, COIN / 2n], [ADDR.A, 10n * COIN - COIN / 2n]]);
  assert.equal(checkTx(paid, view, cfg, ctx({ height: 6 })).cost, COIN / 2n);
  // update of 'test': allowed at height 4, refused at 5 (but costs 0.5 coin from height 1: its cost set has no gate)
  const upd = (outputs: [string | null, bigint][]) => spend('A', [[F1, 0]], outputs, { sql: sql(['update test set a=1'], { 'test:1': null }) });
  const updPaid = upd([[null, COIN / 2n], [ADDR.A, 10n * COIN - COIN / 2n]]);
  assert.equal(checkTx(updPaid, view, cfg, ctx({ height: 4 })).cost, COIN / 2n);
  throwsCode(() => checkTx(updPaid, view, cfg, ctx({ height: 5 })), 'sql-refused', 'updating rows of table test');
  // create table refused globally
  const create = spend('A', [[F1, 0]], [[ADDR.A, 10n * COIN]], { sql: sql(['create posts (a int)'], { 'posts:*': null }) });
  throwsCode(() => checkTx(create, view, cfg, ctx({ height: 1 })), 'sql-refused', 'creating table posts');
});

test('a tx changes schema or rows: a schema change names its table as table:*, and a tx naming table:* holds only schema changes', () => {
  const view = freshView();
  const tx = (stmts: string[], refs: string[]) => spend('A', [], [], { sql: sql(stmts, Object.fromEntries(refs.map((r) => [r, null]))) });
  assert.equal(checkTx(tx(['create posts (a int)'], ['posts:*']), view, SIMPLE, ctx()).cost, 0n);
  assert.equal(checkTx(tx(['alter Posts add b int'], ['posts:*']), view, SIMPLE, ctx()).cost, 0n, 'names compared without case');
  assert.equal(checkTx(tx(['insert posts values(1)', 'update posts set a=2'], ['posts:1']), view, SIMPLE, ctx()).cost, 0n);
  throwsCode(() => checkTx(tx(['create posts (a int)'], []), view, SIMPLE, ctx()), 'sql-refused', 'must name it as posts:*');
  throwsCode(() => checkTx(tx(['drop posts'], ['other:*']), view, SIMPLE, ctx()), 'sql-refused', 'must name it as posts:*');
  // rows changed under a table:* ref would base on its last schema change only
  throwsCode(() => checkTx(tx(['update posts set a=0'], ['posts:*']), view, SIMPLE, ctx()), 'sql-refused', 'only schema changes, not row changes (UPDATE)');
  throwsCode(() => checkTx(tx(['delete posts where 1'], ['posts:1', 'posts:*']), view, SIMPLE, ctx()), 'sql-refused', 'only schema changes');
  throwsCode(() => checkTx(tx(['alter posts add c int', 'alter posts add d int'], ['posts:*']), view, SIMPLE, ctx()), 'sql-refused', 'a schema change is one statement');
  // oursql init's import (a table without a primary key: its rows ref posts:*) is exempt
  assert.equal(checkTx(tx(['insert posts values(1)'], ['posts:*']), view, SIMPLE, ctx({ exemptSql: true })).cost, 0n);
});

test('stale base: each base must still be the latest tx on its ref', () => {
  const view = freshView();
  const prev = sha256Hex('earlier tx on members:1');
  view.refs.set('members:1', prev);
  const upd = (base: string | null, input: [string, number] = [F1, 0]) =>
    spend('A', [input], [[null, 5_000_000n], [ADDR.A, 10n * COIN - 5_000_000n]], { sql: sql(['update members set a=1'], { 'members:1': base }) });
  const e = throwsCode(() => checkTx(upd(null), view, SIMPLE, ctx()), 'stale-base', 'members:1');
  assert.deepEqual(e.details, { ref: 'members:1', base: null });
  throwsCode(() => checkTx(upd(sha256Hex('some other tx')), view, SIMPLE, ctx()), 'stale-base');
  const ok = upd(prev);
  assert.equal(checkTx(ok, view, SIMPLE, ctx()).cost, 5_000_000n);
  // after it is applied in the pool, the next change of that row must name it as base
  const pool = new StateOverlay(view);
  pool.apply(ok);
  assert.equal(pool.latestOnRef('members:1'), ok.id);
  assert.equal(view.latestOnRef('members:1'), prev);
  view.addCoin(F2, 1, ADDR.A, 10n * COIN); // replace the fixture coin with a 10-coin one for the same helper
  throwsCode(() => checkTx(upd(prev, [F2, 1]), pool, SIMPLE, ctx()), 'stale-base');
  assert.equal(checkTx(upd(ok.id, [F2, 1]), pool, SIMPLE, ctx()).cost, 5_000_000n);
  // a new row (base null) on an untouched ref is fine
  const fresh = spend('A', [], [], { sql: sql(['insert posts values(9)'], { 'posts:9': null }) });
  assert.equal(checkTx(fresh, pool, SIMPLE, ctx()).cost, 0n);
});
