import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderLimitStart, scanSql, removeComments } from '../../server/sql/lexer.ts';
import { toCheckedSql } from '../../server/sql/ast.ts';
import { SqlClassifier, SqlRefused } from '../../server/sql/classify.ts';

const c = new SqlClassifier();
const kindOf = (sql: string) => {
  const r = c.classify(sql);
  return r.kind === 'write' ? `${r.write.kind}:${r.write.table}` : r.kind;
};

test('lexer: keyword after comments; comments inside literals are data', () => {
  assert.equal(scanSql('  /* a */ -- b\n # c\n select 1').keyword, 'SELECT');
  const s = scanSql("INSERT INTO t VALUES ('/* PUBKEY:ab; */', \"it''s -- no\") /* PUBKEY:02ab; */");
  assert.deepEqual(s.comments.map((x) => x.text), [' PUBKEY:02ab; ']);
  assert.equal(s.statements, 1);
  assert.equal(removeComments('SELECT 1 /* x */', scanSql('SELECT 1 /* x */').comments), 'SELECT 1');
  assert.equal(scanSql("select 'a;b'; select `c;d`;  ;").statements, 2);
  assert.equal(scanSql("select 'it\\'s; x'").statements, 1);
  assert.equal(scanSql('  ').statements, 0);
});

test('classification: reads pass, writes are parsed, others refused', () => {
  const cases: [string, string][] = [
    ['SELECT * FROM t', 'read'], ['show databases', 'read'], ['SET NAMES utf8mb4', 'read'], ['USE x', 'read'],
    ['SELECT @@version_comment LIMIT 1', 'read'], ['DESCRIBE t', 'read'], ['explain select 1', 'read'],
    ['SELECT 1; SELECT 2', 'read'], ['/* only a comment */', 'empty'],
    ['BEGIN', 'txn'], ['START TRANSACTION', 'txn'], ['commit', 'txn'], ['ROLLBACK', 'txn'],
    ["INSERT INTO t (a) VALUES (1), (2)", 'insert:t'], ['INSERT INTO t SET a = 1', 'insert:t'],
    ['UPDATE t SET a = 2 WHERE b > 1', 'update:t'], ['DELETE FROM t WHERE a = 1', 'delete:t'],
    ['REPLACE INTO t VALUES (1)', 'replace:t'], ['CREATE TABLE t (a INT PRIMARY KEY)', 'create-table:t'],
    ['DROP TABLE t', 'drop-table:t'], ['ALTER TABLE t ADD COLUMN c INT', 'alter-table:t'], ['TRUNCATE TABLE t', 'truncate:t'],
    ['CREATE INDEX i ON t (a)', 'create-index:t'], ['DROP INDEX i ON t', 'drop-index:t'],
    ['CREATE TEMPORARY TABLE tmp (a INT)', 'read'],
    ['LOAD DATA INFILE "x" INTO TABLE t', 'refused'], ['CALL p()', 'refused'], ['GRANT ALL ON *.* TO x', 'refused'],
    ['SELECT 1; DELETE FROM t', 'refused'], ['PREPARE s FROM "DELETE FROM t"', 'refused'],
  ];
  for (const [sql, want] of cases) assert.equal(kindOf(sql), want, sql);
});

test('writes that cannot be replicated get a clear refusal', () => {
  assert.throws(() => c.classify('DROP TABLE a, b'), (e) => e instanceof SqlRefused && /exactly one table/.test(e.message));
  assert.throws(() => c.classify('UPDATE other.t SET a = 1'), (e) => e instanceof SqlRefused && /without its database/.test(e.message));
  assert.throws(() => c.classify('CREATE DATABASE x'), (e) => e instanceof SqlRefused && /not replicated/.test(e.message));
  assert.throws(() => c.classify('INSERT INTO t VALUES ('), SqlRefused);
});

test('actions for the consensus rules', () => {
  assert.deepEqual(c.action('INSERT INTO members SET a = 1'), { op: 'insert', table: 'members', schema: false });
  assert.deepEqual(c.action('REPLACE INTO members VALUES (1)'), { op: 'insert', table: 'members', schema: false });
  assert.deepEqual(c.action('TRUNCATE TABLE members'), { op: 'delete', table: 'members', schema: true });
  assert.deepEqual(c.action('DELETE FROM members WHERE a = 1'), { op: 'delete', table: 'members', schema: false });
  assert.deepEqual(c.action('CREATE INDEX ix ON members (a)'), { op: 'create', table: 'members', schema: true });
  assert.deepEqual(c.action('ALTER TABLE members ADD c INT'), { op: 'alter', table: 'members', schema: true });
  assert.deepEqual(c.action('DROP TABLE members'), { op: 'drop', table: 'members', schema: true });
  assert.deepEqual(c.action('CREATE TABLE members (a INT)'), { op: 'create', table: 'members', schema: true });
});

