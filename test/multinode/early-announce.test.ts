// A miner announces its block as soon as the proof of work is found, before its own chain has stored
// it, with the block's compact form: a peer connects it meanwhile without asking for it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, until } from '../helpers/cluster.ts';

describe('a mined block is announced before its miner stores it', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  test('the peer connects the block while the miner\'s COMMIT is held', async () => {
    let hold: Promise<void> | undefined;
    let release = () => {};
    const a = await cluster.seed({}, { beforeCommit: async () => await hold });
    const b = await cluster.join(a);
    await until('b connected to a', () => b.node.peers!.list().some((p) => p.addr === a.addr && p.connected));
    const sa = await a.sql();
    await sa.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))');
    await sa.query("INSERT INTO t VALUES (1, 'x'), (2, 'y')");
    await until('both txs in b\'s pool', () => b.node.chain.pool.size === 2);
    const before = a.node.chain.height;

    hold = new Promise((r) => (release = r));
    const mining = a.node.miner!.mineNow();
    await until('b at the new height', () => b.node.chain.height === before + 1);
    assert.equal(a.node.chain.height, before, 'a has not committed its own block yet');
    assert.ok(b.logs.some((l) => l.includes(`block ${before + 1} `) && l.includes('sent with its announcement')), 'b did not have to ask a for the block');
    const [row] = await cluster.rows(a, 'SELECT COUNT(*) AS k FROM t');
    assert.equal(Number(row.k), 2, 'the rows themselves are on a (pooled)');

    release();
    const mined = await mining;
    assert.ok('block' in mined, JSON.stringify(mined));
    assert.equal(a.node.chain.tip.hash, mined.block.hash);
    assert.equal(b.node.chain.tip.hash, mined.block.hash);
    assert.equal(b.node.chain.pool.size, 0);
    const [sumA, sumB] = await cluster.checksums('t');
    assert.equal(sumA, sumB);
    // a stored its block in the transaction that connected it
    const stored = await a.node.chain.getBlock(mined.block.hash);
    assert.equal(stored?.txs.length, 3);
  });
});
