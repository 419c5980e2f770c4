// Three real nodes meshed from one seed: SQL written through each node's proxy reaches all three,
// and once blocks are made all three have the same tip and the same table checksums.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, until } from '../helpers/cluster.ts';

describe('three nodes from one seed', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  test('SQL through every proxy replicates; blocks converge; checksums match', async () => {
    const a = await cluster.seed();
    const b = await cluster.join(a);
    const c = await cluster.join(a);
    // peer exchange: b and c learn of each other through a
    await until('b and c to know each other', () =>
      b.node.peers!.list().some((p) => p.addr === c.addr && p.connected) && c.node.peers!.list().some((p) => p.addr === b.addr && p.connected));

    const [sa, sb, sc] = [await a.sql(), await b.sql(), await c.sql()];
    await sa.query('CREATE TABLE notes (id INT PRIMARY KEY, who VARCHAR(10) NOT NULL, n INT NOT NULL DEFAULT 0)');
    await until('the table on b and c', async () => (await cluster.rows(b, "SHOW TABLES LIKE 'notes'")).length === 1 && (await cluster.rows(c, "SHOW TABLES LIKE 'notes'")).length === 1);
    await sa.query("INSERT INTO notes (id, who) VALUES (1, 'a')");
    await sb.query("INSERT INTO notes (id, who) VALUES (2, 'b')");
    await sc.query("INSERT INTO notes (id, who) VALUES (3, 'c'), (4, 'c')");
    await until('every row on every node', async () => {
      for (const n of cluster.nodes) if (Number((await cluster.rows(n, 'SELECT COUNT(*) AS k FROM notes'))[0].k) !== 4) return false;
      return true;
    });
    await sb.query('UPDATE notes SET n = n + 1 WHERE id = 1');
    await until('the update everywhere', async () => {
      for (const n of cluster.nodes) if ((await cluster.rows(n, 'SELECT n FROM notes WHERE id = 1'))[0].n !== 1) return false;
      return true;
    });

    // a mines the pool; everyone follows
    const mined = await a.node.miner!.mineNow();
    assert.ok('block' in mined, JSON.stringify(mined));
    const report = () => cluster.report();
    await until('one tip and empty pools everywhere', () =>
      cluster.nodes.every((n) => n.node.chain.tip.hash === a.node.chain.tip.hash && n.node.chain.pool.size === 0), 30_000, report);
    assert.equal(a.node.chain.height, 1);
    const sums = await cluster.checksums('notes');
    assert.equal(new Set(sums).size, 1, `checksums differ: ${sums}`);

    // more writes on the followers, mined by c this time
    await sc.query('DELETE FROM notes WHERE id = 4');
    await sb.query("INSERT INTO notes (id, who) VALUES (5, 'b')");
    await until('c to have both', () => c.node.chain.pool.size === 2);
    const again = await c.node.miner!.mineNow();
    assert.ok('block' in again, JSON.stringify(again));
    await until('one tip again', () => cluster.nodes.every((n) => n.node.chain.tip.hash === c.node.chain.tip.hash && n.node.chain.pool.size === 0), 30_000, report);
    const sums2 = await cluster.checksums('notes');
    assert.equal(new Set(sums2).size, 1, `checksums differ: ${sums2}`);
    assert.deepEqual((await cluster.rows(a, 'SELECT id FROM notes ORDER BY id')).map((r) => r.id), [1, 2, 3, 5]);
  });
});
