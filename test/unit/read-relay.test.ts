// What a read-relay process may relay on its own (isPlainRead), the messages between it and the
// node (checked on arrival), and how many processes a config asks for.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { isPlainRead } from '../../server/sql/plain-read.ts';
import { parseFromRelay, parseToRelay } from '../../server/proxy/relay/messages.ts';
import { relayProcessCount } from '../../server/proxy/relay/pool.ts';
import { SqlClassifier } from '../../server/sql/classify.ts';

test('isPlainRead: one read statement that touches nothing the main process tracks', () => {
  for (const sql of ['SELECT 1', '  /* hi */ select * from t where id = 1', 'SHOW TABLES', 'EXPLAIN SELECT 1', 'SELECT 1;', '(SELECT 1)', "SELECT 'SET x'"]) {
    assert.equal(isPlainRead(sql), true, sql);
  }
  for (const sql of [
    'SET autocommit = 0', 'set names utf8mb4', 'USE other', 'SELECT 1; SELECT 2', 'INSERT INTO t VALUES (1)', 'BEGIN', 'COMMIT',
    'UPDATE t SET v = 1', '', '   ', 'SELECT 1 /* PUBKEY:02ab; */', 'CREATE TEMPORARY TABLE x (a INT)', 'WITH x AS (SELECT 1) DELETE FROM t',
  ]) {
    assert.equal(isPlainRead(sql), false, sql);
  }
  // never a write by the main process's own classification
  const c = new SqlClassifier();
  for (const sql of ['SELECT 1', 'SHOW TABLES', 'DO 1', 'CHECKSUM TABLE t']) {
    assert.equal(isPlainRead(sql), true);
    assert.equal(c.classify(sql).kind, 'read');
  }
});

test('relay messages: well-formed ones pass, anything else is refused loudly', () => {
  const adopt = { t: 'adopt', id: 3, caps: { capabilities: 0x1234 }, reads: [1, 2], reply: new Uint8Array([1, 2]), idleTimeoutMs: 1000 };
  assert.deepEqual(parseToRelay(adopt), adopt);
  assert.deepEqual(parseToRelay({ t: 'adopt-backend', id: 3 }), { t: 'adopt-backend', id: 3 });
  assert.deepEqual(parseFromRelay({ t: 'return', id: 1, pending: Buffer.from('x') }).t, 'return');
  assert.deepEqual(parseFromRelay({ t: 'ready' }), { t: 'ready' });
  for (const bad of [null, {}, { t: 'adopt', id: 0 }, { ...adopt, reply: 'bytes' }, { ...adopt, reads: ['1'] }, { t: 'adopt-backend', id: -1 }]) {
    assert.throws(() => parseToRelay(bad), /relay: unexpected message/);
  }
  for (const bad of [{ t: 'return', id: 1 }, { t: 'closed' }, { t: 'log', msg: 5 }, { t: 'adopt', id: 1 }]) {
    assert.throws(() => parseFromRelay(bad), /relay: unexpected message/);
  }
});

test('proxyRelayProcesses: a number is taken as it is; "auto" is none below 4 cores, then half the cores but one, at most 4', () => {
  assert.equal(relayProcessCount(0), 0);
  assert.equal(relayProcessCount(3), 3);
  const cores = availableParallelism();
  assert.equal(relayProcessCount('auto'), cores < 4 ? 0 : Math.min(4, Math.floor(cores / 2) - 1));
});
