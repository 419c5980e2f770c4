// Fewer round trips to MariaDB per update, and the same answers. An INSERT whose new keys are known
// before it runs (literal keys, or AUTO_INCREMENT ids the node reserves) goes as one statement
// with its pool entry and COMMIT: these tests count the statements MariaDB saw on the client's own
// backend session (`Questions`, which leaves out those inside the compound statement). An UPDATE
// or DELETE by primary key goes out with its before-image read (sql-plan.test.ts counts those).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { sqlOf, type Tx } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('updates in fewer round trips', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let root: Connection;
  let c: Connection;

  const questions = async (): Promise<number> => Number((await c.query<any[]>("SHOW SESSION STATUS LIKE 'Questions'"))[0][0].Value);
  /** Statements MariaDB ran for `work` on this session (the SHOW that reads the count excluded). */
  async function statementsFor<T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> {
    const a = await questions();
    const b = await questions();
    const result = await work();
    const c2 = await questions();
    return { result, statements: c2 - b - (b - a) };
  }
  const txsOn = (table: string): Tx[] => node.chain.pool.txs().filter((t) => sqlOf(t)?.refs.some((r) => r.startsWith(`${table}:`)));
  const txFor = (table: string, id: number | bigint): Tx => {
    const found = txsOn(table).filter((t) => sqlOf(t)!.refs.includes(`${table}:${id}`));
    assert.equal(found.length, 1, `txs naming ${table}:${id}`);
    return found[0];
  };
  const rows = async (table: string) => (await root.query<any[]>(`SELECT * FROM \`${env.db.name}\`.\`${table}\` ORDER BY id`))[0];

  before(async () => {
    env = await tempNodeDir('ahead');
    await initNode({ datadir: env.datadir, mysql: env.db.url });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    root = await rootConnection();
    c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    await c.query('CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY, u INT UNIQUE, v VARCHAR(20) NOT NULL)');
    await c.query('CREATE TABLE k (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
  });
  after(async () => {
    await c?.end().catch(() => {});
    await root?.end().catch(() => {});
    await node?.stop();
    await env?.cleanup();
  });

  test('AUTO_INCREMENT: one statement once the next id is known; ids, LAST_INSERT_ID and the tx are what MySQL gives', async () => {
    // the first INSERT of a table runs the ordinary way, and the node learns MySQL's next id from it
    const first = await statementsFor(() => c.query<any>("INSERT INTO a (u, v) VALUES (1, 'one')"));
    assert.ok(first.statements > 1, `the first INSERT took ${first.statements} statement(s)`);
    const id1 = BigInt(first.result[0].insertId);

    const second = await statementsFor(() => c.query<any>("INSERT INTO a (u, v) VALUES (2, 'two')"));
    assert.equal(second.statements, 1);
    const id2 = BigInt(second.result[0].insertId);
    assert.equal(id2, id1 + 1n);
    assert.equal(second.result[0].affectedRows, 1);
    const [[last]] = await c.query<any[]>('SELECT LAST_INSERT_ID() AS id');
    assert.equal(BigInt(last.id), id2);
    const sql = sqlOf(txFor('a', id2))!;
    assert.deepEqual(sql.stmts, [`INSERT INTO \`a\` (\`u\`, \`v\`, \`id\`) VALUES (2,'two',${id2})`]);
    assert.deepEqual(sql.undo, [`DELETE FROM \`a\` WHERE \`id\` = '${id2}'`]);
    assert.deepEqual(sql.refs, [`a:${id2}`]);

    // several rows: consecutive ids, LAST_INSERT_ID is the first, as in MySQL
    const multi = await statementsFor(() => c.query<any>("INSERT INTO a (u, v) VALUES (3, 'x'), (4, 'y'), (5, 'z')"));
    assert.equal(multi.statements, 1);
    assert.equal(BigInt(multi.result[0].insertId), id2 + 1n);
    assert.equal(multi.result[0].affectedRows, 3);
    const [[last3]] = await c.query<any[]>('SELECT LAST_INSERT_ID() AS id');
    assert.equal(BigInt(last3.id), id2 + 1n);
    const multiSql = sqlOf(txFor('a', id2 + 3n))!;
    assert.deepEqual(multiSql.refs, [`a:${id2 + 1n}`, `a:${id2 + 2n}`, `a:${id2 + 3n}`]);
    assert.deepEqual(multiSql.undo, [3n, 2n, 1n].map((d) => `DELETE FROM \`a\` WHERE \`id\` = '${id2 + d}'`));

    // a prepared statement takes the same path
    const prepared = await statementsFor(() => c.execute<any>('INSERT INTO a (u, v) VALUES (?, ?)', [6, 'six']));
    assert.equal(prepared.statements, 1);
    assert.equal(BigInt(prepared.result[0].insertId), id2 + 4n);
    assert.deepEqual((await rows('a')).map((r) => [BigInt(r.id), r.u, r.v]), [
      [id1, 1, 'one'], [id2, 2, 'two'], [id2 + 1n, 3, 'x'], [id2 + 2n, 4, 'y'], [id2 + 3n, 5, 'z'], [id2 + 4n, 6, 'six'],
    ]);
  });

  test('a reserved id taken meanwhile: the INSERT still lands, with the id MySQL gives it, as one tx', async () => {
    const [[{ next }]] = await root.query<any[]>(`SELECT MAX(id) + 1 AS next FROM \`${env.db.name}\`.a`);
    // a row written straight into MariaDB, past the node, takes the id the node would reserve next
    await root.query(`INSERT INTO \`${env.db.name}\`.a (id, u, v) VALUES (?, 100, 'direct')`, [next]);
    const before = txsOn('a').length;
    const [r] = await c.query<any>("INSERT INTO a (u, v) VALUES (101, 'after')");
    const id = BigInt(r.insertId);
    assert.ok(id > BigInt(next), `got id ${id}, the taken one was ${next}`);
    assert.equal(txsOn('a').length, before + 1);
    assert.deepEqual(sqlOf(txFor('a', id))!.stmts, [`INSERT INTO \`a\` (\`u\`, \`v\`, \`id\`) VALUES (101,'after',${id})`]);
    const [[last]] = await c.query<any[]>('SELECT LAST_INSERT_ID() AS id');
    assert.equal(BigInt(last.id), id);
    // and the next one is planned ahead again
    const again = await statementsFor(() => c.query<any>("INSERT INTO a (u, v) VALUES (102, 'again')"));
    assert.equal(again.statements, 1);
    assert.equal(BigInt(again.result[0].insertId), id + 1n);
  });

  test("a duplicate key: MySQL's error 1062, no row, no tx, the connection goes on", async () => {
    const before = { rows: await rows('a'), txs: txsOn('a').length };
    await assert.rejects(c.query("INSERT INTO a (u, v) VALUES (1, 'dup')"), (e: any) => {
      assert.equal(e.errno, 1062);
      assert.match(e.message, /Duplicate entry '1' for key 'u'/);
      return true;
    });
    assert.deepEqual(await rows('a'), before.rows);
    assert.equal(txsOn('a').length, before.txs);
    const [[tx]] = await c.query<any[]>('SELECT @@in_transaction AS t');
    assert.equal(Number(tx.t), 0);
    const [ok] = await c.query<any>("INSERT INTO a (u, v) VALUES (200, 'fine')");
    assert.equal(txFor('a', ok.insertId).id.length, 64);
  });

  test('an INSERT that fails before it takes its reserved id leaves no insert_id behind for the next one', async () => {
    await c.query('CREATE TABLE z (id BIGINT AUTO_INCREMENT PRIMARY KEY, w INT, x INT)');
    await c.query('INSERT INTO z (w, x) VALUES (1, 1)'); // learns the next id
    await c.query('INSERT INTO z (w, x) VALUES (2, 2)'); // planned ahead: the definition is cached
    // behind the node's back: the cached definition still has x, so the planned INSERT names it
    await root.query(`ALTER TABLE \`${env.db.name}\`.z DROP COLUMN x`);
    await assert.rejects(c.query('INSERT INTO z (w, x) VALUES (3, 3)'), (e: any) => e.errno === 1054);
    const [[{ id }]] = await c.query<any[]>('SELECT @@insert_id AS id');
    assert.equal(Number(id), 0);
  });

  test('literal keys in a table without AUTO_INCREMENT: one statement, with no id to learn first', async () => {
    // the session's first statement on a table reads its definition; the INSERT itself is one statement
    const firstIns = await statementsFor(() => c.query<any>("INSERT INTO k (id, v) VALUES (1, 'one')"));
    const schemaReads = firstIns.statements - 1;
    assert.ok(schemaReads >= 1, `the definition of k took ${schemaReads} statement(s) to read`);
    const ins = await statementsFor(() => c.query<any>("INSERT INTO k (id, v) VALUES (7, 'seven'), (3, 'three')"));
    assert.equal(ins.statements, 1);
    assert.equal(ins.result[0].affectedRows, 2);
    const sql = sqlOf(txFor('k', 7))!;
    assert.deepEqual(sql.refs, ['k:7', 'k:3']);
    assert.deepEqual(sql.undo, ["DELETE FROM `k` WHERE `id` = '3'", "DELETE FROM `k` WHERE `id` = '7'"]);
    await assert.rejects(c.query("INSERT INTO k (id, v) VALUES (7, 'again')"), (e: any) => e.errno === 1062);
    assert.deepEqual((await rows('k')).map((r) => [r.id, r.v]), [[1, 'one'], [3, 'three'], [7, 'seven']]);
  });

  test('an INSERT of a row another open transaction holds waits for it, as in MySQL, without a lock cycle', async () => {
    await c.query("INSERT INTO k (id, v) VALUES (50, 'first')");
    const other = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    try {
      // `other` deletes row 50 and holds its lock; its tx is admitted only at COMMIT, when it may
      // wait for any write to k:50 in flight. An INSERT admitted first and then waiting for the
      // row lock would close a cycle broken only by innodb_lock_wait_timeout (50 s).
      await other.query('BEGIN');
      await other.query('DELETE FROM k WHERE id = 50');
      const insert = c.query<any>("INSERT INTO k (id, v) VALUES (50, 'again')");
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      await other.query('COMMIT');
      await insert;
      const waited = Date.now() - t0;
      assert.ok(waited < 20_000, `COMMIT and INSERT took ${waited} ms`);
    } finally {
      await other.end();
    }
    assert.deepEqual((await rows('k')).filter((r) => r.id === 50).map((r) => r.v), ['again']);
    const on50 = txsOn('k').filter((t) => sqlOf(t)!.refs.includes('k:50')).map((t) => sqlOf(t)!.stmts[0].split(' ')[0]);
    assert.deepEqual(on50, ['INSERT', 'DELETE', 'INSERT']);
  });

  test('an UPDATE by primary key on a definition changed behind the node runs again on the new one', async () => {
    await c.query("UPDATE k SET v = 'cached' WHERE id = 1"); // the session caches k's definition
    await root.query(`ALTER TABLE \`${env.db.name}\`.k ADD COLUMN extra INT NOT NULL DEFAULT 5`);
    const [r] = await c.query<any>("UPDATE k SET v = 'changed' WHERE id = 1");
    assert.equal(r.affectedRows, 1);
    const updates = txsOn('k').filter((t) => sqlOf(t)!.stmts[0].startsWith("UPDATE `k` SET `v` = 'changed'"));
    assert.equal(updates.length, 1);
    assert.deepEqual(sqlOf(updates[0])!.undo, ["UPDATE `k` SET `v` = 'cached', `extra` = '5' WHERE `id` = '1'"]);
    assert.deepEqual((await rows('k')).filter((x) => x.id === 1).map((x) => [x.v, x.extra]), [['changed', 5]]);

    // a FLOAT column is read by name (CAST … AS DOUBLE): once dropped, the read fails with 1054
    await root.query(`ALTER TABLE \`${env.db.name}\`.k ADD COLUMN f FLOAT NULL`);
    await c.query("UPDATE k SET v = 'with f' WHERE id = 1"); // caches the definition with f
    await root.query(`ALTER TABLE \`${env.db.name}\`.k DROP COLUMN f`);
    const [again] = await c.query<any>("UPDATE k SET v = 'without f' WHERE id = 1");
    assert.equal(again.affectedRows, 1);
    const last = txsOn('k').filter((t) => sqlOf(t)!.stmts[0].startsWith("UPDATE `k` SET `v` = 'without f'"));
    assert.deepEqual(sqlOf(last[0])!.undo, ["UPDATE `k` SET `v` = 'with f', `extra` = '5' WHERE `id` = '1'"]);
  });

  test("a new connection's first update reads no table definitions: the login's other connections read them", async () => {
    const count = async (conn: Connection) => Number((await conn.query<any[]>("SHOW SESSION STATUS LIKE 'Questions'"))[0][0].Value);
    const statements = async (conn: Connection, sql: string) => {
      const a = await count(conn);
      const b = await count(conn);
      await conn.query(sql);
      return (await count(conn)) - b - (b - a);
    };
    await c.query('CREATE TABLE fresh (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)'); // a schema change: definitions are read again
    const readHere = await statements(c, "INSERT INTO fresh VALUES (1, 'reads')");
    const again = await statements(c, "INSERT INTO fresh VALUES (2, 'cached')");
    assert.ok(readHere - again >= 4, `the definition of fresh read with ${readHere - again} statements`);

    const c2 = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    try {
      const first = await statements(c2, "INSERT INTO fresh VALUES (3, 'new connection')");
      const second = await statements(c2, "INSERT INTO fresh VALUES (4, 'its second')");
      assert.equal(first - second, 1, "only the connection's own session settings are read");
    } finally {
      await c2.end();
    }
    assert.deepEqual((await rows('fresh')).map((r) => r.v), ['reads', 'cached', 'new connection', 'its second']);
    assert.equal(txsOn('fresh').length, 5, 'the CREATE TABLE and four INSERTs');
  });

  test('inside BEGIN … COMMIT nothing changes: the statements run one by one, as before', async () => {
    await c.query('BEGIN');
    const inTx = await statementsFor(() => c.query<any>("INSERT INTO a (u, v) VALUES (300, 'in tx')"));
    assert.ok(inTx.statements >= 1);
    await c.query('COMMIT');
    const id = BigInt(inTx.result[0].insertId);
    assert.deepEqual(sqlOf(txFor('a', id))!.stmts, [`INSERT INTO \`a\` (\`u\`, \`v\`, \`id\`) VALUES (300,'in tx',${id})`]);
  });
});
