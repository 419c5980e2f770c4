// One-row INSERTs of plain literals merged into multi-row INSERTs for replay (server/chain/insert-merge.ts):
// only where the merged text cannot read differently from the statements it stands for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_MERGED_ROWS, mergeInserts, splitInsert } from '../../server/chain/insert-merge.ts';

const head = 'INSERT INTO `t` (`id`, `v`) VALUES ';

test('consecutive one-row INSERTs of one head become one INSERT of their rows, in order', () => {
  const out = mergeInserts([`${head}(1,'a')`, `${head}(2,'b')`, `${head}(3,NULL)`]);
  assert.deepEqual(out, [{ sql: `${head}(1,'a'),(2,'b'),(3,NULL)`, rows: 3, head }]);
});

test('another table, other columns or a statement between start a new group; a lone INSERT goes as it was', () => {
  const other = 'INSERT INTO `u` (`id`, `v`) VALUES ';
  const out = mergeInserts([
    `${head}(1,'a')`, `${head}(2,'b')`,
    `${other}(1,'a')`,
    'UPDATE `t` SET `v` = \'c\' WHERE `id` = 1',
    `${head}(3,'c')`, 'INSERT INTO `t` (`v`, `id`) VALUES (\'d\',4)',
  ]);
  assert.deepEqual(out.map((s) => [s.rows, s.head]), [[2, head], [1, undefined], [1, undefined], [1, undefined], [1, undefined]]);
  assert.equal(out[1].sql, `${other}(1,'a')`);
  assert.equal(out[4].sql, 'INSERT INTO `t` (`v`, `id`) VALUES (\'d\',4)');
});

test('a head kept from merging (its rows drew a warning) goes one row a statement; others still merge', () => {
  const other = 'INSERT INTO `u` (`id`) VALUES ';
  const out = mergeInserts([`${head}(1,'a')`, `${head}(2,'b')`, `${other}(1)`, `${other}(2)`], new Set([head]));
  assert.deepEqual(out, [{ sql: `${head}(1,'a')`, rows: 1 }, { sql: `${head}(2,'b')`, rows: 1 }, { sql: `${other}(1),(2)`, rows: 2, head: other }]);
});

test(`at most ${MAX_MERGED_ROWS} rows in one INSERT`, () => {
  const stmts = Array.from({ length: MAX_MERGED_ROWS + 5 }, (_, i) => `${head}(${i},'x')`);
  assert.deepEqual(mergeInserts(stmts).map((s) => s.rows), [MAX_MERGED_ROWS, 5]);
});

test('plain literals of every kind are taken whole: quotes doubled, parentheses and commas inside strings, hex, signs, exponents', () => {
  const rows = [
    "(1,'it''s (a, b)')", "(-2,'')", '(3.5e-3,NULL)', "(+4,X'00ff')", '(0x1F,TRUE)', '(6 , FALSE )', "( 7,'\u00e9\u4e2d')",
  ];
  const out = mergeInserts(rows.map((r) => `${head}${r}`));
  assert.deepEqual(out, [{ sql: `${head}${rows.join(',')}`, rows: rows.length, head }]);
  assert.deepEqual(splitInsert('insert into `we``ird`.`t` values (1)'), { head: 'insert into `we``ird`.`t` values ', row: '(1)' });
  assert.deepEqual(splitInsert('INSERT INTO t VALUES (1) '), { head: 'INSERT INTO t VALUES ', row: '(1)' });
});

test('anything but one row of plain literals is left alone', () => {
  for (const sql of [
    `${head}(1,NOW())`, // a function
    `${head}(1,DEFAULT)`,
    `${head}(1,'a\\'b')`, // a backslash: read differently under NO_BACKSLASH_ESCAPES
    `${head}(1,"a")`, // a name under ANSI_QUOTES
    `${head}(1,'a'),(2,'b')`, // already several rows
    `${head}(1,'a') ON DUPLICATE KEY UPDATE \`v\` = 'b'`,
    `${head}(1,'a') /* note */`,
    `${head}(1,'a') -- note`,
    `${head}(1,'a'`,
    `${head}(1,'a)`,
    `${head}(1,X'abc')`, // odd hex digits
    `${head}(1,- 2)`,
    `${head}(1,2.)`,
    `${head}(1,1e)`,
    `${head}(1,_binary'a')`,
    "INSERT IGNORE INTO `t` (`id`) VALUES (1)",
    'INSERT INTO `t` SET `id` = 1',
    'INSERT INTO `t` (`id`) SELECT 1',
    'INSERT INTO `t` PARTITION (p0) (`id`) VALUES (1)',
    'REPLACE INTO `t` (`id`) VALUES (1)',
    'INSERT INTO `t` (`id`) VALUE (1)',
  ]) {
    assert.equal(splitInsert(sql), null, sql);
    assert.deepEqual(mergeInserts([sql, sql]), [{ sql, rows: 1 }, { sql, rows: 1 }], sql);
  }
});
