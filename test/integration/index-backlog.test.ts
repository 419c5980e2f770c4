// The index backlog (server/chain/index-backlog.ts): a connected block's utxo, refs, txindex and
// addr_txs rows are written a moment later, many blocks at once. Lookups must see them before
// that, a stop writes them, a crash before then replays them at the next open, and tables whose
// `index_tip` names no active block are built again; each way the tables end as one write would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { coinsToUnits, signTx, type Block, type Tx } from '../../consensus/index.ts';
import type { Chain } from '../../server/chain/engine.ts';
import { confirmedTxsOf } from '../../server/chain/queries.ts';
import { buildTransfer } from '../../server/chain/send.ts';
import { mineAbove, mineOn, newKey, openSqlTestChain, type openTestChain } from '../helpers/chain.ts';
import { rootConnection } from '../helpers/mysql.ts';

describe('index backlog on MariaDB', () => {
  const minter = newKey();
  const alice = newKey();
  const logs: string[] = [];
  let t: Awaited<ReturnType<typeof openTestChain>>;
  let app: Awaited<ReturnType<typeof rootConnection>>;
  let opened: Awaited<ReturnType<typeof openSqlTestChain>>;
  before(async () => {
    opened = await openSqlTestChain(minter, { log: (m) => logs.push(m) });
    ({ t, app } = opened);
  });
  after(() => opened.close());

  const db = () => `\`${t.db.name}_chain\``;
  /** Every row of the index tables, in a fixed order. */
  const tables = async () => {
    const out: Record<string, unknown[]> = {};
    for (const [table, order] of [['utxo', 'txid, n'], ['refs', 'ref'], ['txindex', 'txid'], ['addr_txs', 'address, txid']]) {
      out[table] = (await app.query(`SELECT * FROM ${db()}.${table} ORDER BY ${order}`))[0] as unknown[];
    }
    return out;
  };
  const indexed = async (txid: string) => ((await app.query(`SELECT 1 FROM ${db()}.txindex WHERE txid = ?`, [txid]))[0] as unknown[]).length === 1;
  const setIndexTip = (hash: string) => app.query(`UPDATE ${db()}.meta SET v = ? WHERE k = 'index_tip'`, [hash]);
  const memory = (c: Chain) => ({
    utxo: [...c.state.utxo].sort(([a], [b]) => (a < b ? -1 : 1)),
    refs: [...c.state.refs].sort(([a], [b]) => (a < b ? -1 : 1)),
    txids: [...c.state.txids].sort(),
  });
  const latest = new Map<string, string>();
  const write = (chain: Chain, id: number, note: string): Tx => {
    const ref = `t:${id}`;
    const exists = latest.has(ref);
    const tx = signTx({
      v: 1, chain: chain.genesis, time: Date.now(), from: alice.pub, in: [], out: [],
      sql: exists
        ? { stmts: [`UPDATE t SET note = '${note}' WHERE id = ${id}`], undo: [`UPDATE t SET note = 'x' WHERE id = ${id}`], refs: [ref], base: { [ref]: latest.get(ref)! } }
        : { stmts: [`INSERT INTO t VALUES (${id}, '${note}')`], undo: [`DELETE FROM t WHERE id = ${id}`], refs: [ref], base: { [ref]: null } },
    } as Parameters<typeof signTx>[0], alice.priv);
    latest.set(ref, tx.id);
    return tx;
  };
  const indexTip = async () => ((await app.query(`SELECT v FROM ${db()}.meta WHERE k = 'index_tip'`))[0] as { v: string }[])[0].v;
  /** Until a write of the backlog that moves index_tip to `hash` waits for its row. */
  const writeWaits = async (hash: string) => {
    // (this chain's: the first test left an engine behind, as a crash would, whose writes fail)
    const waiting = async () => ((await app.query(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ?', [`UPDATE %meta% SET v = '${hash}'%`],
    ))[0] as { n: number }[])[0].n > 0;
    const deadline = Date.now() + 10_000;
    while (!(await waiting())) {
      assert.ok(Date.now() < deadline, 'the write of the backlog never started');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** The tables as written now equal a build from the active chain (index_tip names no block; reopened). */
  const asRebuilt = async () => {
    const written = await tables();
    await setIndexTip('00'.repeat(32));
    t.chain = await t.reopen();
    assert.deepEqual(await tables(), written, 'as a build from the active chain makes them');
  };
  const pay = async (chain: Chain, to: string, amount: string) => signTx(await buildTransfer(chain, minter.pub, to, coinsToUnits(amount)), minter.priv);

  test('a connected block is found by every lookup before its rows are written; a crash replays them at open', async () => {
    const c = t.chain;
    const payment = await pay(c, alice.address, '2');
    const b1 = mineOn(c, c.tip.hash, [payment, write(c, 1, 'one'), write(c, 2, 'two')], minter.address);
    assert.equal(await c.addBlock(b1), 'connected');
    const b2 = mineOn(c, c.tip.hash, [write(c, 1, 'one again')], minter.address);
    assert.equal(await c.addBlock(b2), 'connected');

    assert.equal(await indexed(payment.id), false, 'the rows wait in memory');
    assert.deepEqual(await c.txLocation(payment.id), { height: 1, pos: 1 });
    assert.deepEqual(await c.balance(alice.address), { approved: coinsToUnits('2'), pending: 0n, total: coinsToUnits('2') });
    assert.deepEqual((await confirmedTxsOf(c, alice.address)).map((x) => [x.txid, x.height, x.pos]), [
      [payment.id, 1, 1], [b1.txs[2].id, 1, 2], [b1.txs[3].id, 1, 3], [b2.txs[1].id, 2, 1],
    ]);
    assert.equal((await c.getChainTxs([payment.id])).get(payment.id)?.sig, payment.sig);

    // the process ends here without writing them (the engine is left as a crash leaves it)
    const before = memory(c);
    const reopened = await t.reopen();
    assert.ok(logs.some((m) => m === 'chain: index tables caught up from height 1 to 2'), logs.join('\n'));
    assert.deepEqual(memory(reopened), before, 'the state read back is the state the blocks made');
    assert.equal(await indexed(payment.id), true);
    t.chain = reopened;
  });

  test('tables whose index_tip is no active block are built again, to the same rows', async () => {
    const rows = await tables();
    await setIndexTip('00'.repeat(32));
    logs.length = 0;
    const reopened = await t.reopen();
    assert.ok(logs.includes('chain: index tables built again from height 0 to 2'), logs.join('\n'));
    assert.deepEqual(await tables(), rows);
    t.chain = reopened;
  });

  test('a stop writes the backlog; a fork switch writes it before it undoes blocks', async () => {
    const c = t.chain;
    const fork = c.tip.hash;
    const b3 = mineOn(c, fork, [write(c, 3, 'three'), await pay(c, alice.address, '1')], minter.address);
    assert.equal(await c.addBlock(b3), 'connected');
    assert.equal(await indexed(b3.txs[1].id), false);
    await c.close();
    assert.equal(await indexed(b3.txs[1].id), true, 'written at stop');
    logs.length = 0;
    const reopened = await t.reopen();
    assert.ok(!logs.some((m) => m.startsWith('chain: index tables')), logs.join('\n'));
    t.chain = reopened;

    // b3 again in the backlog's place: a heavier branch from its parent drops it
    const b4 = mineOn(reopened, b3.hash, [write(reopened, 4, 'four')], minter.address);
    assert.equal(await reopened.addBlock(b4), 'connected');
    latest.delete('t:3');
    latest.delete('t:4');
    const s1 = mineOn(reopened, fork, [write(reopened, 5, 'five')], minter.address, b3.header.time + 1);
    assert.equal(await reopened.addBlock(s1), 'side');
    const s2 = mineAbove(reopened, s1.hash, [write(reopened, 6, 'six')], minter.address, b4);
    assert.equal(await reopened.addBlock(s2), 'side');
    const s3 = mineOn(reopened, s2.hash, [write(reopened, 7, 'seven')], minter.address);
    assert.equal(await reopened.addBlock(s3), 'connected');
    assert.equal(reopened.tip.hash, s3.hash);
    assert.equal(await reopened.txLocation(b4.txs[1].id), undefined, 'the dropped block\'s tx left the index');
    await reopened.close();
    await asRebuilt();
    assert.deepEqual(memory(t.chain), memory(reopened));
  });

  test('blocks keep connecting while a write of the backlog waits for MySQL; it writes the rows it took, the rest follow', async () => {
    const c = t.chain;
    const from = await indexTip();
    assert.equal(from, c.tip.hash);
    // another session holds index_tip's row: the write the backlog's timer starts waits for it
    const holder = await rootConnection();
    let b5: Block;
    let b6: Block;
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT v FROM ${db()}.meta WHERE k = 'index_tip' FOR UPDATE`);
      b5 = mineOn(c, c.tip.hash, [write(c, 8, 'eight'), await pay(c, alice.address, '1')], minter.address);
      assert.equal(await c.addBlock(b5), 'connected');
      await writeWaits(b5.hash);
      b6 = mineOn(c, b5.hash, [write(c, 9, 'nine')], minter.address);
      assert.equal(await c.addBlock(b6), 'connected');
      for (const tx of [...b5.txs, ...b6.txs]) assert.ok(await c.txLocation(tx.id), 'found before its rows are written');
      assert.deepEqual((await confirmedTxsOf(c, alice.address)).slice(-3).map((x) => x.txid), [b5.txs[1].id, b5.txs[2].id, b6.txs[1].id]);
      assert.equal(await indexTip(), from);
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    // the write commits what it took: the tables reach b5, b6's rows wait for the next write
    const deadline = Date.now() + 10_000;
    while ((await indexTip()) === from) {
      assert.ok(Date.now() < deadline, 'the write of the backlog did not commit');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await indexTip(), b5.hash);
    const b6tx = b6.txs[1].id;
    assert.equal(await indexed(b6tx), false);
    assert.deepEqual(await c.txLocation(b6tx), { height: b6.header.height, pos: 1 });
    await c.close();
    assert.equal(await indexTip(), c.tip.hash, 'a stop writes the rest');
    assert.equal(await indexed(b6tx), true);
    await asRebuilt();
    assert.deepEqual(memory(t.chain), memory(c));
  });

  test('a fork switch does not undo blocks while their rows could not be written, beside the lock or under it', async () => {
    const c = t.chain;
    const from = await indexTip();
    const fork = c.tip.hash;
    const b7 = mineOn(c, fork, [write(c, 10, 'ten')], minter.address);
    const holder = await rootConnection();
    let switching: Promise<unknown>;
    let s2: Block;
    try {
      // index_tip moved behind the engine's back (as a second process would), not committed yet
      await holder.query('BEGIN');
      await holder.query(`UPDATE ${db()}.meta SET v = 'elsewhere' WHERE k = 'index_tip'`);
      assert.equal(await c.addBlock(b7), 'connected');
      await writeWaits(b7.hash);
      latest.delete('t:10');
      const s1 = mineAbove(c, fork, [write(c, 11, 'eleven')], minter.address, b7);
      assert.equal(await c.addBlock(s1), 'side');
      s2 = mineOn(c, s1.hash, [write(c, 12, 'twelve')], minter.address);
      // more work than b7's branch: the switch waits for the write in flight, then writes itself
      switching = c.addBlock(s2);
      switching.catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    await assert.rejects(switching!, /index_tip is not .* another process writes this chain database/);
    assert.equal(c.tip.hash, b7.hash, 'b7 was not undone');
    assert.equal(await indexed(b7.txs[1].id), false);
    assert.ok(logs.some((m) => m.startsWith('chain: index rows not written yet: index_tip is not')), logs.join('\n'));
    // put back: the rows are written, and the switch goes through with the next block
    await setIndexTip(from);
    const s3 = mineOn(c, s2!.hash, [write(c, 13, 'thirteen')], minter.address);
    assert.equal(await c.addBlock(s3), 'connected');
    assert.equal(c.blockHashAt(s2!.header.height), s2!.hash);
    await c.close();
    await asRebuilt();
  });
});
