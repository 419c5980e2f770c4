// The original project's consensus configs, enforced at the proxy: refused operations get errno
// 4101, paid SQL moves exactly its cost, UnmanagedTables make no tx, height gates switch on at
// the right block. Each config's rules are used unchanged; only Settings (proof of work, block
// size) are eased so blocks are made at once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { coinsToUnits, sqlOf } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { tempNodeDir } from '../helpers/node.ts';

const EXAMPLES = new URL('../../../shared/consensus-examples/', import.meta.url);

async function nodeWith(example: string) {
  const env = await tempNodeDir('rules');
  const cfg = JSON.parse(readFileSync(new URL(example, EXAMPLES), 'utf8'));
  cfg.Settings = { ...cfg.Settings, Complexity: 6, ComplexityStep2: 6, MaxMinNumberTransactionInBlock: 1 };
  const file = join(env.tmp, example);
  await writeFile(file, JSON.stringify(cfg));
  let node: OursqlNode;
  let conn: Connection;
  try {
    await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: file });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    conn = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
  } catch (e) {
    await env.cleanup(); // a node that cannot start leaves no database behind
    throw e;
  }
  const minter = node.config.minter!;
  return {
    node, conn, minter,
    pooled: () => node.chain.pool.txs().filter((t) => sqlOf(t)).length,
    /** Mines blocks until the chain reaches `height` (each block needs one tx: a tiny write). */
    async mineTo(height: number, c: Connection) {
      while (node.chain.height < height) {
        if (node.chain.pool.size === 0) await c.query(`INSERT INTO filler (n) VALUES (${node.chain.height})`);
        const r = await node.miner!.mineNow();
        assert.ok('block' in r, JSON.stringify(r));
      }
    },
    async close() {
      await conn.end().catch(() => {});
      await node.stop();
      await env.cleanup();
    },
  };
}

const refused = (e: any) => e.errno === 4101 && /consensus rules do not allow/.test(e.message);

describe('consensus rules at the proxy', () => {
  const open: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const o of open) await o.close();
  });

  test('configs-simplest: members rows cannot be deleted; an insert costs 0.05 coin, burned; temp is unmanaged', async () => {
    const t = await nodeWith('configs-simplest.json');
    open.push(t);
    const c = t.conn;
    await c.query('CREATE TABLE members (id INT PRIMARY KEY, name VARCHAR(20))');
    const before = await t.node.chain.balance(t.minter);
    await c.query("INSERT INTO members VALUES (1, 'ann')");
    const after = await t.node.chain.balance(t.minter);
    assert.equal(before.total - after.total, coinsToUnits('0.05'), 'exactly the cost left the signer');
    const paid = t.node.chain.pool.txs().at(-1)!;
    assert.deepEqual(paid.body.out[0], { to: null, amount: coinsToUnits('0.05').toString() }, 'burned: no PaidTransactionsWallet');
    await c.query("UPDATE members SET name = 'bo' WHERE id = 1");
    await assert.rejects(c.query('DELETE FROM members WHERE id = 1'), refused);
    const [rows] = (await c.query('SELECT COUNT(*) AS n FROM members')) as any;
    assert.equal(Number(rows[0].n), 1, 'the refused delete executed nothing');
    const n = t.pooled();
    await c.query('CREATE TABLE temp (a INT)');
    await c.query('INSERT INTO temp VALUES (1)');
    assert.equal(t.pooled(), n, 'UnmanagedTables get no tx');
  });

  test('configs-somepaidtables: global RowInsert 1 coin, table "test" Default 2 coins, TableCreate as configured', async () => {
    const t = await nodeWith('configs-somepaidtables.json');
    open.push(t);
    const c = t.conn;
    const spent = async (sql: string) => {
      const b = (await t.node.chain.balance(t.minter)).total;
      await c.query(sql);
      return b - (await t.node.chain.balance(t.minter)).total;
    };
    assert.equal(await spent('CREATE TABLE other (id INT PRIMARY KEY, v INT)'), coinsToUnits('1'));
    assert.equal(await spent('INSERT INTO other VALUES (1, 0)'), coinsToUnits('1'));
    assert.equal(await spent('UPDATE other SET v = 5 WHERE id = 1'), 0n, 'RowUpdate 0 and Default 0: free');
    assert.equal(await spent('CREATE TABLE test (id INT PRIMARY KEY)'), coinsToUnits('2'));
    assert.equal(await spent('INSERT INTO test VALUES (1)'), coinsToUnits('2'), 'a table rule decides alone: its Default');
  });

  test('a signer who cannot pay is refused and nothing runs', async () => {
    const t = await nodeWith('tests-customnumbers.json');
    open.push(t);
    const c = t.conn;
    // TableCreate costs 5 coins and the minter has 15: three tables, the fourth is unpaid.
    await c.query('CREATE TABLE a1 (id INT PRIMARY KEY)');
    await c.query('CREATE TABLE a2 (id INT PRIMARY KEY)');
    await c.query('CREATE TABLE a3 (id INT PRIMARY KEY)');
    await assert.rejects(c.query('CREATE TABLE a4 (id INT PRIMARY KEY)'), (e: any) => e.errno === 4102);
    const [tables] = (await c.query("SHOW TABLES LIKE 'a4'")) as any;
    assert.equal(tables.length, 0);
  });

  test('tests-postponedlimits: DROP allowed up to block 2, refused after; table "test" rule from block 5', async () => {
    const t = await nodeWith('tests-postponedlimits.json');
    open.push(t);
    const c = t.conn;
    await c.query('CREATE TABLE filler (n INT PRIMARY KEY)');
    await c.query('CREATE TABLE test (id INT PRIMARY KEY, v INT)');
    await c.query('CREATE TABLE dropme (id INT PRIMARY KEY)');
    await c.query('CREATE TABLE dropme2 (id INT PRIMARY KEY)');
    await t.mineTo(1, c);
    await c.query('DROP TABLE dropme'); // would be mined at height 2: rules not active yet
    await t.mineTo(2, c);
    await assert.rejects(c.query('DROP TABLE dropme2'), refused, 'height 3 > ApplyRulesAfterBlock 2');
    await c.query('INSERT INTO test VALUES (1, 1)');
    await t.mineTo(3, c);
    await c.query('UPDATE test SET v = 2 WHERE id = 1'); // checked at height 4: rule not active yet
    await t.mineTo(4, c);
    await assert.rejects(c.query('UPDATE test SET v = 3 WHERE id = 1'), refused, 'rule active for block 5 on');
    await assert.rejects(c.query('DELETE FROM test WHERE id = 1'), refused);
    await c.query('INSERT INTO test VALUES (2, 2)');
  });
});
