/**
 * executeWrite / planDryRun against a real MariaDB: undo restores byte-identical tables, replaying
 * `stmts` on a second database gives the same tables, refs are exact, refusals execute nothing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { testDatabase } from '../helpers/mysql.ts';
import { connectExecutor, type Mysql2Executor } from '../helpers/mysql-executor.ts';
import { SqlClassifier, type WriteStatement } from '../../server/sql/classify.ts';
import { executeWrite, planDryRun, RanBeforeStale, type WriteOutcome, type WriteOptions } from '../../server/sql/plan.ts';
import { pipelined, type SqlExecutor } from '../../server/sql/executor.ts';
import { SchemaCache } from '../../server/sql/schema.ts';
import { bodyMatchesSql } from '../../server/sql/match.ts';
import { WriteRefused } from '../../server/sql/write-refused.ts';
import { parseOne } from '../../server/sql/ast.ts';
import { ddlUndoHere } from '../../server/sql/ddl-undo.ts';
import { ReplayCheck } from '../../server/sql/replay-check.ts';
import type { Connection } from 'mysql2/promise';

const classifier = new SqlClassifier();
/** The check a node runs before it replays a peer's statement (one per database: it caches table definitions). */
const replayCheckOn = () => new ReplayCheck(new SqlClassifier());
function w(sql: string): WriteStatement {
  const c = classifier.classify(sql);
  assert.equal(c.kind, 'write', `${sql} → ${JSON.stringify(c)}`);
  return (c as { kind: 'write'; write: WriteStatement }).write;
}

const SETUP = [
  `CREATE TABLE allt (
    k1 INT NOT NULL, k2 VARCHAR(20) NOT NULL,
    ti TINYINT, ub BIGINT UNSIGNED, dc DECIMAL(30,10), fl FLOAT, db DOUBLE,
    dd DATE, dtm DATETIME(6), tm TIME(3), ts TIMESTAMP(6) NULL DEFAULT NULL, yr YEAR,
    ch CHAR(5), vc VARCHAR(100), tx TEXT, js JSON, en ENUM('a','b','c'), st SET('x','y','z'),
    bt BIT(10), bn BINARY(4), vb VARBINARY(20), bl BLOB,
    PRIMARY KEY (k1, k2)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `INSERT INTO allt VALUES
    (1, 'a', -128, 18446744073709551615, '12345678901234567890.0123456789', 1.2345678, 0.1e0 + 0.2e0,
     '2024-02-29', '2024-02-29 23:59:59.999999', '-838:59:59.000', '2038-01-19 03:14:07.999999', 2155,
     'ab', 'it''s a "quote" \\\\ back\\\\slash', 'emoji 😀 and ünïcödé\\nline2\\ttab', '{"k": [1, 2, {"z": null}]}', 'c', 'x,z',
     b'1010101010', X'00000001', X'00FF00', X'000102030405'),
    (2, 'b''c', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (3, 'd\\\\e', 0, 0, 0, 3.4e38, 1.7976931348623157e308, '1000-01-01', '1000-01-01 00:00:00', '00:00:00', '1970-01-01 00:00:01', 1901,
     '', '', '', '[]', 'a', '', b'0', X'00', X'', X''),
    (4, '😀', 127, 9223372036854775808, '-0.0000000001', -1.17549435e-38, 5e-324, '9999-12-31', '9999-12-31 23:59:59.000001', '838:59:59.000', NULL, 0,
     'NULL', 'null', NULL, '"str"', 'b', 'x,y,z', b'1111111111', X'FFFFFFFF', X'5C27225C30', X'00')`,
  `CREATE TABLE auto_t (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    created DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated TIMESTAMP(3) NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP(3),
    n INT NOT NULL DEFAULT 0,
    UNIQUE KEY uname (name)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `INSERT INTO auto_t (id, name, created, n) VALUES (1, 'one', '2020-01-01 00:00:00', 1), (2, 'two', '2020-01-02 00:00:00', 2), (3, 'three', '2020-01-03 00:00:00', 3)`,
];
const TABLES = ['allt', 'auto_t'];

interface Db { name: string; exec: Mysql2Executor; conn: Connection; schema: SchemaCache; close(): Promise<void> }
const open: Db[] = [];
after(async () => {
  for (const d of open) await d.close().catch(() => {});
});

async function database(tag: string, setup = SETUP): Promise<Db> {
  const db = testDatabase(tag);
  const { exec, conn, close } = await connectExecutor();
  await exec.query(`CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4`);
  await exec.query(`USE \`${db.name}\``);
  await exec.query("SET time_zone = '+00:00'");
  for (const s of setup) await exec.query(s);
  const d: Db = {
    name: db.name,
    exec,
    conn,
    schema: new SchemaCache(),
    close: async () => {
      await close().catch(() => {});
      await db.drop();
    },
  };
  open.push(d);
  return d;
}

interface Snapshot { checksum: string | null; create: string; dump: string[][] }

/** Everything about a table, byte for byte: CHECKSUM TABLE, SHOW CREATE TABLE, HEX of every value in key order. */
async function snapshot(exec: Mysql2Executor, table: string, keepAutoIncrement = false): Promise<Snapshot | null> {
  const exists = await exec.query(`SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}'`);
  if (exists.rows.length === 0) return null;
  const cols = await exec.query(`SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}' ORDER BY ORDINAL_POSITION`);
  const list = cols.rows.map(([c, t]) => (t === 'float' ? `HEX(CAST(CAST(\`${c}\` AS DOUBLE) AS BINARY))` : `HEX(CAST(\`${c}\` AS BINARY))`));
  const pk = await exec.query(`SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`);
  const order = pk.rows.length ? ` ORDER BY ${pk.rows.map(([c]) => `\`${c}\``).join(', ')}` : '';
  const dump = await exec.query(`SELECT ${list.join(', ')} FROM \`${table}\`${order}`);
  const sum = await exec.query(`CHECKSUM TABLE \`${table}\``);
  const create = String((await exec.query(`SHOW CREATE TABLE \`${table}\``)).rows[0][1]);
  return {
    checksum: sum.rows[0][1] as string | null,
    create: keepAutoIncrement ? create : create.replace(/ AUTO_INCREMENT=\d+/, ''),
    dump: dump.rows.map((r) => r.map((v) => (v === null ? 'NULL' : String(v)))),
  };
}

async function snapshots(exec: Mysql2Executor, tables = TABLES, keepAutoIncrement = false) {
  const out: Record<string, Snapshot | null> = {};
  for (const t of tables) out[t] = await snapshot(exec, t, keepAutoIncrement);
  return out;
}

async function inTxn<T>(exec: Mysql2Executor, f: () => Promise<T>): Promise<T> {
  await exec.query('BEGIN');
  try {
    const r = await f();
    await exec.query('COMMIT');
    return r;
  } catch (e) {
    await exec.query('ROLLBACK');
    throw e;
  }
}

async function apply(d: Db, sql: string | WriteStatement, opts?: WriteOptions): Promise<WriteOutcome> {
  const ws = typeof sql === 'string' ? w(sql) : sql;
  const out = await inTxn(d.exec, () => executeWrite(d.exec, ws, d.schema, opts));
  if (out.ddl) d.schema.invalidate();
  return out;
}

