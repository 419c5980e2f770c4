import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { bitsForHeight, blockHash, coinsToUnits, ConsensusError, hasValidSignature, makeCoinbase, makeTx, merkleRoot, mineSync, signTx, type Block, type Tx } from '../../consensus/index.ts';
import { buildTransfer } from '../../server/chain/send.ts';
import { Miner } from '../../server/chain/miner.ts';
import type { Chain } from '../../server/chain/engine.ts';
import { BlockStatus } from '../../server/chain/store.ts';
import { mineAbove, mineOn, newKey, openSqlTestChain, openTestChain, testConfig, type TestKey } from '../helpers/chain.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { loadPrimaryKeys, stateDigest } from '../../server/sql/digest.ts';
import { mysql2Executor } from '../../server/sql/mysql-executor.ts';

const coins = (c: string) => coinsToUnits(c);

async function send(chain: Chain, from: TestKey, to: string, amount: string): Promise<Tx> {
  const body = await buildTransfer(chain, from.pub, to, coins(amount));
  const tx = signTx(body, from.priv);
  await chain.submitTx(tx);
  return tx;
}

const isCode = (code: string) => (e: unknown) => e instanceof ConsensusError && e.code === code;

describe('chain engine on MariaDB', () => {
  const minter = newKey();
  const alice = newKey();
  const bob = newKey();
  let t: Awaited<ReturnType<typeof openTestChain>>;
  let miner: Miner;

  before(async () => {
    t = await openTestChain(testConfig(), minter);
    miner = new Miner(t.chain, { minter: minter.address });
  });
  after(async () => {
    await miner.stop();
    await t.close();
  });

  test('genesis: height 0 paying 10 coins to the minter', async () => {
    assert.equal(t.chain.height, 0);
    assert.equal(t.chain.tip.hash, t.genesis.hash);
    assert.deepEqual(await t.chain.balance(minter.address), { approved: coins('10'), pending: 0n, total: coins('10') });
  });

  test('block 1 needs one tx: nothing to mine on an empty pool', async () => {
    const r = await miner.mineOnce();
    assert.ok('wait' in r);
    assert.match(r.wait, /block 1 needs at least 1 transactions, the pool has 0/);
  });

  test('send with change: approved, pending, total', async () => {
    await send(t.chain, minter, alice.address, '1.5');
    assert.deepEqual(await t.chain.balance(minter.address), { approved: coins('10'), pending: -coins('1.5'), total: coins('8.5') });
    assert.deepEqual(await t.chain.balance(alice.address), { approved: 0n, pending: coins('1.5'), total: coins('1.5') });
    assert.equal(t.chain.pool.size, 1);
  });

  test('insufficient funds: clear error, pool unchanged', async () => {
    await assert.rejects(send(t.chain, alice, bob.address, '2'), (e) => isCode('insufficient-funds')(e) && /has 1.5 coins, 2 needed/.test((e as Error).message));
    assert.equal(t.chain.pool.size, 1);
  });

  test('bad address is refused', async () => {
    const bad = bob.address.slice(0, -1) + (bob.address.endsWith('a') ? 'b' : 'a');
    await assert.rejects(send(t.chain, minter, bad, '1'), isCode('bad-address'));
  });

  test('a chain of unconfirmed spends works', async () => {
    await send(t.chain, alice, bob.address, '1');
    await send(t.chain, bob, alice.address, '0.25');
    assert.equal((await t.chain.balance(bob.address)).total, coins('0.75'));
    assert.equal((await t.chain.balance(alice.address)).total, coins('0.75'));
    assert.equal(t.chain.pool.size, 3);
  });

  test('double spend refused, naming the pending tx', async () => {
    const [first] = t.chain.pool.list().filter((e) => e.from === alice.address);
    const input = first.tx.body as { in: { tx: string; n: number }[] };
    const body = { v: 1 as const, chain: t.chain.genesis, time: Date.now(), from: alice.pub, in: input.in, out: [{ to: bob.address, amount: coins('1.5').toString() }] };
    await assert.rejects(t.chain.submitTx(signTx(body, alice.priv)), (e) => isCode('double-spend')(e) && (e as Error).message.includes(first.tx.id));
    assert.equal(t.chain.pool.size, 3);
  });

  test('mining block 1 confirms the pool; balances become approved', async () => {
    const r = await miner.mineOnce();
    assert.ok('block' in r, JSON.stringify(r));
    assert.equal(t.chain.height, 1);
    assert.equal(t.chain.pool.size, 0);
    assert.deepEqual(await t.chain.balance(minter.address), { approved: coins('18.5'), pending: 0n, total: coins('18.5') });
    assert.deepEqual(await t.chain.balance(alice.address), { approved: coins('0.75'), pending: 0n, total: coins('0.75') });
    assert.deepEqual(await t.chain.balance(bob.address), { approved: coins('0.75'), pending: 0n, total: coins('0.75') });
  });

  test('block 2 needs two txs', async () => {
    await send(t.chain, minter, bob.address, '1');
    const r = await miner.mineOnce();
    assert.ok('wait' in r && /block 2 needs at least 2/.test(r.wait));
    await send(t.chain, minter, bob.address, '1');
    const r2 = await miner.mineOnce();
    assert.ok('block' in r2);
    assert.equal(t.chain.height, 2);
  });

  test('a block that breaks a rule is refused and changes nothing', async () => {
    const tip = t.chain.tip.hash;
    const tx = await send(t.chain, minter, alice.address, '1');
    // Spends alice's coins to bob without alice's key: bad signature.
    const body = await buildTransfer(t.chain, alice.pub, bob.address, coins('0.5'));
    // (the last byte changed, always: set to 00 it stayed valid when it was 00, one run in 256)
    const sig = signTx(body, alice.priv).sig!;
    const forged = { ...signTx(body, alice.priv), sig: sig.slice(0, -2) + (sig.endsWith('00') ? '01' : '00') };
    const extra = await buildTransfer(t.chain, minter.pub, bob.address, coins('0.1'));
    const b = mineOn(t.chain, tip, [tx, forged, signTx(extra, minter.priv)], minter.address);
    await assert.rejects(t.chain.addBlock(b), ConsensusError);
    assert.equal(t.chain.tip.hash, tip);
    assert.equal(t.chain.pool.size, 1);
    // stored once the transaction that tried to connect it rolled back, and known to be invalid
    await assert.rejects(t.chain.addBlock(b), /found invalid before/);
    assert.equal((await t.reopen()).headers.get(b.hash)?.status, BlockStatus.Invalid);
    await t.chain.cancel(tx.id);
    assert.equal(t.chain.pool.size, 0);
  });

  test('restart from disk: same tip, state and pool', async () => {
    const pending = await send(t.chain, minter, alice.address, '2');
    const before = { height: t.chain.height, tip: t.chain.tip.hash, m: await t.chain.balance(minter.address), a: await t.chain.balance(alice.address) };
    const reopened = await t.reopen();
    assert.equal(reopened.height, before.height);
    assert.equal(reopened.tip.hash, before.tip);
    assert.deepEqual(await reopened.balance(minter.address), before.m);
    assert.deepEqual(await reopened.balance(alice.address), before.a);
    assert.deepEqual(reopened.pool.txs().map((x) => x.id), [pending.id]);
    assert.deepEqual([...reopened.state.utxo.entries()].sort(), [...t.chain.state.utxo.entries()].sort());
  });
});

