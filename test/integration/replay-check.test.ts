/**
 * ReplayCheck against a real MariaDB: every statement the origin plans (executeWrite) passes on
 * a peer that holds the same rows, the usual forms with no query at all; a statement that can
 * change a row its refs do not name is refused, whatever its form and key types.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ConsensusError } from '../../consensus/index.ts';
import { testDatabase } from '../helpers/mysql.ts';
import { connectExecutor } from '../helpers/mysql-executor.ts';
import { SqlClassifier, type WriteStatement } from '../../server/sql/classify.ts';
import { executeWrite } from '../../server/sql/plan.ts';
import { ReplayCheck } from '../../server/sql/replay-check.ts';
import { SchemaCache } from '../../server/sql/schema.ts';
import type { SqlExecutor } from '../../server/sql/executor.ts';
import type { Connection } from 'mysql2/promise';

const SETUP = [
  'CREATE TABLE t (id INT PRIMARY KEY, v INT, note VARCHAR(20))',
  "INSERT INTO t VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three'), (4, 40, 'four'), (5, 50, 'five')",
  'CREATE TABLE a (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))',
  "INSERT INTO a (name) VALUES ('x'), ('y')",
  // text keys: a case-insensitive collation, so 'B' finds 'b'
  'CREATE TABLE s (k VARCHAR(20) PRIMARY KEY, v INT) COLLATE utf8mb4_general_ci',
  "INSERT INTO s VALUES ('a', 1), ('b', 2), ('05', 5)",
  'CREATE TABLE c (x INT, y VARCHAR(5), v INT, PRIMARY KEY (x, y))',
  "INSERT INTO c VALUES (1, 'p', 1), (1, 'q', 2), (2, 'p', 3)",
  'CREATE TABLE bk (k VARBINARY(16) PRIMARY KEY, v INT)',
  "INSERT INTO bk VALUES (X'0a0b', 1)",
  'CREATE TABLE d (k DECIMAL(6,2) PRIMARY KEY, v INT)',
  "INSERT INTO d VALUES ('1.50', 1)",
  'CREATE TABLE u (id INT PRIMARY KEY, email VARCHAR(20) UNIQUE)',
  "INSERT INTO u VALUES (1, 'a@x'), (2, 'b@x')",
  // values a node would work out for itself unless the statement gives them
  'CREATE TABLE tm (id INT PRIMARY KEY, v INT, created DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), ' +
    'changed TIMESTAMP NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP, tag VARCHAR(36) DEFAULT (UUID()))',
  "INSERT INTO tm (id, v, created, tag) VALUES (1, 1, '2020-01-01 00:00:00', 'x')",
];

interface Side { exec: SqlExecutor; conn: Connection; close: () => Promise<void> }
const open: { close: () => Promise<void> }[] = [];
after(async () => {
  for (const o of open) await o.close().catch(() => {});
});

async function side(tag: string): Promise<Side> {
  const db = testDatabase(tag);
  const s = await connectExecutor();
  await s.exec.query(`CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4`);
  await s.exec.query(`USE \`${db.name}\``);
  for (const q of SETUP) await s.exec.query(q);
  const close = async () => {
    await s.close().catch(() => {});
    await db.drop();
  };
  open.push({ close });
  return { ...s, close };
}

const classifier = new SqlClassifier();
const write = (sql: string) => (classifier.classify(sql) as { kind: 'write'; write: WriteStatement }).write;

let origin: Side;
let peer: Side;
const check = new ReplayCheck(new SqlClassifier());
before(async () => {
  origin = await side('named_origin');
  peer = await side('named_peer');
});

/** Runs `stmt` on the peer as the chain does, with its check around it, in a transaction rolled back after. What the check needed: 'text' or 'reads'. */
async function replay(stmt: string, refs: readonly string[]): Promise<'text' | 'reads'> {
  await peer.exec.query('BEGIN');
  try {
    const c = await check.check(peer.conn, stmt, refs);
    await c?.before?.(peer.conn);
    await peer.exec.query(stmt);
    await c?.after?.(peer.conn);
    return c ? 'reads' : 'text';
  } finally {
    await peer.exec.query('ROLLBACK');
  }
}