async function runUndo(d: Db, out: WriteOutcome): Promise<void> {
  await inTxn(d.exec, async () => {
    for (const u of out.undo) await d.exec.query(u);
  });
  d.schema.invalidate();
}

// ---------------------------------------------------------------------------------------------

test('executor adapter: text as strings, binary as Buffers, no numbers or Dates; errors as SqlExecError', async () => {
  const d = await database('exec');
  const r = await d.exec.query('SELECT ub, dc, fl, dtm, ts, js, bt, bn, vb, en, vc, tx FROM allt WHERE k1 = 1');
  const [ub, dc, fl, dtm, ts, js, bt, bn, vb, en, vc, tx] = r.rows[0];
  assert.equal(ub, '18446744073709551615');
  assert.equal(dc, '12345678901234567890.0123456789');
  assert.equal(fl, '1.23457');
  assert.equal(dtm, '2024-02-29 23:59:59.999999');
  assert.equal(ts, '2038-01-19 03:14:07.999999');
  assert.equal(js, '{"k": [1, 2, {"z": null}]}');
  assert.deepEqual(bt, Buffer.from([0x02, 0xaa]));
  assert.deepEqual(bn, Buffer.from([0, 0, 0, 1]));
  assert.deepEqual(vb, Buffer.from([0, 0xff, 0]));
  assert.equal(en, 'c');
  assert.equal(vc, 'it\'s a "quote" \\ back\\slash');
  assert.equal(tx, 'emoji 😀 and ünïcödé\nline2\ttab');
  assert.deepEqual(r.columns.map((c) => c.binary), [false, false, false, false, false, false, true, true, true, false, false, false]);
  for (const v of r.rows[0]) assert.ok(v === null || typeof v === 'string' || Buffer.isBuffer(v));
  const ins = await d.exec.query("INSERT INTO auto_t (name) VALUES ('x')");
  assert.equal(ins.affectedRows, 1);
  assert.equal(typeof ins.insertId, 'bigint');
  assert.equal(ins.insertId, 4n);
  await assert.rejects(d.exec.query('SELECT * FROM nope'), (e: any) => e.name === 'SqlExecError' && e.errno === 1146 && e.sqlState === '42S02');
});

test('undo restores every statement kind byte for byte', async () => {
  const d = await database('undo', [
    ...SETUP,
    'CREATE TABLE gen_t (id INT PRIMARY KEY, a INT, g INT AS (a * 2) VIRTUAL, s INT AS (a + 1) STORED, iv INT INVISIBLE DEFAULT 7)',
    'INSERT INTO gen_t (id, a, iv) VALUES (1, 10, 70), (2, NULL, NULL)',
    'CREATE TABLE nopk (a INT, b TEXT)',
    "INSERT INTO nopk VALUES (1, 'x'), (1, 'x'), (NULL, NULL)",
  ]);
  const cases: { sql: string; tables?: string[]; pre?: string[] }[] = [
    { sql: `INSERT INTO allt VALUES (10, 'new 😀', 1, 2, '3.5', 4.25, 5.5e-5, '2001-01-01', '2001-01-01 01:01:01.5', '01:01:01', '2001-01-01 01:01:01', 2001,
            'c', 'q''s \\\\ "d"', 'x', '{}', 'a', 'y', b'1', X'00000000', X'0000', X'00')` },
    { sql: "INSERT INTO allt (k1, k2, vc, bl) VALUES (11, 'x', NULL, X'00'), (12, 'y', 'two', NULL), (13, 'z\\\\', '😀😀', X'FF00FF')" },
    { sql: "INSERT INTO auto_t SET name = 'set-form'" },
    { sql: "INSERT INTO auto_t (name, n) VALUES ('m1', 1), ('m2', 2), ('m3', 3)" },
    { sql: "UPDATE allt SET ti = 5, ub = 1, dc = dc + 1, fl = 0.5, db = -db, dd = '2000-01-01', dtm = NOW(6), tm = '12:00:00', ts = NULL, yr = 2000, ch = 'z', vc = CONCAT('[', vc, ']'), tx = 'changed', js = '[1]', en = 'b', st = 'y', bt = b'1', bn = X'01020304', vb = X'FFFF', bl = X'00' WHERE vc LIKE '%quote%' OR vc IS NULL OR k1 = 4" },
    { sql: 'UPDATE auto_t SET n = n + 1' },
    { sql: "UPDATE auto_t SET name = CONCAT(name, '!') WHERE id >= 2" },
    { sql: "UPDATE auto_t SET name = 'uno' WHERE id = 1" },
    { sql: 'DELETE FROM allt WHERE k1 > 0' },
    { sql: "DELETE FROM auto_t WHERE name IN ('one', 'three')" },
    { sql: 'UPDATE auto_t SET n = n + 100 ORDER BY n DESC LIMIT 2' },
    { sql: 'DELETE FROM allt WHERE k1 > 1 ORDER BY vc LIMIT 2' },
    { sql: "REPLACE INTO allt (k1, k2, vc, dtm) VALUES (1, 'a', 'replaced', NOW()), (50, 'z', 'new', NULL)" },
    { sql: 'CREATE TABLE created_t (id INT PRIMARY KEY, v VARCHAR(10))', tables: [...TABLES, 'created_t'] },
    { sql: 'ALTER TABLE allt ADD COLUMN extra INT DEFAULT 3, DROP COLUMN tx' },
    { sql: 'ALTER TABLE allt MODIFY ti SMALLINT DEFAULT 7' },
    { sql: 'CREATE INDEX ix_vc ON allt (vc(10))' },
    { sql: 'DROP INDEX uname ON auto_t' },
    { sql: 'TRUNCATE TABLE auto_t' },
    { sql: 'TRUNCATE allt' },
    { sql: 'DROP TABLE allt' },
    { sql: 'DROP TABLE IF EXISTS never_there', tables: [...TABLES, 'never_there'] },
    { sql: 'INSERT INTO gen_t VALUES (3, 30, DEFAULT, DEFAULT)', tables: ['gen_t'] },
    { sql: 'INSERT INTO gen_t (id, a, iv) VALUES (4, 40, 400)', tables: ['gen_t'] },
    { sql: 'UPDATE gen_t SET a = a + 1, iv = 0', tables: ['gen_t'] },
    { sql: 'DELETE FROM gen_t', tables: ['gen_t'] },
    { sql: 'ALTER TABLE gen_t DROP COLUMN iv', tables: ['gen_t'] },
    { sql: 'TRUNCATE gen_t', tables: ['gen_t'] },
    { sql: 'ALTER TABLE nopk ADD COLUMN c INT', tables: ['nopk'] },
    { sql: 'DROP TABLE nopk', tables: ['nopk'] },
  ];
  const replayCheck = replayCheckOn();
  for (const c of cases) {
    const tables = c.tables ?? TABLES;
    // AUTO_INCREMENT counters are not restored (ids are explicit in stmts): compared without them
    const before = await snapshots(d.exec, tables);
    const out = await apply(d, c.sql);
    const changed = await snapshots(d.exec, tables);
    if (!/never_there/.test(c.sql)) assert.notDeepEqual(changed, before, `${c.sql} changed nothing`);
    // DML undo is plain SQL node-sql-parser reads too (DDL undo holds MariaDB's SHOW CREATE TABLE, which it may not)
    if (!out.ddl) for (const u of out.undo) assert.doesNotThrow(() => classifier.parseWrite(u), `undo parses: ${u}`);
    // and passes the check every node runs on a tx's undo before it takes the tx (replay-check.ts)
    if (!out.ddl) await replayCheck.checkUndo(d.conn, out.undo, out.refs);
    else replayCheck.forget();
    await runUndo(d, out);
    const restored = await snapshots(d.exec, tables);
    assert.deepEqual(restored, before, `undo of: ${c.sql}\nundo: ${JSON.stringify(out.undo, null, 1)}`);
  }
});

