// Peers that lie: a real fake peer (an HTTP server speaking the protocol) serves blocks with bad
// proof of work, a wrong height, a wrong merkle root or a double spend, or runs another chain; and
// garbage and oversized messages are posted at the node. Each is rejected, the peer is dropped, and
// the node keeps serving.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  bitsForHeight, blockHash, blockToWire, makeBlock, makeCoinbase, meetsTarget, signTx, txToWire, type Block, type BlockHeader, type Tx,
} from '../../consensus/index.ts';
import { MAX_MESSAGE_BYTES } from '../../server/p2p/protocol.ts';
import { Cluster, until, type ClusterNode } from '../helpers/cluster.ts';

/** A peer that answers hello with more work and serves `block` as the next one. */
async function fakePeer(v: ClusterNode, block: Block | null, opts: { genesis?: string; served?: unknown } = {}): Promise<{ addr: string; server: Server; asked: string[] }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const m = JSON.parse(body);
      asked.push(m.type);
      const send = (x: unknown, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(x));
      switch (m.type) {
        case 'hello':
          return send({ version: 1, genesis: opts.genesis ?? v.node.chain.genesis, consensus: v.node.chain.config.hash, height: 1, work: '99999999999', listen: addr, nonce: 'ab'.repeat(16) });
        case 'getheaders':
          return send({ headers: block ? [{ hash: block.hash, header: block.header }] : [] });
        case 'getblocks':
          return send({ blocks: opts.served !== undefined ? [opts.served] : block ? [blockToWire(block)] : [] });
        case 'getmempool':
          return send({ txids: [] });
        case 'gettxs': // as a peer whose fork switch dropped them from its pool
          return send({ txs: [] });
        case 'getpeers':
          return send({ peers: [] });
        default:
          return send({ error: { code: 'not-found', message: 'no' } }, 404);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { addr, server, asked };
}

function mine(header: Omit<BlockHeader, 'nonce' | 'merkle'> & { merkle?: string }, txs: Tx[], opts: { failPow?: boolean } = {}): Block {
  const base = makeBlock({ ...header, nonce: 0 } as Omit<BlockHeader, 'merkle'>, txs);
  const full = { ...base.header, ...(header.merkle && { merkle: header.merkle }) };
  for (let nonce = 0; ; nonce++) {
    const h = { ...full, nonce };
    const ok = meetsTarget(blockHash(h), h.bits);
    if (ok !== !!opts.failPow) return { hash: blockHash(h), header: h, txs };
  }
}

