// A chain database made by the previous version (schema 1: pool bodies kept in `pool`) opens
// under this one: the bodies move to `txs`, the pool loads the same txs in the same order, and
// they are mined as before.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { sqlOf } from '../../consensus/index.ts';
import { CHAIN_SCHEMA_VERSION } from '../../server/chain/schema.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('chain schema migration', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let root: Connection;
  let node: OursqlNode | undefined;
  const chainDb = () => `\`${env.db.name}_chain\``;
  const start = () => OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });

  before(async () => {
    env = await tempNodeDir('migrate');
    root = await rootConnection();
  });
  after(async () => {
    await node?.stop();
    await root?.end();
    await env?.cleanup();
  });

  test('version 1 pool bodies move to txs; the pool and the rows survive, and get mined', async () => {
    assert.equal(CHAIN_SCHEMA_VERSION, 2);
    await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile });
    node = await start();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    await c.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
    await c.query("INSERT INTO t VALUES (1, 'one'), (2, 'two')");
    await c.query("UPDATE t SET v = 'uno' WHERE id = 1");
    await c.end();
    const pooled = node.chain.pool.txs();
    assert.equal(pooled.length, 3);
    await node.stop();
    node = undefined;

    // What version 1 left: bodies in pool, none in txs for pool entries.
    await root.query(`ALTER TABLE ${chainDb()}.pool ADD COLUMN body MEDIUMTEXT NULL AFTER txid, ADD COLUMN sig VARCHAR(200) CHARACTER SET ascii NULL AFTER body`);
    await root.query(`UPDATE ${chainDb()}.pool p JOIN ${chainDb()}.txs t ON t.txid = p.txid SET p.body = t.body, p.sig = t.sig`);
    await root.query(`DELETE FROM ${chainDb()}.txs WHERE txid IN (SELECT txid FROM ${chainDb()}.pool)`);
    await root.query(`ALTER TABLE ${chainDb()}.pool MODIFY body MEDIUMTEXT NOT NULL`);

    node = await start();
    const [cols] = await root.query<any[]>(`SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'pool' ORDER BY ORDINAL_POSITION`, [`${env.db.name}_chain`]);
    assert.deepEqual(cols.map((r: any) => r.c), ['seq', 'txid', 'added']);
    assert.deepEqual(node.chain.pool.txs(), pooled, 'same txs, same signatures, same order');
    const [[{ n }]] = await root.query<any[]>(`SELECT COUNT(*) AS n FROM ${chainDb()}.txs WHERE txid IN (?)`, [pooled.map((t) => t.id)]);
    assert.equal(Number(n), 3, 'their bodies are in txs');

    const mined = await node.miner!.mineNow();
    assert.ok('block' in mined);
    const block = (await node.chain.getBlock(node.chain.tip.hash))!;
    assert.deepEqual(block.txs.slice(1).map((t) => sqlOf(t)!.stmts), pooled.map((t) => sqlOf(t)!.stmts));
    assert.equal(node.chain.pool.size, 0);
    const [rows] = await root.query<any[]>(`SELECT id, v FROM \`${env.db.name}\`.t ORDER BY id`);
    assert.deepEqual(rows.map((r: any) => [r.id, r.v]), [[1, 'uno'], [2, 'two']]);
  });
});