function stripAutoIncrement(s: Record<string, Snapshot | null>): Record<string, Snapshot | null> {
  const out: Record<string, Snapshot | null> = {};
  for (const [k, v] of Object.entries(s)) out[k] = v && { ...v, create: v.create.replace(/ AUTO_INCREMENT=\d+/, '') };
  return out;
}

test('replaying stmts on a second database gives identical tables (NOW, RAND, UUID, ids, defaults, ON UPDATE)', async () => {
  const origin = await database('origin');
  const peer = await database('peer');
  const step2 = await database('step2');
  const statements: (string | { session: string })[] = [
    "INSERT INTO auto_t (name) VALUES ('four')",
    "INSERT INTO auto_t (name) VALUES ('five'), ('six'), ('seven')",
    "INSERT INTO auto_t (id, name, created) VALUES (NULL, 'eight', NOW())",
    "INSERT INTO auto_t SET name = CONCAT('at ', NOW(6), ' ', UNIX_TIMESTAMP())",
    "INSERT INTO auto_t VALUES (0, 'positional', DEFAULT, NULL, 5)",
    'UPDATE auto_t SET n = n + 10 WHERE id <= 2',
    'UPDATE auto_t SET name = UUID() WHERE id = 3',
    "UPDATE auto_t SET n = FLOOR(RAND() * 1000000000) WHERE name = 'four'",
    'UPDATE auto_t SET n = n + FLOOR(RAND(id) * 1000) WHERE id <= 3',
    "INSERT INTO allt (k1, k2, bl) VALUES (24, 'bytes', RANDOM_BYTES(8))",
    "INSERT INTO allt (k1, k2, dtm, dd, tm, ts, vc) VALUES (20, 'now', NOW(6), CURDATE(), CURTIME(3), CURRENT_TIMESTAMP(6), UUID())",
    "INSERT INTO allt (k1, k2, db, ub, dc) VALUES (21, 'rand', RAND(), UUID_SHORT(), UNIX_TIMESTAMP())",
    "INSERT INTO allt (k1, k2, dtm, tm) VALUES (22, 'bare', CURRENT_TIMESTAMP, LOCALTIME), (23, 'utc', UTC_TIMESTAMP(), UTC_TIME)",
    { session: 'SET SESSION auto_increment_increment = 5, auto_increment_offset = 3' },
    "INSERT INTO auto_t (name) VALUES ('inc1'), ('inc2'), ('inc3')",
    { session: 'SET SESSION auto_increment_increment = 1, auto_increment_offset = 1' },
    "DELETE FROM auto_t WHERE name LIKE 'inc%' AND created <= NOW()",
    'UPDATE auto_t SET n = n + 1 ORDER BY n DESC, created LIMIT 2',
    'DELETE FROM allt ORDER BY k2 DESC LIMIT 1',
    "REPLACE INTO allt (k1, k2, vc, dtm) VALUES (1, 'a', 'replaced', NOW())",
    'ALTER TABLE auto_t ADD COLUMN extra VARCHAR(10) DEFAULT \'x\'',
    "INSERT INTO auto_t (name) VALUES ('after-alter')",
    'CREATE TABLE fresh (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME DEFAULT CURRENT_TIMESTAMP, note VARCHAR(5))',
    'INSERT INTO fresh (id) VALUES (NULL)',
    "INSERT INTO fresh VALUES (NULL, DEFAULT, 'pos')",
    "UPDATE fresh SET note = 'n' WHERE at <= NOW()",
  ];
  const bodies: { client: string; out: WriteOutcome }[] = [];
  for (const s of statements) {
    if (typeof s !== 'string') {
      await origin.exec.query(s.session);
      continue;
    }
    const out = await apply(origin, s);
    assert.equal(out.stmts.length, 1);
    assert.ok(bodyMatchesSql(out.stmts[0], s), `step 2 match: ${s}\n  body: ${out.stmts[0]}`);
    assert.equal(classifier.classify(out.stmts[0]).kind, 'write', `stmts parse: ${out.stmts[0]}`);
    bodies.push({ client: s, out });
    await sleep(20);
  }
  const all = [...TABLES, 'fresh'];
  await sleep(1100); // NOW() would differ on the peer if it were not rewritten
  // replayed as a node replays a peer's tx: each statement and undo passes its replay check
  const replayCheck = replayCheckOn();
  for (const { out } of bodies) {
    await inTxn(peer.exec, async () => {
      for (const stmt of out.stmts) {
        const c = out.ddl ? null : await replayCheck.check(peer.conn, stmt, out.refs);
        await c?.before?.(peer.conn);
        await peer.exec.query(stmt);
        await c?.after?.(peer.conn);
      }
      if (out.ddl) replayCheck.forget();
      else await replayCheck.checkUndo(peer.conn, out.undo, out.refs);
    });
  }
  assert.deepEqual(await snapshots(peer.exec, all), await snapshots(origin.exec, all));

  // client-signed step 2 runs executeWrite on the body's statement: same stmts, undo, refs, same tables
  for (const { out } of bodies) {
    const again = await apply(step2, out.stmts[0]);
    assert.deepEqual([again.stmts, again.undo, again.refs], [out.stmts, out.undo, out.refs], `idempotent: ${out.stmts[0]}`);
  }
  assert.deepEqual(await snapshots(step2.exec, all), await snapshots(origin.exec, all));
});