describe('fork choice on MariaDB', () => {
  const minter = newKey();
  const other = newKey();
  const carol = newKey();
  let t: Awaited<ReturnType<typeof openTestChain>>;

  before(async () => {
    t = await openTestChain(testConfig({}, { MaxMinNumberTransactionInBlock: 1 }), minter);
  });
  after(async () => t.close());

  test('the branch with most work wins; dropped txs return to the pool; state follows', async () => {
    const chain = t.chain;
    const g = chain.tip.hash;
    // Branch A (ours): block 1 with a send to carol.
    const toCarol = signTx(await buildTransfer(chain, minter.pub, carol.address, coins('3')), minter.priv);
    await chain.submitTx(toCarol);
    const a1 = mineOn(chain, g, [toCarol], minter.address);
    assert.equal(await chain.addBlock(a1), 'connected');
    assert.equal((await chain.balance(carol.address)).approved, coins('3'));

    // Branch B: two blocks from genesis by another miner, each needs one tx: spend the other's coinbase.
    const fromGenesis = signTx(
      { v: 1, chain: chain.genesis, time: Date.now(), from: minter.pub, in: [{ tx: t.genesis.txs[0].id, n: 0 }], out: [{ to: other.address, amount: coins('10').toString() }] },
      minter.priv,
    );
    // That tx conflicts with toCarol (same genesis output), so it can't sit in our pool: give it to branch B directly.
    const b1 = mineAbove(chain, g, [fromGenesis], other.address, a1);
    assert.equal(await chain.addBlock(b1), 'side', 'equal work and a higher hash: stays aside');
    assert.equal(chain.tip.hash, a1.hash);

    const b1coinbase = b1.txs[0];
    const spendB1 = signTx(
      { v: 1, chain: chain.genesis, time: Date.now(), from: other.pub, in: [{ tx: b1coinbase.id, n: 0 }], out: [{ to: carol.address, amount: coins('10').toString() }] },
      other.priv,
    );
    const b2 = mineOn(chain, b1.hash, [spendB1], other.address);
    assert.equal(await chain.addBlock(b2), 'connected');
    assert.equal(chain.tip.hash, b2.hash);
    assert.equal(chain.height, 2);
    // Carol's 3 coins from branch A are gone (conflicting spend of the genesis output); she has B's 10.
    assert.deepEqual(await chain.balance(carol.address), { approved: coins('10'), pending: 0n, total: coins('10') });
    assert.equal((await chain.balance(minter.address)).total, 0n);
    // toCarol spends an output branch B spent: dropped, not re-pooled.
    assert.equal(chain.pool.has(toCarol.id), false);

    // State in memory equals what a restart reads from MySQL.
    const reopened = await t.reopen();
    assert.equal(reopened.tip.hash, b2.hash);
    assert.deepEqual([...reopened.state.utxo.entries()].sort(), [...chain.state.utxo.entries()].sort());

    // Branch A grows to 3 blocks (spending minter's change from toCarol): back to A, undoing B.
    const change = (n: number, from: Tx) =>
      signTx({ v: 1, chain: chain.genesis, time: Date.now(), from: minter.pub, in: [{ tx: from.id, n }], out: [{ to: minter.address, amount: from.body.out[n].amount }] }, minter.priv);
    const c1 = change(1, toCarol);
    const a2 = mineAbove(chain, a1.hash, [c1], minter.address, b2);
    assert.equal(await chain.addBlock(a2), 'side');
    const a3 = mineOn(chain, a2.hash, [change(0, c1)], minter.address);
    assert.equal(await chain.addBlock(a3), 'connected');
    assert.equal(chain.tip.hash, a3.hash);
    assert.equal((await chain.balance(carol.address)).approved, coins('3'));
    assert.equal((await chain.balance(other.address)).total, 0n);
    // B's txs: fromGenesis conflicts with toCarol, spendB1 spends a coinbase that is gone: both dropped.
    assert.equal(chain.pool.size, 0);
    const again = await t.reopen();
    assert.deepEqual([...again.state.utxo.entries()].sort(), [...chain.state.utxo.entries()].sort());
    assert.deepEqual(again.active, chain.active);
  });

  test('equal work: the lower block hash wins, in whichever order the two blocks come', async () => {
    const tops: string[] = [];
    for (const order of ['lower first', 'higher first'] as const) {
      const base = t.chain.tip.hash;
      const pay = (key: ReturnType<typeof newKey>) => async () =>
        signTx(await buildTransfer(t.chain, minter.pub, key.address, coins('1')), minter.priv);
      const x = mineOn(t.chain, base, [await pay(carol)()], minter.address);
      const y = mineOn(t.chain, base, [await pay(other)()], minter.address, x.header.time);
      const [lower, higher] = x.hash < y.hash ? [x, y] : [y, x];
      const first = order === 'lower first' ? lower : higher;
      const second = first === lower ? higher : lower;
      assert.equal(await t.chain.addBlock(first), 'connected', order);
      assert.equal(await t.chain.addBlock(second), second === lower ? 'connected' : 'side', order);
      assert.equal(t.chain.tip.hash, lower.hash, `${order}: the lower hash is the tip`);
      tops.push(lower.hash);
    }
    const reopened = await t.reopen();
    assert.equal(reopened.tip.hash, tops[1], 'and stays the tip after a restart');
  });

  test('a dropped block\'s tx that is still valid goes back to the pool', async () => {
    const chain = t.chain;
    const tip = chain.tip.hash;
    const pay = signTx(await buildTransfer(chain, carol.pub, other.address, coins('1')), carol.priv);
    const x1 = mineOn(chain, tip, [pay], minter.address);
    assert.equal(await chain.addBlock(x1), 'connected');
    // A competing branch of two blocks without `pay`.
    const spendCb = (cb: Tx, key: TestKey) =>
      signTx({ v: 1, chain: chain.genesis, time: Date.now(), from: key.pub, in: [{ tx: cb.id, n: 0 }], out: [{ to: key.address, amount: cb.body.out[0].amount }] }, key.priv);
    const a3cb = (await chain.getBlock(tip))!.txs[0];
    const y1 = mineAbove(chain, tip, [spendCb(a3cb, minter)], other.address, x1);
    assert.equal(await chain.addBlock(y1), 'side');
    const y2 = mineOn(chain, y1.hash, [spendCb(y1.txs[0], other)], other.address);
    assert.equal(await chain.addBlock(y2), 'connected');
    assert.deepEqual(chain.pool.txs().map((x) => x.id), [pay.id]);
    assert.equal((await chain.balance(other.address)).pending, coins('1'));
  });

  test('the chain tables are in <db>_chain and the app database is separate', async () => {
    const c = await rootConnection();
    try {
      const [rows] = await c.query(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY 1`, [`${t.db.name}_chain`]);
      assert.deepEqual((rows as { t: string }[]).map((r) => r.t), ['addr_txs', 'blocks', 'block_digests', 'chain', 'ddl_journal', 'ddl_undo', 'dropped', 'known_peers', 'meta', 'peers', 'pool', 'rebased', 'refs', 'txindex', 'txs', 'utxo']);
    } finally {
      await c.end();
    }
  });
});

describe('MaxBlockIntervalSeconds lets a quiet chain confirm', () => {
  const minter = newKey();
  const dest = newKey();
  let clock = Date.now();
  let t: Awaited<ReturnType<typeof openTestChain>>;
  before(async () => {
    t = await openTestChain(testConfig({}, { MaxBlockIntervalSeconds: 5 }), minter, { now: () => clock });
  });
  after(async () => t.close());

  test('block 2 with one tx: refused before the interval, valid after it; never with none', async () => {
    const chain = t.chain;
    const miner = new Miner(chain, { minter: minter.address });
    try {
      await send(chain, minter, dest.address, '1');
      assert.ok('block' in (await miner.mineOnce()), 'block 1 needs one tx');
      const b1 = chain.tip.header;
      clock = b1.time + 1000;
      assert.ok('wait' in (await miner.mineOnce()), 'empty pool: nothing to mine');
      const tx = await send(chain, minter, dest.address, '1');
      const early = await miner.mineOnce();
      assert.ok('wait' in early && early.retryAt === b1.time + 5000, JSON.stringify(early));
      // Someone else's block with one tx and a time inside the interval is invalid.
      await assert.rejects(chain.addBlock(mineOn(chain, chain.tip.hash, [tx], dest.address, b1.time + 4999)), /needs at least 2 transactions/);
      clock = b1.time + 5000;
      const r = await miner.mineOnce();
      assert.ok('block' in r);
      assert.equal(chain.height, 2);
      assert.equal(r.block.txs.length, 2);
      clock += 10_000;
      assert.ok('wait' in (await miner.mineOnce()), 'the interval never allows an empty block');
    } finally {
      await miner.stop();
    }
  });
});

describe('in-flight admission (proxy writes commit the pool entry with their SQL)', () => {
  const minter = newKey();
  const dest = newKey();
  let t: Awaited<ReturnType<typeof openTestChain>>;
  before(async () => {
    t = await openTestChain(testConfig(), minter);
  });
  after(async () => t.close());

  test('an admitted tx is not mined until its MySQL transaction commits; a rollback takes it out', async () => {
    const chain = t.chain;
    const miner = new Miner(chain, { minter: minter.address });
    const conn = await t.pool.getConnection();
    try {
      const tx = signTx(await buildTransfer(chain, minter.pub, dest.address, coins('1')), minter.priv);
      const { persist } = await chain.admitInflight(tx);
      assert.equal(chain.pool.size, 1);
      assert.equal((await chain.balance(dest.address)).pending, coins('1'), 'others see it at once');
      const wait = await miner.mineOnce();
      assert.ok('wait' in wait, 'not mined while in flight');
      await conn.beginTransaction();
      for (const stmt of persist) await conn.query(stmt);
      await conn.commit();
      chain.commitInflight(tx.id);
      const r = await miner.mineOnce();
      assert.ok('block' in r && r.block.txs[1].id === tx.id);
      assert.equal(chain.pool.size, 0);

      const second = signTx(await buildTransfer(chain, minter.pub, dest.address, coins('2')), minter.priv);
      const h = await chain.admitInflight(second);
      await conn.beginTransaction();
      for (const stmt of h.persist) await conn.query(stmt);
      await conn.rollback();
      chain.abortInflight(second.id);
      assert.equal(chain.pool.size, 0);
      assert.equal((await chain.balance(dest.address)).pending, 0n);
      const reopened = await t.reopen();
      assert.equal(reopened.pool.size, 0, 'nothing was persisted for the rolled-back write');
    } finally {
      conn.release();
      await miner.stop();
    }
  });

  test('a block mined while a pool tx waits for its signature keeps that tx, signed', { timeout: 30_000 }, async () => {
    const chain = t.chain;
    const miner = new Miner(chain, { minter: minter.address });
    const conn = await t.pool.getConnection();
    const persistAndCommit = async (persist: string[], txid: string) => {
      await conn.beginTransaction();
      for (const stmt of persist) await conn.query(stmt);
      await conn.commit();
      chain.commitInflight(txid);
    };
    try {
      // enough committed txs for a block at this height
      const firsts: Tx[] = [];
      do {
        const tx = signTx(await buildTransfer(chain, minter.pub, dest.address, coins('0.1')), minter.priv);
        await persistAndCommit((await chain.admitInflight(tx)).persist, tx.id);
        firsts.push(tx);
      } while ('wait' in chain.blockTemplate(minter.address) && firsts.length < 20);
      const first = firsts[0];
      // The second is admitted unsigned; its signature comes only after a block has been mined.
      const body = await buildTransfer(chain, minter.pub, dest.address, coins('2'));
      const signed = signTx(body, minter.priv);
      let release = () => {};
      const gate = new Promise<void>((r) => (release = r));
      const admitted = chain.admitInflight(makeTx(body), { signatureKnownGood: true, sign: async () => (await gate, signed.sig!) });
      while (!chain.pool.has(signed.id)) await new Promise((r) => setTimeout(r, 5));
      const mined = miner.mineOnce();
      while (chain.pool.has(first.id)) await new Promise((r) => setTimeout(r, 5));
      release();
      const second = await admitted;
      assert.equal(second.tx.sig, signed.sig);
      await persistAndCommit(second.persist, signed.id);
      const r = await mined;
      assert.ok('block' in r);
      assert.deepEqual(r.block.txs.slice(1).map((t) => t.id), firsts.map((t) => t.id));
      assert.deepEqual(chain.recentlyDropped.map((d) => d.reason), []);
      assert.equal(chain.pool.get(signed.id)?.tx.sig, signed.sig, 'the pool holds the signed tx');
      assert.ok(hasValidSignature(chain.pool.get(signed.id)!.tx));
      assert.equal(chain.pool.committedPrefix(10).at(-1)?.sig, signed.sig, 'the next block gets the signed tx');
    } finally {
      conn.release();
      await miner.stop();
    }
  });

  test('a write that rolls back does not take out another one still waiting for its signature', async () => {
    // Found by the nothing-lost test: the pool re-checked every other entry's signature after an
    // abort, so an entry signed later was dropped while its writer went on to commit and say OK.
    const chain = t.chain;
    const conn = await t.pool.getConnection();
    try {
      const body = await buildTransfer(chain, minter.pub, dest.address, coins('0.5'));
      const signed = signTx(body, minter.priv);
      let release = () => {};
      const gate = new Promise<void>((r) => (release = r));
      const waiting = chain.admitInflight(makeTx(body), { signatureKnownGood: true, sign: async () => (await gate, signed.sig!) });
      while (!chain.pool.has(signed.id)) await new Promise((r) => setTimeout(r, 5));

      const other = signTx(await buildTransfer(chain, minter.pub, newKey().address, coins('0.25')), minter.priv);
      await chain.admitInflight(other);
      chain.abortInflight(other.id);
      assert.ok(!chain.pool.has(other.id));
      assert.ok(chain.pool.has(signed.id), 'the unsigned entry is still admitted');

      release();
      const { persist } = await waiting;
      await conn.beginTransaction();
      for (const stmt of persist) await conn.query(stmt);
      await conn.commit();
      chain.commitInflight(signed.id);
      assert.equal(chain.pool.get(signed.id)?.tx.sig, signed.sig);
      assert.ok(chain.pool.committedPrefix(100).some((tx) => tx.id === signed.id), 'it will be mined');
      const reopened = await t.reopen();
      assert.ok(reopened.pool.has(signed.id), 'memory and the pool table agree');
    } finally {
      conn.release();
    }
  });

  test('nothing spends the outputs of a write still in flight: it could roll back', async () => {
    const chain = t.chain;
    const payee = newKey();
    const first = signTx(await buildTransfer(chain, minter.pub, payee.address, coins('1')), minter.priv);
    await chain.admitInflight(first);
    const out = [{ to: dest.address, amount: coins('1').toString() }];
    const spendsIt = signTx({ v: 1, chain: chain.genesis, time: Date.now(), from: payee.pub, in: [{ tx: first.id, n: 0 }], out }, payee.priv);
    await assert.rejects(chain.submitTx(spendsIt), (e) => isCode('missing-input')(e) && /still committing/.test((e as Error).message));
    await assert.rejects(buildTransfer(chain, payee.pub, dest.address, coins('0.5')), isCode('insufficient-funds'), 'coin choice skips in-flight outputs');
    const change = await buildTransfer(chain, minter.pub, dest.address, coins('0.1'));
    assert.ok(change.in.every((i) => i.tx !== first.id));
    chain.abortInflight(first.id);
    assert.ok(!chain.pool.has(first.id));
  });
});

describe('a block whose COMMIT fails', () => {
  const minter = newKey();
  const alice = newKey();
  let failNext = false;
  let t: Awaited<ReturnType<typeof openTestChain>>;
  before(async () => {
    t = await openTestChain(testConfig(), minter, {
      beforeCommit: async () => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full (test)');
        }
      },
    });
  });
  after(async () => t.close());

  test('is stored but not connected; tip, state and pool unchanged, also after a restart', async () => {
    const tx = await send(t.chain, minter, alice.address, '1');
    const tip = t.chain.tip.hash;
    const utxo = [...t.chain.state.utxo.keys()].sort();
    const b = mineOn(t.chain, tip, [tx], minter.address);
    failNext = true;
    await assert.rejects(t.chain.addBlock(b), /disk full/);
    assert.equal(t.chain.tip.hash, tip);
    assert.deepEqual([...t.chain.state.utxo.keys()].sort(), utxo);
    assert.deepEqual(t.chain.pool.txs().map((x) => x.id), [tx.id]);
    const reopened = await t.reopen();
    assert.equal(reopened.tip.hash, tip);
    assert.equal(reopened.headers.get(b.hash)?.status, BlockStatus.Stored, 'the block itself was kept');
    assert.deepEqual((await reopened.getBlock(b.hash))?.txs.map((x) => x.id), b.txs.map((x) => x.id));
    assert.deepEqual(reopened.pool.txs().map((x) => x.id), [tx.id]);
  });
});

describe('a block\'s SQL from outside, replayed in batches', () => {
  const minter = newKey();
  const author = newKey();
  let t: Awaited<ReturnType<typeof openTestChain>>;
  let app: Awaited<ReturnType<typeof rootConnection>>;
  let opened: Awaited<ReturnType<typeof openSqlTestChain>>;
  before(async () => {
    opened = await openSqlTestChain(minter);
    ({ t, app } = opened);
  });
  after(() => opened.close());
  const latest = new Map<string, string>();
  const insert = (id: number, note: string, time = Date.now()) => {
    const ref = `t:${id}`;
    const tx = signTx({
      v: 1, chain: t.chain.genesis, time, from: author.pub, in: [], out: [],
      sql: { stmts: [`INSERT INTO t VALUES (${id}, '${note}')`], undo: [`DELETE FROM t WHERE id = ${id}`], refs: [ref], base: { [ref]: latest.get(ref) ?? null } },
    } as Parameters<typeof signTx>[0], author.priv);
    return tx;
  };
  /** A block at `height` on `parent`, which the chain may not know yet (a peer's run). */
  const mineOnHeader = (parent: string, height: number, txs: Tx[]) => {
    const all = [makeCoinbase(t.chain.genesis, height, minter.address, t.chain.config.coinsForBlockMade), ...txs];
    const header = mineSync({ v: 1, height, prev: parent, merkle: merkleRoot(all.map((x) => x.id)), time: Date.now() + height, bits: bitsForHeight(t.chain.config, height) });
    return { hash: blockHash(header), header, txs: all };
  };
  const rows = async () => (await app.query(`SELECT id, note FROM \`${t.db.name}\`.t ORDER BY id`))[0] as { id: number; note: string }[];

  test('every statement runs, in order, whatever the batch size; a `;` in a literal runs on its own', async () => {
    const txs = Array.from({ length: 450 }, (_, i) => insert(i + 1, i === 200 ? 'semi;colon' : `row ${i + 1}`));
    const b = mineOn(t.chain, t.chain.tip.hash, txs, minter.address);
    assert.equal(await t.chain.addBlock(b), 'connected');
    for (const tx of txs) latest.set(`t:${txs.indexOf(tx) + 1}`, tx.id);
    const got = await rows();
    assert.equal(got.length, 450);
    assert.equal(got[200].note, 'semi;colon');
    assert.equal(got[449].note, 'row 450');
  });

  test('a statement that fails in MySQL makes the block invalid, names its tx, and leaves no row behind', async () => {
    const tip = t.chain.tip.hash;
    const fresh = insert(1000, 'new');
    const dup = insert(5, 'again'); // row 5 exists: duplicate key
    const b = mineOn(t.chain, tip, [fresh, dup, insert(1001, 'new too')], minter.address);
    await assert.rejects(t.chain.addBlock(b), (e: Error) => e instanceof ConsensusError && e.message.includes(dup.id) && /Duplicate entry/.test(e.message));
    assert.equal(t.chain.tip.hash, tip);
    assert.equal(t.chain.headers.get(b.hash)?.status, BlockStatus.Invalid);
    const got = await rows();
    assert.equal(got.length, 450);
    assert.equal(got.find((r) => r.id === 5)?.note, 'row 5');
  });

  test('a tx whose undo is not a write on its own table is invalid: not pooled, a block holding it refused, nothing of it runs', async () => {
    const withUndo = (id: number, undo: string[]) => signTx({
      v: 1, chain: t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
      sql: { stmts: [`INSERT INTO t VALUES (${id}, 'u')`], undo, refs: [`t:${id}`], base: { [`t:${id}`]: null } },
    } as Parameters<typeof signTx>[0], author.priv);
    const before = t.chain.pool.size;
    for (const undo of [[`DROP DATABASE \`${t.db.name}_chain\``], ['DELETE FROM other WHERE id = 1'], ['DELETE FROM t WHERE id = 1; DROP TABLE t'], ['SET GLOBAL max_connections = 1']]) {
      await assert.rejects(t.chain.submitTx(withUndo(5000, undo)), (e: unknown) => isCode('sql-refused')(e) && /undo statement/.test((e as Error).message), undo[0]);
    }
    assert.equal(t.chain.pool.size, before);
    assert.equal((await rows()).some((r) => r.id === 5000), false);
    const tip = t.chain.tip.hash;
    const bad = mineOn(t.chain, tip, [withUndo(5002, ['DROP TABLE t'].map((u) => `${u}; DROP DATABASE x`))], minter.address);
    await assert.rejects(t.chain.addBlock(bad), (e: unknown) => isCode('sql-refused')(e) && /undo statement/.test((e as Error).message));
    assert.equal(t.chain.tip.hash, tip);
    assert.equal((await rows()).some((r) => r.id === 5002), false);
    const ok = withUndo(5001, ['DELETE FROM `t` WHERE `id` = 5001']);
    await t.chain.submitTx(ok);
    assert.equal(t.chain.pool.has(ok.id), true);
    await t.chain.cancel(ok.id);
    assert.equal((await rows()).some((r) => r.id === 5001), false, 'cancel undid it');
  });

  test('a tx whose statement changes rows its refs do not name is invalid: not pooled (alone or in a batch), a block holding it refused, nothing of it stays', async () => {
    const signed = (stmt: string, refs: string[], undo = refs.map((r) => `DELETE FROM t WHERE id = ${r.slice(2)}`)) => signTx({
      v: 1, chain: t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
      sql: { stmts: [stmt], undo, refs, base: Object.fromEntries(refs.map((r) => [r, latest.get(r) ?? null])) },
    } as Parameters<typeof signTx>[0], author.priv);
    const before = await rows();
    const pooled = t.chain.pool.size;
    const tooMany = [signed("UPDATE t SET note = 'all' WHERE id < 100", ['t:1']), signed('DELETE FROM t WHERE id = 7', [])];
    for (const tx of tooMany) {
      await assert.rejects(t.chain.submitTx(tx), (e: unknown) => isCode('sql-refused')(e) && /changes row t:(2|7), which its refs do not name/.test((e as Error).message));
    }
    // relayed in a batch beside good txs: those are pooled, the bad one refused alone
    const good = [insert(6000, 'ok'), insert(6001, 'ok too')];
    const out = await t.chain.submitTxs([good[0], tooMany[0], good[1]]);
    assert.equal(out[0], undefined);
    assert.ok(isCode('sql-refused')(out[1]), String(out[1]));
    assert.equal(out[2], undefined);
    assert.equal(t.chain.pool.size, pooled + 2);
    assert.deepEqual((await rows()).filter((r) => r.id < 6000), before);
    // in a block, with its statement batched among others: the block is refused
    const tip = t.chain.tip.hash;
    const bad = mineOn(t.chain, tip, [...good, tooMany[0], insert(6002, 'after')], minter.address);
    await assert.rejects(t.chain.addBlock(bad), (e: unknown) => isCode('sql-refused')(e) && (e as Error).message.includes(tooMany[0].id));
    assert.equal(t.chain.tip.hash, tip);
    assert.deepEqual((await rows()).filter((r) => r.id < 6000), before);
    // a REPLACE of a row counts it twice (deleted, inserted), and is within its refs
    const replace = signed("REPLACE INTO t VALUES (3, 'replaced')", ['t:3'], ["UPDATE t SET note = 'row 3' WHERE id = 3"]);
    await t.chain.submitTx(replace);
    assert.equal((await rows()).find((r) => r.id === 3)?.note, 'replaced');
    for (const tx of [replace, ...good].reverse()) await t.chain.cancel(tx.id);
    assert.deepEqual(await rows(), before);
  });

  test('a tx whose statement changes as many rows as it names, but other ones, is invalid: not pooled (alone or in a batch), a block holding it refused', async () => {
    const signed = (stmt: string, refs: string[], undo = refs.map((r) => `UPDATE t SET note = 'row ${r.slice(2)}' WHERE id = ${r.slice(2)}`)) => signTx({
      v: 1, chain: t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
      sql: { stmts: [stmt], undo, refs, base: Object.fromEntries(refs.map((r) => [r, latest.get(r) ?? null])) },
    } as Parameters<typeof signTx>[0], author.priv);
    const unnamed = (ref: string) => (e: unknown) => isCode('sql-refused')(e) && (e as Error).message.includes(`changes row ${ref}, which its refs do not name`);
    const before = await rows();
    const pooled = t.chain.pool.size;
    const others = [
      signed("UPDATE t SET note = 'hijacked' WHERE id = 2", ['t:1']),
      signed("DELETE FROM t WHERE note = 'row 2'", ['t:1']),
      signed("INSERT INTO t VALUES (7001, 'unnamed')", ['t:7000']),
    ];
    for (const [k, tx] of others.entries()) await assert.rejects(t.chain.submitTx(tx), unnamed(k === 2 ? 't:7001' : 't:2'));
    // a ref to the whole table names its definition (the base of the last schema change), not its rows
    const smuggled = signed("UPDATE t SET note = 'hijacked' WHERE id = 2", ['t:*'], ["UPDATE t SET note = 'row 2' WHERE id = 2"]);
    await assert.rejects(t.chain.submitTx(smuggled), (e: unknown) => isCode('sql-refused')(e) && /names a whole table \(t:\*\) may hold only schema changes/.test((e as Error).message));
    assert.deepEqual(await rows(), before);
    // a schema change that fails here (the column exists) is refused and leaves the table as it was
    const failing = signed('ALTER TABLE t ADD COLUMN note TEXT', ['t:*'], ['ALTER TABLE t DROP COLUMN note']);
    await assert.rejects(t.chain.submitTx(failing), (e: unknown) => isCode('bad-block')(e) && /Duplicate column name/.test((e as Error).message));
    assert.deepEqual(await rows(), before);
    // an UPDATE of the key moves a named row to a key no ref names
    await assert.rejects(t.chain.submitTx(signed('UPDATE t SET id = 7002 WHERE id = 1', ['t:1'])), (e: unknown) => isCode('sql-refused')(e) && /primary key column `id`/.test((e as Error).message));
    // relayed in a batch beside good txs: those are pooled, the bad one refused alone
    const good = [insert(6100, 'ok'), insert(6101, 'ok too')];
    const out = await t.chain.submitTxs([good[0], others[0], good[1]]);
    assert.equal(out[0], undefined);
    assert.ok(unnamed('t:2')(out[1]), String(out[1]));
    assert.equal(out[2], undefined);
    assert.equal(t.chain.pool.size, pooled + 2);
    // in a block among batched statements: the block is refused, nothing of it stays
    const tip = t.chain.tip.hash;
    const bad = mineOn(t.chain, tip, [...good, others[1], insert(6102, 'after')], minter.address);
    await assert.rejects(t.chain.addBlock(bad), (e: unknown) => unnamed('t:2')(e) && (e as Error).message.includes(others[1].id));
    assert.equal(t.chain.tip.hash, tip);
    // refused before it runs (not deterministic): the error names the tx and the block too
    const random = signed('UPDATE t SET note = RAND() WHERE id = 1', ['t:1']);
    await assert.rejects(t.chain.addBlock(mineOn(t.chain, tip, [...good, random], minter.address)), (e: unknown) =>
      e instanceof ConsensusError && (e as Error).message.includes(`tx ${random.id}`) && /RAND/.test((e as Error).message));
    assert.equal(t.chain.tip.hash, tip);
    assert.deepEqual((await rows()).filter((r) => r.id < 6000), before.filter((r) => r.id < 6000));
    for (const tx of [...good].reverse()) await t.chain.cancel(tx.id);
    assert.deepEqual(await rows(), before);
  });

  test('addBlocks (a sync): a run connects as one; a bad block in a run is found block by block, the ones before it stay', async () => {
    const chainOf = (n: number, firstId: number, bad?: number) => {
      const start = t.chain.height;
      const out = [];
      let parent = t.chain.tip.hash;
      for (let k = 0; k < n; k++) {
        // blocks not connected yet: mine on a header we add by hand, as a peer's run arrives
        const tx = k === bad ? insert(5, 'dup') : insert(firstId + k, `run ${k}`);
        const b = mineOnHeader(parent, start + 1 + k, [tx]);
        out.push(b);
        parent = b.hash;
      }
      return out;
    };
    const good = chainOf(5, 2000);
    const seen: string[] = [];
    await t.chain.addBlocks(good, (b, r) => seen.push(`${b.header.height}:${r}`));
    assert.deepEqual(seen, good.map((b) => `${b.header.height}:connected`));
    assert.equal(t.chain.tip.hash, good[4].hash);
    for (const [k, b] of good.entries()) latest.set(`t:${2000 + k}`, b.txs[1].id);
    assert.equal((await rows()).length, 455);

    const withBad = chainOf(5, 3000, 2);
    seen.length = 0;
    await assert.rejects(t.chain.addBlocks(withBad, (b, r) => seen.push(`${b.header.height}:${r}`)), (e: Error) => e instanceof ConsensusError && /Duplicate entry/.test(e.message));
    assert.deepEqual(seen, withBad.slice(0, 2).map((b) => `${b.header.height}:connected`));
    assert.equal(t.chain.tip.hash, withBad[1].hash);
    assert.equal(t.chain.headers.get(withBad[2].hash)?.status, BlockStatus.Invalid);
    assert.equal(t.chain.headers.has(withBad[3].hash), false, 'blocks after the bad one were not taken');
    assert.deepEqual((await rows()).filter((r) => r.id >= 3000).map((r) => r.id), [3000, 3001]);
  });

  test('addBlocks: a schema change goes alone and the blocks after it connect as a run again', async () => {
    const ddl = signTx({
      v: 1, chain: t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
      sql: { stmts: ['CREATE TABLE t_run (a INT PRIMARY KEY)'], undo: ['DROP TABLE `t_run`'], refs: ['t_run:*'], base: { 't_run:*': null } },
    } as Parameters<typeof signTx>[0], author.priv);
    const start = t.chain.height;
    const blocks: Block[] = [];
    let parent = t.chain.tip.hash;
    for (const [k, tx] of [ddl, insert(4000, 'after'), insert(4001, 'after'), insert(4002, 'after')].entries()) {
      const b = mineOnHeader(parent, start + 1 + k, [tx]);
      blocks.push(b);
      parent = b.hash;
    }
    // blocks added one by one go through addBlock; a run does not
    const alone: number[] = [];
    const addBlock = t.chain.addBlock.bind(t.chain);
    t.chain.addBlock = (b: Block) => (alone.push(b.header.height), addBlock(b));
    try {
      const seen: string[] = [];
      await t.chain.addBlocks(blocks, (b, r) => seen.push(`${b.header.height}:${r}`));
      assert.deepEqual(seen, blocks.map((b) => `${b.header.height}:connected`));
    } finally {
      t.chain.addBlock = addBlock;
    }
    assert.deepEqual(alone, [start + 1], 'only the schema change went alone');
    assert.equal(t.chain.tip.hash, blocks[3].hash);
    for (const id of [4000, 4001, 4002]) latest.set(`t:${id}`, blocks[id - 3999].txs[1].id);
    assert.deepEqual((await rows()).filter((r) => r.id >= 4000).map((r) => r.id), [4000, 4001, 4002]);
    assert.deepEqual((await app.query(`SHOW TABLES FROM \`${t.db.name}\` LIKE 't_run'`))[0], [{ [`Tables_in_${t.db.name} (t_run)`]: 't_run' }]);
  });
});

describe('a block with a schema change', () => {
  const minter = newKey();
  const author = newKey();
  let opened: Awaited<ReturnType<typeof openSqlTestChain>>;
  /** At the block's final COMMIT: the mark and the new table as another connection sees them. */
  let atCommit: { mark: string | undefined; table: boolean } | undefined;
  before(async () => {
    opened = await openSqlTestChain(minter, {
      beforeCommit: async () => {
        const chainDb = `${opened.t.db.name}_chain`;
        const [marks] = await opened.app.query(`SELECT v FROM \`${chainDb}\`.meta WHERE k = 'sql_unsafe'`);
        const [tables] = await opened.app.query(`SHOW TABLES FROM \`${opened.t.db.name}\` LIKE 'made'`);
        atCommit = { mark: (marks as { v: string }[])[0]?.v, table: (tables as unknown[]).length === 1 };
      },
    });
  });
  after(() => opened.close());

  test('is marked unsafe, durably, before its DDL commits itself; the mark is cleared with the block', async () => {
    const { t, app } = opened;
    const ddl = signTx({
      v: 1, chain: t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
      sql: { stmts: ['CREATE TABLE made (a INT PRIMARY KEY)'], undo: ['DROP TABLE `made`'], refs: ['made:*'], base: { 'made:*': null } },
    } as Parameters<typeof signTx>[0], author.priv);
    const b = mineOn(t.chain, t.chain.tip.hash, [ddl], minter.address);
    assert.equal(await t.chain.addBlock(b), 'connected');
    // The mark is written in the block's transaction, and the CREATE TABLE's implicit commit made
    // it durable with the table: another connection saw both before the block's own COMMIT.
    assert.deepEqual(atCommit, { mark: '1', table: true });
    const [marks] = await app.query(`SELECT v FROM \`${t.db.name}_chain\`.meta WHERE k = 'sql_unsafe'`);
    assert.deepEqual(marks, [{ v: '0' }]);
  });
});

describe('a pool tx that no longer fits when the node starts', () => {
  const minter = newKey();
  const dest = newKey();
  let clock = Date.now();
  let t: Awaited<ReturnType<typeof openTestChain>>;
  before(async () => {
    t = await openTestChain(testConfig(), minter, { now: () => clock });
  });
  after(async () => t.close());

  test('is dropped with why, and the record outlives the next restart', async () => {
    await new Miner(t.chain, { minter: minter.address }).mineOnce(); // a coin to spend
    const tx = await send(t.chain, minter, dest.address, '1');
    clock += 3 * 3600_000; // down for 3 hours: the tx's time is now too far from any next block's
    const reopened = await t.reopen();
    assert.equal(reopened.pool.size, 0);
    const why = reopened.recentlyDropped.find((d) => d.tx.id === tx.id);
    assert.equal(why?.code, 'bad-time', JSON.stringify(why));
    const again = await t.reopen();
    assert.deepEqual(again.recentlyDropped.filter((d) => d.tx.id === tx.id).map((d) => [d.code, d.reason]), [[why!.code, why!.reason]]);
  });
});

describe('a block made of pooled txs', () => {
  test('reuses the pool checks, yet refuses a reorder that breaks a spend and a block time too far from its txs', async () => {
    const [minter, dest, other] = [newKey(), newKey(), newKey()];
    let clock = Date.now();
    const t = await openTestChain(testConfig(), minter, { now: () => clock });
    try {
      await new Miner(t.chain, { minter: minter.address }).mineOnce(); // a coin to spend
      const a = await send(t.chain, minter, dest.address, '3');
      const b = await send(t.chain, dest, other.address, '1'); // spends a's output, still pooled
      assert.ok('in' in b.body && b.body.in.some((i) => i.tx === a.id));
      const tip = t.chain.tip.hash;
      const reused = t.chain.poolChecksReused;

      // the same txs, b first: same SQL effect (none), not the pool's order, so checked in full
      await assert.rejects(t.chain.addBlock(mineOn(t.chain, tip, [b, a], minter.address)), isCode('missing-input'));
      assert.equal(t.chain.poolChecksReused, reused);

      // the pool's order, but at a time 2.5 hours after the txs' (the node's clock is 1 hour ahead,
      // so the header itself is fine): the one check the pool could not have made
      const real = Date.now();
      clock = real + 3600_000;
      await assert.rejects(t.chain.addBlock(mineOn(t.chain, tip, [a, b], minter.address, real + 2.5 * 3600_000)), isCode('bad-time'));
      assert.equal(t.chain.tip.hash, tip);
      assert.deepEqual(t.chain.pool.txs().map((x) => x.id), [a.id, b.id], 'both still pooled');

      const good = mineOn(t.chain, tip, [a, b], minter.address, real + 3600_000);
      assert.equal(await t.chain.addBlock(good), 'connected');
      assert.equal(t.chain.poolChecksReused - reused, 2);
      assert.equal(t.chain.pool.size, 0);
      assert.equal(t.chain.tip.hash, good.hash);
    } finally {
      await t.close();
    }
  });

  test('in another order with the same effect, reuses the checks of the txs that spend only confirmed coins', async () => {
    const [minter, dest, other] = [newKey(), newKey(), newKey()];
    const t = await openTestChain(testConfig(), minter);
    try {
      const miner = new Miner(t.chain, { minter: minter.address });
      try {
        await miner.mineOnce();
        await send(t.chain, minter, dest.address, '3');
        await send(t.chain, minter, other.address, '2');
        assert.ok('block' in (await miner.mineOnce())); // dest and other have a confirmed coin each
      } finally {
        await miner.stop();
      }
      const c = await send(t.chain, dest, minter.address, '1');
      const d = await send(t.chain, other, minter.address, '1');
      const e = await send(t.chain, dest, other.address, '1'); // spends c's change, still pooled
      assert.ok('in' in d.body && d.body.in.every((i) => i.tx !== c.id), 'd spends a confirmed coin');
      assert.ok('in' in e.body && e.body.in.some((i) => i.tx === c.id));
      const reused = t.chain.poolChecksReused;
      // not the pool's order (c, d, e): d and c spend confirmed coins and keep their checks; e is
      // checked in full (and passes: c comes before it)
      const block = mineOn(t.chain, t.chain.tip.hash, [d, c, e], minter.address);
      assert.equal(await t.chain.addBlock(block), 'connected');
      assert.equal(t.chain.poolChecksReused - reused, 2);
      assert.equal(t.chain.pool.size, 0);
    } finally {
      await t.close();
    }
  });
});

describe('relayed txs admitted in batches (submitTxs)', () => {
  const minter = newKey();
  const author = newKey();
  let opened: Awaited<ReturnType<typeof openSqlTestChain>>;
  before(async () => {
    opened = await openSqlTestChain(minter);
    // as the node's pool does (its default database is the application's): a connection opened
    // after one was killed must find the tables too
    opened.t.pool.pool.on('connection', (c) => c.query(`USE \`${opened.t.db.name}\``));
  });
  after(() => opened.close());
  const sqlTx = (stmts: string[], undo: string[], refs: string[]) => signTx({
    v: 1, chain: opened.t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
    sql: { stmts, undo, refs, base: Object.fromEntries(refs.map((r) => [r, null])) },
  } as Parameters<typeof signTx>[0], author.priv);
  const insert = (id: number) => sqlTx([`INSERT INTO t VALUES (${id}, 'b${id}')`], [`DELETE FROM t WHERE id = ${id}`], [`t:${id}`]);
  const ids = async () => ((await opened.app.query(`SELECT id FROM \`${opened.t.db.name}\`.t ORDER BY id`))[0] as { id: number }[]).map((r) => r.id);
  const poolRows = async () => ((await opened.app.query(`SELECT txid FROM \`${opened.t.db.name}_chain\`.pool ORDER BY seq`))[0] as { txid: string }[]).map((r) => r.txid);

  test('a failing tx is rolled back alone; a schema change goes on its own; the rest is pooled in order, rows and pool rows with it', async () => {
    const { t, app } = opened;
    await app.query(`INSERT INTO \`${t.db.name}\`.t VALUES (7, 'there before')`);
    const dup = sqlTx(['INSERT INTO t VALUES (7, \'dup\')'], ['DELETE FROM t WHERE id = 7'], ['t:7']); // duplicate key in MySQL
    const ddl = sqlTx(['CREATE TABLE side (a INT PRIMARY KEY)'], ['DROP TABLE `side`'], ['side:*']);
    const txs = [insert(1), insert(2), dup, insert(3), ddl, insert(4), ...Array.from({ length: 150 }, (_, i) => insert(100 + i))];
    const events: string[] = [];
    const onPool = (tx: Tx | null) => tx && events.push(tx.id);
    t.chain.on('pool', onPool);
    const errors = await t.chain.submitTxs(txs).finally(() => t.chain.off('pool', onPool));
    assert.equal(errors.length, txs.length);
    assert.match(String(errors[2]?.message), /Duplicate entry/);
    assert.deepEqual(errors.map((e, i) => (e ? i : -1)).filter((i) => i >= 0), [2]);
    const pooled = txs.filter((_, i) => i !== 2).map((x) => x.id);
    assert.deepEqual(t.chain.pool.list().map((e) => e.tx.id), pooled);
    assert.deepEqual(await poolRows(), pooled);
    assert.deepEqual(events, pooled, "one 'pool' event per pooled tx, in order");
    assert.deepEqual(await ids(), [1, 2, 3, 4, 7, ...Array.from({ length: 150 }, (_, i) => 100 + i)]);
    assert.equal(((await app.query(`SHOW TABLES FROM \`${t.db.name}\` LIKE 'side'`))[0] as unknown[]).length, 1);
    // and they mine as any pooled txs do
    const miner = new Miner(t.chain, { minter: minter.address });
    const mined = await miner.mineNow().finally(() => miner.stop());
    assert.ok('block' in mined, JSON.stringify(mined));
    assert.equal(t.chain.pool.size, 0);
    assert.equal(mined.block.txs.length, pooled.length + 1);
  });

  test('a batch goes to MySQL in a few writes, not a round trip per statement', async () => {
    const { t } = opened;
    const txs = Array.from({ length: 50 }, (_, i) => insert(1000 + i));
    // every write of this process to a socket while the batch is admitted (nothing else runs
    // meanwhile): net.Socket's one way to the kernel, for a chunk or for a corked batch of them
    const proto = Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
    const writeGeneric = proto._writeGeneric;
    assert.equal(typeof writeGeneric, 'function');
    let writes = 0;
    proto._writeGeneric = function (this: Socket, ...args: unknown[]) {
      writes++;
      return writeGeneric.apply(this, args);
    };
    let errors: (Error | undefined)[];
    try {
      errors = await t.chain.submitTxs(txs);
    } finally {
      proto._writeGeneric = writeGeneric;
    }
    assert.deepEqual(errors.filter(Boolean), []);
    assert.deepEqual((await ids()).filter((id) => id >= 1000), txs.map((_, i) => 1000 + i));
    assert.deepEqual((await poolRows()).slice(-50), txs.map((x) => x.id));
    // 100 statements (each tx's INSERT and its pool row): a round trip each would be over 100 writes (157 before)
    assert.ok(writes <= 20, `${writes} socket writes`);
  });

  test('while the chain undoes and replays every row (oursql cancel here), new writes wait for it: untilSqlSettles', async () => {
    const { t } = opened;
    const tx = insert(7000);
    await t.chain.submitTx(tx);
    const state = () => Promise.race([(t.chain.untilSqlSettles() ?? Promise.resolve()).then(() => 'settled'), new Promise((r) => setTimeout(() => r('waiting'), 20))]);
    assert.equal(await state(), 'settled');
    // a client holds the row the undo deletes: the rebuild waits in MySQL, every row the chain's
    const holder = await rootConnection();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT * FROM \`${t.db.name}\`.t WHERE id = 7000 FOR UPDATE`);
      const cancelling = t.chain.cancel(tx.id);
      for (let i = 0; i < 100 && (await state()) === 'settled'; i++);
      assert.equal(await state(), 'waiting', 'the rebuild runs');
      let settled = false;
      const waiter = t.chain.untilSqlSettles()!.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(settled, false);
      await holder.query('ROLLBACK');
      assert.deepEqual(await cancelling, [tx.id]);
      await waiter;
      assert.equal(settled, true);
      assert.equal(await state(), 'settled');
      assert.equal(t.chain.pool.has(tx.id), false);
      assert.deepEqual((await ids()).filter((id) => id === 7000), []);
    } finally {
      await holder.end();
    }
  });

  test('a batch whose transaction is lost (its connection killed) is taken back and admitted one by one', async () => {
    const { t, app } = opened;
    // a statement that waits (a row another connection holds) while its connection is killed
    const holder = await rootConnection();
    try {
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO \`${t.db.name}\`.t VALUES (500, 'held')`);
      const waits = sqlTx(["INSERT INTO t VALUES (500, 'waits')"], ['DELETE FROM t WHERE id = 500'], ['t:500']);
      const txs = [insert(400), insert(401), waits, insert(402)];
      const done = t.chain.submitTxs(txs);
      // the engine's connection waiting for row 500: kill it
      let killed = false;
      for (let i = 0; i < 100 && !killed; i++) {
        const [list] = await app.query(`SELECT id FROM information_schema.PROCESSLIST WHERE db = ? AND info LIKE 'INSERT INTO t VALUES (500%'`, [t.db.name]);
        for (const r of list as { id: number }[]) (await app.query(`KILL ${r.id}`), (killed = true));
        if (!killed) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(killed, 'found the waiting statement');
      await holder.query('ROLLBACK');
      const errors = await done;
      // one by one after the lost batch: 400, 401 and 402 are pooled; 500 too, now that the row is free
      assert.deepEqual(errors.map((e) => e?.message), [undefined, undefined, undefined, undefined]);
      for (const x of txs) assert.equal(t.chain.pool.has(x.id), true);
      assert.deepEqual((await ids()).filter((id) => id >= 400 && id < 1000), [400, 401, 402, 500]);
      assert.deepEqual((await poolRows()).slice(-4), txs.map((x) => x.id));
    } finally {
      await holder.end();
    }
  });
});

