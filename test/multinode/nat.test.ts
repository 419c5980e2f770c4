// A node no one can reach (bound to 0.0.0.0 with no public address: it says `listen: null`) still
// gets every tx and block by pulling, and its own writes and blocks reach the others by push.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, until } from '../helpers/cluster.ts';

describe('a node behind NAT', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  test('pulls what it cannot be told; pushes what it makes', async () => {
    const a = await cluster.seed();
    const x = await cluster.join(a, { host: '0.0.0.0' });
    assert.equal(x.node.advertisedAddress(), null);
    await until('x connected to a', () => x.node.peers!.list().some((p) => p.connected));
    assert.deepEqual(a.node.peers!.list(), [], 'a cannot know x');

    const [sa, sx] = [await a.sql(), await x.sql()];
    await sa.query('CREATE TABLE n (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL)');
    await until('x to pull the table', () => x.node.chain.pool.size === 1);
    await sx.query("INSERT INTO n VALUES (1, 'from x')");
    await until('a to get x\'s write by push', async () => (await cluster.rows(a, 'SELECT v FROM n')).length === 1);

    assert.ok('block' in (await x.node.miner!.mineNow()));
    await until('a to take x\'s block', () => a.node.chain.height === 1 && a.node.chain.tip.hash === x.node.chain.tip.hash);
    await sa.query("INSERT INTO n VALUES (2, 'from a')");
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('x to pull a\'s block', () => x.node.chain.tip.hash === a.node.chain.tip.hash && x.node.chain.pool.size === 0);
    const sums = await cluster.checksums('n');
    assert.equal(new Set(sums).size, 1, `checksums differ: ${sums}`);
  });
});