test('refs: single row, several rows, non-key WHERE, composite keys, canonical values, DDL', async () => {
  const d = await database('refs', [
    ...SETUP,
    'CREATE TABLE keys_t (d DECIMAL(6,2) NOT NULL, at DATETIME NOT NULL, b VARBINARY(4) NOT NULL, v INT, PRIMARY KEY (d, at, b))',
    'CREATE TABLE MixedCase (Id INT PRIMARY KEY, v INT)',
  ]);
  const refs = async (sql: string) => (await apply(d, sql)).refs;
  assert.deepEqual(await refs("UPDATE allt SET vc = 'x' WHERE k1 = 1 AND k2 = 'a'"), ['allt:1,a']);
  assert.deepEqual(await refs("UPDATE allt SET ti = 1 WHERE k1 IN (2, 3)"), ["allt:2,b'c", 'allt:3,d\\e']);
  assert.deepEqual(await refs('UPDATE allt SET ti = 2 WHERE ch IS NULL OR ch = \'NULL\''), ["allt:2,b'c", 'allt:4,😀']);
  assert.deepEqual(await refs('UPDATE allt SET ti = 3 WHERE 1 = 0'), []);
  assert.deepEqual(await refs("INSERT INTO auto_t (name) VALUES ('r1'), ('r2')"), ['auto_t:4', 'auto_t:5']);
  assert.deepEqual(await refs("INSERT INTO auto_t (id, name) VALUES (100, 'r3')"), ['auto_t:100']);
  assert.deepEqual(await refs("DELETE FROM auto_t WHERE name LIKE 'r%'"), ['auto_t:4', 'auto_t:5', 'auto_t:100']);
  assert.deepEqual(await refs("INSERT INTO keys_t VALUES (1.5, '2024-1-2 3:4:5', X'00FF', 1), ('7', 20240102030405, 'ab', 2)"),
    ['keys_t:1.50,2024-01-02 03:04:05,0x00ff', 'keys_t:7.00,2024-01-02 03:04:05,0x6162']);
  assert.deepEqual(await refs('UPDATE keys_t SET v = v + 1 WHERE v > 0'), ['keys_t:1.50,2024-01-02 03:04:05,0x00ff', 'keys_t:7.00,2024-01-02 03:04:05,0x6162']);
  assert.deepEqual(await refs("REPLACE INTO allt (k1, k2, vc) VALUES (1, 'a', 'r'), (60, 'new', 'n')"), ['allt:1,a', 'allt:60,new']);
  assert.deepEqual(await refs('INSERT INTO MixedCase VALUES (1, 1)'), ['MixedCase:1']);
  assert.deepEqual(await refs('CREATE TABLE t2 (id INT PRIMARY KEY)'), ['t2:*']);
  assert.deepEqual(await refs('ALTER TABLE MixedCase ADD COLUMN w INT'), ['MixedCase:*']);
  assert.deepEqual(await refs('CREATE INDEX iv ON allt (vc)'), ['allt:*']);
  assert.deepEqual(await refs('DROP INDEX iv ON allt'), ['allt:*']);
  assert.deepEqual(await refs('TRUNCATE auto_t'), ['auto_t:*']);
  assert.deepEqual(await refs('DROP TABLE t2'), ['t2:*']);
});

test('INSERT keys given as integer literals in range are not read back; every other key is, as MySQL prints it', async () => {
  const d = await database('intkeys', [
    'CREATE TABLE ik (a TINYINT NOT NULL, b INT UNSIGNED NOT NULL, c BIGINT NOT NULL, v INT, PRIMARY KEY (a, b, c))',
    'CREATE TABLE iz (id INT(6) ZEROFILL PRIMARY KEY, v INT)',
    'CREATE TABLE sk (k VARCHAR(36) PRIMARY KEY, v INT)',
  ]);
  const reads: string[] = [];
  const batches: string[][] = [];
  // reads of the rows (the schema and session settings are read besides, once); what goes out
  // together (a pipeline: one round trip where the executor has one)
  const isRead = (sql: string) => /^\s*SELECT .* FROM `(ik|iz|sk)`/i.test(sql);
  const counting: SqlExecutor = {
    query: (sql) => (isRead(sql) && reads.push(sql), d.exec.query(sql)),
    pipeline: (sqls) => (batches.push([...sqls]), reads.push(...sqls.filter(isRead)), pipelined(d.exec, sqls)),
  };
  const write = async (sql: string) => {
    reads.length = 0;
    batches.length = 0;
    const out = await inTxn(d.exec, () => executeWrite(counting, w(sql), d.schema));
    return { refs: out.refs, undo: out.undo, reads: reads.length, batches: batches.map((b) => b.map((q) => q.split(' ')[0])) };
  };
  // what MySQL itself prints for each key, to compare with
  const stored = async (table: string, cols: string) => (await d.exec.query(`SELECT CONCAT_WS(',', ${cols}) FROM ${table} ORDER BY ${cols}`)).rows.map((r) => `${table}:${r[0]}`);

  const plain = await write('INSERT INTO ik VALUES (-128, 4294967295, -9007199254740991, 1), (127, 0, 9007199254740991, 2), (0, 7, -5, 3)');
  assert.equal(plain.reads, 0, `canonical integer literals in range: no read-back (${reads.join(' / ')})`);
  assert.deepEqual(plain.refs, ['ik:-128,4294967295,-9007199254740991', 'ik:127,0,9007199254740991', 'ik:0,7,-5']);
  assert.deepEqual(plain.batches, [], 'nothing to send with it');
  assert.deepEqual([...plain.refs].sort(), (await stored('ik', 'a, b, c')).sort());
  assert.deepEqual(plain.undo, [
    "DELETE FROM `ik` WHERE `a` = '0' AND `b` = '7' AND `c` = '-5'",
    "DELETE FROM `ik` WHERE `a` = '127' AND `b` = '0' AND `c` = '9007199254740991'",
    "DELETE FROM `ik` WHERE `a` = '-128' AND `b` = '4294967295' AND `c` = '-9007199254740991'",
  ]);
  // a string, a leading zero, a decimal point: read back, and MySQL's form is the ref
  const read = await write("INSERT INTO ik VALUES ('9', 007, 1.0, 4)");
  assert.equal(read.reads, 1);
  assert.deepEqual(read.batches, [['INSERT', 'SELECT']], 'the read goes out with the INSERT');
  assert.deepEqual(read.refs, ['ik:9,7,1']);
  const text = await write("INSERT INTO sk VALUES ('Ab ', 1), ('c', 2)");
  assert.deepEqual(text.batches, [['INSERT', 'SELECT']]);
  assert.deepEqual(text.refs, ['sk:Ab ', 'sk:c']);
  assert.equal((await stored('ik', 'a, b, c')).includes('ik:9,7,1'), true);
  // ZEROFILL prints padded: read back
  const padded = await write('INSERT INTO iz VALUES (5, 1)');
  assert.equal(padded.reads, 1);
  assert.deepEqual(padded.refs, ['iz:000005']);
  assert.deepEqual(padded.batches, [['INSERT', 'SELECT']]);
  // REPLACE on a table without other unique keys takes the shortcut too
  const replaced = await write('REPLACE INTO ik VALUES (0, 7, -5, 30)');
  assert.equal(replaced.reads, 1, 'only the rows it replaces are read (FOR UPDATE), not the keys');
  assert.deepEqual(replaced.refs, ['ik:0,7,-5']);
});