describe('a block mined while a schema change that changed nothing waits in the pool', () => {
  test('connects the fast way (the pool is not undone and replayed) and reads its digest', async () => {
    const minter = newKey();
    const author = newKey();
    const opened = await openSqlTestChain(minter, {
      stateDigest: (conn, refs, keys) => stateDigest(mysql2Executor(conn), refs, keys),
      primaryKeys: (conn, tables, keys) => loadPrimaryKeys(mysql2Executor(conn), tables, keys),
    });
    try {
      const { t } = opened;
      const sqlTx = (stmts: string[], undo: string[], refs: string[]) => signTx({
        v: 1, chain: t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
        sql: { stmts, undo, refs, base: Object.fromEntries(refs.map((r) => [r, t.chain.pool.view.latestOnRef(r)])) },
      } as Parameters<typeof signTx>[0], author.priv);
      const insert = (id: number) => sqlTx([`INSERT INTO t VALUES (${id}, 'n${id}')`], [`DELETE FROM t WHERE id = ${id}`], [`t:${id}`]);
      const [a, b] = [insert(1), insert(2)];
      for (const x of [a, b]) await t.chain.submitTx(x);
      // as the proxy makes it for a table that is there: it runs, changes nothing, has nothing to undo
      const noop = sqlTx(['CREATE TABLE IF NOT EXISTS `t` (`id` INT PRIMARY KEY, `note` TEXT)'], [], ['t:*']);
      await t.chain.submitTx(noop);
      const c = insert(3);
      await t.chain.submitTx(c);
      let replayed = 0;
      t.chain.on('sql', () => replayed++);
      const block = mineOn(t.chain, t.chain.tip.hash, [a, b], minter.address);
      assert.equal(await t.chain.addBlock(block), 'connected');
      assert.equal(replayed, 0, 'the pool was undone and replayed');
      assert.deepEqual(t.chain.pool.txs().map((x) => x.id), [noop.id, c.id]);
      const [[row]] = (await opened.app.query(`SELECT digest FROM \`${t.db.name}_chain\`.block_digests WHERE hash = ?`, [block.hash])) as any;
      const conn = await t.pool.getConnection();
      try {
        // the digest of rows 1 and 2 as the block left them (row 3, pooled after, is not in it)
        await conn.query(`USE \`${t.db.name}\``);
        assert.equal(row?.digest, await stateDigest(mysql2Executor(conn), ['t:1', 't:2']));
      } finally {
        conn.release();
      }
    } finally {
      await opened.close();
    }
  });
});

