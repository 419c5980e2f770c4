// SPEC 9: MySQL commits DDL by itself, so the proxy journals each schema change before it runs it
// and clears the row once the tx's pool entry commits. A crash in between leaves the row; the next
// start undoes the change if its tx is neither pooled nor in a block.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { sqlOf } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('DDL journal', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode | undefined;
  let root: Connection;
  const logs: string[] = [];
  const start = async () => {
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: (m) => logs.push(m) });
    return node;
  };
  const app = () => env.db.name;
  const journal = async () => (await root.query<any[]>(`SELECT txid FROM \`${app()}_chain\`.ddl_journal`))[0].map((r) => r.txid);
  const tables = async () => (await root.query<any[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [app()]))[0].map((r) => r.t);

  before(async () => {
    env = await tempNodeDir('ddljournal');
    await initNode({ datadir: env.datadir, mysql: env.db.url });
    root = await rootConnection();
  });
  after(async () => {
    await node?.stop();
    await root?.end().catch(() => {});
    await env?.cleanup();
  });

  test('proxy DDL leaves no journal row; a refused or failing one neither', async () => {
    const n = await start();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: n.proxyPort, user: 'root', database: app() });
    await c.query('CREATE TABLE kept (id INT PRIMARY KEY, v VARCHAR(10))');
    await c.query("INSERT INTO kept VALUES (1, 'one'), (2, 'two')");
    await c.query('ALTER TABLE kept ADD COLUMN w INT');
    await assert.rejects(c.query('CREATE TABLE kept (id INT PRIMARY KEY)'), (e: any) => e.errno === 1050);
    assert.deepEqual(await journal(), []);
    assert.ok(n.chain.pool.txs().some((t) => sqlOf(t)?.stmts[0].startsWith('ALTER TABLE')));
    await c.end();
    await n.stop();
    node = undefined;
  });

  test('after a crash between a DDL and its pool entry, the next start undoes the DDL', async () => {
    // The state such a crash leaves: each DDL ran (root stands in for the proxy), its journal row
    // is there, no pool entry. A third row belongs to a pooled tx: it is kept as is.
    const [[show]] = await root.query<any[]>(`SHOW CREATE TABLE \`${app()}\`.kept`);
    const createKept = String(show['Create Table']);
    const [rows] = await root.query<any[]>(`SELECT id, v, w FROM \`${app()}\`.kept ORDER BY id`);
    const restoreKept = [
      'DROP TABLE IF EXISTS `kept`',
      createKept,
      "INSERT INTO `kept` (`id`, `v`, `w`) VALUES (1, 'one', NULL), (2, 'two', NULL)",
    ];
    const [[pooled]] = await root.query<any[]>(`SELECT txid FROM \`${app()}_chain\`.pool ORDER BY seq DESC LIMIT 1`);
    await root.query(`CREATE TABLE \`${app()}\`.orphan (id INT PRIMARY KEY)`);
    await root.query(`ALTER TABLE \`${app()}\`.kept DROP COLUMN v`);
    await root.query(`DELETE FROM \`${app()}\`.kept WHERE id = 2`);
    const row = (txid: string, undo: string[]) => [txid, JSON.stringify(undo), Date.now()];
    await root.query(`INSERT INTO \`${app()}_chain\`.ddl_journal (txid, undo_sql, added) VALUES ?`, [[
      row('aa'.repeat(32), ['DROP TABLE `orphan`']),
      row('bb'.repeat(32), restoreKept),
      row('cc'.repeat(32), ['DROP TABLE `never_created`']), // the DDL never ran: its undo fails, harmlessly
      row(pooled.txid, ['DROP TABLE `kept`']), // pooled: must not run
    ]]);

    await start();
    assert.deepEqual(await tables(), ['kept']);
    const [after] = await root.query<any[]>(`SELECT id, v, w FROM \`${app()}\`.kept ORDER BY id`);
    assert.deepEqual(after, rows, 'the ALTER and the DELETE after it are undone');
    assert.deepEqual(await journal(), []);
    assert.ok(logs.some((l) => l.includes(`ddl journal: the schema change of ${'aa'.repeat(32)}`)));
  });
});

describe('a block or pool switch with DDL that did not finish', () => {
  test('the next start rebuilds the application database from the chain and the pool', async () => {
    const env = await tempNodeDir('sqlunsafe');
    const root = await rootConnection();
    try {
      await initNode({ datadir: env.datadir, mysql: env.db.url });
      let node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
      const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
      await c.query('CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10))');
      await c.query("INSERT INTO a VALUES (1, 'one'), (2, 'two')");
      assert.ok('block' in (await node.miner!.mineNow()));
      await c.query('CREATE TABLE b (id INT PRIMARY KEY)');
      await c.query("UPDATE a SET v = 'uno' WHERE id = 1");
      await c.end();
      const sum = async (t: string) => String((await root.query<any[]>(`CHECKSUM TABLE \`${env.db.name}\`.\`${t}\``))[0][0].Checksum);
      const before = [await sum('a'), await sum('b')];
      await node.stop();
      // what a crash in the middle of such a switch leaves: the flag, and a database half changed
      await root.query(`UPDATE \`${env.db.name}_chain\`.meta SET v = '1' WHERE k = 'sql_unsafe'`);
      await root.query(`INSERT INTO \`${env.db.name}_chain\`.meta (k, v) VALUES ('sql_unsafe', '1') ON DUPLICATE KEY UPDATE v = '1'`);
      await root.query(`DROP TABLE \`${env.db.name}\`.b`);
      await root.query(`UPDATE \`${env.db.name}\`.a SET v = 'half' WHERE id = 2`);
      await root.query(`CREATE TABLE \`${env.db.name}\`.stray (x INT)`);
      const logs: string[] = [];
      node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: (m) => logs.push(m) });
      try {
        assert.deepEqual([await sum('a'), await sum('b')], before);
        const [tables] = await root.query<any[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [env.db.name]);
        assert.deepEqual(tables.map((r) => r.t), ['a', 'b']);
        assert.ok(logs.some((l) => l.includes('rebuilding the application database')));
        // each schema change replayed saved how to undo it on the rebuilt tables (docs/sql.md)
        const [saved] = await root.query<any[]>(`SELECT stmt FROM \`${env.db.name}_chain\`.ddl_undo ORDER BY stmt`);
        assert.deepEqual(saved.map((r) => r.stmt), ['DROP TABLE IF EXISTS `a`', 'DROP TABLE IF EXISTS `b`']);
        const [[flag]] = await root.query<any[]>(`SELECT v FROM \`${env.db.name}_chain\`.meta WHERE k = 'sql_unsafe'`);
        assert.equal(flag.v, '0');
      } finally {
        await node.stop();
      }
    } finally {
      await root.end();
      await env.cleanup();
    }
  });
});