test('planDryRun: DML runs (the caller rolls back), DDL runs nothing', async () => {
  const d = await database('dry');
  const before = await snapshots(d.exec, TABLES, true);
  await d.exec.query('BEGIN');
  const ins = await planDryRun(d.exec, w("INSERT INTO auto_t (name) VALUES ('dry')"), d.schema);
  assert.equal(ins.stmts.length, 1);
  assert.match(ins.stmts[0], /^INSERT INTO `auto_t` \(`name`, `created`, `id`\) VALUES \('dry',TIMESTAMP '[0-9-]+ [0-9:.]+',4\)$/);
  await d.exec.query('ROLLBACK');
  for (const sql of ['ALTER TABLE allt ADD COLUMN z INT', 'DROP TABLE allt', 'TRUNCATE auto_t', 'CREATE INDEX i1 ON allt (ti)', 'CREATE TABLE dry_t (id INT PRIMARY KEY)']) {
    const out = await planDryRun(d.exec, w(sql), d.schema);
    assert.equal(out.ddl, true);
    assert.ok(out.undo.length > 0, sql);
  }
  assert.equal(await snapshot(d.exec, 'dry_t'), null);
  const after = await snapshots(d.exec, TABLES, true);
  // the dry-run INSERT used id 4: only the counter moved
  assert.deepEqual(stripAutoIncrement(after), stripAutoIncrement(before));
  // a dry run and the real run of a DDL agree
  const plan = await planDryRun(d.exec, w('ALTER TABLE allt ADD COLUMN z INT'), d.schema);
  const real = await apply(d, 'ALTER TABLE allt ADD COLUMN z INT');
  assert.deepEqual(plan, real);
});

