// A block's statements replayed as one multi-statement packet (server/chain/sql-batch.ts): taken
// only when MySQL ran exactly those statements, otherwise rolled back to run one by one; the
// connection never keeps running several statements per packet.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mysql, { type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { BatchFailed, batchable, runBatch, SqlBatcher } from '../../server/chain/sql-batch.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';

const db = testDatabase('batch');
let pool: Pool;
const isLock = (e: unknown) => [1205, 1213].includes((e as { errno?: number }).errno ?? 0);

before(async () => {
  pool = mysql.createPool({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', connectionLimit: 2 });
  await pool.query(`CREATE DATABASE \`${db.name}\``);
  await pool.query(`CREATE TABLE \`${db.name}\`.t (id INT PRIMARY KEY, note TEXT)`);
  await pool.query(`CREATE TABLE \`${db.name}\`.short (id INT PRIMARY KEY, v VARCHAR(3))`);
});
after(async () => {
  await db.drop();
  await pool.end();
});

async function inTransaction(fn: (c: PoolConnection) => Promise<void>): Promise<number[]> {
  const c = await pool.getConnection();
  try {
    await c.query(`USE \`${db.name}\``);
    await c.query('DELETE FROM t');
    await c.beginTransaction();
    await c.query('INSERT INTO t VALUES (0, "before the batch")');
    await fn(c);
    await c.commit();
    // the connection is back to one statement per packet
    await assert.rejects(c.query('SELECT 1; SELECT 2'), (e: { errno?: number }) => e.errno === 1064);
    const [rows] = await c.query<RowDataPacket[]>('SELECT id FROM t ORDER BY id');
    return rows.map((r) => r.id as number);
  } finally {
    c.release();
  }
}

const insert = (id: number, note = `row ${id}`) => `INSERT INTO t VALUES (${id}, '${note}')`;

test('a batch runs every statement in one packet, inside the caller\'s transaction', async () => {
  const ids = await inTransaction(async (c) => {
    assert.equal(await runBatch(c, [insert(1), insert(2), 'UPDATE t SET note = \'x\' WHERE id = 1', 'DELETE FROM t WHERE id = 2', insert(3)], isLock), true);
  });
  assert.deepEqual(ids, [0, 1, 3]);
});

test('a failing statement leaves nothing of the batch: the rows before it are rolled back, the rest never ran', async () => {
  const ids = await inTransaction(async (c) => {
    assert.equal(await runBatch(c, [insert(1), insert(2), insert(1), insert(4)], isLock), false);
  });
  assert.deepEqual(ids, [0]);
});

test('a statement MySQL reads differently (a comment left open) merges with the next: the count falls short and the batch is undone', async () => {
  const ids = await inTransaction(async (c) => {
    // MySQL sees one INSERT (of row 1) where two were sent: not trusted
    assert.equal(await runBatch(c, [`${insert(1)} /*`, `*/ ${insert(2)}`], isLock), false);
  });
  assert.deepEqual(ids, [0]);
});

test('a statement that returns rows is not a replayed write: the batch is undone', async () => {
  const ids = await inTransaction(async (c) => {
    assert.equal(await runBatch(c, [insert(1), 'SELECT * FROM t'], isLock), false);
  });
  assert.deepEqual(ids, [0]);
});

/** The session's count of INSERT statements MySQL ran. */
async function insertsRun(c: PoolConnection): Promise<number> {
  const [rows] = await c.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Com_insert'");
  return Number(rows[0].Value);
}

test('one-row INSERTs of plain literals run as one multi-row INSERT and leave the rows one by one would', async () => {
  const notes = ["it''s (a, b)", '', 'x,y', 'é中'];
  const stmts = notes.map((n, i) => insert(i + 1, n));
  let run = 0;
  const merged = await inTransaction(async (c) => {
    const before = await insertsRun(c);
    assert.equal(await runBatch(c, [...stmts, "UPDATE t SET note = 'u' WHERE id = 2", insert(9)], isLock), true);
    run = (await insertsRun(c)) - before;
  });
  assert.equal(run, 2, 'the four rows in one INSERT, then the one after the UPDATE');
  const c = await pool.getConnection();
  try {
    await c.query(`USE \`${db.name}\``);
    const [rows] = await c.query<RowDataPacket[]>('SELECT id, note FROM t ORDER BY id');
    assert.deepEqual(merged, [0, 1, 2, 3, 4, 9]);
    assert.deepEqual(rows.map((r) => r.note), ['before the batch', "it's (a, b)", 'u', 'x,y', 'é中', 'row 9']);
  } finally {
    c.release();
  }
});

test('a merged INSERT that MySQL answers with a warning is not trusted: its table goes one row a statement, and the batch runs again so', async () => {
  const c = await pool.getConnection();
  const unmerged = new Set<string>();
  const rows = ["INSERT INTO short VALUES (1, 'abc')", "INSERT INTO short VALUES (2, 'abcdef')"];
  try {
    await c.query(`USE \`${db.name}\``);
    await c.query("SET SESSION sql_mode = ''"); // too long a value: cut, with a warning (an error in strict mode)
    await c.beginTransaction();
    const before = await insertsRun(c);
    assert.equal(await runBatch(c, rows, isLock, true, unmerged), true, 'run again one row a statement, as one by one would');
    assert.equal((await insertsRun(c)) - before, 3, 'the merged INSERT (rolled back), then the two one-row ones');
    assert.deepEqual([...unmerged], ['INSERT INTO short VALUES ']);
    const [got] = await c.query<RowDataPacket[]>('SELECT id, v FROM short ORDER BY id');
    assert.deepEqual(got.map((r) => [r.id, r.v]), [[1, 'abc'], [2, 'abc']]);
    await c.rollback();

    // in a run (no savepoint) the batch fails once, and the head is not merged the next time
    await c.beginTransaction();
    const fresh = new Set<string>();
    assert.equal(await runBatch(c, rows, isLock, false, fresh), false);
    await c.rollback();
    await c.beginTransaction();
    assert.equal(await runBatch(c, rows, isLock, false, fresh), true);
    await c.rollback();
    await c.query('SET SESSION sql_mode = DEFAULT');
  } finally {
    c.release();
  }
});

test('statements holding a semicolon are never batched', () => {
  assert.equal(batchable(insert(1, 'a;b')), false);
  assert.equal(batchable(insert(1, 'a,b')), true);
});

test('SqlBatcher: batches across txs, falls back to one by one and reports the failing item', async () => {
  const ran: string[][] = [];
  const oneByOne = (c: PoolConnection) => async (items: readonly string[]) => {
    ran.push([...items]);
    for (const s of items) await c.query(s);
  };
  const ids = await inTransaction(async (c) => {
    const b = new SqlBatcher<string>(c, oneByOne(c), { is: isLock, busy: (e) => new Error(`busy: ${e}`) });
    for (let i = 1; i <= 5; i++) await b.add(insert(i), [insert(i)]);
    await b.flush();
  });
  assert.deepEqual(ids, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(ran, [], 'a clean batch needs no one-by-one run');

  await assert.rejects(inTransaction(async (c) => {
    const b = new SqlBatcher<string>(c, oneByOne(c), { is: isLock, busy: (e) => new Error(`busy: ${e}`) });
    for (const i of [1, 2, 2, 3]) await b.add(insert(i), [insert(i)]);
    await b.flush();
  }), (e: { errno?: number }) => e.errno === 1062); // the duplicate, found by the one-by-one run
  assert.deepEqual(ran, [[insert(1), insert(2), insert(2), insert(3)]]);
});

test('SqlBatcher in a run (onFailure abort): no savepoint; a failed batch throws BatchFailed and never runs one by one', async () => {
  const c = await pool.getConnection();
  try {
    await c.query(`USE \`${db.name}\``);
    await c.query('DELETE FROM t');
    await c.beginTransaction();
    const b = new SqlBatcher<string>(c, async () => assert.fail('no one-by-one run in a run'), { is: isLock, busy: (e) => new Error(`busy: ${e}`) }, 'abort');
    await b.add('a', [insert(1), insert(2)]);
    await b.flush();
    await b.add('b', [insert(3), insert(1)]);
    await assert.rejects(b.flush(), BatchFailed);
    await assert.rejects(c.query('ROLLBACK TO SAVEPOINT oursql_batch'), (e: { errno?: number }) => e.errno === 1305, 'no savepoint was made');
    await c.rollback();
  } finally {
    c.release();
  }
});

test('a lock wait in a batch is reported as busy, not as a bad statement', async () => {
  const holder = await pool.getConnection();
  try {
    await holder.query(`USE \`${db.name}\``);
    await holder.query('DELETE FROM t');
    await holder.beginTransaction();
    await holder.query(insert(7)); // holds the key
    const c = await pool.getConnection();
    try {
      await c.query(`USE \`${db.name}\``);
      await c.query('SET SESSION innodb_lock_wait_timeout = 1');
      await c.beginTransaction();
      const b = new SqlBatcher<string>(c, async () => assert.fail('no one-by-one run after a lock error'), { is: isLock, busy: () => new Error('busy') });
      await b.add('a', [insert(6), insert(7)]);
      await assert.rejects(b.flush(), /^Error: busy$/);
      await c.rollback();
      await c.query('SET SESSION innodb_lock_wait_timeout = DEFAULT');
    } finally {
      c.release();
    }
  } finally {
    await holder.rollback();
    holder.release();
  }
});
