// Six nodes in a line, each knowing only its neighbour (no peer discovery): a write at one end
// reaches the other end hop by hop, and blocks mined at either end reach every node.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, until, type ClusterNode } from '../helpers/cluster.ts';

describe('six nodes in a line', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  test('writes and blocks cross every hop; all converge', async () => {
    const line: ClusterNode[] = [await cluster.seed({ peerDiscovery: false })];
    for (let i = 1; i < 6; i++) line.push(await cluster.join(line[i - 1], { peerDiscovery: false }, [line[i - 1].addr]));
    // without discovery a node knows only the peers it is given: here its two neighbours
    for (let i = 0; i < 5; i++) line[i].node.peers!.add(line[i + 1].addr);
    for (const [i, n] of line.entries()) {
      const neighbours = [line[i - 1]?.addr, line[i + 1]?.addr].filter(Boolean).sort();
      await until(`node ${i} to know its neighbours`, () => n.node.peers!.list().filter((p) => p.connected).length === neighbours.length);
      assert.deepEqual(n.node.peers!.list().map((p) => p.addr).sort(), neighbours, `node ${i}`);
    }
    const first = await line[0].sql();
    await first.query('CREATE TABLE hops (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    const last = await line[5].sql();
    await until('the table at the far end', async () => (await cluster.rows(line[5], "SHOW TABLES LIKE 'hops'")).length === 1);
    await last.query("INSERT INTO hops VALUES (1, 'from the end')");
    await until('the row at the start', async () => (await cluster.rows(line[0], 'SELECT v FROM hops')).length === 1);

    assert.ok('block' in (await line[0].node.miner!.mineNow()));
    await until('block 1 everywhere', () => line.every((n) => n.node.chain.height === 1 && n.node.chain.pool.size === 0));
    await first.query("UPDATE hops SET v = 'from the start' WHERE id = 1");
    await until('the update at the end', () => line[5].node.chain.pool.size === 1);
    assert.ok('block' in (await line[5].node.miner!.mineNow()));
    await until('block 2 everywhere', () => line.every((n) => n.node.chain.tip.hash === line[5].node.chain.tip.hash && n.node.chain.pool.size === 0));
    const sums = await cluster.checksums('hops');
    assert.equal(new Set(sums).size, 1, `checksums differ: ${sums}`);
  });
});
