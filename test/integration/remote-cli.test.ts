// The real `oursql-remote` binary against a real node on the real MariaDB: keys made and kept in
// the encrypted keystore, coins sent and SQL run in two steps over JSON-RPC (signed by the remote
// key, never sent), mined with the RPC `mine`, balances moving exactly; refusals exit 1 and pool
// nothing.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressOf, bytesToHex, newPrivateKey, publicKeyOf } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { corruptAddress, freePort, tempNodeDir } from '../helpers/node.ts';
import { oursqlRemote, rpcCaller } from '../helpers/remote.ts';

/** One block per transaction from height 1: each send can be mined on its own. */
const CONSENSUS = { CoinsForBlockMade: 10, Settings: { Complexity: 8, ComplexityStep2: 8, MaxMinNumberTransactionInBlock: 1 } };
const PASSPHRASE = 'correct horse battery staple';

describe('oursql-remote against a running node', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let dir = '';
  let url = '';
  let minter = '';
  let rpc: ReturnType<typeof rpcCaller>;
  let mine: () => Promise<any>;
  let remote = { address: '', pubkey: '' };

  /** `passphrase` null: none given (as a script without OURSQL_PASSPHRASE). */
  const run = (args: string[], passphrase: string | null = PASSPHRASE) =>
    oursqlRemote([...args, '--dir', dir], { OURSQL_PASSPHRASE: passphrase ?? undefined });
  /** Exit 0 and one JSON object on stdout. */
  const json = async (...args: string[]): Promise<any> => {
    const r = await run([...args, '--json']);
    assert.equal(r.code, 0, `oursql-remote ${args.join(' ')} failed: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `one JSON line expected, got: ${r.stdout}`);
    return JSON.parse(lines[0]);
  };
  /** Exit 1, nothing on stdout, one clear line on stderr (no stack trace). */
  const failing = async (args: string[], passphrase: string | null = PASSPHRASE): Promise<string> => {
    const r = await run([...args, '--json'], passphrase);
    assert.equal(r.code, 1, `oursql-remote ${args.join(' ')} should fail; stdout: ${r.stdout}`);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[lines.length - 1], /^error: /);
    return lines[lines.length - 1];
  };
  const balance = (address: string) => json('getbalance', address);

  before(async () => {
    env = await tempNodeDir('remote');
    await writeFile(env.consensusFile, JSON.stringify(CONSENSUS));
    minter = (await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile })).minter;
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    url = `http://127.0.0.1:${node.rpcPort}/rpc`;
    rpc = rpcCaller(url, node.cookie);
    mine = () => rpc('mine');
    dir = await mkdtemp(join(tmpdir(), 'oursql-remote-'));
  });

  after(async () => {
    await node?.stop();
    await env?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('createwallet makes an encrypted keystore: address and pubkey printed, no private key on disk in clear', async () => {
    remote = await json('createwallet');
    assert.match(remote.address, /^1/);
    assert.match(remote.pubkey, /^0[23][0-9a-f]{64}$/);
    assert.equal(addressOf(remote.pubkey), remote.address);
    assert.deepEqual(await json('listaddresses'), { addresses: [remote] });

    const exported = await json('exportwallet');
    const priv: string = exported.keys[0].privateKey;
    assert.equal(publicKeyOf(priv), remote.pubkey);
    const onDisk = await readFile(join(dir, 'keystore.json'), 'utf8');
    assert.ok(!onDisk.toLowerCase().includes(priv), 'the private key hex is not in the keystore');
    assert.ok(!onDisk.includes(Buffer.from(priv, 'hex').toString('base64')), 'nor its base64');
    assert.match(onDisk, /"scrypt"/);
  });

  test('a wrong passphrase is a clear error with exit 1, and no passphrase without a terminal too', async () => {
    assert.match(await failing(['exportwallet'], 'not the passphrase'), /wrong passphrase/);
    assert.match(await failing(['createwallet'], 'not the passphrase'), /wrong passphrase/);
    assert.match(await failing(['exportwallet'], null), /OURSQL_PASSPHRASE/);
    assert.equal((await json('listaddresses')).addresses.length, 1, 'nothing was added');
  });

  test('setnode pins the node and its chain; getbalance prints address, approved, pending, total', async () => {
    const r = await json('setnode', `127.0.0.1:${node.rpcPort}`);
    assert.equal(r.node, url);
    assert.equal(r.chain, node.chain.genesis);
    assert.equal(r.consensus, node.consensus.hash);
    const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(saved, { node: url, chain: node.chain.genesis, consensus: node.consensus.hash });
    assert.deepEqual(await json('getbalance'), { address: remote.address, approved: '0', pending: '0', total: '0' });
    assert.match(await failing(['setnode', `127.0.0.1:${await freePort()}`]), /cannot reach the node/);
    assert.equal(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).node, url, 'a node that does not answer is not saved');
  });

  test('send --to ADDR --amount 1: pooled, mined with RPC mine, both balances move exactly', async () => {
    await rpc('sendtoaddress', { from: minter, to: remote.address, amount: '5' });
    await mine();
    assert.deepEqual(await balance(remote.address), { address: remote.address, approved: '5', pending: '0', total: '5' });
    const minterBefore = await balance(minter);

    const r = await run(['send', '--to', minter, '--amount', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const sent = JSON.parse(r.stdout);
    assert.deepEqual({ ...sent, txid: undefined }, { txid: undefined, from: remote.address, to: minter, amount: '1' });
    assert.match(r.stderr, /OurSQL signed transaction v1\n\{"chain":/, 'the exact message is shown before signing');
    assert.match(r.stderr, /Checked: 1 coins from/);

    assert.deepEqual(await rpc('getrawmempool'), [sent.txid]);
    const tx = await rpc('gettransaction', [sent.txid]);
    assert.equal(tx.body.from, remote.pubkey, 'signed by the remote key');
    assert.deepEqual(await balance(remote.address), { address: remote.address, approved: '5', pending: '-1', total: '4' });

    const m = await mine();
    assert.equal(m.txs, 1);
    assert.equal((await rpc('gettransaction', [sent.txid])).status, 'confirmed');
    assert.deepEqual(await balance(remote.address), { address: remote.address, approved: '4', pending: '0', total: '4' });
    const minterAfter = await balance(minter);
    // The minter got 1 coin from the remote key and 10 for mining the block.
    assert.equal(Number(minterAfter.approved) - Number(minterBefore.approved), 11);
  });

  test('insufficient funds, a bad address, a bad amount: exit 1 with a clear message, nothing pooled', async () => {
    assert.match(await failing(['send', '--to', minter, '--amount', '100']), /insufficient funds: .* has 4 coins, 100 needed \(code -6\)/);
    assert.match(await failing(['send', '--to', corruptAddress(minter), '--amount', '1']), /not a valid OurSQL address/);
    assert.match(await failing(['send', '--to', minter, '--amount', '0.123456789']), /at most 8 decimals/);
    assert.match(await failing(['send', '--to', minter, '--amount', '1', '--from', corruptAddress(remote.address)]), /not a valid OurSQL address/);
    assert.match(await failing(['send', '--to', minter, '--amount', '1'], 'wrong'), /wrong passphrase/);
    assert.match(await failing(['getbalance', 'nonsense']), /not a valid OurSQL address/);
    assert.deepEqual(await rpc('getrawmempool'), []);
  });

  test('sql "INSERT ...": the row appears in the node\'s MySQL, the tx is signed by the remote key', async () => {
    const created = await json('sql', 'CREATE TABLE guestbook (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), at DATETIME)');
    assert.equal(created.from, remote.address);
    const ins = await json('sql', "INSERT INTO guestbook (name, at) VALUES ('remote', NOW())");
    assert.deepEqual({ ...ins, txid: undefined }, { txid: undefined, from: remote.address, pubkey: remote.pubkey, affectedRows: 1, insertId: '1' });
    const c = await rootConnection();
    try {
      const [rows] = await c.query(`SELECT id, name FROM \`${env.db.name}\`.guestbook`);
      assert.deepEqual(rows, [{ id: 1, name: 'remote' }]);
    } finally {
      await c.end();
    }
    const tx = await rpc('gettransaction', [ins.txid]);
    assert.equal(tx.body.from, remote.pubkey);
    assert.equal(tx.from, remote.address);
    assert.match(tx.body.sql.stmts[0], /'remote'/);
    assert.deepEqual((await rpc('getrawmempool')).sort(), [created.txid, ins.txid].sort());
    await mine();
    assert.equal((await rpc('gettransaction', [ins.txid])).status, 'confirmed');

    assert.match(await failing(['sql', 'SELECT * FROM guestbook']), /only a replicated update/);
    assert.match(await failing(['sql', 'INSERT INTO nosuch (a) VALUES (1)']), /nosuch/);
    assert.match(await failing(['sql', "INSERT INTO guestbook (name) VALUES ('x')", '--from', addressOf(publicKeyOf(newPrivateKey()))]), /not in the keystore/);
  });

  test('history and unspent of an address', async () => {
    const h = await json('history', remote.address);
    assert.equal(h.address, remote.address);
    assert.deepEqual(h.txs.map((t: any) => t.net), ['0', '0', '-1', '5'], 'insert, create, send, funding: newest first');
    assert.ok(h.txs.every((t: any) => t.status === 'confirmed'));
    assert.equal((await json('history', remote.address, '--count', '1', '--skip', '2')).txs[0].net, '-1');
    const u = await json('unspent', remote.address);
    assert.equal(u.address, remote.address);
    assert.deepEqual(u.unspent.map((x: any) => x.amount), ['4']);
    assert.match(await failing(['history', corruptAddress(remote.address)]), /not a valid OurSQL address/);
  });

  test('importwallet a file or --private-key, listbalances, send --from the imported key', async () => {
    const priv = newPrivateKey();
    const imported = { address: addressOf(publicKeyOf(priv)), pubkey: publicKeyOf(priv) };
    const r = await json('importwallet', '--private-key', priv);
    assert.deepEqual(r, { imported: [imported], known: [] });
    assert.deepEqual(await json('importwallet', '--private-key', priv.toUpperCase()), { imported: [], known: [imported.address] });
    assert.match(await failing(['importwallet', '--private-key', 'abc']), /private key must be 64/);

    // A file exportwallet writes imports into another keystore; private keys never in clear there.
    const file = join(dir, 'export.json');
    assert.deepEqual(await json('exportwallet', file), { file, count: 2 });
    assert.match(await failing(['exportwallet', file]), /does not overwrite/);
    const other = await mkdtemp(join(tmpdir(), 'oursql-remote-other-'));
    try {
      const again = await oursqlRemote(['importwallet', file, '--dir', other, '--json'], { OURSQL_PASSPHRASE: 'another one' });
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(JSON.parse(again.stdout).imported.map((k: any) => k.address), [remote.address, imported.address]);
      const disk = await readFile(join(other, 'keystore.json'), 'utf8');
      assert.ok(!disk.includes(priv) && !disk.includes(bytesToHex(Buffer.from(priv, 'hex'))));
    } finally {
      await rm(other, { recursive: true, force: true });
    }

    await rpc('sendtoaddress', { from: minter, to: imported.address, amount: '2' });
    await mine();
    const all = await json('listbalances');
    assert.deepEqual(all.balances.map((b: any) => [b.address, b.total]), [[remote.address, '4'], [imported.address, '2']]);
    const sent = await json('send', '--from', imported.address, '--to', remote.address, '--amount', '0.5');
    assert.equal(sent.from, imported.address);
    assert.equal((await rpc('gettransaction', [sent.txid])).body.from, imported.pubkey);
    await mine();
    assert.deepEqual(await balance(imported.address), { address: imported.address, approved: '1.5', pending: '0', total: '1.5' });
    assert.deepEqual(await balance(remote.address), { address: remote.address, approved: '4.5', pending: '0', total: '4.5' });
  });

  test('a node on another chain than the pinned one is refused before signing', async () => {
    const otherEnv = await tempNodeDir('remote2');
    await writeFile(otherEnv.consensusFile, JSON.stringify(CONSENSUS));
    await initNode({ datadir: otherEnv.datadir, mysql: otherEnv.db.url, consensusFile: otherEnv.consensusFile });
    const other = await OursqlNode.start({ datadir: otherEnv.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    try {
      const e = await failing(['send', '--to', minter, '--amount', '1', '--node', `http://127.0.0.1:${other.rpcPort}/rpc`]);
      assert.match(e, /refused to sign: .*pinned to/);
      assert.deepEqual(await rpcCaller(`http://127.0.0.1:${other.rpcPort}/rpc`)('getrawmempool'), []);
    } finally {
      await other.stop();
      await otherEnv.cleanup();
    }
  });
});
