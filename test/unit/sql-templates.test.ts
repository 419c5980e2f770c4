// Statement shapes: a statement built from a cached shape must be exactly the statement a full
// parse gives, and only literals that cannot change the parse are taken out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanCopy, parseOne, toSql } from '../../server/sql/ast.ts';
import { SqlClassifier } from '../../server/sql/classify.ts';
import { splitLiterals } from '../../server/sql/templates.ts';

test('splitLiterals takes out plain integers and plain strings only', () => {
  const lits = (sql: string) => splitLiterals(sql)?.literals.map((l) => `${l.kind}:${l.text}`) ?? null;
  assert.deepEqual(lits("INSERT INTO t1 (a, b2) VALUES (12, 'x y'), (0, '')"), ['n:12', "s:x y", 'n:0', 's:']);
  // not literals on their own: decimals, exponents, hex, leading zeros, introducers, escapes
  assert.deepEqual(lits("UPDATE t SET a = 1.5, b = 1e3, c = 0x1f, d = 007, e = _utf8'x', f = N'y', g = X'ff', h = 'it''s', i = 'a\\nb', j = \"dq\", k = 7 WHERE `c 1` = 'ok'"), ['n:7', 's:ok']);
  assert.equal(lits('UPDATE t SET a = b'), null, 'nothing to take out');
  assert.equal(lits('DELETE FROM t WHERE id = 1 /* c */'), null, 'comments: parsed in full');
  assert.equal(lits('DELETE FROM t WHERE id = 1 -- c'), null);
  assert.equal(lits('DELETE FROM t WHERE id = ?'), null);
  assert.equal(lits('DELETE FROM t WHERE id = 1234567890123456'), null, 'more than 15 digits');
  // the same shape for other values, another shape for another structure
  const k = (sql: string) => splitLiterals(sql)!.shapeKey;
  assert.equal(k("INSERT INTO t VALUES (1, 'a')"), k("INSERT INTO t VALUES (22, 'bb')"));
  assert.notEqual(k("INSERT INTO t VALUES (1, 'a')"), k("INSERT INTO t VALUES ('1', 'a')"));
  assert.notEqual(k('DELETE FROM t WHERE id IN (1, 2)'), k('DELETE FROM t WHERE id IN (1, 2, 3)'));
});

const CORPUS: [string, string][] = [
  ["INSERT INTO items (id, name) VALUES (1, 'a')", "INSERT INTO items (id, name) VALUES (987, 'zz top')"],
  ["INSERT INTO items VALUES (1, 'a', 2), (3, 'b', 4)", "INSERT INTO items VALUES (10, 'c', 20), (30, 'dd', 40)"],
  ["INSERT INTO items SET id = 1, name = 'x'", "INSERT INTO items SET id = 55, name = 'yy'"],
  ["REPLACE INTO items (id, name) VALUES (1, 'a')", "REPLACE INTO items (id, name) VALUES (2, 'b')"],
  ["UPDATE items SET qty = qty + 1, name = 'n' WHERE id = 3", "UPDATE items SET qty = qty + 40, name = 'mm' WHERE id = 99"],
  ["UPDATE items SET qty = -1 WHERE id BETWEEN 1 AND 5", "UPDATE items SET qty = -7 WHERE id BETWEEN 10 AND 50"],
  ['DELETE FROM items WHERE id IN (1, 2) AND qty > 0', 'DELETE FROM items WHERE id IN (8, 9) AND qty > 33'],
  ["INSERT INTO items (id, at) VALUES (1, NOW() + INTERVAL 1 DAY)", "INSERT INTO items (id, at) VALUES (2, NOW() + INTERVAL 30 DAY)"],
  ["UPDATE items SET name = CONCAT(name, 'x') WHERE id = 1 AND name <> ''", "UPDATE items SET name = CONCAT(name, 'yz') WHERE id = 2 AND name <> 'q'"],
  ["INSERT INTO items (id, c) VALUES (1, CAST(5 AS CHAR(10)))", "INSERT INTO items (id, c) VALUES (2, CAST(6 AS CHAR(10)))"],
];

test('a statement from a cached shape equals its full parse, and prints the same', () => {
  const c = new SqlClassifier();
  for (const [first, second] of CORPUS) {
    c.parseWrite(first); // makes the shape (when the statement has one)
    const w = c.parseWrite(second);
    const full = parseOne(second);
    assert.deepEqual(cleanCopy(w.ast), cleanCopy(full), second);
    assert.equal(toSql(w.ast), toSql(full), second);
    // the cached shape is not changed by handing out a statement
    assert.deepEqual(cleanCopy(c.parseWrite(first).ast), cleanCopy(parseOne(first)), first);
  }
});

test('shape flags: printable when the read-back check passes; refusals stay refusals', () => {
  const c = new SqlClassifier();
  const w = c.parseWrite("INSERT INTO items (id, name) VALUES (1, 'a')");
  assert.equal(c.parseWrite("INSERT INTO items (id, name) VALUES (2, 'b')").printable, true);
  assert.equal(w.printable, true);
  // a statement naming two tables is refused whatever the cache holds
  for (let i = 0; i < 2; i++) assert.throws(() => c.parseWrite(`DELETE a, b FROM a JOIN b ON a.id = b.id WHERE a.id = ${i}`), /exactly one table/);
  assert.throws(() => c.parseWrite('INSERT INTO db2.items VALUES (1)'), /without its database/);
});

test('cleanCopy gives what a JSON round trip without loc, tableList and columnList gives', () => {
  const viaJson = (n: unknown) => JSON.parse(JSON.stringify(n, (k, v) => (k === 'loc' || k === 'tableList' || k === 'columnList' ? undefined : v)));
  for (const [a, b] of CORPUS) {
    for (const sql of [a, b, `SELECT * FROM items WHERE id = 1 AND name LIKE 'x%' ORDER BY id LIMIT 3`]) {
      const ast = parseOne(sql);
      assert.deepEqual(cleanCopy(ast), viaJson(ast));
      assert.equal(toSql(cleanCopy(ast)), toSql(ast));
    }
  }
  const odd = { a: undefined, b: [undefined, () => 1, NaN, 2], c: { loc: 1, d: 'x' }, e: null, tableList: ['t'] };
  assert.deepEqual(cleanCopy(odd), viaJson(odd));
  const src = { x: { y: [1] } };
  const copy = cleanCopy(src);
  copy.x.y.push(2);
  assert.deepEqual(src.x.y, [1], 'a deep copy');
});
