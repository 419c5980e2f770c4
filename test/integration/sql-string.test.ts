// sqlString (chain/schema.ts) writes tx bodies into the chain's tables: every string must come
// back from MariaDB exactly as it went in, whatever characters it holds.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sqlString } from '../../server/chain/schema.ts';
import { rootConnection } from '../helpers/mysql.ts';

const conns: Awaited<ReturnType<typeof rootConnection>>[] = [];
after(async () => {
  for (const c of conns) await c.end();
});

test('a string literal from sqlString reads back as the same string', async () => {
  const c = await rootConnection();
  conns.push(c);
  const cases = [
    '', "it's", "''", '\\', "\\'", "\\\\'", 'a\\nb', '\0', 'x\0y\0', '\n\r\t\b\x1a', '"quoted"', '%_',
    '{"sql":{"stmts":["INSERT INTO `t` VALUES (1, \'it\'\'s \\\\ x\')"]}}', 'ünïcödé 😀 \u2028', "'; DROP TABLE t; --",
    String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i)),
  ];
  const [rows] = await c.query<any[]>(`SELECT ${cases.map((s, i) => `${sqlString(s)} AS c${i}`).join(', ')}`);
  assert.deepEqual(cases.map((_, i) => rows[0][`c${i}`]), cases);
});
