// The undo rule (docs/consensus.md "Undo statements"): every undo the node generates is one write
// on the statement's own table, so each statement below is admitted (the proxy's admission runs
// the full validity check, the rule included). That undo restores rows exactly is tested elsewhere
// (sql-plan, proxy).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sqlOf } from '../../consensus/index.ts';
import { consensusClassifier } from '../../server/sql/classify.ts';
import { Cluster, type ClusterNode } from '../helpers/cluster.ts';

const cluster = new Cluster();
let node: ClusterNode;
before(async () => {
  node = await cluster.seed();
});
after(() => cluster.close());

const STATEMENTS = [
  "CREATE TABLE a (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(40) DEFAULT 'x' COMMENT 'a;b', b BLOB, d DECIMAL(10,2), ts TIMESTAMP NULL DEFAULT NULL, UNIQUE KEY u (note), KEY k (d)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
  "INSERT INTO a (note, b, d) VALUES ('one', x'00ff', 1.5), ('two;--', NULL, NULL)",
  "UPDATE a SET note = 'uno' WHERE id = 1",
  "ALTER TABLE a ADD COLUMN e ENUM('p','q') NOT NULL DEFAULT 'p'",
  'CREATE INDEX ke ON a (e)',
  'DROP INDEX ke ON a',
  'TRUNCATE TABLE a',
  "INSERT INTO a (note) VALUES ('three')",
  "DELETE FROM a WHERE note = 'three'",
  'CREATE TABLE big (id BIGINT UNSIGNED NOT NULL, k2 VARCHAR(10) NOT NULL, j JSON, g DOUBLE, PRIMARY KEY (id, k2))',
  "INSERT INTO big VALUES (1, 'a', '{\"x\": 1}', 1.0e300), (2, 'b,c', NULL, -0.5)",
  'ALTER TABLE big DROP COLUMN g',
  'DROP TABLE big',
  'DROP TABLE a',
];

test('every statement kind is admitted with its generated undo, which names only its own table', async () => {
  const c = await node.sql();
  for (const stmt of STATEMENTS) await c.query(stmt);
  await c.end();
  const pooled = node.node.chain.pool.txs();
  assert.equal(pooled.length, STATEMENTS.length, 'one tx per statement');
  const classify = consensusClassifier();
  for (const tx of pooled) {
    const sql = sqlOf(tx)!;
    const tables = new Set(sql.stmts.map((s) => classify(s).table));
    assert.ok(sql.undo.length > 0);
    for (const u of sql.undo) assert.ok(tables.has(classify(u).table), u);
  }
});
