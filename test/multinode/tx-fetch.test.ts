// A tx announced by several peers is fetched from one of them: the others are asked only if that
// one does not deliver it. Real fake peers (HTTP servers speaking the protocol) announce and serve.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { signTx, txToWire, type Tx } from '../../consensus/index.ts';
import { Cluster, until, type ClusterNode } from '../helpers/cluster.ts';

interface FakePeer { addr: string; server: Server; asked: string[][] }

/** A peer at `v`'s tip that serves `txs` to gettxs (after `delayMs`) and answers the rest with nothing. */
async function servingPeer(v: ClusterNode, txs: Tx[], delayMs = 0): Promise<FakePeer> {
  const peer: FakePeer = { addr: '', server: createServer(), asked: [] };
  peer.server.on('request', (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const m = JSON.parse(body);
      const send = (x: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(x));
      const chain = v.node.chain;
      switch (m.type) {
        case 'hello':
          return send({ version: 1, genesis: chain.genesis, consensus: chain.config.hash, height: chain.height, work: chain.tip.work.toString(), listen: peer.addr, nonce: 'cd'.repeat(16) });
        case 'gettxs':
          peer.asked.push(m.ids);
          await sleep(delayMs);
          return send({ txs: txs.filter((t) => m.ids.includes(t.id)).map(txToWire) });
        case 'getmempool':
          return send({ txids: [] });
        case 'getpeers':
          return send({ peers: [] });
        case 'getheaders':
          return send({ headers: [] });
        default:
          return send({ ok: true });
      }
    });
  });
  await new Promise<void>((r) => peer.server.listen(0, '127.0.0.1', r));
  peer.addr = `127.0.0.1:${(peer.server.address() as { port: number }).port}`;
  v.node.peers!.add(peer.addr);
  await until('the fake peer connected', () => v.node.peers!.list().some((p) => p.addr === peer.addr && p.connected));
  return peer;
}

const announce = (v: ClusterNode, from: FakePeer, txids: string[]) =>
  fetch(`http://${v.addr}/p2p`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'inv', txs: txids, from: from.addr }) });

describe('fetching announced txs', () => {
  const cluster = new Cluster();
  let v: ClusterNode;
  let tx1: Tx;
  let tx2: Tx;
  let conflicting: Tx;
  before(async () => {
    v = await cluster.seed();
    const chain = v.node.chain;
    const key = v.node.wallet.key(v.node.wallet.list()[0].address);
    const coinbase = (await chain.getBlock(chain.genesis))!.txs[0].id;
    const reward = BigInt(chain.config.coinsForBlockMade);
    const pay = (input: { tx: string; n: number }, have: bigint, time: number): Tx => signTx({
      v: 1, chain: chain.genesis, time, from: key.pubkey, in: [input],
      out: [{ to: key.address, amount: '1' }, { to: key.address, amount: (have - 1n).toString() }],
    } as never, key.privateKey);
    tx1 = pay({ tx: coinbase, n: 0 }, reward, Date.now());
    tx2 = pay({ tx: tx1.id, n: 1 }, reward - 1n, Date.now());
    conflicting = pay({ tx: coinbase, n: 0 }, reward, Date.now() + 1); // spends what tx1 spends
  });
  after(async () => {
    for (const s of servers) s.close();
    await cluster.close();
  });
  const servers: Server[] = [];

  /** Two peers announce `tx`: `first` (answering after 300 ms with `firstServes`), then `second` while that answer is on its way. */
  const announcedTwice = async (tx: Tx, firstServes: Tx[]) => {
    const first = await servingPeer(v, firstServes, 300);
    const second = await servingPeer(v, [tx]);
    servers.push(first.server, second.server);
    assert.equal((await announce(v, first, [tx.id])).status, 200);
    await until('the first peer asked', () => first.asked.length > 0);
    assert.equal((await announce(v, second, [tx.id])).status, 200);
    return { first, second };
  };

  test('announced by two peers at once: asked of the first only', async () => {
    const { first: slow, second: fast } = await announcedTwice(tx1, [tx1]);
    await until('tx1 pooled', () => v.node.chain.pool.has(tx1.id));
    await sleep(200); // time for a second ask, if one were made
    assert.deepEqual(slow.asked, [[tx1.id]]);
    assert.deepEqual(fast.asked, [], 'the second announcer was not asked while the first answer was on its way');
  });

  test('the first peer does not send it: the next announcer is asked', async () => {
    const { first: empty, second: has } = await announcedTwice(tx2, []);
    assert.deepEqual(has.asked, [], 'not asked while the first answer may still bring it');
    await until('tx2 pooled', () => v.node.chain.pool.has(tx2.id));
    assert.deepEqual(empty.asked, [[tx2.id]]);
    assert.deepEqual(has.asked, [[tx2.id]]);
  });

  test('refused for what any copy would be (a double spend): the next announcer is not asked', async () => {
    const { second } = await announcedTwice(conflicting, [conflicting]);
    await until('the refusal logged', () => v.logs.some((l) => l.includes(conflicting.id) && l.includes('not pooled')));
    await sleep(200); // time for a second ask, if one were made
    assert.ok(!v.node.chain.pool.has(conflicting.id));
    assert.deepEqual(second.asked, [], 'a double spend is one whoever sends it');
  });
});
