// A pool rebuilt while a block connects starts from the entries in flight when the rebuild began;
// their writes settle on the live pool meanwhile. carryInflight must leave the rebuilt pool as the
// live one settled: a rolled-back write gone, a committed one minable, a signed one signed, in any
// order (a stale in-flight flag left behind stops the miner for good: no block takes a pool
// whose first entry is in flight).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTx, newPrivateKey, parseConsensusConfig, publicKeyOf, signTx, type Tx, type TransferBody } from '../../consensus/index.ts';
import { ConfirmedState } from '../../server/chain/state.ts';
import { TxPool } from '../../server/chain/pool.ts';

const GENESIS = 'ab'.repeat(32);
const priv = newPrivateKey();
const from = publicKeyOf(priv);
const cfg = parseConsensusConfig({});
const ctx = { height: 2, time: Date.now(), classify: () => ({ op: 'update' as const, table: 't', schema: false }), signatureKnownGood: () => true };
const recheck = (tx: Tx, pool: TxPool) => pool.check(tx, cfg, ctx);

function body(row: number, base: string | null = null): TransferBody {
  return {
    v: 1, chain: GENESIS, time: ctx.time, from, in: [], out: [],
    sql: { stmts: [`UPDATE t SET v = v + 1 WHERE id = ${row}`], undo: [`UPDATE t SET v = 0 WHERE id = ${row}`], refs: [`t:${row}`], base: { [`t:${row}`]: base } },
  } as TransferBody;
}

function pools(entries: { tx: Tx; inflight: boolean }[]): [TxPool, TxPool] {
  const state = new ConfirmedState(GENESIS);
  const make = () => {
    const p = new TxPool(state);
    for (const e of entries) p.add(e.tx, recheck(e.tx, p), Date.now(), e.inflight);
    return p;
  };
  return [make(), make()];
}

test('writes that settled during a rebuild: the rolled-back one leaves, the committed and signed ones stay, whatever their order', () => {
  for (const order of ['aborted first', 'aborted last'] as const) {
    const aborted = makeTx(body(1));
    const unsigned = makeTx(body(2)); // admitted before its signature was made
    const committed = signTx(body(3), priv);
    const still = signTx(body(4), priv);
    const list = order === 'aborted first'
      ? [{ tx: aborted, inflight: true }, { tx: unsigned, inflight: true }, { tx: committed, inflight: true }, { tx: still, inflight: true }]
      : [{ tx: unsigned, inflight: true }, { tx: committed, inflight: true }, { tx: still, inflight: true }, { tx: aborted, inflight: true }];
    const [live, rebuilt] = pools(list);

    // meanwhile, on the live pool: one write rolls back, one is signed and commits, one commits, one is still open
    live.remove(aborted.id, recheck);
    const signed = signTx(body(2), priv);
    assert.equal(signed.id, unsigned.id);
    live.replaceTx(signed);
    live.get(signed.id)!.inflight = false;
    live.get(committed.id)!.inflight = false;

    assert.deepEqual(rebuilt.carryInflight(live, recheck), [], order);
    assert.deepEqual(rebuilt.txs().map((t) => t.id), [unsigned.id, committed.id, still.id], order);
    assert.equal(rebuilt.get(signed.id)!.tx.sig, signed.sig, `${order}: the signed tx`);
    assert.deepEqual(rebuilt.list().map((e) => e.inflight), [false, false, true], order);
    assert.deepEqual(rebuilt.committedPrefix(10).map((t) => t.id), [unsigned.id, committed.id], `${order}: a block may take both`);
    assert.equal(rebuilt.view.latestOnRef('t:1'), null, `${order}: the rolled-back write's row has no pending tx`);
  }
});

test('what built on a rolled-back write leaves with it; committed entries untouched', () => {
  const first = signTx(body(5), priv);
  const open = makeTx(body(6));
  const next = signTx(body(6, open.id), priv); // bases on the open write (admission waits for it; a rebuild may not)
  const [live, rebuilt] = pools([{ tx: first, inflight: false }, { tx: open, inflight: true }, { tx: next, inflight: false }]);
  live.remove(open.id, recheck);
  const dropped = rebuilt.carryInflight(live, recheck);
  assert.deepEqual(dropped.map((e) => e.tx.id), [next.id]);
  assert.deepEqual(rebuilt.txs().map((t) => t.id), [first.id]);
});
