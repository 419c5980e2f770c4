// A node re-bases its own write that a fork switch dropped (SPEC 8). If the network then flips back
// to a branch on which the original write was mined after all, the re-based copy is dropped in turn,
// and must not be re-run once more: the client's write would then count twice. Three nodes, every
// link through a real fault-injecting TCP proxy:
//   a writes v = v + 1 (T1); b receives it; c, cut off, writes v = v + 10 and makes 2 blocks;
//   a joins c's branch: T1 is dropped and re-based (T1'); b, cut off, mines T1 and makes 3 blocks;
//   all heal: b's branch wins, T1 is in the chain, T1' is dropped and NOT re-based again.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sqlOf } from '../../consensus/index.ts';
import { Cluster, meshThroughProxies, until, type ClusterNode } from '../helpers/cluster.ts';
import type { FaultyProxy } from '../helpers/faulty-proxy.ts';

describe('re-base lineage', () => {
  const cluster = new Cluster();
  const proxies: FaultyProxy[] = [];
  after(async () => {
    for (const p of proxies) await p.close();
    await cluster.close();
  });

  test('a write re-based on one branch is not re-run again when the branch with the original wins', async () => {
    const a = await cluster.seed({ peerDiscovery: false });
    const nodes: ClusterNode[] = [a];
    for (let i = 0; i < 2; i++) nodes.push(await cluster.join(a, { peerDiscovery: false }, []));
    const [, b, c] = nodes;
    const mesh = await meshThroughProxies(nodes, a);
    proxies.push(...mesh.proxies);
    const between = (x: ClusterNode, y: ClusterNode) => [mesh.link(x, y), mesh.link(y, x)];
    const connected = (n: ClusterNode) => n.node.peers!.list().filter((p) => p.connected).length;
    await until('every node connected to two peers', () => nodes.every((n) => connected(n) === 2));

    const [sa, sb, sc] = [await a.sql(), await b.sql(), await c.sql()];
    await sa.query('CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)');
    await sa.query('INSERT INTO t VALUES (1, 0)');
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('block 1 everywhere', () => nodes.every((n) => n.node.chain.height === 1 && n.node.chain.pool.size === 0));

    // c alone; a's write reaches b only
    for (const p of [...between(a, c), ...between(b, c)]) p.cut();
    await until('c cut off', () => connected(c) === 0 && connected(a) === 1 && connected(b) === 1);
    const [upd] = await sa.query<any>('UPDATE t SET v = v + 1 WHERE id = 1');
    const t1 = /txid ([0-9a-f]{64})/.exec(upd.info)![1];
    await until('b to pool T1', () => b.node.chain.pool.has(t1));

    // b alone too; c writes the same row and makes two blocks
    for (const p of between(a, b)) p.cut();
    await until('b cut off', () => connected(b) === 0 && connected(a) === 0);
    await sc.query('UPDATE t SET v = v + 10 WHERE id = 1');
    assert.ok('block' in (await c.node.miner!.mineNow()));
    await sc.query('INSERT INTO t VALUES (2, 0)');
    assert.ok('block' in (await c.node.miner!.mineNow()));
    assert.equal(c.node.chain.height, 3);

    // a joins c's branch: T1 is dropped there, and a re-bases it
    for (const p of between(a, c)) p.heal();
    await until('a on c\'s branch with T1 re-based', () =>
      a.node.chain.tip.hash === c.node.chain.tip.hash && a.node.rebasesPending === 0 && a.node.chain.pool.size === 1 && !a.node.chain.pool.has(t1));
    const t1b = a.node.chain.pool.txs()[0].id;
    assert.ok(a.logs.some((l) => l.includes(`re-based ${t1} on the new chain as ${t1b}`)), a.logs.join('\n'));
    assert.deepEqual((await cluster.rows(a, 'SELECT v FROM t WHERE id = 1')).map((r) => r.v), [11]);

    // b mines T1 on the old branch and outgrows c's
    assert.ok('block' in (await b.node.miner!.mineNow()));
    assert.ok(b.node.chain.state.hasTx(t1));
    for (const id of [3, 4]) {
      await sb.query(`INSERT INTO t VALUES (${id}, 0)`);
      assert.ok('block' in (await b.node.miner!.mineNow()));
    }
    assert.equal(b.node.chain.height, 4);

    // heal: everyone on b's branch, where T1 ran once; T1' is dropped and must not run again
    for (const p of [...between(a, b), ...between(b, c)]) p.heal();
    await until('one tip everywhere (b\'s)', () => nodes.every((n) => n.node.chain.tip.hash === b.node.chain.tip.hash), 60_000);
    await until('re-bases done', () => nodes.every((n) => n.node.rebasesPending === 0));
    assert.ok(!a.node.chain.pool.has(t1b), 'T1\' left the pool');
    assert.ok(a.logs.some((l) => l.includes(`${t1b}`) && l.includes(`not re-based`) && l.includes(t1)), a.logs.join('\n'));
    const rerunOfT1 = a.node.chain.pool.txs().filter((t) => sqlOf(t)?.stmts.some((s) => s.includes('v + 1') && !s.includes('v + 10')));
    assert.deepEqual(rerunOfT1.map((t) => t.id), [], 'no third copy of a\'s write');
    // `oursql pool` (RPC getpool) on a says what became of each copy
    const res = await fetch(`http://${a.addr}/rpc`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getpool' }) });
    const outcome = new Map((await res.json()).result.dropped.map((d: { txid: string; rebase?: string }) => [d.txid, d.rebase]));
    assert.equal(outcome.get(t1), `re-based as ${t1b}`);
    assert.equal(outcome.get(t1b), `not re-based: the write it re-runs is in the chain as ${t1}`);
    await until('the same pool everywhere', () => new Set(nodes.map((n) => n.node.chain.pool.txs().map((t) => t.id).sort().join())).size === 1);

    // what is left (c's re-based +10, c's row 2) is mined once; every node ends with v = 1 + 10
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('the last block everywhere, pools empty', () => nodes.every((n) => n.node.chain.tip.hash === a.node.chain.tip.hash && n.node.chain.pool.size === 0));
    for (const n of nodes) assert.deepEqual((await cluster.rows(n, 'SELECT id, v FROM t ORDER BY id')).map((r) => [r.id, r.v]), [[1, 11], [2, 0], [3, 0], [4, 0]]);
    const sums = await cluster.checksums('t');
    assert.equal(new Set(sums).size, 1, `checksums differ: ${sums}`);
  });

});
