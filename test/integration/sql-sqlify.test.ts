/**
 * `stmts` are node-sql-parser's sqlify output (with OurSQL's fixes, server/sql/ast.ts): check on
 * MariaDB that the canonical text does what the client's text does, for the SQL people write.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabase } from '../helpers/mysql.ts';
import { connectExecutor, type Mysql2Executor } from '../helpers/mysql-executor.ts';
import { checkLiterals, parseOne, toCheckedSql, toSql } from '../../server/sql/ast.ts';
import { WriteRefused } from '../../server/sql/write-refused.ts';

const SETUP = [
  `CREATE TABLE s (id INT PRIMARY KEY, a VARCHAR(200), b VARBINARY(20), n DECIMAL(40,12), d DOUBLE, dt DATETIME(6), j JSON,
     \`order\` INT, \`key\` VARCHAR(10), \`select\` INT, \`we\`\`ird\` INT, \`sp ace\` INT)`,
  "INSERT INTO s (id, a, b, n, d, dt, j) VALUES (1, 'one', X'01', 1, 1, '2020-01-01', '{}'), (2, 'two', NULL, 2, 2, '2020-01-02', '[]'), (3, 'Three', X'00', -3, -3, '2020-01-03', NULL)",
];

/** Statements whose canonical text must behave exactly as the original. */
const SAME = [
  "UPDATE s SET a = 'it''s \\' \\\\ \\n \\t \\r \\b \\0 \\Z \\% \\_ \\x \"q\" 😀 ünï' WHERE id = 1",
  'UPDATE s SET a = "dq \'x\' \\"y\\" ""z""" WHERE id = 2',
  "UPDATE s SET a = 'tab\there\nnewline' WHERE id = 3",
  "UPDATE s SET b = X'00ff', a = 0x41 WHERE id = 1",
  "UPDATE s SET b = _binary'a\\0b' WHERE id = 2",
  "UPDATE s SET b = b'0101', a = N'nat' WHERE id = 3",
  'UPDATE s SET n = -12345678901.5678, d = -1.5e-3 WHERE id = 1',
  'UPDATE s SET n = 18446744073709551615, d = 1.0e300 WHERE id = 2',
  'UPDATE s SET n = 0.000001, d = -0 WHERE id = 3',
  'UPDATE s SET n = 123456789012345678901234567.5 WHERE id = 3',
  'UPDATE s SET n = 1 - -1, d = -(-2) WHERE id = 1',
  'UPDATE s SET n = (1 + 2) * 3 - 4 / (5 - 6), d = 2 - (1 - 1) WHERE NOT (id = 1 OR id = 2) AND id IS NOT NULL',
  'UPDATE s SET n = 8 DIV 3 + 8 MOD 3 + (1 << 2) + (5 & 3) + (5 | 3) + (5 ^ 3) WHERE id = 2',
  "UPDATE s SET a = 'like' WHERE a LIKE 't!%' ESCAPE '!' OR a LIKE 'T%' OR a NOT LIKE '%x%'",
  'UPDATE s SET n = n + 1 WHERE id BETWEEN 2 AND 3 AND id NOT IN (1, 4)',
  'UPDATE s SET n = n * 2 WHERE id IN (SELECT id FROM s AS s2 WHERE s2.n > 0) ',
  'DELETE FROM s WHERE EXISTS (SELECT 1 FROM s AS s2 WHERE s2.id = s.id + 1) AND id > 1',
  "UPDATE s SET a = CASE WHEN id = 1 THEN 'x' WHEN id = 2 THEN NULL ELSE 'z' END, n = IF(id > 1, 1, 0), d = COALESCE(NULL, d, 5)",
  "UPDATE s SET a = CONCAT_WS('-', a, 'x', NULL), n = CAST('12.345' AS DECIMAL(10,2)), d = CAST(-1 AS UNSIGNED) WHERE id = 1",
  "UPDATE s SET a = CONVERT('x' USING utf8mb4) WHERE CAST(a AS BINARY) = 'Three'",
  "UPDATE s SET a = 'coll' WHERE a COLLATE utf8mb4_bin = 'one'",
  "UPDATE s SET dt = dt + INTERVAL 1 DAY, a = DATE_FORMAT(dt, '%Y') WHERE dt < DATE '2020-01-03'",
  "UPDATE s SET dt = TIMESTAMP '2021-02-03 04:05:06.789', a = TIME '01:02:03' WHERE id = 2",
  "UPDATE s SET j = JSON_SET(COALESCE(j, '{}'), '$.a', 1, '$.b', 'x') WHERE id IN (1, 3)",
  "UPDATE s SET a = 'rx' WHERE a REGEXP '^t' OR a <> 'x' AND a != 'y'",
  'UPDATE s SET n = TRUE + FALSE, d = NULL WHERE id = 3',
  'UPDATE s SET a = DEFAULT, n = DEFAULT WHERE id = 1',
  'UPDATE s SET `order` = 1, `key` = \'k\', `select` = 2, `we``ird` = 3, `sp ace` = 4 WHERE id = 2',
  'INSERT INTO s (id, `order`, `key`, `select`, `we``ird`, `sp ace`) VALUES (10, 1, \'k\', 2, 3, 4), (11, DEFAULT, NULL, -1, 0, 1)',
  "INSERT INTO s SET id = 12, `order` = 5, a = REPEAT('ab', 3)",
  "INSERT INTO s VALUES (13, 'pos', X'', 0.5, 0.25, '2020-01-01 00:00:00.5', '{\"k\": \"v\"}', 1, 'k', 2, 3, 4)",
  "REPLACE INTO s (id, a) VALUES (1, 'rep')",
  'DELETE FROM s WHERE id = 2',
  'UPDATE s AS x SET x.n = x.n + 1 WHERE x.id > 0',
  'CREATE TABLE c1 (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, a VARCHAR(10) NOT NULL DEFAULT \'x\'\'y\', t TIMESTAMP(3) NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3), u VARCHAR(36) DEFAULT (UUID()), KEY ka (a), UNIQUE KEY ku (u)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
  'CREATE TABLE c2 (a INT, b INT, PRIMARY KEY (a, b), CONSTRAINT ck CHECK (a > 0))',
  'CREATE TABLE c3 LIKE s',
  'ALTER TABLE s ADD COLUMN extra INT NOT NULL DEFAULT 5 AFTER a, ADD INDEX kx (extra)',
  'ALTER TABLE s MODIFY a VARCHAR(300) DEFAULT \'\'',
  'ALTER TABLE s CHANGE b bb VARBINARY(30)',
  'ALTER TABLE s DROP COLUMN j',
  'ALTER TABLE s ADD INDEX `order` (`key`), ADD INDEX `x``y` (`select`)',
  'ALTER TABLE s DROP INDEX `order`',
  'CREATE TABLE c4 (`order` INT PRIMARY KEY, `key` INT, KEY `select` (`key`), UNIQUE KEY `u` (`key`), INDEX i2 (`key`))',
  'CREATE INDEX i_a ON s (a(10), id)',
  'CREATE UNIQUE INDEX i_n ON s (n)',
  'TRUNCATE TABLE s',
  'DROP TABLE s',
];