test("every statement the origin plans passes on a peer with the same rows; integer keys need no read", async () => {
  const cases: { sql: string; needs: 'text' | 'reads' }[] = [
    { sql: 'INSERT INTO t VALUES (10, 1, NULL)', needs: 'text' },
    { sql: "INSERT INTO t (note, id) VALUES ('x', 11), ('y', 12)", needs: 'text' },
    { sql: 'INSERT INTO t SET id = -13, v = 0', needs: 'text' },
    { sql: "INSERT INTO a (name) VALUES ('auto'), ('ids')", needs: 'text' },
    { sql: "INSERT INTO a SET name = 'set form'", needs: 'text' },
    { sql: 'REPLACE INTO t VALUES (3, 33, NULL), (14, 14, NULL)', needs: 'text' },
    { sql: 'UPDATE t SET v = v + 1 WHERE id = 2', needs: 'text' },
    { sql: "UPDATE t SET v = 0 WHERE id = 2 AND note = 'nope'", needs: 'reads' }, // touches nothing: its refs are empty
    { sql: 'UPDATE t SET v = v + 1 WHERE v > 25', needs: 'text' }, // planned as `(v > 25) AND id IN (3, 4, 5)`
    { sql: 'UPDATE t SET v = 0 WHERE v > 0 ORDER BY v DESC LIMIT 2', needs: 'text' },
    { sql: 'DELETE FROM t WHERE id IN (1, 4)', needs: 'text' },
    { sql: 'DELETE FROM t WHERE 2 = id', needs: 'text' },
    { sql: "DELETE FROM t WHERE note LIKE 't%'", needs: 'text' },
    { sql: "UPDATE c SET v = 9 WHERE x = 1 AND y = 'p'", needs: 'reads' },
    { sql: 'UPDATE c SET v = 9 WHERE x = 1', needs: 'reads' }, // text keys: `(x, y) IN ((1, 'p'), (1, 'q'))` read
    { sql: "INSERT INTO s VALUES ('new', 3)", needs: 'reads' },
    { sql: "UPDATE s SET v = 7 WHERE k = 'B'", needs: 'reads' }, // finds 'b': ref s:b
    { sql: "DELETE FROM s WHERE k = 5", needs: 'reads' }, // a number finds '05'
    { sql: "INSERT INTO d VALUES ('2.5', 1)", needs: 'reads' }, // stored as 2.50: ref d:2.50
    { sql: "UPDATE d SET v = 2 WHERE k = 1.5", needs: 'reads' },
    { sql: "UPDATE u SET email = 'c@x' WHERE id = 1", needs: 'text' },
    { sql: "DELETE FROM u WHERE email = 'b@x'", needs: 'text' },
    // made deterministic by the origin: the values it worked out are literals
    { sql: 'INSERT INTO tm (id, v) VALUES (2, 2)', needs: 'text' },
    { sql: 'INSERT INTO tm (id, v, tag) VALUES (3, 3, UUID())', needs: 'text' },
    { sql: 'UPDATE tm SET v = v + 1 WHERE id = 1', needs: 'text' },
    { sql: 'UPDATE tm SET v = 0, created = NOW(6) WHERE id = 1 AND created < NOW()', needs: 'text' },
    { sql: 'UPDATE t SET v = FLOOR(RAND() * 100) WHERE id = 3', needs: 'text' },
    { sql: "INSERT INTO a (name) VALUES ('id by MySQL')", needs: 'text' },
  ];
  const schema = new SchemaCache();
  for (const { sql, needs } of cases) {
    await origin.exec.query('BEGIN');
    let planned;
    try {
      planned = await executeWrite(origin.exec, write(sql), schema);
    } finally {
      await origin.exec.query('ROLLBACK');
    }
    for (const stmt of planned.stmts) assert.equal(await replay(stmt, planned.refs), needs, `${sql} → ${stmt} with refs ${planned.refs.join(' ')}`);
    await check.checkUndo(peer.conn, planned.undo, planned.refs);
  }
});

const refused = (re: RegExp) => (e: unknown) => e instanceof ConsensusError && e.code === 'sql-refused' && re.test(e.message);
const leaves = refused(/cannot be replayed: it leaves a value for each node to work out/);
const unnamed = (ref: string) => refused(new RegExp(`changes row ${ref.replace(/[.*]/g, '\\$&')}, which its refs do not name`));

