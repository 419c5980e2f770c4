// A re-base (SPEC 8) that a stop interrupts is not lost: the dropped tx is stored with the fork
// switch that dropped it, and the node runs it again at its next start. Its client was told the
// write happened; before, the queue lived in memory only and a restart forgot it.
// a's re-base is held up by a real lock on the chain table its commit writes (`rebased`), taken
// by a root session the test owns, so it is still to do when the node stops.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sqlOf } from '../../consensus/index.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { Cluster, meshThroughProxies, until, type ClusterNode } from '../helpers/cluster.ts';
import type { FaultyProxy } from '../helpers/faulty-proxy.ts';
import { rootConnection } from '../helpers/mysql.ts';

async function rootRows(sql: string, values: unknown[]): Promise<any[]> {
  const r = await rootConnection();
  try {
    return (await r.query<any[]>(sql, values))[0];
  } finally {
    await r.end();
  }
}

describe('re-base across a restart', () => {
  const cluster = new Cluster();
  const proxies: FaultyProxy[] = [];
  let restarted: OursqlNode | undefined;
  after(async () => {
    await restarted?.stop().catch(() => {});
    for (const p of proxies) await p.close();
    await cluster.close();
  });

  test('a re-base a stop interrupted runs at the next start', async () => {
    const a = await cluster.seed({ peerDiscovery: false });
    const c = await cluster.join(a, { peerDiscovery: false }, []);
    const mesh = await meshThroughProxies([a, c], a);
    proxies.push(...mesh.proxies);
    const link = [mesh.link(a, c), mesh.link(c, a)];
    const connected = (n: ClusterNode) => n.node.peers!.list().filter((p) => p.connected).length;
    await until('a and c connected', () => connected(a) === 1 && connected(c) === 1);

    const [sa, sc] = [await a.sql(), await c.sql()];
    await sa.query('CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)');
    await sa.query('INSERT INTO t VALUES (1, 0)');
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('block 1 on both', () => c.node.chain.height === 1 && a.node.chain.pool.size === 0);

    for (const p of link) p.cut();
    await until('cut', () => connected(a) === 0 && connected(c) === 0);
    const [upd] = await sa.query<any>('UPDATE t SET v = v + 1 WHERE id = 1');
    const t1 = /txid ([0-9a-f]{64})/.exec(upd.info)![1];
    await sc.query('UPDATE t SET v = v + 10 WHERE id = 1');
    assert.ok('block' in (await c.node.miner!.mineNow()));
    await sc.query('INSERT INTO t VALUES (2, 0)');
    assert.ok('block' in (await c.node.miner!.mineNow()));

    // hold a's re-base: its commit inserts into `rebased`, which a locking read of ours blocks
    const root = await rootConnection();
    try {
      await root.query('START TRANSACTION');
      await root.query(`SELECT * FROM \`${a.db}_chain\`.rebased FOR UPDATE`);
      for (const p of link) p.heal();
      await until('a on c\'s branch, T1 dropped and its re-base waiting', () =>
        a.node.chain.tip.hash === c.node.chain.tip.hash && a.node.rebasesPending === 1 && a.logs.some((l) => l.includes(`dropped ${t1}`)));
      assert.deepEqual((await cluster.rows(a, 'SELECT v FROM t WHERE id = 1')).map((r) => r.v), [10], 'T1 undone by the switch, not yet re-run');
      await a.node.stop();
    } finally {
      await root.query('ROLLBACK');
      await root.end();
    }
    const [stored] = await rootRows(`SELECT txid, code, rebase FROM \`${a.db}_chain\`.dropped WHERE txid = ?`, [t1]);
    assert.deepEqual({ ...stored }, { txid: t1, code: 'stale-base', rebase: null }, 'stored with the switch, still to do');

    // the next start runs it
    const logs: string[] = [];
    restarted = await OursqlNode.start({ datadir: a.env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false, peerDiscovery: false }, log: (m) => logs.push(m) });
    await until('the re-base to run after the restart', () => restarted!.rebasesPending === 0 && restarted!.chain.pool.size === 1);
    const t1b = restarted.chain.pool.txs()[0];
    assert.deepEqual(sqlOf(t1b)!.stmts, ['UPDATE `t` SET `v` = `v` + 1 WHERE `id` = 1']);
    assert.ok(logs.some((l) => l.includes(`re-based ${t1} on the new chain as ${t1b.id}`)), logs.join('\n'));
    assert.deepEqual((await cluster.rows(a, 'SELECT v FROM t WHERE id = 1')).map((r) => r.v), [11]);
    // `oursql pool` says so, from the stored row
    const res = await fetch(`http://127.0.0.1:${restarted.rpcPort}/rpc`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getpool' }) });
    const dropped = (await res.json()).result.dropped as { txid: string; rebase?: string }[];
    assert.equal(dropped.find((d) => d.txid === t1)?.rebase, `re-based as ${t1b.id}`);
    const [row] = await rootRows(`SELECT rebase FROM \`${a.db}_chain\`.dropped WHERE txid = ?`, [t1]);
    assert.equal(row.rebase, `re-based as ${t1b.id}`, 'committed with the new tx');
  });
});