test('actions of statements of a known shape are those a full parse gives (no AST is made for them)', () => {
  const shaped = new SqlClassifier();
  const stmts = [
    "INSERT INTO `items` VALUES (1, 'owner 1', 'note 1')", "INSERT INTO `items` VALUES (2, 'owner 2', 'note 2')",
    "UPDATE `acct` SET `v` = 5 WHERE `id` = 7", "UPDATE `acct` SET `v` = 6 WHERE `id` = 8",
    "DELETE FROM `t2` WHERE `k` = 'a' AND `n` = 3", "DELETE FROM `t2` WHERE `k` = 'b' AND `n` = 4",
    "INSERT INTO `x` SET `a` = 1, `b` = 'UPDATE other SET z = 1'", "INSERT INTO `x` SET `a` = 2, `b` = 'DROP TABLE y'",
  ];
  for (const sql of stmts) assert.deepEqual(shaped.action(sql), new SqlClassifier().action(sql), sql);
  // refusals stand for every statement of the shape
  for (const sql of ['UPDATE other.t SET a = 1', 'UPDATE other.t SET a = 2']) assert.throws(() => shaped.action(sql), /without its database/);
});

test('UPDATE/DELETE … ORDER BY … LIMIT, which the MariaDB grammar does not read, are read and printed back', () => {
  const tail = (sql: string) => sql.slice(orderLimitStart(sql));
  assert.equal(tail('UPDATE t SET v = 1 WHERE id > 3 ORDER  BY id LIMIT 2'), 'ORDER  BY id LIMIT 2');
  assert.equal(tail("UPDATE t SET v = 'order by x', w = (SELECT a FROM u ORDER BY a LIMIT 1) /* limit */ LIMIT 2"), 'LIMIT 2');
  assert.equal(tail('UPDATE t SET reorder = 1, `limit` = 2, limit_x = 3 WHERE `order` = 1 LIMIT 5'), 'LIMIT 5');
  assert.equal(orderLimitStart('UPDATE t SET v = 1 WHERE o = 2'), -1);
  const printed = (sql: string) => toCheckedSql(c.parseWrite(sql).ast);
  assert.equal(printed('update t set v = 1 where id > 3 order by id desc, k limit 2'), 'UPDATE `t` SET `v` = 1 WHERE `id` > 3 ORDER BY `id` DESC, `k` ASC LIMIT 2');
  assert.equal(printed('DELETE FROM t WHERE x = 1 ORDER BY id LIMIT 3;'), 'DELETE FROM `t` WHERE `x` = 1 ORDER BY `id` ASC LIMIT 3');
  assert.equal(printed('DELETE FROM t LIMIT 3'), 'DELETE FROM `t` LIMIT 3');
  assert.equal(printed("UPDATE t SET v = 'x' ORDER BY id"), "UPDATE `t` SET `v` = 'x' ORDER BY `id` ASC");
  assert.deepEqual(c.action('DELETE FROM `q` ORDER BY `id` ASC LIMIT 1'), { op: 'delete', table: 'q', schema: false });
  // only ORDER BY and LIMIT may follow: anything else is the parser's error, as before
  for (const sql of ['UPDATE t SET v = 1 LIMIT 2 FOR UPDATE', 'DELETE FROM t LIMIT 1 INTO @x', 'UPDATE t SET v = 1 ORDER BY id LIMIT 1 garbage', 'SELECT 1 FROM t ORDER BY a LIMIT 1 UNION x']) {
    assert.throws(() => c.parseWrite(sql), (e) => e instanceof SqlRefused && /could not parse/.test(e.message), sql);
  }
});

test('executable comments in an update are refused (MySQL would run what the parser skips)', () => {
  const c = new SqlClassifier();
  for (const sql of ['INSERT INTO t VALUES (1) /*!, (2) */', 'UPDATE t SET a = 1 /*M!100000 , b = 2 */ WHERE id = 1', '/*!50000 DELETE FROM other WHERE 1 */ INSERT INTO t VALUES (1)']) {
    assert.throws(() => c.parseWrite(sql), /executable comments/, sql);
  }
  // plain comments and the same characters inside a string are fine
  assert.equal(c.parseWrite("INSERT INTO t VALUES ('/*! not a comment */') /* note */").table, 't');
});

test('a prepared statement\'s text is parsed once; each caller gets its own copy of the AST', () => {
  const own = new SqlClassifier();
  const sql = 'UPDATE t SET a = ? WHERE id = ?';
  const first = own.parseWrite(sql);
  first.ast.set[0].column = 'changed by a caller';
  const second = own.parseWrite(sql);
  assert.equal(second.ast.set[0].column, 'a');
  assert.notEqual(second.ast, own.parseWrite(sql).ast);
  assert.deepEqual(second, new SqlClassifier().parseWrite(sql));
  // refusals are not kept: the same text is refused again
  for (let i = 0; i < 2; i++) assert.throws(() => own.parseWrite('UPDATE other.t SET a = ?'), /without its database/);
});
