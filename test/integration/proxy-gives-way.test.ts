// An autocommit update that had to give way to the chain's own SQL (here `oursql cancel` undoing
// and replaying the pool while the update waited to be pooled) is run again by the node once that
// SQL is done: the client gets its OK, not error 1213, and the update counts once.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { signTx } from '../../consensus/index.ts';
import { Cluster, until } from '../helpers/cluster.ts';
import { newKey } from '../helpers/chain.ts';
import { rootConnection } from '../helpers/mysql.ts';

const cluster = new Cluster();
after(() => cluster.close());

test('an autocommit update that gave way to an undo and replay runs again: the client sees OK, the change counts once', async () => {
  const a = await cluster.seed();
  const chain = a.node.chain;
  const setup = await a.sql();
  await setup.query('CREATE TABLE gw (id INT PRIMARY KEY, v INT NOT NULL)');
  await setup.query('INSERT INTO gw VALUES (1, 0), (2, 0), (3, 0)');
  assert.ok('block' in (await a.node.miner!.mineNow()));

  // a pooled insert, which `cancel` takes out (undoing and replaying the pool)
  await setup.query('INSERT INTO gw VALUES (4, 0)');
  const [cancelled] = chain.pool.txs();
  // another write in flight (admitted, its MySQL commit still open): the cancel waits for it
  const author = newKey();
  const inflight = await chain.admitInflight(signTx({
    v: 1, chain: chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
    sql: { stmts: ['UPDATE gw SET v = 9 WHERE id = 3'], undo: ['UPDATE gw SET v = 0 WHERE id = 3'], refs: ['gw:3'], base: { 'gw:3': chain.pool.view.latestOnRef('gw:3') } },
  } as Parameters<typeof signTx>[0], author.priv), { signatureKnownGood: true, refs: ['gw:3'] });
  const cancelling = chain.cancel(cancelled.id);

  // the update runs in MySQL, then waits to be pooled behind the cancel
  const client = await a.sql();
  const updating = client.query('UPDATE gw SET v = v + 1 WHERE id = 2').then(() => 'ok', (e: { errno?: number; message: string }) => `${e.errno}: ${e.message}`);
  const root = await rootConnection();
  try {
    await root.query(`USE \`${a.db}\``);
    await until('the update to hold its row', async () => {
      await root.query('BEGIN');
      try {
        await root.query('SELECT id FROM gw WHERE id = 2 FOR UPDATE NOWAIT');
        return false;
      } catch (e) {
        if ((e as { errno?: number }).errno !== 1205) throw e;
        return true; // locked
      } finally {
        await root.query('ROLLBACK');
      }
    });
    await new Promise((r) => setTimeout(r, 100)); // (from its SQL to its turn for the chain's lock)
    // the in-flight write rolls back: the cancel goes on, and the waiting update must make way
    chain.abortInflight(inflight.tx.id);
    assert.deepEqual(await cancelling, [cancelled.id]);

    assert.equal(await updating, 'ok', 'the client is not told to run it again');
    const [rows] = await root.query<any[]>('SELECT id, v FROM gw ORDER BY id');
    // row 3: the in-flight write rolled back before the cancel read the pool, which must not run it again
    assert.deepEqual(rows.map((r) => [r.id, r.v]), [[1, 0], [2, 1], [3, 0]]);
    const pooled = chain.pool.txs();
    assert.equal(pooled.length, 1, 'one tx: the update, pooled once');
    assert.deepEqual(pooled.map((t) => (t.body as { sql?: { stmts: string[] } }).sql?.stmts), [['UPDATE `gw` SET `v` = `v` + 1 WHERE `id` = 2']]);
  } finally {
    chain.abortInflight(inflight.tx.id); // (done above unless the test failed before: the cancel must not wait for ever)
    await root.end();
  }
});
