// The JSON-RPC methods of issue 5 against an in-process node on the real MariaDB: addresses,
// history, peers, consensus and the two-step flow for key holders (prepare → sign here →
// submitsigned), each with its happy path, its error codes, auth, batches and limits. Every answer
// is checked against the method's declared result schema (the one docs/rpc.md is generated from).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import type { Express } from 'express';
import {
  blockHash, bytesToHex, canonicalize, hexToBytes, parseConsensusConfig, secp, sha256, signStringToSign, signedMessage,
  signedMessageText, txidOf, utf8Decode, type TransferBody,
} from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { METHODS } from '../../server/rpc/dispatch.ts';
import { RpcCode } from '../../server/rpc/errors.ts';
import { createRpcApp, MAX_RPC_BODY_BYTES } from '../../server/rpc/server.ts';
import { newKey, type TestKey } from '../helpers/chain.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { corruptAddress, tempNodeDir } from '../helpers/node.ts';

type Json = Record<string, any>;

/** One block per transaction from height 1, so each test can mine what it pooled. */
const CONSENSUS = { CoinsForBlockMade: 10, Settings: { Complexity: 8, ComplexityStep2: 8, MaxMinNumberTransactionInBlock: 1 }, UnmanagedTables: ['scratch'] };

describe('JSON-RPC API: addresses, peers, consensus, two steps for key holders', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let app: Express;
  let minter = '';
  let cookie: [string, string];
  const client: TestKey = newKey();
  const stranger: TestKey = newKey();

  const post = (body: unknown, auth = false) => {
    const r = request(app).post('/rpc').set('content-type', 'application/json');
    return (auth ? r.auth(cookie[0], cookie[1]) : r).send(JSON.stringify(body));
  };
  const call = async (method: string, params?: unknown, auth = false): Promise<Json> => {
    const res = await post({ jsonrpc: '2.0', id: 3, method, params }, auth);
    assert.equal(res.status, 200, `${method}: HTTP ${res.status} ${res.text}`);
    assert.equal(res.body.id, 3);
    return res.body;
  };
  /** A successful call whose result fits the method's declared result schema. */
  const ok = async (method: string, params?: unknown, auth = false): Promise<any> => {
    const b = await call(method, params, auth);
    assert.equal(b.error, undefined, `${method} failed: ${JSON.stringify(b.error)}`);
    const shape = METHODS[method].result.safeParse(b.result);
    assert.ok(shape.success, `${method} result does not fit its schema: ${JSON.stringify(shape.error?.issues)} in ${JSON.stringify(b.result)}`);
    return b.result;
  };
  const fails = async (method: string, params: unknown, code: number, auth = false): Promise<Json> => {
    const b = await call(method, params, auth);
    assert.ok(b.error, `${method} should fail with ${code}, got ${JSON.stringify(b.result)}`);
    assert.equal(b.error.code, code, `${method}: ${b.error.message} ${JSON.stringify(b.error.data)}`);
    assert.doesNotMatch(b.error.message, /\n\s+at /, 'no stack trace');
    return b.error;
  };
  const pool = (): Promise<string[]> => ok('getrawmempool');
  const mine = () => ok('mine', [], true);
  const sign = (prepared: { stringToSign: string }, key: TestKey = client) => signStringToSign(prepared.stringToSign, key.priv);
  const bodyOf = (prepared: { transaction: string }): TransferBody => JSON.parse(utf8Decode(hexToBytes(prepared.transaction)));
  /** Re-encodes a changed body as step one would have (canonical JSON hex). */
  const hexOf = (body: TransferBody): { transaction: string; stringToSign: string } => {
    const raw = canonicalize(body);
    return { transaction: bytesToHex(new TextEncoder().encode(raw)), stringToSign: bytesToHex(signedMessage(raw)) };
  };
  const rows = async (sql: string): Promise<any[]> => {
    const c = await rootConnection();
    try {
      return (await c.query(sql))[0] as any[];
    } finally {
      await c.end();
    }
  };
  /** Two steps for an update signed by `key`. */
  const runSql = async (sql: string, key: TestKey = client) => {
    const p = await ok('preparesql', { pubkey: key.pub, sql });
    return ok('submitsigned', { transaction: p.transaction, signature: sign(p, key) });
  };

  before(async () => {
    env = await tempNodeDir('rpcapi');
    await writeFile(env.consensusFile, JSON.stringify(CONSENSUS));
    minter = (await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile })).minter;
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    app = createRpcApp(node);
    const i = node.cookie.indexOf(':');
    cookie = [node.cookie.slice(0, i), node.cookie.slice(i + 1)];
    // The client key holds 5 coins, confirmed.
    await ok('sendtoaddress', { from: minter, to: client.address, amount: '5' }, true);
    await mine();
  });

  after(async () => {
    await node?.stop();
    await env?.cleanup();
  });

  test('getconsensus: the config with its hash, which the genesis block commits to', async () => {
    const c = await ok('getconsensus');
    assert.equal(c.hash, node.consensus.hash);
    assert.equal(c.genesis, node.chain.genesis);
    assert.equal(parseConsensusConfig(c.config).hash, c.hash, 'a client can recompute the hash');
    assert.deepEqual(c.config.UnmanagedTables, ['scratch']);
    const genesis = await ok('getblock', [c.genesis, 0]);
    assert.equal(blockHash(genesis.header), c.genesis);
    assert.equal(genesis.header.prev, c.hash);
    await fails('getconsensus', ['x'], RpcCode.INVALID_PARAMS);
  });

  test('validateaddress: valid, wrong checksum, not an address; never an error', async () => {
    assert.deepEqual(await ok('validateaddress', [client.address]), { isvalid: true, address: client.address });
    const bad = await ok('validateaddress', { address: corruptAddress(client.address) });
    assert.equal(bad.isvalid, false);
    assert.match(bad.error, /checksum/);
    assert.equal((await ok('validateaddress', [''])).isvalid, false);
    await fails('validateaddress', [5], RpcCode.INVALID_PARAMS);
    await fails('validateaddress', [], RpcCode.INVALID_PARAMS);
  });

  test('preparesend → signed here → submitsigned: pooled, balances move, mined; the private key never travels', async () => {
    const p = await ok('preparesend', { from: client.pub, to: stranger.address, amount: '1.25' });
    const body = bodyOf(p);
    const raw = utf8Decode(hexToBytes(p.transaction));
    assert.equal(p.txid, txidOf(raw));
    assert.equal(p.text, signedMessageText(raw));
    assert.equal(p.stringToSign, bytesToHex(signedMessage(raw)));
    assert.equal(body.from, client.pub);
    assert.equal(body.chain, node.chain.genesis);
    assert.deepEqual(body.out, [{ to: stranger.address, amount: '125000000' }, { to: client.address, amount: '375000000' }]);
    assert.deepEqual(await pool(), [], 'step one pools nothing');

    const r = await ok('submitsigned', { transaction: p.transaction, signature: sign(p) });
    assert.deepEqual(r, { txid: p.txid });
    assert.deepEqual(await pool(), [p.txid]);
    assert.deepEqual(await ok('getbalance', [client.address]), { address: client.address, approved: '5', pending: '-1.25', total: '3.75' });
    assert.deepEqual(await ok('getbalance', [stranger.address]), { address: stranger.address, approved: '0', pending: '1.25', total: '1.25' });
    const again = await fails('submitsigned', [p.transaction, sign(p)], RpcCode.VERIFY_ALREADY_IN_CHAIN);
    assert.equal(again.data.code, 'duplicate-tx');

    await mine();
    assert.deepEqual(await ok('getbalance', [client.address]), { address: client.address, approved: '3.75', pending: '0', total: '3.75' });
    assert.deepEqual(await ok('getbalance', [stranger.address]), { address: stranger.address, approved: '1.25', pending: '0', total: '1.25' });
    assert.equal((await ok('gettransaction', [p.txid])).status, 'confirmed');
    await fails('submitsigned', [p.transaction, sign(p)], RpcCode.VERIFY_ALREADY_IN_CHAIN);

    // A 65-byte public key is accepted and compressed; a compact (r‖s) signature is accepted.
    const uncompressed = bytesToHex(secp.getPublicKey(hexToBytes(stranger.priv), false));
    const q = await ok('preparesend', [uncompressed, client.address, 0.25]);
    assert.equal(bodyOf(q).from, stranger.pub);
    const compact = bytesToHex(secp.sign(sha256(hexToBytes(q.stringToSign)), hexToBytes(stranger.priv), { prehash: false }));
    assert.deepEqual(await ok('submitsigned', { transaction: q.transaction, signature: compact.toUpperCase() }), { txid: q.txid });
    await mine();
  });

  test('preparesend errors: -6 insufficient funds (nothing pooled), -5 bad key or address, -3 bad amount, -32602 params', async () => {
    const e = await fails('preparesend', { from: client.pub, to: stranger.address, amount: '1000' }, RpcCode.INSUFFICIENT_FUNDS);
    assert.equal(e.data.code, 'insufficient-funds');
    assert.equal(e.data.address, client.address);
    assert.deepEqual(await pool(), []);
    assert.equal((await fails('preparesend', { from: 'ab'.repeat(33), to: stranger.address, amount: '1' }, RpcCode.INVALID_ADDRESS_OR_KEY)).data.code, 'bad-key');
    assert.equal((await fails('preparesend', { from: client.address, to: stranger.address, amount: '1' }, RpcCode.INVALID_ADDRESS_OR_KEY)).data.code, 'bad-key');
    assert.equal((await fails('preparesend', [client.pub, corruptAddress(stranger.address), '1'], RpcCode.INVALID_ADDRESS_OR_KEY)).data.code, 'bad-address');
    for (const amount of ['0', '-1', '1.000000001', 'lots']) await fails('preparesend', [client.pub, stranger.address, amount], RpcCode.TYPE_ERROR);
    await fails('preparesend', [client.pub, stranger.address], RpcCode.INVALID_PARAMS);
    await fails('preparesend', { from: client.pub, to: stranger.address, amount: '1', fee: '1' }, RpcCode.INVALID_PARAMS);
  });

  test('submitsigned refusals: wrong key -25, changed body -25, unbalanced -26, double spend -26, not a body -22, not hex -32602', async () => {
    const p = await ok('preparesend', [client.pub, stranger.address, '1']);
    // Signed by another key than the body's `from`.
    assert.equal((await fails('submitsigned', [p.transaction, sign(p, stranger)], RpcCode.VERIFY_ERROR)).data.code, 'bad-signature');
    assert.equal((await fails('submitsigned', [p.transaction, 'abcd'], RpcCode.VERIFY_ERROR)).data.code, 'bad-signature');
    // The body changed after signing: the signature no longer covers it.
    const body = bodyOf(p);
    const richer = hexOf({ ...body, out: [{ to: stranger.address, amount: '200000000' }, body.out[1]] });
    assert.equal((await fails('submitsigned', [richer.transaction, sign(p)], RpcCode.VERIFY_ERROR)).data.code, 'bad-signature');
    // Signed, but the outputs exceed the inputs.
    const unbalanced = (await fails('submitsigned', [richer.transaction, sign(richer)], RpcCode.VERIFY_REJECTED)).data;
    assert.equal(unbalanced.code, 'unbalanced');
    // Two bodies prepared before either is pooled spend the same coin: the second is a double spend.
    const q = await ok('preparesend', [client.pub, stranger.address, '0.5']);
    await ok('submitsigned', [p.transaction, sign(p)]);
    assert.equal((await fails('submitsigned', [q.transaction, sign(q)], RpcCode.VERIFY_REJECTED)).data.code, 'double-spend');
    assert.deepEqual(await pool(), [p.txid]);

    assert.equal((await fails('submitsigned', [bytesToHex(new TextEncoder().encode('{"not":"a body"}')), sign(p)], RpcCode.DESERIALIZATION_ERROR)).data.code, 'bad-encoding');
    assert.equal((await fails('submitsigned', [p.transaction.replace(/^7b/, '20'), sign(p)], RpcCode.DESERIALIZATION_ERROR)).data.code, 'bad-encoding');
    await fails('submitsigned', ['zz', sign(p)], RpcCode.INVALID_PARAMS);
    await fails('submitsigned', [p.transaction], RpcCode.INVALID_PARAMS);
    await mine();
  });

  test('preparesql → submitsigned: the update runs on the node\'s MySQL, signed by the client key', async () => {
    const created = await runSql('CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(100))');
    assert.match(created.txid, /^[0-9a-f]{64}$/);
    const p = await ok('preparesql', { pubkey: client.pub, sql: "INSERT INTO notes (body) VALUES ('from afar')" });
    const body = bodyOf(p);
    assert.equal(body.from, client.pub);
    assert.equal(body.sql!.stmts.length, 1);
    assert.match(body.sql!.stmts[0], /from afar/);
    assert.deepEqual(body.sql!.refs, ['notes:1']);
    assert.deepEqual(await rows(`SELECT * FROM \`${env.db.name}\`.notes`), [], 'step one executes nothing');
    const r = await ok('submitsigned', { transaction: p.transaction, signature: sign(p) });
    assert.deepEqual(r, { txid: p.txid, affectedRows: 1, insertId: '1' });
    assert.deepEqual(await rows(`SELECT id, body FROM \`${env.db.name}\`.notes`), [{ id: 1, body: 'from afar' }]);
    const tx = await ok('gettransaction', [p.txid]);
    assert.equal(tx.status, 'pool');
    assert.equal(tx.from, client.address);
    assert.equal(tx.body.from, client.pub);
    assert.deepEqual((await pool()).slice(-2), [created.txid, p.txid]);
    await fails('submitsigned', [p.transaction, sign(p)], RpcCode.VERIFY_ALREADY_IN_CHAIN);
    await mine();
    assert.equal((await ok('gettransaction', [p.txid])).status, 'confirmed');
  });

  test('preparesql refusals: reads and transaction statements -8, unmanaged -8, MySQL errors -1 with errno, bad key -5', async () => {
    for (const sql of ['SELECT 1', 'BEGIN', 'LOAD DATA INFILE "/etc/passwd" INTO TABLE notes', 'CREATE TABLE scratch (a INT)']) {
      const e = await fails('preparesql', { pubkey: client.pub, sql }, RpcCode.INVALID_PARAMETER);
      assert.ok(e.message.length > 10, e.message);
    }
    const missing = await fails('preparesql', [client.pub, 'INSERT INTO nosuch (a) VALUES (1)'], RpcCode.MISC_ERROR);
    assert.equal(missing.data.errno, 1146);
    assert.match(missing.message, /nosuch/);
    await fails('preparesql', ['02' + '00'.repeat(32), "INSERT INTO notes (body) VALUES ('x')"], RpcCode.INVALID_ADDRESS_OR_KEY);
    await fails('preparesql', [client.pub, ''], RpcCode.INVALID_PARAMS);
    assert.deepEqual(await pool(), []);
  });

  test('submitsigned for updates: a bad signature executes nothing (-25); rows changed since step one -26; older than 10 minutes -26', async () => {
    const p = await ok('preparesql', [client.pub, "UPDATE notes SET body = 'first' WHERE id = 1"]);
    const q = await ok('preparesql', [client.pub, "UPDATE notes SET body = 'second' WHERE id = 1"]);
    await fails('submitsigned', [p.transaction, sign(p, stranger)], RpcCode.VERIFY_ERROR);
    assert.deepEqual(await rows(`SELECT body FROM \`${env.db.name}\`.notes`), [{ body: 'from afar' }], 'not executed');
    await ok('submitsigned', [p.transaction, sign(p)]);
    const stale = await fails('submitsigned', [q.transaction, sign(q)], RpcCode.VERIFY_REJECTED);
    assert.equal(stale.data.errno, 4106);
    assert.match(stale.message, /step 1 again/);
    assert.deepEqual(await rows(`SELECT body FROM \`${env.db.name}\`.notes`), [{ body: 'first' }]);

    const old = await ok('preparesql', [client.pub, "UPDATE notes SET body = 'late' WHERE id = 1"]);
    const aged = hexOf({ ...bodyOf(old), time: Date.now() - 11 * 60_000 });
    const late = await fails('submitsigned', [aged.transaction, sign(aged)], RpcCode.VERIFY_REJECTED);
    assert.equal(late.data.errno, 4106);
    assert.match(late.message, /older than 10 minutes/);
    await mine();
  });

  test('getaddressinfo, listunspent, getaddresshistory for any address; -5 for a bad one', async () => {
    // client: +5 (funding), -1.25 to stranger, +0.25 from stranger, -1 to stranger, SQL txs (no coins).
    const info = await ok('getaddressinfo', [client.address]);
    assert.deepEqual(info, { address: client.address, approved: '3', pending: '0', total: '3', outputs: 2, pooledTxs: 0 });
    const unspent = await ok('listunspent', [client.address]);
    assert.deepEqual(unspent.map((u: Json) => u.amount).sort(), ['0.25', '2.75']);
    assert.ok(unspent.every((u: Json) => u.confirmations >= 1 && u.address === client.address && u.height >= 1));

    const p = await ok('preparesend', [client.pub, stranger.address, '0.5']);
    await ok('submitsigned', [p.transaction, sign(p)]);
    const pooledInfo = await ok('getaddressinfo', { address: client.address });
    assert.equal(pooledInfo.pooledTxs, 1);
    assert.equal(pooledInfo.total, '2.5');
    const withPool = await ok('listunspent', { address: client.address });
    const change = withPool.find((u: Json) => u.txid === p.txid);
    // Oldest coins first: 0.25 and 2.75 pay 0.5, 2.5 comes back.
    assert.deepEqual({ ...change }, { txid: p.txid, n: 1, address: client.address, amount: '2.5', height: null, confirmations: 0 });
    assert.deepEqual(await ok('listunspent', { address: client.address, minconf: 1 }), withPool.filter((u: Json) => u.confirmations >= 1));

    const h = await ok('getaddresshistory', [client.address]);
    assert.equal(h.address, client.address);
    assert.equal(h.txs[0].txid, p.txid, 'pending first');
    assert.equal(h.txs[0].status, 'pool');
    assert.deepEqual([h.txs[0].received, h.txs[0].sent, h.txs[0].net], ['2.5', '3', '-0.5']);
    const last = h.txs[h.txs.length - 1];
    assert.deepEqual([last.from, last.received, last.net, last.height], [minter, '5', '5', 1], 'the funding tx is the oldest');
    const sqlTxs = h.txs.filter((t: Json) => t.sql);
    assert.equal(sqlTxs.length, 3, 'CREATE, INSERT and UPDATE signed by the client');
    assert.ok(sqlTxs.every((t: Json) => t.net === '0' && t.from === client.address));
    const nets = h.txs.reduce((s: number, t: Json) => s + Number(t.net) * 1e8, 0);
    assert.equal(nets, 2.5e8, 'the history adds up to the total');
    assert.equal(h.total, h.txs.length);
    const page = await ok('getaddresshistory', { address: client.address, skip: 1, count: 2 });
    assert.deepEqual(page.txs.map((t: Json) => t.txid), h.txs.slice(1, 3).map((t: Json) => t.txid));
    assert.equal(page.total, h.total);

    // A chain stored before the address index existed gets it built at open (its rows all in the tables).
    await node.chain.flush();
    await node.chain.store.mysql.query(`DELETE FROM ${node.chain.store.db}.addr_txs`);
    await node.chain.store.mysql.query(`DELETE FROM ${node.chain.store.db}.meta WHERE k = 'addr_index'`);
    assert.deepEqual((await ok('getaddresshistory', [client.address])).txs.filter((t: Json) => t.status === 'confirmed'), []);
    await node.chain.store.buildAddressIndex(() => {});
    assert.deepEqual(await ok('getaddresshistory', [client.address]), h);

    const minterHistory = await ok('getaddresshistory', [minter]);
    assert.ok(minterHistory.txs.some((t: Json) => t.from === null && t.height === 0), 'the genesis coinbase');
    assert.deepEqual((await ok('getaddresshistory', [newKey().address])).txs, []);

    for (const m of ['getaddressinfo', 'listunspent', 'getaddresshistory']) {
      assert.equal((await fails(m, [corruptAddress(client.address)], RpcCode.INVALID_ADDRESS_OR_KEY)).data.code, 'bad-address');
      await fails(m, [], RpcCode.INVALID_PARAMS);
    }
    await fails('getaddresshistory', { address: client.address, count: 1001 }, RpcCode.INVALID_PARAMS);
    await fails('listunspent', { address: client.address, minconf: -1 }, RpcCode.INVALID_PARAMS);
    await mine();
  });

  test('peers: addnode/removenode need auth; getpeerinfo lists them; -23 already added, -24 not added, -32602 not HOST:PORT', async () => {
    assert.deepEqual(await ok('getpeerinfo'), []);
    assert.equal((await post({ jsonrpc: '2.0', id: 1, method: 'addnode', params: ['peer.example.org:8765'] })).status, 401);
    assert.equal((await post({ jsonrpc: '2.0', id: 1, method: 'removenode', params: ['peer.example.org:8765'] })).status, 401);
    const added = await ok('addnode', ['Peer.Example.org:8765'], true);
    assert.equal(added.addr, 'peer.example.org:8765');
    await ok('addnode', { node: '[::1]:9000' }, true);
    const list = await ok('getpeerinfo');
    assert.deepEqual(list.map((p: Json) => [p.addr, p.source, p.lastSeen, p.score]).sort(), [
      ['[::1]:9000', 'added', null, 0], ['peer.example.org:8765', 'added', null, 0],
    ]);
    // getnodeinfo lists connected peers: neither of these answers
    assert.deepEqual((await ok('getnodeinfo')).peers, []);
    assert.ok(list.every((p: Json) => p.connected === false && p.height === null && p.banned === false));
    const dup = await fails('addnode', ['peer.example.org:8765'], RpcCode.NODE_ALREADY_ADDED, true);
    assert.equal(dup.data.addr, 'peer.example.org:8765');
    for (const bad of ['nocolon', 'host:0', 'host:70000', 'a b:1', 'host:']) await fails('addnode', [bad], RpcCode.INVALID_PARAMS, true);
    assert.deepEqual(await ok('removenode', ['peer.example.org:8765'], true), { removed: 'peer.example.org:8765' });
    await fails('removenode', ['peer.example.org:8765'], RpcCode.NODE_NOT_ADDED, true);
    assert.deepEqual((await ok('getpeerinfo')).map((p: Json) => p.addr), ['[::1]:9000']);
  });

  test('auth: the two-step and address methods are open; wrong credentials are refused on them too', async () => {
    for (const m of ['getaddressinfo', 'listunspent', 'getaddresshistory', 'validateaddress', 'getpeerinfo', 'getconsensus', 'preparesend', 'preparesql', 'submitsigned']) {
      assert.equal(METHODS[m].auth, false, m);
      assert.notEqual((await post({ jsonrpc: '2.0', id: 1, method: m, params: [] })).status, 401, `${m} is open`);
    }
    const wrong = await request(app).post('/rpc').auth('__cookie__', 'nope').send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getconsensus' }));
    assert.equal(wrong.status, 401);
  });

  test('batches mix the new methods; one needing auth makes the batch need it; notifications get no answer', async () => {
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'validateaddress', params: [client.address] },
      { jsonrpc: '2.0', id: 2, method: 'getaddressinfo', params: [corruptAddress(client.address)] },
      { jsonrpc: '2.0', id: 3, method: 'preparesend', params: [client.pub, stranger.address, '0.1'] },
      { jsonrpc: '2.0', method: 'getpeerinfo' },
      { jsonrpc: '2.0', id: 4, method: 'nosuch' },
    ];
    const r = await post(batch);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.map((x: Json) => x.id), [1, 2, 3, 4]);
    assert.equal(r.body[0].result.isvalid, true);
    assert.equal(r.body[1].error.code, RpcCode.INVALID_ADDRESS_OR_KEY);
    assert.equal(bodyOf(r.body[2].result).from, client.pub);
    assert.equal(r.body[3].error.code, RpcCode.METHOD_NOT_FOUND);
    const guarded = await post([...batch.slice(0, 1), { jsonrpc: '2.0', id: 9, method: 'addnode', params: ['h:1'] }]);
    assert.equal(guarded.status, 401);
    assert.deepEqual((await ok('getpeerinfo')).map((p: Json) => p.addr), ['[::1]:9000'], 'nothing in the refused batch ran');
  });

  test('transport: malformed JSON -32700, oversized submitsigned 413, unknown method -32601', async () => {
    const bad = await request(app).post('/rpc').set('content-type', 'application/json').send('{"jsonrpc":"2.0","id":1,"method":"preparesend","params":[');
    assert.equal(bad.body.error.code, RpcCode.PARSE_ERROR);
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'submitsigned', params: ['ab'.repeat(MAX_RPC_BODY_BYTES / 2), 'ab'] });
    const tooBig = await request(app).post('/rpc').set('content-type', 'application/json').send(huge);
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.body.error.code, RpcCode.INVALID_REQUEST);
    // The largest body step one makes (1 MiB, 2 MiB as hex) fits under the limit.
    const large = await fails('submitsigned', ['20'.repeat(1024 * 1024 + 10), 'ab'], RpcCode.DESERIALIZATION_ERROR);
    assert.match(large.message, /larger than/);
    const unknown = await fails('submitsigend', [], RpcCode.METHOD_NOT_FOUND);
    assert.match(unknown.message, /submitsigend/);
  });
});

