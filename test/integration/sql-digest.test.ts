/**
 * The state digest (server/sql/digest.ts) on a real MariaDB: two databases with the same rows give
 * the same digest; any difference in a named row or table shows; rows are found by their refs
 * whatever the key (composite with commas in values, bytes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { keyCandidates, loadPrimaryKeys, stateDigest, type KeyCache } from '../../server/sql/digest.ts';
import type { SqlExecutor } from '../../server/sql/executor.ts';
import { connectExecutor } from '../helpers/mysql-executor.ts';
import { testDatabase } from '../helpers/mysql.ts';

const SETUP = [
  "CREATE TABLE acct (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), bal DECIMAL(10,2) NOT NULL DEFAULT 0, raw VARBINARY(8), note TEXT)",
  'CREATE TABLE kv (k1 VARCHAR(10), k2 VARCHAR(10), v INT, PRIMARY KEY (k1, k2))',
  'CREATE TABLE bin (k VARBINARY(4) PRIMARY KEY, v INT)',
  'CREATE TABLE nokey (a INT, b INT)',
  "INSERT INTO acct (id, name, raw, note) VALUES (1, 'O''Brien', X'00ff', NULL), (2, NULL, NULL, 'x')",
  "INSERT INTO kv VALUES ('a,b', 'c', 1), ('a', 'b,c', 2), ('a', 'b', 3)",
  "INSERT INTO bin VALUES (X'6100', 1), (X'', 2)",
  'INSERT INTO nokey VALUES (1, 2)',
];
const REFS = ['acct:1', 'acct:2', 'acct:3', 'kv:a,b,c', 'kv:a,b', 'bin:0x6100', 'bin:0x', 'nokey:*', 'acct:*', 'gone:*', 'gone:1'];

describe('state digest', () => {
  const dbs = [testDatabase('digest'), testDatabase('digest')];
  const ex: { exec: SqlExecutor; close: () => Promise<void> }[] = [];
  before(async () => {
    const root = await connectExecutor();
    for (const db of dbs) await root.exec.query(`CREATE DATABASE \`${db.name}\``);
    await root.close();
    for (const db of dbs) {
      const e = await connectExecutor(db.name);
      for (const sql of SETUP) await e.exec.query(sql);
      ex.push(e);
    }
  });
  after(async () => {
    for (const e of ex) await e.close();
    for (const db of dbs) await db.drop();
  });
  const both = async (refs: string[]) => Promise.all(ex.map((e) => stateDigest(e.exec, refs)));

  test('same rows, same digest; ref order and repeats do not matter', async () => {
    const [x, y] = await both(REFS);
    assert.match(x, /^[0-9a-f]{64}$/);
    assert.equal(x, y);
    assert.equal(await stateDigest(ex[0].exec, [...REFS].reverse().concat(REFS)), x);
  });

  test('the digest is SHA-256 of the JSON of [[ref, image], …] sorted by ref (docs/protocol.md)', async () => {
    const def = (table: string) => ex[0].exec.query(`SHOW CREATE TABLE ${table}`).then((r) => String(r.rows[0][1]).replace(/ AUTO_INCREMENT=\d+/, ''));
    const acct = (id: string, name: string | null, raw: string | null, note: string | null) =>
      [[['id', id], ['name', name], ['bal', '0.00'], ['raw', raw], ['note', note]]];
    // written out by hand: rows as the text protocol prints them, bytes as x:<hex>, two rows
    // sharing a ref in the order of their own JSON, definitions, absent refs
    const entries = [
      ['acct:*', await def('acct')],
      ['acct:1', acct('1', "O'Brien", 'x:00ff', null)],
      ['acct:2', acct('2', null, null, 'x')],
      ['acct:3', null],
      ['bin:0x', [[['k', 'x:'], ['v', '2']]]],
      ['bin:0x6100', [[['k', 'x:6100'], ['v', '1']]]],
      ['gone:*', null],
      ['gone:1', null],
      ['kv:a,b', [[['k1', 'a'], ['k2', 'b'], ['v', '3']]]],
      ['kv:a,b,c', [[['k1', 'a'], ['k2', 'b,c'], ['v', '2']], [['k1', 'a,b'], ['k2', 'c'], ['v', '1']]].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))],
      ['nokey:*', await def('nokey')],
    ];
    assert.equal(await stateDigest(ex[0].exec, REFS), createHash('sha256').update(JSON.stringify(entries)).digest('hex'));
  });

  test('the AUTO_INCREMENT counter is not part of a table image', async () => {
    await ex[1].exec.query('ALTER TABLE acct AUTO_INCREMENT = 1000');
    const [x, y] = await both(['acct:*']);
    assert.equal(x, y);
  });

  // Each change is made on the second database, checked, then undone.
  const changes: [string, string, string, string][] = [
    ['a text value', 'acct:1', "UPDATE acct SET name = 'OBrien' WHERE id = 1", "UPDATE acct SET name = 'O''Brien' WHERE id = 1"],
    ['NULL against empty', 'acct:2', "UPDATE acct SET name = '' WHERE id = 2", 'UPDATE acct SET name = NULL WHERE id = 2'],
    ['bytes', 'acct:1', "UPDATE acct SET raw = X'00fe' WHERE id = 1", "UPDATE acct SET raw = X'00ff' WHERE id = 1"],
    ['a row that is gone', 'acct:2', 'DELETE FROM acct WHERE id = 2', "INSERT INTO acct (id, note) VALUES (2, 'x')"],
    ['a row that is there', 'acct:3', 'INSERT INTO acct (id) VALUES (3)', 'DELETE FROM acct WHERE id = 3'],
    ['a composite key with a comma (first column)', 'kv:a,b,c', "UPDATE kv SET v = 9 WHERE k1 = 'a,b'", "UPDATE kv SET v = 1 WHERE k1 = 'a,b'"],
    ['a row whose ref another row shares (a comma in the second column)', 'kv:a,b,c', "UPDATE kv SET v = 9 WHERE k2 = 'b,c'", "UPDATE kv SET v = 2 WHERE k2 = 'b,c'"],
    ['a binary key', 'bin:0x6100', "UPDATE bin SET v = 9 WHERE k = X'6100'", "UPDATE bin SET v = 1 WHERE k = X'6100'"],
    ['an empty binary key', 'bin:0x', "UPDATE bin SET v = 9 WHERE k = X''", "UPDATE bin SET v = 2 WHERE k = X''"],
    ['a column added', 'acct:*', 'ALTER TABLE acct ADD COLUMN extra INT', 'ALTER TABLE acct DROP COLUMN extra'],
    ['a table without a key (its definition)', 'nokey:*', 'ALTER TABLE nokey ADD COLUMN c INT', 'ALTER TABLE nokey DROP COLUMN c'],
    ['a table that appears', 'gone:*', 'CREATE TABLE gone (id INT PRIMARY KEY)', 'DROP TABLE gone'],
  ];
  for (const [what, ref, change, back] of changes) {
    test(`shows ${what}`, async () => {
      const [before1] = await both([ref]);
      await ex[1].exec.query(change);
      try {
        const [x, y] = await both([ref]);
        assert.equal(x, before1);
        assert.notEqual(y, x);
        // unrelated refs are not affected
        const other = ref.startsWith('bin:') ? 'acct:1' : 'bin:0x6100';
        const [u, v] = await both([other]);
        assert.equal(u, v);
      } finally {
        await ex[1].exec.query(back);
      }
      const [x, y] = await both([ref]);
      assert.equal(x, y);
    });
  }

  test('with every primary key loaded, all reads are sent at once: work queued right after cannot change what it reads', async () => {
    const refs = ['acct:1', 'kv:a,b,c', 'kv:a,b', 'bin:0x6100', 'nokey:*', 'acct:*', 'gone:1'];
    const keys: KeyCache = new Map();
    await loadPrimaryKeys(ex[1].exec, ['acct', 'kv', 'bin', 'nokey', 'gone'], keys);
    assert.deepEqual([...keys], [['acct', ['id']], ['kv', ['k1', 'k2']], ['bin', ['k']], ['nokey', []], ['gone', null]]);
    const [expected] = await both(refs);
    // not awaited before the changes are queued on the same connection
    const reading = stateDigest(ex[1].exec, refs, keys);
    const changed = Promise.all(["UPDATE acct SET name = 'changed' WHERE id = 1", "UPDATE kv SET v = 7 WHERE k1 = 'a'", 'ALTER TABLE nokey ADD COLUMN c INT'].map((q) => ex[1].exec.query(q)));
    try {
      assert.equal(await reading, expected);
      await changed;
      assert.notEqual(await stateDigest(ex[1].exec, refs, keys), expected);
    } finally {
      await changed.catch(() => {});
      for (const q of ["UPDATE acct SET name = 'O''Brien' WHERE id = 1", "UPDATE kv SET v = 2 WHERE k1 = 'a' AND k2 = 'b,c'", "UPDATE kv SET v = 3 WHERE k1 = 'a' AND k2 = 'b'", 'ALTER TABLE nokey DROP COLUMN c']) await ex[1].exec.query(q);
    }
    assert.equal((await both(refs))[1], expected);
  });

  test('key candidates: every split of a composite ref, bytes tried as bytes and as text', () => {
    assert.deepEqual(keyCandidates('5', 1), ["'5'"].map((k) => [k]));
    assert.deepEqual(keyCandidates('a,b,c', 1), [["'a,b,c'"]]);
    assert.deepEqual(keyCandidates('a,b,c', 2), [["'a'", "'b,c'"], ["'a,b'", "'c'"]]);
    assert.deepEqual(keyCandidates('0x61', 1), [["'0x61'"], ["X'61'"]]);
    assert.deepEqual(keyCandidates('a', 2), []);
    assert.equal(keyCandidates(Array(40).fill('x').join(','), 3).length, 64);
  });
});
