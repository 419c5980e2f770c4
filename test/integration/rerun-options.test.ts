// What a re-base adds to the ordinary write path (ReplicatedWrites.rerun), on a real node: the
// guard runs in the chain's critical section and refusing there leaves nothing executed or pooled;
// `persist` statements commit with the new tx's pool entry (the chain's `rebased` table); `extraRefs`
// are named by the new tx with their current bases, beside the rows it touches.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { ConsensusError, sqlOf } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { mysql2Executor } from '../../server/sql/mysql-executor.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('rerun options', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let root: Connection;
  const value = async () => (await root.query<any[]>(`SELECT v FROM \`${env.db.name}\`.t WHERE id = 1`))[0][0].v;
  const rebasedRows = async () => (await root.query<any[]>(`SELECT txid, origin FROM \`${env.db.name}_chain\`.rebased`))[0];
  async function rerun(stmts: string[], opts: Parameters<OursqlNode['writes']['rerun']>[2]) {
    const conn = await node.mysql.getConnection();
    try {
      await conn.query(`USE \`${env.db.name}\``);
      return await node.writes.rerun(mysql2Executor(conn), stmts, opts);
    } finally {
      conn.release();
    }
  }

  before(async () => {
    env = await tempNodeDir('rerunopts');
    await initNode({ datadir: env.datadir, mysql: env.db.url });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    root = await rootConnection();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    await c.query('CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)');
    await c.query('INSERT INTO t VALUES (1, 0)');
    await c.query('INSERT INTO t VALUES (2, 0)');
    await c.end();
  });
  after(async () => {
    await root?.end().catch(() => {});
    await node?.stop().catch(() => {});
    await env?.cleanup();
  });

  test('a guard that refuses in the critical section: nothing executed, nothing pooled, nothing recorded', async () => {
    const pooled = node.chain.pool.size;
    let calls = 0;
    await assert.rejects(
      rerun(['UPDATE `t` SET `v` = `v` + 1 WHERE `id` = 1'], {
        guard: () => {
          calls++;
          throw new ConsensusError('duplicate-tx', 'the write it re-runs is in the chain as ' + 'a'.repeat(64));
        },
        persist: (txid) => [`INSERT INTO \`${env.db.name}_chain\`.rebased (txid, origin, added) VALUES ('${txid}', '${'a'.repeat(64)}', 0)`],
      }),
      (e: unknown) => e instanceof ConsensusError && e.code === 'duplicate-tx',
    );
    assert.equal(calls, 1);
    assert.equal(await value(), 0, 'the UPDATE was rolled back');
    assert.equal(node.chain.pool.size, pooled);
    assert.deepEqual(await rebasedRows(), []);
  });

  test('persist statements commit with the pool entry of the new tx', async () => {
    const origin = 'b'.repeat(64);
    const r = await rerun(['UPDATE `t` SET `v` = `v` + 1 WHERE `id` = 1'], {
      guard: () => {},
      persist: (txid) => [node.chain.store.rebasedInsertSql(txid, origin)],
    });
    assert.ok(r.txid);
    assert.equal(await value(), 1);
    const tx = node.chain.pool.get(r.txid!)!.tx;
    assert.deepEqual(sqlOf(tx)!.stmts, ['UPDATE `t` SET `v` = `v` + 1 WHERE `id` = 1']);
    assert.deepEqual((await rebasedRows()).map((x) => [x.txid, x.origin]), [[r.txid, origin]]);
    assert.deepEqual(await node.chain.store.rebaseLine(r.txid!), { origin, txids: [origin, r.txid] });
  });

  test('extra refs are named with their current bases, so a tx still based before them is stale', async () => {
    const row2 = node.chain.pool.view.latestOnRef('t:2');
    assert.ok(row2, 'the INSERT of row 2 is the latest tx on t:2');
    const r = await rerun(['UPDATE `t` SET `v` = `v` + 10 WHERE `id` = 1'], { extraRefs: ['t:2', 't:1'] });
    const sql = sqlOf(node.chain.pool.get(r.txid!)!.tx)!;
    assert.deepEqual(sql.refs, ['t:1', 't:2'], 'each ref once');
    assert.equal(sql.base['t:2'], row2);
    assert.equal(node.chain.pool.view.latestOnRef('t:2'), r.txid, 'the re-run is now the latest tx on row 2, which it did not change');
    assert.equal(await value(), 11);
    const [[{ v }]] = await root.query<any[]>(`SELECT v FROM \`${env.db.name}\`.t WHERE id = 2`);
    assert.equal(v, 0);
  });
});
