import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteIdent, refValue, rowRef, sqlLiteral, tableRef } from '../../server/sql/literal.ts';
import { checkLiterals, parseOne, toCheckedSql, toSql } from '../../server/sql/ast.ts';
import { WriteRefused } from '../../server/sql/write-refused.ts';

test('sqlLiteral: escaped text, X\'hex\' bytes, NULL, integers', () => {
  assert.equal(sqlLiteral(null), 'NULL');
  assert.equal(sqlLiteral("it's"), "'it\\'s'");
  assert.equal(sqlLiteral('back\\slash'), "'back\\\\slash'");
  assert.equal(sqlLiteral('nul\0 nl\n cr\r sub\x1a "q"'), "'nul\\0 nl\\n cr\\r sub\\Z \\\"q\\\"'");
  assert.equal(sqlLiteral('😀'), "'😀'");
  assert.equal(sqlLiteral(Buffer.from([0, 0xff, 0x27])), "X'00ff27'");
  assert.equal(sqlLiteral(Buffer.alloc(0)), "X''");
  assert.equal(sqlLiteral(18446744073709551615n), '18446744073709551615');
  assert.equal(sqlLiteral(42), '42');
  assert.throws(() => sqlLiteral(1.5));
});

test('identifiers and refs', () => {
  assert.equal(quoteIdent('order'), '`order`');
  assert.equal(quoteIdent('we`ird'), '`we``ird`');
  assert.equal(refValue(['1', 'a,b']), '1,a,b');
  assert.equal(refValue([Buffer.from([0, 1])]), '0x0001');
  assert.equal(rowRef('Users', ['7', '2024-01-01 00:00:00']), 'Users:7,2024-01-01 00:00:00');
  assert.equal(tableRef('t'), 't:*');
});

test('toSql quotes INSERT column lists and prints DEFAULT as the keyword (sqlify does neither)', () => {
  const ast = parseOne('INSERT INTO t (`order`, b) VALUES (DEFAULT, 1)');
  assert.equal(toSql(ast), 'INSERT INTO `t` (`order`, `b`) VALUES (DEFAULT,1)');
  assert.equal(toCheckedSql(parseOne('UPDATE t SET a = DEFAULT WHERE id = 1')), 'UPDATE `t` SET `a` = DEFAULT WHERE `id` = 1');
  // sqlify mutates subquery wrappers: toSql works on a copy
  const sub = parseOne('DELETE FROM t WHERE id IN (SELECT id FROM u)');
  const before = JSON.stringify(sub);
  toSql(sub);
  assert.equal(JSON.stringify(sub), before);
});

test('checkLiterals refuses numbers the parser does not keep exactly', () => {
  const refused = (sql: string) => assert.throws(() => checkLiterals(parseOne(sql)), WriteRefused, sql);
  const fine = (sql: string) => assert.doesNotThrow(() => checkLiterals(parseOne(sql)), sql);
  refused('UPDATE t SET d = 0.1234567890123456789');
  refused('UPDATE t SET d = 1234567890.123456789');
  refused('UPDATE t SET d = -9007199254740993');
  refused('UPDATE t SET d = 1e3');
  fine('UPDATE t SET d = 0.123456789012345');
  fine('UPDATE t SET d = 18446744073709551615');
  fine('UPDATE t SET d = 123456789012345678901234567890');
  fine('UPDATE t SET d = -1.5e-3, e = 1.0e3, f = 0.10797204925489803e0');
  fine("UPDATE t SET d = '0.1234567890123456789'");
});