test('a statement that can change a row its refs do not name is refused, whatever its form', async () => {
  const cases: { stmt: string; refs: string[]; error: (e: unknown) => boolean }[] = [
    // as many rows as named, but other ones
    { stmt: 'UPDATE t SET v = 0 WHERE id = 2', refs: ['t:1'], error: unnamed('t:2') },
    { stmt: 'UPDATE t SET v = 0 WHERE (v > 0) AND id IN (1, 2)', refs: ['t:1'], error: unnamed('t:2') },
    { stmt: "DELETE FROM t WHERE note = 'two'", refs: ['t:1'], error: unnamed('t:2') },
    { stmt: 'DELETE FROM t WHERE v > 0 ORDER BY id LIMIT 1', refs: ['t:5'], error: unnamed('t:1') },
    { stmt: 'UPDATE t SET v = 0 WHERE id = 1 OR id = 2', refs: ['t:1'], error: unnamed('t:2') },
    { stmt: 'INSERT INTO t VALUES (21, 0, NULL)', refs: ['t:20'], error: unnamed('t:21') },
    { stmt: 'INSERT INTO t VALUES (20, 0, NULL), (21, 0, NULL)', refs: ['t:20'], error: unnamed('t:21') },
    { stmt: 'REPLACE INTO t VALUES (2, 0, NULL)', refs: ['t:1'], error: unnamed('t:2') },
    { stmt: "INSERT INTO s VALUES ('B2', 0)", refs: ['s:b'], error: unnamed('s:B2') },
    { stmt: "UPDATE s SET v = 0 WHERE k = 5", refs: ['s:5'], error: unnamed('s:05') },
    { stmt: "UPDATE c SET v = 0 WHERE (x, y) IN ((1, 'p'), (2, 'p'))", refs: ['c:1,p'], error: unnamed('c:2,p') },
    { stmt: "INSERT INTO d VALUES ('3', 0)", refs: ['d:3'], error: unnamed('d:3.00') },
    { stmt: 'INSERT INTO a (id, name) VALUES (0, "zero")', refs: ['a:0'], error: leaves },
    // values each node would work out for itself
    { stmt: 'UPDATE t SET v = FLOOR(RAND() * 100) WHERE id = 1', refs: ['t:1'], error: leaves },
    { stmt: "UPDATE t SET note = UUID() WHERE id = 1", refs: ['t:1'], error: leaves },
    { stmt: 'DELETE FROM t WHERE id = 1 AND v < UNIX_TIMESTAMP()', refs: ['t:1'], error: leaves },
    { stmt: 'INSERT INTO tm (id, v) VALUES (7, 1)', refs: ['tm:7'], error: leaves }, // created, tag: defaults of their own
    { stmt: "INSERT INTO tm (id, v, created, tag) VALUES (7, 1, '2020-01-01', DEFAULT)", refs: ['tm:7'], error: leaves },
    { stmt: 'UPDATE tm SET v = 5 WHERE id = 1', refs: ['tm:1'], error: leaves }, // changed: ON UPDATE CURRENT_TIMESTAMP
    { stmt: "INSERT INTO a (name) VALUES ('no id')", refs: [], error: leaves },
    { stmt: 'UPDATE t SET v = SLEEP(5) WHERE id = 1', refs: ['t:1'], error: refused(/SLEEP\(\) depends on the session/) },
    { stmt: 'UPDATE t SET note = USER() WHERE id = 1', refs: ['t:1'], error: refused(/USER\(\) depends on the session/) },
    { stmt: 'UPDATE t SET v = @x WHERE id = 1', refs: ['t:1'], error: refused(/user variable @x/) },
    { stmt: 'UPDATE t SET v = @@server_id WHERE id = 1', refs: ['t:1'], error: refused(/system variable @@server_id/) },
    // forms that change rows no ref can name, refused outright
    { stmt: 'UPDATE t SET id = 99 WHERE id = 1', refs: ['t:1'], error: refused(/primary key column `id`/) },
    { stmt: "REPLACE INTO u VALUES (3, 'a@x')", refs: ['u:3'], error: refused(/UNIQUE keys besides its primary key/) },
    { stmt: "INSERT INTO t VALUES (1, 0, NULL) ON DUPLICATE KEY UPDATE v = 1", refs: ['t:1'], error: refused(/ON DUPLICATE KEY UPDATE/) },
    { stmt: 'INSERT INTO t SELECT id + 100, v, note FROM t', refs: [], error: refused(/SELECT is not supported/) },
    { stmt: 'DELETE FROM t LIMIT 1', refs: ['t:1'], error: refused(/LIMIT without ORDER BY/) },
  ];
  for (const { stmt, refs, error } of cases) {
    await assert.rejects(replay(stmt, refs), error, `${stmt} with refs ${refs.join(' ')}`);
  }
  // nothing stayed: the peer's rows are as set up
  assert.deepEqual((await peer.exec.query('SELECT id, v FROM t ORDER BY id')).rows, [['1', '10'], ['2', '20'], ['3', '30'], ['4', '40'], ['5', '50']]);
  // a ref to the whole table (a schema change's) names its definition, not its rows: their bases are not checked by it
  await assert.rejects(replay('UPDATE t SET v = 0', ['t:*']), unnamed('t:1'));
  assert.equal(await check.check(peer.conn, 'ALTER TABLE t ADD COLUMN w INT', ['t:*']), null);
});