test('refusals: a clear WriteRefused, and nothing executed', async () => {
  const d = await database('refuse', [
    ...SETUP,
    'CREATE TABLE nopk (a INT, b INT)',
    'INSERT INTO nopk VALUES (1, 2)',
    'CREATE TABLE trig (id INT PRIMARY KEY, v INT)',
    'CREATE TRIGGER trig_bi BEFORE INSERT ON trig FOR EACH ROW SET NEW.v = 1',
    'CREATE TABLE parent (id INT PRIMARY KEY)',
    'CREATE TABLE child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES parent (id) ON DELETE CASCADE)',
    'INSERT INTO parent VALUES (1)',
    'INSERT INTO child VALUES (1, 1)',
    'CREATE TABLE uuid_t (id INT PRIMARY KEY, u VARCHAR(36) DEFAULT (UUID()))',
    'CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2',
  ]);
  const all = [...TABLES, 'nopk', 'trig', 'parent', 'child', 'uuid_t'];
  const cases: [string, RegExp, WriteOptions?][] = [
    ['INSERT INTO nopk VALUES (3, 4)', /no PRIMARY KEY: OurSQL needs a primary key to replicate row changes/],
    ['UPDATE nopk SET a = 5', /no PRIMARY KEY/],
    ['DELETE FROM nopk', /no PRIMARY KEY/],
    ["INSERT INTO auto_t (name, n) VALUES ('a', RAND() * 10), ('b', 1)", /RAND\(\) gives a new value for every row/],
    ["UPDATE auto_t SET name = UUID() WHERE id > 1", /UUID\(\) gives a new value for every row.*touches 2 rows/],
    ['DELETE FROM auto_t WHERE RAND() < 0.5', /RAND\(\) gives a new value for every row/],
    ['UPDATE auto_t SET n = 1 WHERE id > RAND()', /RAND\(\) gives a new value for every row/],
    ['UPDATE auto_t SET n = 1 LIMIT 1', /LIMIT without ORDER BY/],
    ['DELETE FROM auto_t WHERE n > 0 LIMIT 2', /LIMIT without ORDER BY/],
    ['UPDATE auto_t SET n = 1 ORDER BY id LIMIT 1, 2', /LIMIT of a replicated statement must be one number/],
    ['INSERT INTO auto_t (name) SELECT vc FROM allt', /INSERT … SELECT is not supported/],
    ["INSERT IGNORE INTO auto_t (name) VALUES ('one')", /INSERT IGNORE is not supported/],
    ["INSERT INTO auto_t (id, name) VALUES (1, 'x') ON DUPLICATE KEY UPDATE name = 'x'", /ON DUPLICATE KEY UPDATE is not supported.*SELECT … FOR UPDATE/],
    ['UPDATE auto_t SET id = id + 100 WHERE id = 1', /UPDATE of primary key column `id` is not supported/],
    ["UPDATE allt SET k2 = 'x' WHERE k1 = 1", /primary key column `k2`/],
    ['UPDATE auto_t SET n = @x', /user variable @x/],
    ['UPDATE auto_t SET n = @@session.auto_increment_increment', /system variable @@session.auto_increment_increment/],
    ['UPDATE auto_t SET n = CONNECTION_ID() WHERE id = 1', /CONNECTION_ID\(\) depends on the session/],
    ["INSERT INTO auto_t (name) VALUES (LAST_INSERT_ID())", /LAST_INSERT_ID\(\) depends on the session/],
    ['UPDATE auto_t SET name = DATABASE() WHERE id = 1', /DATABASE\(\) depends on the session/],
    ['UPDATE auto_t SET name = USER() WHERE id = 1', /USER\(\) depends on the session/],
    ['UPDATE auto_t SET n = FOUND_ROWS() WHERE id = 1', /FOUND_ROWS\(\)/],
    ['DELETE FROM auto_t WHERE n = ROW_COUNT()', /ROW_COUNT\(\)/],
    ['UPDATE auto_t SET n = twice(n)', /stored function TWICE\(\)/],
    ['UPDATE auto_t SET n = (SELECT COUNT(*) FROM information_schema.TABLES)', /own database only/],
    ['UPDATE auto_t SET n = n + 1', /more than 2 rows, OurSQL's limit/, { maxRows: 2 }],
    ["INSERT INTO auto_t (name) VALUES ('a'), ('b'), ('c')", /writes 3 rows, more than 2/, { maxRows: 2 }],
    ['DROP TABLE allt', /more than 100 bytes/, { maxUndoBytes: 100 }],
    ['UPDATE allt SET tx = NULL', /more than 200 \(a transaction body is at most 1 MiB\)/, { maxUndoBytes: 200 }],
    ["REPLACE INTO auto_t (id, name) VALUES (1, 'x')", /REPLACE on `auto_t`, which has UNIQUE keys.*uname/],
    ["INSERT INTO auto_t (id, name) VALUES (NULL, 'a'), (50, 'b')", /some rows of this INSERT give `id` a value and some let MySQL assign it/],
    ['UPDATE auto_t SET n = 0.1234567890123456789', /more digits than OurSQL's SQL parser keeps exactly/],
    ['UPDATE auto_t SET n = 1e3', /reads the number 1e3/],
    ['INSERT INTO trig VALUES (1, 2)', /has triggers/],
    ['DELETE FROM parent WHERE id = 1', /foreign key .* of table `child` would CASCADE/],
    ['ALTER TABLE parent MODIFY id BIGINT', /referenced by foreign key/],
    ['INSERT INTO uuid_t (id) VALUES (1), (2)', /defaults to uuid\(\), a new value for every row/],
    ['ALTER TABLE auto_t ADD COLUMN seen DATETIME DEFAULT CURRENT_TIMESTAMP', /existing rows of `auto_t` a value from CURRENT_TIMESTAMP/],
    ['ALTER TABLE auto_t RENAME TO renamed', /RENAME is not supported/],
    ['UPDATE IGNORE auto_t SET n = 1', /UPDATE IGNORE is not supported/],
    ['DELETE IGNORE FROM auto_t WHERE id = 1', /DELETE IGNORE is not supported/],
  ];
  const before = await snapshots(d.exec, all, true);
  for (const [sql, message, opts] of cases) {
    const ws = w(sql);
    const label = sql;
    await d.exec.query('BEGIN');
    await assert.rejects(executeWrite(d.exec, ws, d.schema, opts), (e: any) => {
      assert.ok(e instanceof WriteRefused, `${label}: ${e?.stack}`);
      assert.match(e.message, message, label);
      assert.ok([4103, 4108, 4111].includes(e.errno));
      return true;
    }, label);
    await d.exec.query('COMMIT'); // commit whatever ran: nothing must have
  }
  assert.deepEqual(await snapshots(d.exec, all, true), before);
  // a session reading SQL text differently from the peers
  await d.exec.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')");
  for (const sql of ['UPDATE auto_t SET n = 1 WHERE id = 1', 'ALTER TABLE auto_t ADD COLUMN q INT']) {
    await assert.rejects(executeWrite(d.exec, w(sql), d.schema), /sql_mode has ANSI_QUOTES/);
  }
  await d.exec.query("SET SESSION sql_mode = DEFAULT");
  assert.deepEqual(await snapshots(d.exec, all, true), before);
  // the parser itself turns these down (SqlRefused from the classifier)
  for (const sql of ['CREATE TABLE copy AS SELECT * FROM allt', 'UPDATE auto_t SET n = 1 ORDER BY id LIMIT 1 FOR UPDATE', 'DELETE FROM auto_t LIMIT 1 INTO @x']) {
    assert.throws(() => classifier.parseWrite(sql), /could not parse/);
  }
});

test('UPDATE with a UNIQUE key shifted over several rows: undo removes and re-inserts', async () => {
  const d = await database('uniq', [
    'CREATE TABLE u (id INT PRIMARY KEY, rank_no INT NOT NULL, UNIQUE KEY r (rank_no))',
    'INSERT INTO u VALUES (1, 1), (2, 2), (3, 3)',
  ]);
  const before = await snapshots(d.exec, ['u']);
  const out = await apply(d, 'UPDATE u SET rank_no = rank_no - 1');
  assert.equal(out.affectedRows, 3);
  assert.match(out.undo[0], /^DELETE FROM `u` WHERE/);
  await runUndo(d, out);
  assert.deepEqual(await snapshots(d.exec, ['u']), before);
  assert.ok(parseOne(out.undo[0]));
});

test('UPDATE/DELETE … ORDER BY … LIMIT: the rows MySQL picks, the order made total with the primary key', async () => {
  const d = await database('orderlimit', [
    'CREATE TABLE q (id INT PRIMARY KEY, prio INT NOT NULL, rank_no INT NOT NULL, UNIQUE KEY r (rank_no))',
    'INSERT INTO q VALUES (1, 5, 1), (2, 9, 2), (3, 5, 3), (4, 1, 4), (5, 9, 5)',
  ]);
  const rows = async () => (await d.exec.query('SELECT id, prio, rank_no FROM q ORDER BY id')).rows;
  // ties on prio (2 and 5 at 9): the primary key decides, on every node
  const up = await apply(d, 'UPDATE q SET prio = 0 ORDER BY prio DESC LIMIT 1');
  assert.deepEqual(up.stmts, ['UPDATE `q` SET `prio` = 0 WHERE `id` IN (2) ORDER BY `prio` DESC, `id` ASC LIMIT 1']);
  assert.deepEqual(up.refs, ['q:2']);
  assert.equal(up.affectedRows, 1);
  const del = await apply(d, 'delete from q where prio = 5 order by rank_no desc limit 1');
  assert.deepEqual(del.stmts, ['DELETE FROM `q` WHERE (`prio` = 5) AND `id` IN (3) ORDER BY `rank_no` DESC, `id` ASC LIMIT 1']);
  assert.deepEqual(del.refs, ['q:3']);
  assert.deepEqual(await rows(), [['1', '5', '1'], ['2', '0', '2'], ['4', '1', '4'], ['5', '9', '5']]);
  // a limit above the rows there are: every matching row, refs and undo for each
  const many = await apply(d, 'UPDATE q SET prio = prio + 1 WHERE prio < 9 ORDER BY id LIMIT 100');
  assert.deepEqual(many.refs, ['q:1', 'q:2', 'q:4']);
  // ORDER BY without LIMIT: the order MySQL updates rows in, which a UNIQUE key can need
  const before = await snapshots(d.exec, ['q']);
  await assert.rejects(apply(d, 'UPDATE q SET rank_no = rank_no + 1'), /Duplicate entry/);
  const shift = await apply(d, 'UPDATE q SET rank_no = rank_no + 1 ORDER BY rank_no DESC');
  assert.equal(shift.affectedRows, 4);
  assert.deepEqual((await rows()).map((r) => r[2]), ['2', '3', '5', '6']);
  await runUndo(d, shift);
  assert.deepEqual(await snapshots(d.exec, ['q']), before);
  // the statements read back by every node's classifier as the same write (the consensus rules parse them)
  for (const out of [up, del, many, shift]) {
    assert.deepEqual(classifier.action(out.stmts[0]), { op: out === del ? 'delete' : 'update', table: 'q', schema: false });
  }
});

test('a WHERE that does not pin one row by key is limited to the keys it touched: a peer holding other rows changes the same ones, and undo restores it exactly', async () => {
  const setup = [
    'CREATE TABLE s (id INT PRIMARY KEY, v INT NOT NULL, KEY bv (v))',
    'INSERT INTO s VALUES (1, 70), (2, 40), (3, 10), (4, 45), (5, 90)',
    "CREATE TABLE c (a INT, b VARCHAR(10), v INT NOT NULL, PRIMARY KEY (a, b))",
    "INSERT INTO c VALUES (1, 'x', 5), (1, 'it''s', 6), (2, 'x', 70), (3, 'y', 8)",
    'CREATE TABLE w (`order` DATETIME(3), bin VARBINARY(4), v INT NOT NULL, PRIMARY KEY (`order`, bin))',
    "INSERT INTO w VALUES ('2026-01-01 10:00:00.125', X'00ff', 1), ('2026-01-02 00:00:00', X'', 2), ('2026-01-03 00:00:00', X'27', 90)",
  ];
  const origin = await database('keyed_o', setup);
  const peer = await database('keyed_p', setup);
  // the peer saw a tx the origin has not: row 1 now matches the origin's WHERE there
  await peer.exec.query('UPDATE s SET v = 20 WHERE id = 1');
  await peer.exec.query("UPDATE c SET v = 1 WHERE a = 2 AND b = 'x'");
  const cases: [string, string][] = [
    ['UPDATE s SET v = v + 100 WHERE v < 50 ORDER BY id LIMIT 2', 'UPDATE `s` SET `v` = `v` + 100 WHERE (`v` < 50) AND `id` IN (2, 3) ORDER BY `id` ASC LIMIT 2'],
    ['DELETE FROM s WHERE v < 50', 'DELETE FROM `s` WHERE (`v` < 50) AND `id` IN (4)'],
    ['UPDATE s SET v = v + 1 WHERE id IN (5, 99) OR v > 200', 'UPDATE `s` SET `v` = `v` + 1 WHERE (`id` IN (5, 99) OR `v` > 200) AND `id` IN (5)'],
    ['UPDATE s SET v = v - 1 WHERE id IN (99, 5, 98)', 'UPDATE `s` SET `v` = `v` - 1 WHERE `id` IN (5)'],
    ['UPDATE s AS x SET x.v = x.v + 1 WHERE x.v > 100', 'UPDATE `s` AS `x` SET `x`.`v` = `x`.`v` + 1 WHERE (`x`.`v` > 100) AND `id` IN (2, 3)'],
    ["UPDATE w SET v = v + 1 WHERE v < 50", "UPDATE `w` SET `v` = `v` + 1 WHERE (`v` < 50) AND (`order`, `bin`) IN (('2026-01-01 10:00:00.125', X'00ff'), ('2026-01-02 00:00:00.000', X''))"],
    ['DELETE x FROM w x WHERE x.v > 50', "DELETE `x` FROM `w` AS `x` WHERE (`x`.`v` > 50) AND (`order`, `bin`) IN (('2026-01-03 00:00:00.000', X'27'))"],
    ['UPDATE c SET v = v * 2 WHERE v < 10', "UPDATE `c` SET `v` = `v` * 2 WHERE (`v` < 10) AND (`a`, `b`) IN ((1, 'it\\'s'), (1, 'x'), (3, 'y'))"],
  ];
  for (const [client, keyed] of cases) {
    const before = await snapshots(peer.exec, ['s', 'c', 'w']);
    const out = await apply(origin, client);
    assert.deepEqual(out.stmts, [keyed], client);
    assert.ok(bodyMatchesSql(out.stmts[0], client), `step 2 match: ${client}`);
    // the keyed statement, run again (step 2 runs the body's), is its own replicated form
    const again = await inTxn(origin.exec, async () => {
      await origin.exec.query('SAVEPOINT s2');
      await runAll(origin.exec, out.undo);
      const o = await executeWrite(origin.exec, w(out.stmts[0]), origin.schema);
      await origin.exec.query('ROLLBACK TO SAVEPOINT s2');
      return o;
    });
    assert.deepEqual([again.stmts, again.undo, again.refs], [out.stmts, out.undo, out.refs], client);
    // the peer replays it: exactly the rows in refs change, and undo gives the peer's table back
    const replayed = await inTxn(peer.exec, () => peer.exec.query(out.stmts[0]));
    assert.equal(replayed.affectedRows, out.refs.length, client);
    await runUndo(peer, out);
    assert.deepEqual(await snapshots(peer.exec, ['s', 'c', 'w']), before, client);
    await inTxn(peer.exec, () => peer.exec.query(out.stmts[0]));
  }
  // a WHERE naming the whole key stays as the client wrote it
  const byKey = await apply(origin, "UPDATE c SET v = 0 WHERE a = 3 AND b = 'y' AND v > 0");
  assert.deepEqual(byKey.stmts, ["UPDATE `c` SET `v` = 0 WHERE `a` = 3 AND `b` = 'y' AND `v` > 0"]);
  // rows outside the origin's refs kept the peer's own values
  assert.deepEqual((await peer.exec.query('SELECT id, v FROM s ORDER BY id')).rows, [['1', '20'], ['2', '141'], ['3', '111'], ['5', '90']]);
});

/** Two databases made alike by `setup`, then apart: a row only the origin has (its pool, its branch), and one only the peer has. */
async function apart(tag: string, setup: string[], originOnly: string, peerOnly: string): Promise<{ origin: Db; peer: Db }> {
  const origin = await database(`${tag}_o`, setup);
  const peer = await database(`${tag}_p`, setup);
  await origin.exec.query(originOnly);
  await peer.exec.query(peerOnly);
  return { origin, peer };
}

test('an ALTER that only adds columns or named indexes is undone by dropping them: a peer holding other rows keeps its own', async () => {
  const setup = ['CREATE TABLE events (id INT PRIMARY KEY, v INT)', 'INSERT INTO events VALUES (1, 1), (2, 2)'];
  const { origin, peer } = await apart('alter', setup, 'INSERT INTO events VALUES (380, 9)', 'INSERT INTO events VALUES (5, 5)');
  const before = await snapshots(peer.exec, ['events']);
  for (const [sql, undo] of [
    ['ALTER TABLE events ADD COLUMN c INT DEFAULT 7', ['ALTER TABLE `events` DROP COLUMN `c`']],
    ['ALTER TABLE events ADD COLUMN d VARCHAR(5) FIRST, ADD INDEX iv (v), ADD e INT AFTER id', ['ALTER TABLE `events` DROP INDEX `iv`, DROP COLUMN `e`, DROP COLUMN `d`']],
  ] as const) {
    const out = await apply(origin, sql);
    assert.deepEqual(out.undo, undo, sql);
    await inTxn(peer.exec, () => peer.exec.query(out.stmts[0]));
    await runUndo(peer, out);
    assert.deepEqual(await snapshots(peer.exec, ['events']), before, sql);
    await runUndo(origin, out);
  }
  // a table other tables' foreign keys reference may gain columns too: nothing is re-created
  await origin.exec.query('CREATE TABLE parent (id INT PRIMARY KEY)');
  await origin.exec.query('CREATE TABLE child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES parent (id))');
  origin.schema.invalidate();
  const fk = await apply(origin, 'ALTER TABLE parent ADD COLUMN note VARCHAR(20)');
  assert.deepEqual(fk.undo, ['ALTER TABLE `parent` DROP COLUMN `note`']);
  await runUndo(origin, fk);
  // anything else (here a DROP COLUMN) still saves the definition and the rows
  const drop = await apply(origin, 'ALTER TABLE events DROP COLUMN v');
  assert.match(drop.undo[0], /^DROP TABLE IF EXISTS `events`$/);
});

async function runAll(exec: SqlExecutor, sqls: string[]): Promise<void> {
  for (const q of sqls) await exec.query(q);
}

test('a definition cached before another connection\'s ALTER is read again (undo keeps every column)', async () => {
  const d = await database('stale', ['CREATE TABLE st (id INT PRIMARY KEY, a INT)', 'INSERT INTO st VALUES (1, 1), (2, 2)']);
  await apply(d, 'UPDATE st SET a = a + 1 WHERE id = 1'); // caches the definition
  const other = await connectExecutor(d.name);
  try {
    await other.exec.query("ALTER TABLE st ADD COLUMN b VARCHAR(10) DEFAULT 'x', ADD COLUMN f FLOAT INVISIBLE");
    await other.exec.query("UPDATE st SET b = 'before', f = 1.2345678 WHERE id = 2");
  } finally {
    await other.close();
  }
  const before = await snapshots(d.exec, ['st']);
  const out = await apply(d, "UPDATE st SET b = 'after', f = 2 WHERE id = 2");
  assert.match(out.undo[0], /`b` = 'before', `f` = '1\.2345677614212036'/);
  await runUndo(d, out);
  assert.deepEqual(await snapshots(d.exec, ['st']), before);
});

test('with rollsBackOnError, an UPDATE or DELETE naming its whole key goes out with its before-image read', async () => {
  const d = await database('withread', [
    'CREATE TABLE one (id INT PRIMARY KEY, v VARCHAR(20), n INT)',
    "INSERT INTO one VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)",
    'CREATE TABLE two (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b))',
    "INSERT INTO two VALUES (1, 'x', 1), (1, 'y', 2)",
  ]);
  const batches: string[][] = [];
  const singles: string[] = [];
  const counting: SqlExecutor = {
    query: (sql) => (singles.push(sql.split(' ')[0]), d.exec.query(sql)),
    pipeline: (sqls) => (batches.push(sqls.map((q) => q.split(' ')[0])), pipelined(d.exec, sqls)),
  };
  const cases: { sql: string; together: boolean }[] = [
    { sql: "UPDATE one SET v = 'A', n = n + 1 WHERE id = 1", together: true },
    { sql: "UPDATE one SET v = 'B' WHERE 2 = id AND n > 0", together: true },
    { sql: "UPDATE two SET v = 9 WHERE a = 1 AND b = 'y'", together: true },
    { sql: 'DELETE FROM one WHERE id = 3', together: true },
    { sql: 'UPDATE one SET n = 0 WHERE id = 99', together: true }, // no such row: touches nothing
    { sql: 'UPDATE two SET v = 0 WHERE a = 1', together: false }, // part of the key: maybe several rows
    { sql: 'UPDATE one SET n = 5 WHERE id = 1 OR id = 2', together: false },
    { sql: "DELETE FROM one WHERE v = 'B'", together: false },
  ];
  for (const c of cases) {
    batches.length = 0;
    singles.length = 0;
    const before = await snapshots(d.exec, ['one', 'two']);
    const out = await inTxn(d.exec, () => executeWrite(counting, w(c.sql), d.schema, { rollsBackOnError: true }));
    const verb = c.sql.split(' ')[0];
    if (c.together) {
      assert.deepEqual(batches, [['SELECT', verb]], c.sql);
      assert.ok(!singles.includes(verb), `${c.sql} also went out alone`);
    } else {
      assert.deepEqual(batches, [], c.sql);
      assert.deepEqual(singles.slice(-2), ['SELECT', verb], c.sql);
    }
    // the outcome is the one the step-by-step path gives: its undo restores the tables exactly
    await runUndo(d, out);
    assert.deepEqual(await snapshots(d.exec, ['one', 'two']), before, `undo of ${c.sql}`);
    await inTxn(d.exec, async () => void (await d.exec.query(c.sql)));
  }
});

test('with rollsBackOnError, a stale definition found after the statement ran: RanBeforeStale, and the rollback leaves nothing', async () => {
  const d = await database('ranstale', ['CREATE TABLE rs (id INT PRIMARY KEY, a INT)', 'INSERT INTO rs VALUES (1, 1), (2, 2)']);
  await apply(d, 'UPDATE rs SET a = a + 1 WHERE id = 1'); // caches the definition
  const other = await connectExecutor(d.name);
  try {
    await other.exec.query("ALTER TABLE rs ADD COLUMN b VARCHAR(10) DEFAULT 'x'");
  } finally {
    await other.close();
  }
  const before = await snapshots(d.exec, ['rs']);
  await assert.rejects(apply(d, 'UPDATE rs SET a = 10 WHERE id = 2', { rollsBackOnError: true }), RanBeforeStale);
  assert.deepEqual(await snapshots(d.exec, ['rs']), before);
  d.schema.invalidate('rs');
  const out = await apply(d, 'UPDATE rs SET a = 10 WHERE id = 2', { rollsBackOnError: true });
  assert.deepEqual(out.undo, ["UPDATE `rs` SET `a` = '2', `b` = 'x' WHERE `id` = '2'"]);
});

test('a shared definition cache: a read another connection started and lost is read again on the caller\'s own connection', async () => {
  const d = await database('sharedcache', ['CREATE TABLE sc (id INT PRIMARY KEY, a INT)']);
  const lost = await connectExecutor(d.name);
  const cache = new SchemaCache();
  lost.conn.destroy(); // its read fails: the connection is gone
  const [first, second] = await Promise.allSettled([cache.get(lost.exec, 'sc'), cache.get(d.exec, 'sc')]);
  assert.equal(first.status, 'rejected', 'the read on the lost connection fails for its caller');
  assert.equal(second.status === 'fulfilled' && second.value?.primaryKey.join(), 'id', 'the other caller reads it on its own connection');
  assert.deepEqual((await cache.get(lost.exec, 'sc'))?.columns.map((c) => c.name), ['id', 'a'], 'and the definition is kept');
});

test('a peer undoes a schema change from its own copy of the table, never the origin\'s: DROP, TRUNCATE, other ALTERs, CREATE INDEX, IF [NOT] EXISTS', async () => {
  const setup = ['CREATE TABLE events (id INT PRIMARY KEY, v INT, note VARCHAR(10))', "INSERT INTO events VALUES (1, 1, 'a'), (2, 2, 'b')"];
  const { origin, peer } = await apart('ddlhere', setup, "INSERT INTO events VALUES (380, 9, 'origin')", "INSERT INTO events VALUES (5, 5, 'peer')");
  await peer.exec.query('CREATE TABLE side (id INT PRIMARY KEY)'); // a table only the peer has
  await peer.exec.query('INSERT INTO side VALUES (7)');
  const tables = ['events', 'side', 'fresh'];
  const before = await snapshots(peer.exec, tables);
  for (const sql of [
    'DROP TABLE events', 'TRUNCATE events', 'ALTER TABLE events MODIFY v BIGINT', 'ALTER TABLE events DROP COLUMN note', 'CREATE INDEX iv ON events (v)',
    'DROP TABLE IF EXISTS side', 'CREATE TABLE IF NOT EXISTS side (id INT PRIMARY KEY)', 'CREATE TABLE fresh (id INT PRIMARY KEY)',
  ]) {
    const out = await apply(origin, sql);
    const here = await ddlUndoHere(peer.exec, classifier, out.stmts);
    assert.ok(here, sql);
    await inTxn(peer.exec, () => peer.exec.query(out.stmts[0]));
    await runUndo(peer, { ...out, undo: here });
    assert.deepEqual(await snapshots(peer.exec, tables), before, sql);
    await runUndo(origin, out);
  }
  // a CREATE INDEX is undone by dropping it on any node: no copy of the rows
  const index = await apply(origin, 'CREATE UNIQUE INDEX `u v` ON events (v)');
  assert.deepEqual(index.undo, ['ALTER TABLE `events` DROP INDEX `u v`']);
  await runUndo(origin, index);
  // DML is not a schema change: the tx's own undo stands
  assert.equal(await ddlUndoHere(peer.exec, classifier, ['DELETE FROM events WHERE id = 5']), null);
  // a DROP … IF EXISTS of a table this node does not have changes nothing here: nothing to undo
  assert.deepEqual(await ddlUndoHere(peer.exec, classifier, ['DROP TABLE IF EXISTS nowhere']), []);
  // what the tx's own undo would have done: the origin's rows on the peer, its own row 5 lost
  const drop = await apply(origin, 'DROP TABLE events');
  await peer.exec.query(drop.stmts[0]);
  await runUndo(peer, drop);
  assert.deepEqual((await peer.exec.query('SELECT id FROM events ORDER BY id')).rows, [['1'], ['2'], ['380']]);
});
