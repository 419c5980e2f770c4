// SPEC 9: every node computes the same state digest for a block (the row images its SQL left), by
// whichever path it connected the block; a row changed behind one node's back shows as a divergence.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sqlOf } from '../../consensus/index.ts';
import { stateDigest } from '../../server/sql/digest.ts';
import { mysql2Executor } from '../../server/sql/mysql-executor.ts';
import { mineOn, newKey } from '../helpers/chain.ts';
import { Cluster, until, type ClusterNode } from '../helpers/cluster.ts';
import { rootConnection } from '../helpers/mysql.ts';

describe('state digest of blocks (SPEC 9)', () => {
  const cluster = new Cluster();
  after(() => cluster.close());
  const tipDigest = (n: ClusterNode) => n.node.chain.tip.digest;
  const digestOf = (n: ClusterNode, hash: string) => n.node.chain.headers.get(hash)?.digest;

  test('nodes agree on every block, however they connected it; a row changed behind a node shows as diverged', async () => {
    const a = await cluster.seed();
    const b = await cluster.join(a);
    const sa = await a.sql();
    await sa.query('CREATE TABLE acct (id INT PRIMARY KEY, name VARCHAR(20), bal DECIMAL(10,2) NOT NULL DEFAULT 0, raw VARBINARY(8) NULL, note TEXT NULL)');
    await sa.query('CREATE TABLE kv (k1 VARCHAR(10), k2 VARCHAR(10), v INT, PRIMARY KEY (k1, k2))');
    await sa.query("INSERT INTO acct (id, name, raw) VALUES (1, 'O''Brien', X'00ff'), (2, NULL, NULL)");
    await sa.query("INSERT INTO kv VALUES ('a,b', 'c', 1), ('a', 'b,c', 2)");
    await until('b to pool all four', () => b.node.chain.pool.size === 4);
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('b at a\'s tip', () => b.node.chain.tip.hash === a.node.chain.tip.hash);
    assert.match(tipDigest(a) ?? '', /^[0-9a-f]{64}$/);
    assert.equal(tipDigest(b), tipDigest(a));

    // A block that takes the first of two pool txs on one row: to read the row as the block leaves
    // it, both nodes undo the later tx for a moment (a savepoint) and put it back.
    await sa.query('UPDATE acct SET bal = 5 WHERE id = 1');
    await sa.query("UPDATE acct SET bal = 7, note = 'later' WHERE id = 1");
    await until('b to pool both updates', () => b.node.chain.pool.size === 2);
    const [first, second] = a.node.chain.pool.list().map((e) => e.tx);
    assert.match(sqlOf(first)!.stmts[0], /`bal` = 5 /);
    const block = mineOn(a.node.chain, a.node.chain.tip.hash, [first], newKey().address);
    assert.equal(await a.node.chain.addBlock(block), 'connected');
    await until('b to connect it', () => b.node.chain.tip.hash === block.hash);
    assert.equal(a.node.chain.pool.size, 1);
    assert.equal(b.node.chain.pool.size, 1);
    const d = digestOf(a, block.hash);
    assert.ok(d);
    assert.equal(digestOf(b, block.hash), d);
    // not the digest of the row as it is now (with the later update on it)
    const root = await rootConnection();
    try {
      await root.query(`USE \`${a.db}\``);
      const now = await stateDigest(mysql2Executor(root), sqlOf(first)!.refs);
      assert.notEqual(now, d);
      assert.deepEqual((await cluster.rows(a, 'SELECT bal, note FROM acct WHERE id = 1'))[0], { bal: '7.00', note: 'later' });
    } finally {
      await root.end();
    }

    // A third node replays the chain from scratch (no pool): it reads the state straight after each block.
    const c = await cluster.join(a);
    for (let h = 1; h <= a.node.chain.height; h++) {
      const hash = a.node.chain.blockHashAt(h)!;
      assert.equal(digestOf(c, hash), digestOf(a, hash), `block ${h}`);
    }
    await until('c to pool the later update', () => c.node.chain.pool.has(second.id));
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('one tip everywhere', () => cluster.nodes.every((n) => n.node.chain.tip.hash === a.node.chain.tip.hash));
    assert.ok(tipDigest(a));
    assert.ok(cluster.nodes.every((n) => tipDigest(n) === tipDigest(a)));
    assert.ok(a.node.peers!.list().every((p) => p.diverged === null));

    // Primary keys are kept from block to block for digests, until a schema change: after kv is
    // made again with its key in another order, every node's digest is that of the rows as they are.
    await sa.query("INSERT INTO kv VALUES ('x', 'y', 3)");
    assert.ok('block' in (await a.node.miner!.mineNow())); // kv's key (k1, k2) is now remembered
    await sa.query('DROP TABLE kv');
    await sa.query('CREATE TABLE kv (k1 VARCHAR(10), k2 VARCHAR(10), v INT, PRIMARY KEY (k2, k1))');
    await sa.query("INSERT INTO kv VALUES ('x', 'y', 3)");
    await until('b and c to pool the new table', () => b.node.chain.pool.size === 3 && c.node.chain.pool.size === 3);
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('one tip everywhere', () => cluster.nodes.every((n) => n.node.chain.tip.hash === a.node.chain.tip.hash));
    await sa.query("UPDATE kv SET v = 4 WHERE k1 = 'x' AND k2 = 'y'");
    await until('b and c to pool the update', () => b.node.chain.pool.size === 1 && c.node.chain.pool.size === 1);
    const update = a.node.chain.pool.list()[0].tx;
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('one tip everywhere', () => cluster.nodes.every((n) => n.node.chain.tip.hash === a.node.chain.tip.hash));
    const fresh = await rootConnection();
    try {
      await fresh.query(`USE \`${a.db}\``);
      const now = await stateDigest(mysql2Executor(fresh), sqlOf(update)!.refs);
      assert.equal(tipDigest(a), now);
    } finally {
      await fresh.end();
    }
    assert.ok(cluster.nodes.every((n) => tipDigest(n) === tipDigest(a)));

    // Row 2 changed on b behind its node's back; the next block that writes row 2 tells.
    await cluster.rows(b, "UPDATE acct SET note = 'changed by hand' WHERE id = 2");
    await sa.query('UPDATE acct SET bal = bal + 1 WHERE id = 2');
    await until('b and c to pool it', () => b.node.chain.pool.size === 1 && c.node.chain.pool.size === 1);
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('one tip everywhere', () => cluster.nodes.every((n) => n.node.chain.tip.hash === a.node.chain.tip.hash));
    assert.notEqual(tipDigest(b), tipDigest(a));
    assert.equal(tipDigest(c), tipDigest(a));
    const tip = a.node.chain.tip;
    await until('a and b to see the divergence', () =>
      a.node.peers!.list().some((p) => p.addr === b.addr && p.diverged?.block === tip.hash) &&
      b.node.peers!.list().some((p) => p.addr === a.addr && p.diverged?.block === tip.hash));
    assert.ok(a.logs.some((l) => l.includes(`peer ${b.addr}: DATA DIVERGED at block ${tip.header.height}`)));
    // a and c agree
    assert.ok(a.node.peers!.list().every((p) => p.addr === b.addr || p.diverged === null));

    const res = await fetch(`http://${a.addr}/rpc`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getpeerinfo', params: [] }),
    });
    const peers = ((await res.json()) as { result: { addr: string; diverged: { height: number; ours: string; theirs: string } | null }[] }).result;
    const seen = peers.find((p) => p.addr === b.addr)!;
    assert.deepEqual(seen.diverged && { height: seen.diverged.height, ours: seen.diverged.ours, theirs: seen.diverged.theirs }, {
      height: tip.header.height, ours: tipDigest(a), theirs: tipDigest(b),
    });
  });

  test('a sync that connects blocks as one run reads each block\'s digest before the next block\'s SQL', async () => {
    // An import queues a run's SQL and digest reads on one connection without waiting for each
    // answer: a read queued after the next block's SQL would see rows that block changes again.
    const a = await cluster.seed();
    const sa = await a.sql();
    await sa.query('CREATE TABLE r1 (id INT PRIMARY KEY, v INT NOT NULL)');
    await sa.query('CREATE TABLE r2 (k1 VARCHAR(10), k2 INT, v VARCHAR(20), PRIMARY KEY (k1, k2))');
    await sa.query("INSERT INTO r1 VALUES (1, 0), (2, 0)");
    await sa.query("INSERT INTO r2 VALUES ('x', 1, 'start')");
    assert.ok('block' in (await a.node.miner!.mineNow()));
    for (let k = 1; k <= 6; k++) {
      // both tables, the same rows in every block, and a row that comes and goes
      await sa.query(`UPDATE r1 SET v = ${k} WHERE id = 1`);
      await sa.query(`UPDATE r1 SET v = v + ${k} WHERE id = 2`);
      await sa.query(`UPDATE r2 SET v = 'round ${k}' WHERE k1 = 'x' AND k2 = 1`);
      await sa.query(k % 2 ? `INSERT INTO r2 VALUES ('y', ${k}, 'odd')` : `DELETE FROM r2 WHERE k1 = 'y' AND k2 = ${k - 1}`);
      assert.ok('block' in (await a.node.miner!.mineNow()));
    }
    // Runs keep the primary keys they read for the next run: r2 made again with its key in the
    // other order, between two runs, must be read by its new key (the schema change drops them).
    await sa.query('DROP TABLE r2');
    await sa.query('CREATE TABLE r2 (k1 VARCHAR(10), k2 INT, v VARCHAR(20), PRIMARY KEY (k2, k1))');
    await sa.query("INSERT INTO r2 VALUES ('x', 1, 'again')");
    assert.ok('block' in (await a.node.miner!.mineNow()));
    for (let k = 1; k <= 3; k++) {
      await sa.query(`UPDATE r2 SET v = 'again ${k}' WHERE k1 = 'x' AND k2 = 1`);
      assert.ok('block' in (await a.node.miner!.mineNow()));
    }
    const d = await cluster.join(a);
    assert.equal(d.node.chain.tip.hash, a.node.chain.tip.hash);
    const digests = (n: ClusterNode) => Array.from({ length: a.node.chain.height }, (_, i) => digestOf(n, n.node.chain.blockHashAt(i + 1)!));
    assert.ok(digests(a).every((x) => /^[0-9a-f]{64}$/.test(x ?? '')), 'the miner has a digest for every block');
    assert.equal(new Set(digests(a).slice(1, 7)).size, 6, 'each block leaves its rows differently');
    assert.equal(new Set(digests(a).slice(-3)).size, 3, 'each block leaves its rows differently');
    // A sync reads the digests of the blocks hello can compare (the peer's latest 8) and of those
    // it connects alone (a schema change: blocks 1 and 8), not of older ones it connects in runs.
    assert.equal(a.node.chain.height, 11);
    assert.deepEqual(digests(d), digests(a).map((x, i) => (i + 1 >= 4 || i + 1 === 1 ? x : undefined)));
    // and stored as they are known: by the runs of d's sync, and by a's own blocks (the fast path)
    const stored = async (n: ClusterNode) => {
      const rows = await cluster.rows(n, `SELECT hash, digest FROM \`${n.db}_chain\`.block_digests`) as { hash: string; digest: string }[];
      const byHash = new Map(rows.map((r) => [r.hash, r.digest]));
      return Array.from({ length: n.node.chain.height }, (_, i) => byHash.get(n.node.chain.blockHashAt(i + 1)!));
    };
    assert.deepEqual(await stored(d), digests(d));
    assert.deepEqual(await stored(a), digests(a));
  });
});