test("an undo that could change rows its tx does not name is refused: it runs as it came when a fork switch drops the tx", async () => {
  const cases: { undo: string; refs: string[]; error: RegExp }[] = [
    { undo: 'DELETE FROM t', refs: ['t:1'], error: /whole primary key/ },
    { undo: "UPDATE t SET note = 'x' WHERE v > 0", refs: ['t:1'], error: /whole primary key/ },
    { undo: "UPDATE t SET note = 'x' WHERE id = v", refs: ['t:1'], error: /whole primary key/ },
    { undo: "UPDATE t SET note = 'x' WHERE id = 2", refs: ['t:1'], error: /changes row t:2, which its refs do not name/ },
    { undo: "DELETE FROM t WHERE `id` = '2'", refs: ['t:1'], error: /changes row t:2, which its refs do not name/ },
    { undo: "DELETE FROM t WHERE (`id` = '1') OR (`id` = '2')", refs: ['t:1'], error: /changes row t:2/ },
    { undo: "INSERT INTO t (`id`, `v`, `note`) VALUES ('1', '10', 'one'), ('3', '30', 'three')", refs: ['t:1'], error: /changes row t:3/ },
    { undo: "INSERT INTO t (`v`) VALUES ('10')", refs: ['t:1'], error: /whole primary key/ },
    { undo: "UPDATE t SET v = FLOOR(RAND() * 10) WHERE id = 1", refs: ['t:1'], error: /leaves a value/ },
    { undo: "UPDATE t SET v = @x WHERE id = 1", refs: ['t:1'], error: /user variable @x/ },
    { undo: "REPLACE INTO t VALUES (1, 10, 'one')", refs: ['t:1'], error: /not a row's undo/ },
    { undo: 'TRUNCATE t', refs: ['t:1'], error: /not a row's undo/ },
    // text and binary keys: as the server reads the literals, each exactly a ref's key
    { undo: "DELETE FROM s WHERE k = 'c'", refs: ['s:a'], error: /changes row s:c, which its refs do not name/ },
    { undo: "UPDATE s SET v = 1 WHERE k = 'A'", refs: ['s:a'], error: /changes row s:A,/ },
    { undo: "INSERT INTO s VALUES ('a', 1), ('zz', 2)", refs: ['s:a'], error: /changes row s:zz,/ },
    { undo: "DELETE FROM c WHERE x = 1 AND y = 'q'", refs: ['c:1,p'], error: /changes row c:1,q,/ },
    { undo: "DELETE FROM bk WHERE k = X'0102'", refs: ['bk:0x0a0b'], error: /changes row bk:0x0102,/ },
    { undo: "DELETE FROM bk WHERE k = 'ab'", refs: ['bk:0x0a0b'], error: /changes row bk:ab,/ },
  ];
  for (const { undo, refs, error } of cases) {
    await assert.rejects(check.checkUndo(peer.conn, [undo], refs), refused(error), `${undo} with refs ${refs.join(' ')}`);
  }
  // the forms the origin writes: by whole keys, quoted
  await check.checkUndo(peer.conn, [
    "DELETE FROM `t` WHERE `id` = '1'", "UPDATE `t` SET `v` = '10', `note` = 'it''s' WHERE `id` = '2'",
    "DELETE FROM `t` WHERE (`id` = '1') OR (`id` = '2')", "INSERT INTO `t` (`id`, `v`, `note`) VALUES ('1', '10', NULL), ('2', '20', 'two')",
    "DELETE FROM `c` WHERE `x` = '1' AND `y` = 'p'",
    "UPDATE `s` SET `v` = '1' WHERE `k` = 'a'", "DELETE FROM `s` WHERE `k` = 'it\\'s 😀'", "INSERT INTO `s` (`k`, `v`) VALUES ('a', '1'), ('05', '5')",
    "UPDATE `bk` SET `v` = '1' WHERE `k` = X'0a0b'",
  ], ['t:1', 't:2', 'c:1,p', 's:a', "s:it's 😀", 's:05', 'bk:0x0a0b']);
});

test('a table definition changed by a schema change is read again after forget()', async () => {
  await peer.exec.query('CREATE TABLE k (id INT PRIMARY KEY, v INT)');
  try {
    assert.equal(await replay('INSERT INTO k VALUES (1, 1)', ['k:1']), 'text');
    await peer.exec.query('ALTER TABLE k MODIFY id VARCHAR(10)');
    check.forget();
    // a text key now: read back, and the ref is what the server stored
    assert.equal(await replay("INSERT INTO k VALUES ('01', 1)", ['k:01']), 'reads');
    await assert.rejects(replay('INSERT INTO k VALUES (1, 1)', ['k:01']), unnamed('k:1'));
  } finally {
    await peer.exec.query('DROP TABLE k');
    check.forget();
  }
});