/** What the parser cannot keep, refused rather than changed. */
const REFUSED: [string, RegExp][] = [
  ['UPDATE s SET n = 0.1234567890123456789 WHERE id = 1', /more digits/],
  ['UPDATE s SET n = -9007199254740993 WHERE id = 1', /more digits/],
  ['UPDATE s SET n = -12345678901234.5678 WHERE id = 1', /more digits/],
  ['UPDATE s SET d = 1e3 WHERE id = 1', /reads the number 1e3/],
  ['UPDATE s SET d = 2E10 WHERE id = 1', /reads the number 2E10/],
];

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const o of open) await o.close();
});

async function database(tag: string): Promise<Mysql2Executor> {
  const db = testDatabase(tag);
  const { exec, close } = await connectExecutor();
  await exec.query(`CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4`);
  await exec.query(`USE \`${db.name}\``);
  for (const s of SETUP) await exec.query(s);
  open.push({ close: async () => { await close(); await db.drop(); } });
  return exec;
}

async function state(exec: Mysql2Executor): Promise<unknown> {
  const out: Record<string, unknown> = {};
  const tables = await exec.query('SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME');
  for (const [t] of tables.rows) {
    const create = (await exec.query(`SHOW CREATE TABLE \`${t}\``)).rows[0][1];
    const rows = (await exec.query(`SELECT * FROM \`${t}\` ORDER BY 1`)).rows.map((r) => r.map((v) => (Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v)));
    out[String(t)] = { create, rows };
  }
  return out;
}

async function outcome(exec: Mysql2Executor, sql: string): Promise<string> {
  try {
    const r = await exec.query(sql);
    return `ok ${r.affectedRows}`;
  } catch (e) {
    return `error ${(e as { errno?: number }).errno}`;
  }
}

test('canonical text runs as the original on MariaDB, and is a fixpoint', async () => {
  const original = await database('sqa');
  const canonical = await database('sqb');
  for (const sql of SAME) {
    const ast = parseOne(sql);
    checkLiterals(ast);
    const text = toCheckedSql(ast);
    assert.equal(toSql(parseOne(text)), text, `fixpoint: ${text}`);
    const a = await outcome(original, sql);
    const b = await outcome(canonical, text);
    assert.equal(b, a, `${sql}\n  canonical: ${text}`);
    assert.match(a, /^ok/, sql);
    assert.deepEqual(await state(canonical), await state(original), `${sql}\n  canonical: ${text}`);
  }
});

test('literals the parser would change are refused', () => {
  for (const [sql, message] of REFUSED) {
    assert.throws(() => {
      const ast = parseOne(sql);
      checkLiterals(ast);
      toCheckedSql(ast);
    }, (e: unknown) => e instanceof WriteRefused && message.test((e as Error).message), sql);
  }
});
