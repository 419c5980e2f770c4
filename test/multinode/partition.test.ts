// A network partition: four nodes, every link through a real fault-injecting TCP proxy. The links
// between {a, b} and {c, d} are cut; both sides write the same row and move coins; the {c, d} side
// makes more blocks. After the heal every node is on the most-work branch with the same rows and
// the same balances; the losing side's conflicting update is dropped and re-based (run again on the
// winning branch and re-signed) by the node that signed it, and by no other; its other txs re-pooled.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { signTx, sqlOf } from '../../consensus/index.ts';
import { confirmedTxsOf } from '../../server/chain/queries.ts';
import { Cluster, meshThroughProxies, until, type ClusterNode } from '../helpers/cluster.ts';
import type { FaultyProxy } from '../helpers/faulty-proxy.ts';

const COIN = 100_000_000n;

describe('partition and heal', () => {
  const cluster = new Cluster();
  const proxies: FaultyProxy[] = [];
  after(async () => {
    for (const p of proxies) await p.close();
    await cluster.close();
  });

  test('both halves write; after the heal all converge on the most-work branch', async () => {
    const a = await cluster.seed({ peerDiscovery: false });
    const nodes: ClusterNode[] = [a];
    for (let i = 0; i < 3; i++) nodes.push(await cluster.join(a, { peerDiscovery: false }, []));
    const [, b, c, d] = nodes;
    // every ordered pair talks through its own proxy; cutting the cross pairs splits the network
    const mesh = await meshThroughProxies(nodes, a);
    proxies.push(...mesh.proxies);
    const left = (n: ClusterNode) => n === a || n === b;
    const cross = nodes.flatMap((x) => nodes.filter((y) => left(x) !== left(y)).map((y) => mesh.link(x, y)));
    await until('every node connected to three peers', () => nodes.every((n) => n.node.peers!.list().filter((p) => p.connected).length === 3));

    const [sa, sc] = [await a.sql(), await c.sql()];
    await sa.query("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)");
    await sa.query("INSERT INTO t VALUES (1, 'before'), (2, 'before')");
    assert.ok('block' in (await a.node.miner!.mineNow()));
    await until('block 1 everywhere', () => nodes.every((n) => n.node.chain.height === 1 && n.node.chain.pool.size === 0));

    // coins: the seed's minter key spends its genesis reward once on each side
    const minter = a.node.wallet.list()[0].address;
    const key = a.node.wallet.key(minter);
    const genesisCoin = (await a.node.chain.getBlock(a.node.chain.genesis))!.txs[0].id;
    const [p1, p2] = [(await a.node.wallet.create()).address, (await c.node.wallet.create()).address];
    const pay = (to: string, coins: bigint) => signTx({
      v: 1, chain: a.node.chain.genesis, time: Date.now(), from: key.pubkey, in: [{ tx: genesisCoin, n: 0 }],
      out: [{ to, amount: (coins * COIN).toString() }, { to: minter, amount: ((10n - coins) * COIN).toString() }],
    } as never, key.privateKey);

    for (const p of cross) p.cut();
    await until('the halves to lose each other', () =>
      a.node.peers!.list().filter((p) => p.connected).length === 1 && c.node.peers!.list().filter((p) => p.connected).length === 1);

    const [upd] = await sa.query<any>("UPDATE t SET v = 'left' WHERE id = 1");
    const leftTxid = /txid ([0-9a-f]{64})/.exec(upd.info)![1];
    await sc.query("UPDATE t SET v = 'right' WHERE id = 1");
    await sc.query("UPDATE t SET v = 'right only' WHERE id = 2");
    await sa.query("INSERT INTO t VALUES (3, 'left only')");
    await a.node.chain.submitTx(pay(p1, 1n));
    await c.node.chain.submitTx(pay(p2, 2n)); // the same coin: a double spend across the partition
    await until('b to have a\'s writes', () => b.node.chain.pool.size === 3);
    await until('d to have c\'s writes', () => d.node.chain.pool.size === 3);
    assert.ok('block' in (await b.node.miner!.mineNow())); // left: 1 block
    assert.ok('block' in (await d.node.miner!.mineNow())); // right: 2 blocks
    await sc.query("INSERT INTO t VALUES (4, 'right later')");
    await until('c to pool its write', () => c.node.chain.pool.size === 1);
    assert.ok('block' in (await c.node.miner!.mineNow()));
    await until('the left at height 2, the right at 3', () =>
      a.node.chain.height === 2 && b.node.chain.height === 2 && c.node.chain.height === 3 && d.node.chain.height === 3);

    for (const p of cross) p.heal();
    await until('one tip everywhere (the right side\'s)', () => nodes.every((n) => n.node.chain.tip.hash === c.node.chain.tip.hash), 60_000);
    // a's update of row 1 cannot follow the right branch as it was: dropped everywhere, and re-based
    // by a alone (its proxy key signed it); a's insert of row 3 is simply re-pooled
    await until('the same pool everywhere, with the re-based update', () => {
      const pools = nodes.map((n) => n.node.chain.pool.txs().map((t) => t.id).sort().join());
      return new Set(pools).size === 1 && a.node.chain.pool.size === 2;
    });
    const pooled = a.node.chain.pool.txs();
    const stmts = pooled.flatMap((t) => sqlOf(t)?.stmts ?? []);
    assert.ok(stmts.some((s) => s.includes("'left only'")), `row 3 re-pooled: ${stmts}`);
    const rebased = pooled.find((t) => sqlOf(t)?.stmts.some((s) => s.includes("'left'") && s.includes('UPDATE')));
    assert.ok(rebased && rebased.id !== leftTxid, 'the update is in the pool as a new tx');
    assert.equal((rebased!.body as { from: string }).from, a.node.writes.signerPubkey, 're-signed by a\'s proxy key');
    assert.ok(a.logs.some((l) => l.includes(`re-based ${leftTxid}`)));
    for (const n of [b, c, d]) assert.ok(!n.logs.some((l) => l.includes('re-based')), 'only the signer re-bases');
    // `oursql pool` (RPC getpool) explains what was dropped and why
    const res = await fetch(`http://${b.addr}/rpc`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getpool' }) });
    const { result } = await res.json();
    const why = new Map(result.dropped.map((x: { txid: string; reason: string }) => [x.txid, x.reason]));
    assert.match(String(why.get(leftTxid)), /row t:1 was changed by another transaction/);
    assert.equal([...why.values()].filter((r) => /already spent/.test(String(r))).length, 1, 'the losing payment, explained');
    const sums = await cluster.checksums('t');
    assert.equal(new Set(sums).size, 1, `checksums differ: ${sums}`);
    const rows = await cluster.rows(b, 'SELECT id, v FROM t ORDER BY id');
    assert.deepEqual(rows.map((r) => [r.id, r.v]), [[1, 'left'], [2, 'right only'], [3, 'left only'], [4, 'right later']]);
    assert.ok(a.logs.some((l) => /fork switch/.test(l)), 'a logged its fork switch');
    // the right side's payment stands, the left side's is gone; every node agrees on every balance
    for (const addr of [minter, p1, p2]) {
      const seen = await Promise.all(nodes.map(async (n) => JSON.stringify(await n.node.chain.balance(addr), (_k, v) => (typeof v === 'bigint' ? v.toString() : v))));
      assert.equal(new Set(seen).size, 1, `balance of ${addr} differs: ${seen}`);
    }
    assert.equal((await a.node.chain.balance(p2)).approved, 2n * COIN);
    assert.equal((await a.node.chain.balance(p1)).total, 0n);
    // the address index (history) dropped the losing branch's txs: every node lists the same
    for (const addr of [minter, p1, p2]) {
      const seen = await Promise.all(nodes.map(async (n) => (await confirmedTxsOf(n.node.chain, addr)).map((t) => t.txid).join()));
      assert.equal(new Set(seen).size, 1, `history of ${addr} differs`);
    }
    assert.deepEqual(await confirmedTxsOf(a.node.chain, p1), []);
  });
});
