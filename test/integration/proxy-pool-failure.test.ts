// If the pool entry of an update cannot be written, MySQL's change is rolled back with it and the
// client gets ER 4109: no row without its transaction. The failure is real: a row the test puts in
// the node's pool table takes the sequence number the node will use next.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { sqlOf } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('a pool entry that cannot be written rolls the change back', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let root: Connection;
  let c: Connection;
  const chainDb = () => `${env.db.name}_chain`;
  const rows = async () => (await root.query<any[]>(`SELECT id, v FROM \`${env.db.name}\`.t ORDER BY id`))[0].map((r) => [r.id, r.v]);
  const poolSql = () => node.chain.pool.txs().filter((t) => sqlOf(t)).length;

  /** Occupies the next pool sequence numbers, so the node's next pool INSERT fails (duplicate key). */
  async function block(): Promise<void> {
    const [[{ next }]] = await root.query<any[]>(`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM \`${chainDb()}\`.pool`);
    const values = Array.from({ length: 5 }, (_, i) => [Number(next) + i, `blocker${i}`, '{}', null, 0]);
    await root.query(`INSERT INTO \`${chainDb()}\`.pool (seq, txid, body, sig, added) VALUES ?`, [values]);
  }
  const unblock = () => root.query(`DELETE FROM \`${chainDb()}\`.pool WHERE txid LIKE 'blocker%'`);

  before(async () => {
    env = await tempNodeDir('poolfail');
    await initNode({ datadir: env.datadir, mysql: env.db.url });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    root = await rootConnection();
    c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    await c.query('CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)');
    await c.query('INSERT INTO t (v) VALUES (1)');
  });
  after(async () => {
    await c?.end().catch(() => {});
    await root?.end().catch(() => {});
    await node?.stop();
    await env?.cleanup();
  });

  test('autocommit INSERT, UPDATE and DELETE: error 4109, nothing changed, nothing pooled', async () => {
    const before = await rows();
    const pooled = poolSql();
    await block();
    for (const sql of ['INSERT INTO t (v) VALUES (2)', 'UPDATE t SET v = 9 WHERE id = 1', 'DELETE FROM t WHERE id = 1']) {
      await assert.rejects(c.query(sql), (e: any) => {
        assert.equal(e.errno, 4109, `${sql}: ${e.message}`);
        assert.match(e.message, /could not be added to the pool and was rolled back/);
        return true;
      });
      assert.deepEqual(await rows(), before, `${sql} left a change behind`);
      assert.equal(poolSql(), pooled, `${sql} left a pool entry`);
    }
    // the connection survives, and once the pool can be written the same statement works
    await unblock();
    const [ok] = await c.query<any>('INSERT INTO t (v) VALUES (2)');
    // (the failed INSERT used up an AUTO_INCREMENT id, as a rolled-back one does in MySQL)
    assert.deepEqual(await rows(), [...before, [ok.insertId, 2]]);
    assert.equal(poolSql(), pooled + 1);
  });

  test('BEGIN; INSERT; UPDATE; COMMIT: the COMMIT fails with 4109 and both changes are gone', async () => {
    const before = await rows();
    const pooled = poolSql();
    await block();
    await c.query('BEGIN');
    await c.query('INSERT INTO t (v) VALUES (3)');
    await c.query('UPDATE t SET v = 7 WHERE id = 1');
    await assert.rejects(c.query('COMMIT'), (e: any) => e.errno === 4109);
    assert.deepEqual(await rows(), before);
    assert.equal(poolSql(), pooled);
    await unblock();
    const [r] = await c.query<any[]>('SELECT @@in_transaction AS t');
    assert.equal(Number(r[0].t), 0, 'the failed COMMIT left a transaction open');
  });
});
