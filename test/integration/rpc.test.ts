// The JSON-RPC server against an in-process node on the real MariaDB: every method's happy path,
// the error codes reachable today, auth, batches and transport errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import type { Express } from 'express';
import { ConsensusError, signTx } from '../../consensus/index.ts';
import { buildTransfer } from '../../server/chain/send.ts';
import { readNodeConfig, writeNodeConfig } from '../../server/node/datadir.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { METHODS } from '../../server/rpc/dispatch.ts';
import { RpcCode, toRpcError } from '../../server/rpc/errors.ts';
import { createRpcApp, MAX_RPC_BODY_BYTES } from '../../server/rpc/server.ts';
import { corruptAddress, tempNodeDir } from '../helpers/node.ts';

type Json = Record<string, any>;

describe('JSON-RPC server', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let app: Express;
  let minter = '';
  let cookie: [string, string];

  /** One call; `auth` true sends the cookie. Returns the HTTP response (body = JSON-RPC answer). */
  const post = (body: unknown, auth = false, creds?: [string, string]) => {
    const r = request(app).post('/rpc').set('content-type', 'application/json');
    const c = creds ?? (auth ? cookie : undefined);
    return (c ? r.auth(c[0], c[1]) : r).send(JSON.stringify(body));
  };
  const call = async (method: string, params?: unknown, auth = false): Promise<Json> => {
    const res = await post({ jsonrpc: '2.0', id: 7, method, params }, auth);
    assert.equal(res.status, 200, `${method}: HTTP ${res.status} ${res.text}`);
    assert.equal(res.body.id, 7);
    return res.body;
  };
  const ok = async (method: string, params?: unknown, auth = false): Promise<any> => {
    const b = await call(method, params, auth);
    assert.equal(b.error, undefined, `${method} failed: ${JSON.stringify(b.error)}`);
    // The declared result schema (what docs/rpc.md is generated from) fits the real answer.
    const shape = METHODS[method].result.safeParse(b.result);
    assert.ok(shape.success, `${method} result does not fit its schema: ${JSON.stringify(shape.error?.issues)}`);
    return b.result;
  };
  const fails = async (method: string, params: unknown, code: number, auth = false): Promise<Json> => {
    const b = await call(method, params, auth);
    assert.ok(b.error, `${method} should fail with ${code}, got ${JSON.stringify(b.result)}`);
    assert.equal(b.error.code, code, `${method}: ${b.error.message}`);
    assert.doesNotMatch(b.error.message, /\n\s+at /, 'no stack trace');
    return b.error;
  };

  before(async () => {
    env = await tempNodeDir('rpc');
    const init = await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile });
    minter = init.minter;
    // Configured credentials work next to the cookie.
    const cfg = (await readNodeConfig(env.datadir))!;
    await writeNodeConfig(env.datadir, { ...cfg, rpcUser: 'alice', rpcPassword: 'wonderland' });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    app = createRpcApp(node);
    const i = node.cookie.indexOf(':');
    cookie = [node.cookie.slice(0, i), node.cookie.slice(i + 1)];
  });

  after(async () => {
    await node?.stop();
    await env?.cleanup();
  });

  test('chain reads at genesis: getblockchaininfo, getblockcount, getbestblockhash, getblockhash, getblock', async () => {
    const info = await ok('getblockchaininfo');
    assert.equal(info.height, 0);
    assert.equal(info.blocks, 0);
    assert.equal(info.bestblockhash, node.chain.tip.hash);
    assert.equal(info.genesis, node.chain.genesis);
    assert.equal(info.consensus, node.consensus.hash);
    assert.equal(info.work, '256');
    assert.equal(await ok('getblockcount'), 0);
    assert.equal(await ok('getbestblockhash'), node.chain.genesis);
    assert.equal(await ok('getblockhash', [0]), node.chain.genesis);
    assert.equal(await ok('getblockhash', { height: 0 }), node.chain.genesis);

    const b = await ok('getblock', [node.chain.genesis]);
    assert.equal(b.height, 0);
    assert.equal(b.confirmations, 1);
    assert.equal(b.txs.length, 1);
    assert.equal(b.header.bits, 8);
    const full = await ok('getblock', { blockhash: node.chain.genesis.toUpperCase(), verbosity: 2 });
    assert.equal(full.txs[0].body.out[0].to, minter);
    assert.equal(full.txs[0].body.out[0].amount, '1000000000', 'bodies stay in base units');
    const wire = await ok('getblock', [node.chain.genesis, 0]);
    assert.deepEqual(Object.keys(wire).sort(), ['header', 'txs']);

    const coinbase = await ok('gettransaction', [b.txs[0]]);
    assert.equal(coinbase.status, 'confirmed');
    assert.equal(coinbase.from, null);
    assert.equal(coinbase.height, 0);
  });

  test('chain read errors: -8 height out of range, -5 unknown block or tx, -32602 malformed params', async () => {
    await fails('getblockhash', [5], RpcCode.INVALID_PARAMETER);
    await fails('getblock', ['ab'.repeat(32)], RpcCode.INVALID_ADDRESS_OR_KEY);
    await fails('gettransaction', ['cd'.repeat(32)], RpcCode.INVALID_ADDRESS_OR_KEY);
    const e = await fails('getblock', ['nothex'], RpcCode.INVALID_PARAMS);
    assert.match(e.message, /blockhash/);
    await fails('getblockhash', [-1], RpcCode.INVALID_PARAMS);
    await fails('getblockhash', ['1'], RpcCode.INVALID_PARAMS);
    await fails('getblockhash', [], RpcCode.INVALID_PARAMS);
    await fails('getblockcount', [1], RpcCode.INVALID_PARAMS, false);
    await fails('getblockhash', { height: 0, extra: 1 }, RpcCode.INVALID_PARAMS);
    await fails('getblock', [node.chain.genesis, 3], RpcCode.INVALID_PARAMS);
  });

  test('getbalance in coins; -5 for an address with a wrong checksum', async () => {
    assert.deepEqual(await ok('getbalance', [minter]), { address: minter, approved: '10', pending: '0', total: '10' });
    const e = await fails('getbalance', { address: corruptAddress(minter) }, RpcCode.INVALID_ADDRESS_OR_KEY);
    assert.equal(e.data.code, 'bad-address');
    await fails('getbalance', [], RpcCode.INVALID_PARAMS);
  });

  test('auth: protected methods need the cookie or rpcUser/rpcPassword; wrong credentials are refused; reads are open', async () => {
    const anon = await post({ jsonrpc: '2.0', id: 1, method: 'getnewaddress' });
    assert.equal(anon.status, 401);
    assert.match(anon.headers['www-authenticate'], /^Basic/);
    assert.match(anon.body.error.message, /needs auth/);

    const wrong = await post({ jsonrpc: '2.0', id: 1, method: 'listaddresses' }, false, ['__cookie__', 'f'.repeat(64)]);
    assert.equal(wrong.status, 401);
    const wrongOnOpen = await post({ jsonrpc: '2.0', id: 1, method: 'getblockcount' }, false, ['__cookie__', 'nope']);
    assert.equal(wrongOnOpen.status, 401, 'wrong credentials are refused even on an open method');

    // A batch holding one protected method needs auth as a whole.
    const batch = await post([{ jsonrpc: '2.0', id: 1, method: 'getblockcount' }, { jsonrpc: '2.0', id: 2, method: 'stop' }]);
    assert.equal(batch.status, 401);
    assert.equal(node.chain.height, 0, 'still running');

    const byUser = await post({ jsonrpc: '2.0', id: 1, method: 'listaddresses' }, false, ['alice', 'wonderland']);
    assert.equal(byUser.status, 200);
    assert.deepEqual(byUser.body.result.map((a: Json) => a.address), [minter]);

    for (const m of ['getblockcount', 'getbestblockhash', 'getblockchaininfo', 'getrawmempool', 'getpool', 'getnodeinfo']) {
      assert.equal((await post({ jsonrpc: '2.0', id: 1, method: m })).status, 200, `${m} is open`);
    }
    for (const m of ['stop', 'getnewaddress', 'listaddresses', 'sendtoaddress', 'mine', 'canceltx']) {
      assert.equal((await post({ jsonrpc: '2.0', id: 1, method: m, params: [] })).status, 401, `${m} needs auth`);
    }
  });

  test('wallet: getnewaddress, listaddresses, sendtoaddress → pool, balances, gettransaction', async () => {
    const a = await ok('getnewaddress', [], true);
    assert.match(a.address, /^1/);
    assert.match(a.pubkey, /^0[23][0-9a-f]{64}$/);
    const list = await ok('listaddresses', [], true);
    assert.deepEqual(list.map((x: Json) => x.address), [minter, a.address]);

    const sent = await ok('sendtoaddress', { from: minter, to: a.address, amount: '1.5' }, true);
    assert.match(sent.txid, /^[0-9a-f]{64}$/);
    assert.deepEqual(await ok('getrawmempool'), [sent.txid]);
    const verbose = await ok('getrawmempool', [true]);
    assert.equal(verbose[sent.txid].from, minter);
    assert.equal(verbose[sent.txid].amount, '1.5');
    assert.deepEqual(verbose[sent.txid].depends, []);
    const pool = await ok('getpool');
    assert.equal(pool.size, 1);
    assert.equal(pool.txs[0].txid, sent.txid);
    assert.deepEqual(pool.txs[0].out, [{ to: a.address, amount: '1.5' }, { to: minter, amount: '8.5' }]);

    const tx = await ok('gettransaction', [sent.txid]);
    assert.equal(tx.status, 'pool');
    assert.equal(tx.confirmations, 0);
    assert.equal(tx.from, minter);
    assert.match(tx.sig, /^[0-9a-f]+$/);

    // pending = received minus spent in the pool (the 10-coin output went out, 8.5 came back as change).
    assert.deepEqual(await ok('getbalance', [minter]), { address: minter, approved: '10', pending: '-1.5', total: '8.5' });
    assert.deepEqual(await ok('getbalance', [a.address]), { address: a.address, approved: '0', pending: '1.5', total: '1.5' });

    // Positional bitcoind order (to, amount, from) and a JSON number amount; spends unconfirmed change.
    const second = await ok('sendtoaddress', [a.address, 0.25, minter], true);
    const deps = await ok('getrawmempool', [true]);
    assert.deepEqual(deps[second.txid].depends, [sent.txid]);
    await ok('canceltx', [second.txid], true);
  });

  test('send errors: -6 insufficient funds (pool unchanged), -5 bad address, -3 bad amount, -4 not our key', async () => {
    const [, other] = await ok('listaddresses', [], true);
    const before = await ok('getrawmempool');
    const e = await fails('sendtoaddress', { from: other.address, to: minter, amount: '100' }, RpcCode.INSUFFICIENT_FUNDS, true);
    assert.match(e.message, /insufficient funds/);
    assert.equal(e.data.code, 'insufficient-funds');
    assert.deepEqual(await ok('getrawmempool'), before, 'pool unchanged');

    await fails('sendtoaddress', { from: minter, to: corruptAddress(other.address), amount: '1' }, RpcCode.INVALID_ADDRESS_OR_KEY, true);
    await fails('sendtoaddress', { from: corruptAddress(minter), to: other.address, amount: '1' }, RpcCode.INVALID_ADDRESS_OR_KEY, true);
    for (const amount of ['1.123456789', '-1', '0', 'abc', -2]) {
      await fails('sendtoaddress', { from: minter, to: other.address, amount }, RpcCode.TYPE_ERROR, true);
    }
    await fails('sendtoaddress', { from: minter, to: other.address, amount: { coins: 1 } }, RpcCode.INVALID_PARAMS, true);
    await fails('sendtoaddress', [other.address, '1', minter, 'extra'], RpcCode.INVALID_PARAMS, true);
    // A valid address whose key the node does not hold.
    const foreign = '1BoatSLRHtKNngkdXEeobR76b53LETtpyT';
    await fails('sendtoaddress', { from: foreign, to: other.address, amount: '1' }, RpcCode.WALLET_ERROR, true);
    assert.deepEqual(await ok('getrawmempool'), before, 'pool unchanged');
  });

  test('mine makes a block from the pool; -1 says why when the block rule does not allow one', async () => {
    const [txid] = await ok('getrawmempool');
    const m = await ok('mine', [], true);
    assert.equal(m.height, 1);
    assert.equal(m.txs, 1);
    assert.equal(m.active, true);
    assert.equal(await ok('getblockcount'), 1);
    assert.equal(await ok('getbestblockhash'), m.hash);

    const tx = await ok('gettransaction', [txid]);
    assert.equal(tx.status, 'confirmed');
    assert.equal(tx.blockhash, m.hash);
    assert.equal(tx.height, 1);
    assert.equal(tx.confirmations, 1);
    assert.deepEqual(await ok('getbalance', [minter]), { address: minter, approved: '18.5', pending: '0', total: '18.5' });

    const e = await fails('mine', [], RpcCode.MISC_ERROR, true);
    assert.match(e.message, /block 2 needs at least 2 transactions/);

    const blocks = await ok('listblocks', { from: 0, count: 10 });
    assert.equal(blocks.height, 1);
    assert.deepEqual(blocks.blocks.map((b: Json) => b.height), [0, 1]);
    assert.equal(blocks.blocks[0].next, m.hash);
    const verbose = await ok('listblocks', [1, 1, true]);
    assert.equal(verbose.blocks[0].txs[1].txid, txid);
    const genesis = await ok('getblock', [node.chain.genesis]);
    assert.equal(genesis.confirmations, 2);
  });

  test('canceltx drops a pending tx and its dependants; -5 when it is not in the pool', async () => {
    const [, other] = await ok('listaddresses', [], true);
    const a = await ok('sendtoaddress', [other.address, '2', minter], true);
    // other holds 1.5 confirmed + 2 pending from a: paying 3 needs a's output.
    const b = await ok('sendtoaddress', [minter, '3', other.address], true);
    const c = await ok('canceltx', { txid: a.txid }, true);
    assert.deepEqual(c.removed.sort(), [a.txid, b.txid].sort(), 'b spent a\'s output, so it goes too');
    assert.deepEqual(await ok('getrawmempool'), []);
    assert.deepEqual(await ok('getbalance', [minter]), { address: minter, approved: '18.5', pending: '0', total: '18.5' });
    await fails('canceltx', [a.txid], RpcCode.INVALID_ADDRESS_OR_KEY, true);
  });

  test('consensus refusals map to SPEC codes: double spend -26, known tx -27', async () => {
    const key = node.wallet.key(minter);
    const [, other] = node.wallet.list();
    // Two transfers built before either is pooled pick the same coin.
    const t1 = signTx(await buildTransfer(node.chain, key.pubkey, other.address, 100_000_000n), key.privateKey);
    const t2 = signTx(await buildTransfer(node.chain, key.pubkey, other.address, 200_000_000n), key.privateKey);
    await node.chain.submitTx(t1);
    const conflict = await node.chain.submitTx(t2).then(() => undefined, (e: unknown) => e);
    assert.ok(conflict instanceof ConsensusError && conflict.code === 'double-spend');
    const mapped = toRpcError(conflict);
    assert.equal(mapped.code, RpcCode.VERIFY_REJECTED);
    assert.equal((mapped.data as Json).code, 'double-spend');
    const again = await node.chain.submitTx(t1).then(() => undefined, (e: unknown) => e);
    assert.equal(toRpcError(again).code, RpcCode.VERIFY_ALREADY_IN_CHAIN);
    assert.equal(toRpcError(new ConsensusError('bad-signature', 'x')).code, RpcCode.VERIFY_ERROR);
    assert.equal(toRpcError(new ConsensusError('bad-key', 'x')).code, RpcCode.INVALID_ADDRESS_OR_KEY);
    for (const code of ['sql-refused', 'sql-unpaid', 'stale-base', 'missing-input', 'not-owner', 'unbalanced'] as const) {
      assert.equal(toRpcError(new ConsensusError(code, 'x')).code, RpcCode.VERIFY_REJECTED, code);
    }
    // Anything unexpected: -32603 and nothing of the internals.
    const internal = toRpcError(new Error('ER_SOMETHING at /secret/path.ts:12'));
    assert.equal(internal.code, RpcCode.INTERNAL_ERROR);
    assert.doesNotMatch(internal.message, /secret/);
    await ok('canceltx', [t1.id], true);
  });

  test('getnodeinfo', async () => {
    const i = await ok('getnodeinfo');
    assert.equal(i.version, '0.1.0');
    assert.equal(i.datadir, env.datadir);
    assert.equal(i.rpcPort, node.rpcPort);
    assert.equal(i.height, 1);
    assert.equal(i.pool, 0);
    assert.deepEqual(i.peers, []);
    assert.equal(i.minter, minter);
    assert.equal(i.mining, false);
    assert.equal(i.rebasesPending, 0);
    assert.equal(typeof i.uptime, 'number');
  });

  test('protocol errors: -32601 unknown method, -32700 malformed JSON, -32600 invalid request, oversized body', async () => {
    const unknown = await fails('nosuchmethod', [], RpcCode.METHOD_NOT_FOUND);
    assert.match(unknown.message, /nosuchmethod/);

    const bad = await request(app).post('/rpc').set('content-type', 'application/json').send('{"jsonrpc":"2.0", "id": 1, "method":');
    assert.equal(bad.status, 200);
    assert.equal(bad.body.error.code, RpcCode.PARSE_ERROR);
    assert.equal(bad.body.id, null);
    const noType = await request(app).post('/rpc').send('not json at all');
    assert.equal(noType.body.error.code, RpcCode.PARSE_ERROR);

    for (const body of [{ id: 1, method: 'getblockcount' }, { jsonrpc: '2.0', id: 1, method: 5 }, 5, null, 'x']) {
      const r = await post(body);
      assert.equal(r.body.error.code, RpcCode.INVALID_REQUEST, JSON.stringify(body));
    }

    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getbalance', params: ['x'.repeat(MAX_RPC_BODY_BYTES)] });
    const tooBig = await request(app).post('/rpc').set('content-type', 'application/json').send(big);
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.body.error.code, RpcCode.INVALID_REQUEST);
    assert.match(tooBig.body.error.message, /larger than/);

    const get = await request(app).get('/rpc');
    assert.equal(get.status, 405);
  });

  test('batches: answered in order, notifications get no answer, an empty batch is invalid', async () => {
    const r = await post([
      { jsonrpc: '2.0', id: 'a', method: 'getblockcount' },
      { jsonrpc: '2.0', method: 'getblockcount' },
      { jsonrpc: '2.0', id: 'b', method: 'nosuchmethod' },
      { jsonrpc: '2.0', id: 'c', method: 'getblockhash', params: [0] },
      42,
    ]);
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body));
    assert.deepEqual(r.body.map((x: Json) => x.id), ['a', 'b', 'c', null]);
    assert.equal(r.body[0].result, 1);
    assert.equal(r.body[1].error.code, RpcCode.METHOD_NOT_FOUND);
    assert.equal(r.body[2].result, node.chain.genesis);
    assert.equal(r.body[3].error.code, RpcCode.INVALID_REQUEST);

    const single = await post([{ jsonrpc: '2.0', id: 1, method: 'getblockcount' }]);
    assert.ok(Array.isArray(single.body), 'a batch of one is still answered with an array');

    const notes = await post([{ jsonrpc: '2.0', method: 'getblockcount' }]);
    assert.equal(notes.status, 204);

    const empty = await post([]);
    assert.equal(empty.body.error.code, RpcCode.INVALID_REQUEST);
  });

  test('stop answers, then stops the node', async () => {
    const r = await call('stop', [], true);
    assert.equal(r.result, 'OurSQL node stopping');
    await node.stopped;
  });
});