describe('a peer\'s schema change, undone where this node holds other rows of its table', () => {
  const minter = newKey();
  const author = newKey();
  let opened: Awaited<ReturnType<typeof openSqlTestChain>>;
  before(async () => {
    opened = await openSqlTestChain(minter);
    await opened.app.query(`INSERT INTO \`${opened.t.db.name}\`.t VALUES (1, 'mine'), (5, 'mine too')`);
  });
  after(() => opened.close());
  const rows = async () => ((await opened.app.query(`SELECT id, note FROM \`${opened.t.db.name}\`.t ORDER BY id`))[0] as { id: number; note: string }[])
    .map((r) => `${r.id} ${r.note}`);
  /** A schema change of `t` whose undo is the origin's copy of it: rows 1 and 380. */
  const ddl = (stmt: string) => signTx({
    v: 1, chain: opened.t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
    sql: {
      stmts: [stmt],
      undo: ['DROP TABLE IF EXISTS `t`', 'CREATE TABLE `t` (`id` int(11) NOT NULL, `note` text DEFAULT NULL, PRIMARY KEY (`id`))', "INSERT INTO `t` (`id`, `note`) VALUES (1, 'origin'), (380, 'origin')"],
      refs: ['t:*'], base: { 't:*': null },
    },
  } as Parameters<typeof signTx>[0], author.priv);

  test('undone from the pool (oursql cancel): this node\'s own rows come back, not the origin\'s', async () => {
    const { t } = opened;
    for (const stmt of ['DROP TABLE t', 'TRUNCATE t', 'ALTER TABLE t MODIFY note VARCHAR(20)']) {
      const tx = ddl(stmt);
      await t.chain.submitTx(tx);
      assert.equal(t.chain.pool.has(tx.id), true, stmt);
      await t.chain.cancel(tx.id);
      assert.deepEqual(await rows(), ['1 mine', '5 mine too'], stmt);
    }
    const [saved] = await opened.app.query(`SELECT COUNT(*) AS n FROM \`${t.db.name}_chain\`.ddl_undo`);
    assert.equal(Number((saved as { n: string }[])[0].n), 0, 'an undone change leaves no saved copy behind');
  });

  test('undone by a fork switch, also after a restart: this node\'s own rows come back', async () => {
    const { t } = opened;
    const fork = t.chain.tip.hash;
    const a1 = mineOn(t.chain, fork, [ddl('TRUNCATE t')], minter.address);
    assert.equal(await t.chain.addBlock(a1), 'connected');
    assert.deepEqual(await rows(), []);
    // the copy is kept with the block, across a restart
    t.chain = await t.reopen();
    const insert = (id: number) => signTx({
      v: 1, chain: t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
      sql: { stmts: [`INSERT INTO t VALUES (${id}, 'b')`], undo: [`DELETE FROM t WHERE id = ${id}`], refs: [`t:${id}`], base: { [`t:${id}`]: null } },
    } as Parameters<typeof signTx>[0], author.priv);
    const b1 = mineAbove(t.chain, fork, [insert(100)], minter.address, a1);
    assert.equal(await t.chain.addBlock(b1), 'side');
    const b2 = mineOn(t.chain, b1.hash, [insert(101)], minter.address);
    assert.equal(await t.chain.addBlock(b2), 'connected');
    assert.equal(t.chain.tip.hash, b2.hash);
    // the TRUNCATE was undone under b1 and b2, and is still valid: back in the pool, run again
    const truncate = a1.txs[1];
    assert.equal(t.chain.pool.has(truncate.id), true);
    assert.deepEqual(await rows(), []);
    await t.chain.cancel(truncate.id);
    assert.deepEqual(await rows(), ['1 mine', '5 mine too', '100 b', '101 b']);
  });
});
