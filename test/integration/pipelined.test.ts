// MySQL commands written without waiting for the answers before them (server/chain/pipelined.ts):
// answers in order, a failure does not stop later commands, queued queries of a pipelined
// transaction leave at once, and what runs after a deadlock never commits on its own.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mysql, { type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { beginPipelinedTransaction, sendPipelined } from '../../server/chain/pipelined.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';

const db = testDatabase('pipe');
let pool: Pool;

before(async () => {
  pool = mysql.createPool({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', connectionLimit: 3 });
  await pool.query(`CREATE DATABASE \`${db.name}\``);
  await pool.query(`CREATE TABLE \`${db.name}\`.t (id INT PRIMARY KEY, v TEXT)`);
});
after(async () => {
  await db.drop();
  await pool.end();
});

async function onConnection<T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> {
  const c = await pool.getConnection();
  try {
    await c.query(`USE \`${db.name}\``);
    return await fn(c);
  } finally {
    c.release();
  }
}

const ids = async () => (await pool.query<RowDataPacket[]>(`SELECT id FROM \`${db.name}\`.t ORDER BY id`))[0].map((r) => r.id as number);
const written = (c: PoolConnection) => (c as unknown as { connection: { stream: { bytesWritten: number } } }).connection.stream.bytesWritten;

test('sendPipelined: every step answered in order; a failing step does not stop the ones after it', async () => {
  await pool.query(`DELETE FROM \`${db.name}\`.t`);
  const answers = await onConnection((c) => sendPipelined(c, [
    { sql: 'INSERT INTO t VALUES (1, \'a\')' },
    { sql: 'INSERT INTO t VALUES (1, \'again\')' },
    { option: 0 },
    { sql: 'SELECT 1 AS one; SELECT 2 AS two' },
    { option: 1 },
    { sql: 'INSERT INTO t VALUES (2, \'b\')' },
  ]));
  assert.equal(answers.length, 6);
  assert.equal(((answers[0] as { value: { affectedRows: number } }).value).affectedRows, 1);
  assert.equal(((answers[1] as { error: Error & { errno?: number } }).error).errno, 1062);
  assert.deepEqual(answers[2], { value: undefined });
  const both = (answers[3] as { value: RowDataPacket[][] }).value;
  assert.deepEqual([both[0][0].one, both[1][0].two], [1, 2]);
  assert.deepEqual(answers[4], { value: undefined });
  assert.equal(((answers[5] as { value: { affectedRows: number } }).value).affectedRows, 1);
  assert.deepEqual(await ids(), [1, 2]);
});

test('a pipelined transaction writes queued queries at once, reads their answers in order, and ends with autocommit on', async () => {
  await pool.query(`DELETE FROM \`${db.name}\`.t`);
  await onConnection(async (c) => {
    const end = await beginPipelinedTransaction(c, db.name);
    let answered = false;
    const slow = c.query('SELECT SLEEP(0.3) AS s');
    void slow.then(() => (answered = true));
    const before = written(c);
    const queued = [3, 4, 5].map((id) => c.query(`INSERT INTO t VALUES (${id}, 'x')`));
    await Promise.resolve(); // those queued together leave together, before the next microtask
    // mysql2 alone would write these only after the SLEEP's answer
    assert.ok(written(c) > before && !answered, 'queued inserts left before the first answer');
    const order: string[] = [];
    await Promise.all([slow.then(() => order.push('sleep')), ...queued.map((q, i) => q.then(() => order.push(`insert ${i}`)))]);
    assert.deepEqual(order, ['sleep', 'insert 0', 'insert 1', 'insert 2']);
    await c.commit();
    await end(true); // after a COMMIT, autocommit goes back on in the queue: what follows runs after it
    const [[mode]] = await c.query<RowDataPacket[]>('SELECT @@autocommit AS a');
    assert.equal(Number(mode.a), 1);
    // and after it, mysql2 waits for each answer again
    const slow2 = c.query('SELECT SLEEP(0.2)');
    const before2 = written(c);
    const later = c.query('SELECT 1');
    assert.equal(written(c), before2, 'no write ahead once ended');
    await Promise.all([slow2, later]);
  });
  assert.deepEqual(await ids(), [3, 4, 5]);
});

test('a connection killed with commands written ahead: each of them fails, none hangs', async () => {
  const c = await pool.getConnection();
  try {
    const id = c.threadId;
    await beginPipelinedTransaction(c, db.name); // never ended: the connection is destroyed
    // settled as they are made: they fail while the KILL is still on its way back
    const queries = Promise.allSettled([c.query('SELECT SLEEP(5)'), c.query('SELECT 1')]);
    const pipelined = sendPipelined(c, [{ option: 0 }, { sql: 'SELECT 2; SELECT 3' }, { option: 1 }]);
    await new Promise((r) => setTimeout(r, 100));
    await pool.query(`KILL ${id}`);
    assert.deepEqual((await queries).map((r) => r.status), ['rejected', 'rejected']);
    const steps = await pipelined as { error?: Error }[];
    assert.equal(steps.length, 3);
    assert.ok(steps.every((r) => r.error instanceof Error), 'every step failed with the connection');
  } finally {
    c.destroy();
  }
});

/**
 * `begin` opens a transaction on one connection that updates row 1, then queues an update of row
 * 2 (held by a heavier transaction, which then asks for row 1: a deadlock whose victim is the
 * lighter one) and, behind it, an insert of row 1000. Returns whether row 1000 exists after the
 * victim's ROLLBACK.
 */
async function deadlockLeavesRow(begin: (c: PoolConnection) => Promise<() => Promise<void>>): Promise<boolean> {
  await pool.query(`DELETE FROM \`${db.name}\`.t`);
  await pool.query(`INSERT INTO \`${db.name}\`.t VALUES (1, 'one'), (2, 'two')`);
  const heavy = await pool.getConnection();
  try {
    await heavy.query(`USE \`${db.name}\``);
    await heavy.beginTransaction();
    await heavy.query('UPDATE t SET v = \'heavy\' WHERE id = 2');
    // InnoDB rolls back the transaction that changed fewer rows
    await heavy.query(`INSERT INTO t VALUES ${Array.from({ length: 200 }, (_, i) => `(${10 + i}, 'h')`).join(', ')}`);
    await onConnection(async (c) => {
      const end = await begin(c);
      await c.query('UPDATE t SET v = \'light\' WHERE id = 1');
      const blocked = c.query('UPDATE t SET v = \'light\' WHERE id = 2').then(() => undefined, (e: { errno?: number }) => e);
      const behind = c.query('INSERT INTO t VALUES (1000, \'after the deadlock\')');
      await new Promise((r) => setTimeout(r, 200)); // the update of row 2 now waits for `heavy`
      await heavy.query('UPDATE t SET v = \'heavy\' WHERE id = 1');
      assert.equal((await blocked)?.errno, 1213, 'the lighter transaction is the deadlock\'s victim');
      await behind;
      await c.rollback();
      await end();
    });
    await heavy.rollback();
  } finally {
    heavy.release();
  }
  return (await ids()).includes(1000);
}

test('after a deadlock, commands sent behind it do not commit on their own: the ROLLBACK takes them', async () => {
  // The hazard, with a plain transaction and mysql2's queue: the insert behind the deadlock
  // runs with autocommit and stays.
  assert.equal(await deadlockLeavesRow(async (c) => {
    await c.beginTransaction();
    return async () => {};
  }), true);
  assert.equal(await deadlockLeavesRow((c) => beginPipelinedTransaction(c, db.name)), false);
});
