// Two nodes apart each mine one block (equal work) and then nothing more is written. Had each kept
// the tip it saw first, they would stay apart, with different rows, until some next block; at
// equal work the lower block hash wins, so they meet as soon as they see each other, and the
// losing side's update is re-based onto the winner by the node that signed it.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sqlOf } from '../../consensus/index.ts';
import { Cluster, meshThroughProxies, until } from '../helpers/cluster.ts';
import type { FaultyProxy } from '../helpers/faulty-proxy.ts';

const cluster = new Cluster();
const proxies: FaultyProxy[] = [];
after(async () => {
  for (const p of proxies) await p.close();
  await cluster.close();
});

test('two equal-work tips: both nodes take the lower hash, rows and pools the same', async () => {
  const a = await cluster.seed({ peerDiscovery: false });
  const b = await cluster.join(a, { peerDiscovery: false }, []);
  const mesh = await meshThroughProxies([a, b], a);
  proxies.push(...mesh.proxies);
  await until('a and b connected', () => [a, b].every((n) => n.node.peers!.list().filter((p) => p.connected).length === 1));
  const [sa, sb] = [await a.sql(), await b.sql()];
  await sa.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
  await sa.query("INSERT INTO t VALUES (1, 'before')");
  assert.ok('block' in (await a.node.miner!.mineNow()));
  await until('block 1 on both', () => [a, b].every((n) => n.node.chain.height === 1 && n.node.chain.pool.size === 0));

  for (const p of mesh.proxies) p.cut();
  await until('a and b apart', () => [a, b].every((n) => n.node.peers!.list().every((p) => !p.connected)));
  const txid = async (q: Promise<[any, unknown]>) => /txid ([0-9a-f]{64})/.exec((await q)[0].info)![1];
  const byA = await txid(sa.query("UPDATE t SET v = 'a' WHERE id = 1"));
  const byB = await txid(sb.query("UPDATE t SET v = 'b' WHERE id = 1"));
  const ma = await a.node.miner!.mineNow();
  const mb = await b.node.miner!.mineNow();
  assert.ok('block' in ma && 'block' in mb);
  const [win, lose] = ma.block.hash < mb.block.hash ? [a, b] : [b, a];
  const [winner, loserTx] = win === a ? [ma.block.hash, byB] : [mb.block.hash, byA];

  for (const p of mesh.proxies) p.heal();
  await until('one tip: the lower hash', () => [a, b].every((n) => n.node.chain.tip.hash === winner), 30_000, () => cluster.report(5));
  // the loser's update no longer fits row 1's new base: its own node runs it again on the winning branch
  // (a pool entry of the node's own is there while its write is still in flight: wait for the commit)
  await until('the same pool on both, holding the re-based update, committed', () =>
    [a, b].every((n) => n.node.chain.pool.size === 1 && n.node.chain.pool.inflightCount() === 0 && n.node.rebasesPending === 0) &&
    a.node.chain.pool.txs()[0].id === b.node.chain.pool.txs()[0].id, 30_000, () => cluster.report(5));
  const rebased = a.node.chain.pool.txs()[0];
  assert.notEqual(rebased.id, loserTx);
  assert.equal((rebased.body as { from: string }).from, lose.node.writes.signerPubkey);
  assert.match(sqlOf(rebased)!.stmts[0], /SET `v` = '[ab]'/);
  const sums = await cluster.checksums('t');
  assert.equal(new Set(sums).size, 1, `checksums differ: ${sums}`);
});