describe('misbehaving peers', () => {
  const cluster = new Cluster();
  const servers: Server[] = [];
  let v: ClusterNode;
  after(async () => {
    for (const s of servers) s.close();
    await cluster.close();
  });
  before(async () => {
    v = await cluster.seed();
  });

  const spends = () => {
    const chain = v.node.chain;
    const key = v.node.wallet.key(v.node.wallet.list()[0].address);
    const reward = chain.config.coinsForBlockMade;
    return (to: string, amount: bigint, time: number): Tx =>
      signTx({ v: 1, chain: chain.genesis, time, from: key.pubkey, in: [{ tx: genesisCoinbase, n: 0 }], out: [{ to, amount: amount.toString() }, { to: key.address, amount: (reward - amount).toString() }] } as never, key.privateKey);
  };
  let genesisCoinbase = '';

  test('blocks with bad proof of work, height, merkle root or a double spend: rejected, peer dropped', async () => {
    const chain = v.node.chain;
    genesisCoinbase = (await chain.getBlock(chain.genesis))!.txs[0].id;
    const pay = spends();
    const other = v.node.wallet.list()[0].address;
    const now = Date.now();
    const head = (height: number) => ({ v: 1 as const, height, prev: chain.genesis, time: now, bits: bitsForHeight(chain.config, height) });
    const cb = (height: number) => makeCoinbase(chain.genesis, height, other, chain.config.coinsForBlockMade);
    const cases: [string, Block][] = [
      ['bad proof of work', mine(head(1), [cb(1), pay(other, 1n, now)], { failPow: true })],
      ['bad height', mine(head(2), [cb(2), pay(other, 1n, now)])],
      ['wrong merkle root', mine({ ...head(1), merkle: '00'.repeat(32) }, [cb(1), pay(other, 1n, now)])],
      ['double spend', mine(head(1), [cb(1), pay(other, 1n, now), pay(other, 2n, now + 1)])],
    ];
    for (const [what, block] of cases) {
      const fake = await fakePeer(v, block);
      servers.push(fake.server);
      v.node.peers!.add(fake.addr);
      await until(`the peer serving a block with ${what} to be dropped`, () => v.node.peers!.list().some((p) => p.addr === fake.addr && p.banned));
      assert.ok(fake.asked.includes('getblocks'), `${what}: the node fetched the block`);
      assert.equal(chain.height, 0, `${what}: the block was not taken`);
      assert.ok(v.logs.some((l) => l.includes(fake.addr) && l.includes('misbehaved')), what);
      // reached once (remembered), then dropped: not tried again at the next start
      await until(`${what}: the peer forgotten`, async () =>
        !(await cluster.rows(v, `SELECT addr FROM \`${v.db}_chain\`.known_peers`)).some((r) => r.addr === fake.addr));
    }
    // a sync's answer checked run by run: the block asked for, and one that decodes
    const asked = mine(head(1), [cb(1), pay(other, 1n, now)]);
    const served: [string, unknown, string][] = [
      ['another block than the one asked for', blockToWire(mine(head(1), [cb(1), pay(other, 3n, now)])), 'sent block'],
      ['an undecodable block', { header: asked.header, txs: [{ body: 1 }] }, 'undecodable block'],
    ];
    for (const [what, wire, why] of served) {
      const fake = await fakePeer(v, asked, { served: wire });
      servers.push(fake.server);
      v.node.peers!.add(fake.addr);
      await until(`the peer serving ${what} to be dropped`, () => v.node.peers!.list().some((p) => p.addr === fake.addr && p.banned));
      assert.equal(chain.height, 0, `${what}: nothing was taken`);
      assert.ok(v.logs.some((l) => l.includes(fake.addr) && l.includes(why)), `${what}: logged as ${why}`);
    }
  });

  test('a compact block whose txs the peer no longer has: the whole block is asked for and taken, the peer not blamed', async () => {
    const chain = v.node.chain;
    genesisCoinbase = (await chain.getBlock(chain.genesis))!.txs[0].id;
    const pay = spends();
    const me = v.node.wallet.list()[0].address;
    const now = Date.now();
    const h = chain.height + 1;
    const block = mine({ v: 1, height: h, prev: chain.tip.hash, time: now, bits: bitsForHeight(chain.config, h) },
      [makeCoinbase(chain.genesis, h, me, chain.config.coinsForBlockMade), pay(me, 1n, now)]);
    const fake = await fakePeer(v, null, { served: blockToWire(block) });
    servers.push(fake.server);
    v.node.peers!.add(fake.addr);
    await until('the fake peer connected', () => v.node.peers!.list().some((p) => p.addr === fake.addr && p.connected));
    const res = await fetch(`http://${v.addr}/p2p`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'inv', blocks: [block.hash], from: fake.addr, compact: [{ hash: block.hash, header: block.header, coinbase: txToWire(block.txs[0]), txids: [block.txs[1].id] }] }),
    });
    assert.equal(res.status, 200);
    await until('the block connected', () => chain.tip.hash === block.hash);
    assert.deepEqual(fake.asked.filter((t) => t === 'gettxs' || t === 'getblocks'), ['gettxs', 'getblocks']);
    assert.ok(!v.logs.some((l) => l.includes(fake.addr) && l.includes('misbehaved')), 'not blamed');
    assert.ok(v.node.peers!.list().some((p) => p.addr === fake.addr && !p.banned));
  });

  test('a compact block sent with an announcement that is not the block announced: blamed, not taken', async () => {
    const chain = v.node.chain;
    const fake = await fakePeer(v, null);
    servers.push(fake.server);
    v.node.peers!.add(fake.addr);
    await until('the fake peer connected', () => v.node.peers!.list().some((p) => p.addr === fake.addr && p.connected));
    const now = Date.now();
    const real = mine({ v: 1, height: chain.height + 1, prev: chain.tip.hash, time: now, bits: bitsForHeight(chain.config, chain.height + 1) },
      [makeCoinbase(chain.genesis, chain.height + 1, v.node.wallet.list()[0].address, chain.config.coinsForBlockMade)]);
    const named = 'ab'.repeat(32);
    const res = await fetch(`http://${v.addr}/p2p`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'inv', blocks: [named], from: fake.addr, compact: [{ hash: named, header: real.header, coinbase: txToWire(real.txs[0]), txids: [] }] }),
    });
    assert.equal(res.status, 200);
    await until('the peer blamed', () => v.logs.some((l) => l.includes(fake.addr) && l.includes('does not hash to its name')));
    assert.ok(!fake.asked.includes('getcompact'), 'what came with the announcement was used, not asked again');
    assert.ok(!chain.headers.has(real.hash) && !chain.headers.has(named));
  });

  test('a peer of another chain is dropped at hello', async () => {
    const fake = await fakePeer(v, null, { genesis: 'ee'.repeat(32) });
    servers.push(fake.server);
    v.node.peers!.add(fake.addr);
    // our hello reaches it; its answer names another genesis
    await until('the other chain to be dropped', () => v.node.peers!.list().some((p) => p.addr === fake.addr && p.banned));
    assert.deepEqual(fake.asked.filter((t) => t !== 'hello'), []);
  });

  test('garbage, malformed and oversized messages get errors; the node keeps serving', async () => {
    const url = `http://${v.addr}/p2p`;
    const post = (body: string | Uint8Array) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body as BodyInit });
    let r = await post('not json {');
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, 'bad-request');
    r = await fetch(url);
    assert.equal(r.status, 405, 'only POST');
    assert.equal(r.headers.get('allow'), 'POST');
    assert.equal((await r.json()).error.code, 'bad-request');
    r = await fetch(`${url}?x=1`, { method: 'POST', body: JSON.stringify({ type: 'getpeers' }) });
    assert.equal(r.status, 200, 'a query string changes nothing');
    assert.ok(Array.isArray((await r.json()).peers));
    r = await post(JSON.stringify({ type: 'getblocks', hashes: ['zz'] }));
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /hashes/);
    r = await post(JSON.stringify({ type: 'launch-missiles' }));
    assert.equal(r.status, 400);
    r = await post(JSON.stringify({ type: 'gettxs', ids: Array.from({ length: 3000 }, () => 'aa'.repeat(32)) }));
    assert.equal(r.status, 400, 'more ids than a request may hold');
    const hello = { type: 'hello', ...v.node.peers!.hello(), nonce: 'ab'.repeat(16), listen: null };
    r = await post(JSON.stringify({ ...hello, digests: Array.from({ length: 9 }, () => ({ hash: 'aa'.repeat(32), digest: 'bb'.repeat(32) })) }));
    assert.equal(r.status, 400, 'more state digests than a hello may carry');
    r = await post(JSON.stringify({ ...hello, digests: [{ hash: 'aa'.repeat(32), digest: 'not hex' }] }));
    assert.equal(r.status, 400, 'a digest that is no hash');
    r = await post(JSON.stringify({ ...hello, digests: [{ hash: 'aa'.repeat(32), digest: 'bb'.repeat(32) }] }));
    assert.equal(r.status, 200, 'digests of blocks the node does not have are ignored');
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1024, 0x20);
    r = await post(big).catch((e) => e);
    assert.ok(!(r instanceof Response) || r.status === 400 || r.status === 413, 'oversized body refused');
    r = await post(JSON.stringify({ type: 'gettxs', ids: [genesisCoinbase] }));
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).txs, [txToWire((await v.node.chain.getBlock(v.node.chain.genesis))!.txs[0])]);
    // and the MySQL side still works
    const c = await v.sql();
    await c.query('CREATE TABLE still_here (id INT PRIMARY KEY)');
    assert.equal(v.node.chain.pool.size, 1);
  });

  test('a pushed tx whose statement changes a row its refs do not name is refused; the good ones beside it are pooled', async () => {
    const c = await v.sql();
    await c.query('CREATE TABLE named (id INT PRIMARY KEY, v INT)');
    await c.query('INSERT INTO named VALUES (1, 10), (2, 20)');
    const chain = v.node.chain;
    const key = v.node.wallet.key(v.node.wallet.list()[0].address);
    const tx = (stmt: string, undo: string, ref: string): Tx => signTx({
      v: 1, chain: chain.genesis, time: Date.now(), from: key.pubkey, in: [], out: [],
      sql: { stmts: [stmt], undo: [undo], refs: [ref], base: { [ref]: chain.pool.view.latestOnRef(ref) } },
    } as never, key.privateKey);
    // the same count of rows as it names (one), but another row
    const bad = tx('UPDATE named SET v = 0 WHERE id = 2', 'UPDATE named SET v = 10 WHERE id = 1', 'named:1');
    const good = tx('UPDATE named SET v = 11 WHERE id = 1', 'UPDATE named SET v = 10 WHERE id = 1', 'named:1');
    const r = await fetch(`http://${v.addr}/p2p`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'pushtxs', txs: [txToWire(bad), txToWire(good)] }),
    });
    assert.equal(r.status, 200);
    await until('the good tx pooled', () => chain.pool.has(good.id));
    assert.equal(chain.pool.has(bad.id), false);
    assert.deepEqual(await cluster.rows(v, `SELECT id, v FROM \`${v.db}\`.named ORDER BY id`), [{ id: 1, v: 11 }, { id: 2, v: 20 }]);
    assert.ok(v.logs.some((l) => l.includes(`tx ${bad.id} not pooled`) && l.includes('changes row named:2, which its refs do not name')), 'the refusal is logged with its reason');
    await c.end();
  });
});
