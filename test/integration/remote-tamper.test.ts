// A tampering node: a real HTTP server in front of a real node that forwards every call and alters
// what step one returns (amount, recipient, extra output, signer, chain, statement, undo, the Text
// shown). oursql-remote must refuse before signing: exit 1, submitsigned never called, nothing
// pooled. The same command through the honest node then works.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  addressOf, bytesToHex, canonicalize, hexToBytes, newPrivateKey, publicKeyOf, signedMessage, signedMessageText, txidOf, utf8Decode,
  type TransferBody,
} from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { tempNodeDir } from '../helpers/node.ts';
import { oursqlRemote, rpcCaller } from '../helpers/remote.ts';

const CONSENSUS = { CoinsForBlockMade: 10, Settings: { Complexity: 8, ComplexityStep2: 8, MaxMinNumberTransactionInBlock: 1 } };
const ENV = { OURSQL_PASSPHRASE: 'tamper test' };

type Prepared = { transaction: string; stringToSign: string; txid: string; text: string };
type Alter = (method: string, result: any) => any;

/** A prepared answer with its body changed and every other field made to match (a careful liar). */
function rewrite(p: Prepared, change: (b: TransferBody) => TransferBody): Prepared {
  const raw = canonicalize(change(JSON.parse(utf8Decode(hexToBytes(p.transaction)))));
  return { transaction: bytesToHex(new TextEncoder().encode(raw)), stringToSign: bytesToHex(signedMessage(raw)), txid: txidOf(raw), text: signedMessageText(raw) };
}

describe('oursql-remote and a tampering node', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let double: Server;
  let nodeUrl = '';
  let doubleUrl = '';
  let dir = '';
  let minter = '';
  let remote = { address: '', pubkey: '' };
  let alter: Alter = (_m, r) => r;
  const submitted: string[] = [];
  const attacker = addressOf(publicKeyOf(newPrivateKey()));
  const otherKey = publicKeyOf(newPrivateKey());
  let rpc: ReturnType<typeof rpcCaller>;

  const remoteRun = (...args: string[]) => oursqlRemote([...args, '--dir', dir, '--json'], ENV);

  /** Runs `args` through the double with `how` altering answers: refused, nothing signed or pooled. */
  async function refused(how: Alter, args: string[], why: RegExp): Promise<void> {
    alter = how;
    submitted.length = 0;
    const poolBefore = await rpc('getrawmempool');
    const r = await remoteRun(...args, '--node', doubleUrl);
    alter = (_m, x) => x;
    assert.equal(r.code, 1, `should be refused, got: ${r.stdout}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.trim().split('\n').pop()!, why);
    assert.deepEqual(submitted, [], 'submitsigned was never called');
    assert.deepEqual(await rpc('getrawmempool'), poolBefore, 'nothing pooled');
  }

  before(async () => {
    env = await tempNodeDir('tamper');
    await writeFile(env.consensusFile, JSON.stringify(CONSENSUS));
    minter = (await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile })).minter;
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    nodeUrl = `http://127.0.0.1:${node.rpcPort}/rpc`;
    rpc = rpcCaller(nodeUrl, node.cookie);

    // The double: forwards each call to the node and passes the answer through `alter`.
    double = createServer(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      const request = JSON.parse(text);
      if (request.method === 'submitsigned') submitted.push(text);
      const upstream = await fetch(nodeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      const answer = (await upstream.json()) as { result?: unknown };
      if (answer.result !== undefined) answer.result = alter(request.method, answer.result);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    });
    await new Promise<void>((r) => double.listen(0, '127.0.0.1', r));
    doubleUrl = `http://127.0.0.1:${(double.address() as AddressInfo).port}/rpc`;

    dir = await mkdtemp(join(tmpdir(), 'oursql-tamper-'));
    const created = await remoteRun('createwallet');
    remote = JSON.parse(created.stdout);
    assert.equal((await remoteRun('setnode', nodeUrl)).code, 0, 'pinned to the honest node');
    await rpc('sendtoaddress', { from: minter, to: remote.address, amount: '5' });
    await rpc('mine');
    await rpc('sql', { sql: 'CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(50))' });
    await rpc('sql', { sql: 'CREATE TABLE accounts (id INT PRIMARY KEY)' });
    await rpc('sql', { sql: "INSERT INTO notes (body) VALUES ('h1'), ('h2'), ('other')" });
    await rpc('mine');
  });

  after(async () => {
    double?.closeAllConnections();
    await new Promise((r) => double?.close(r));
    await node?.stop();
    await env?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const onPrepare = (change: (b: TransferBody) => TransferBody): Alter => (m, r) =>
    m === 'preparesend' || m === 'preparesql' ? rewrite(r, change) : r;
  const send = () => ['send', '--to', minter, '--amount', '1'];
  const insert = ['sql', "INSERT INTO notes (body) VALUES ('hello')"];

  test('a transfer whose amount, recipient, outputs, signer or chain changed is refused', async () => {
    await refused(onPrepare((b) => ({ ...b, out: [{ to: minter, amount: '300000000' }, { ...b.out[1], amount: String(BigInt(b.out[1].amount) - 200000000n) }] })), send(), /refused to sign: the body pays 3 coins to/);
    await refused(onPrepare((b) => ({ ...b, out: [{ ...b.out[0], to: attacker }, b.out[1]] })), send(), new RegExp(`pays 1 coins to ${attacker}`));
    await refused(onPrepare((b) => ({ ...b, out: [b.out[0], { ...b.out[1], amount: String(BigInt(b.out[1].amount) - 1000n) }, { to: attacker, amount: '1000' }] })), send(), /pays 0.00001 coins to/);
    await refused(onPrepare((b) => ({ ...b, out: [b.out[0], { to: null, amount: b.out[1].amount }] })), send(), /to burn/);
    await refused(onPrepare((b) => ({ ...b, from: otherKey })), send(), /signed by .*not by this key/);
    await refused(onPrepare((b) => ({ ...b, chain: 'ab'.repeat(32) })), send(), /not the pinned chain/);
    await refused(onPrepare((b) => ({ ...b, time: b.time - 3 * 3600_000 })), send(), /more than 2 hours/);
    await refused(onPrepare((b) => ({ ...b, sql: { stmts: ['DROP TABLE notes'], undo: [], refs: ['notes:*'], base: { 'notes:*': null } } })), send(), /carries SQL/);
  });

  test('a Text, StringToSign or txid that is not the body is refused', async () => {
    await refused((m, r) => (m === 'preparesend' ? { ...r, text: r.text.replace(minter, attacker) } : r), send(), /the Text is not the body/);
    await refused((m, r) => (m === 'preparesend' ? { ...r, stringToSign: rewrite(r, (b) => ({ ...b, out: [{ ...b.out[0], to: attacker }, b.out[1]] })).stringToSign } : r), send(), /StringToSign/);
    await refused((m, r) => (m === 'preparesend' ? { ...r, txid: 'cd'.repeat(32) } : r), send(), /txid/);
    await refused((m, r) => (m === 'preparesend' ? { ...r, transaction: 'zz' } : r), send(), /not what an OurSQL node answers|not lowercase hex/);
  });

  test('an update whose statement, undo, refs, signer or payments changed is refused', async () => {
    const stmt = (b: TransferBody) => b.sql!.stmts[0];
    await refused(onPrepare((b) => ({ ...b, sql: { ...b.sql!, stmts: [stmt(b).replace("'hello'", "'pwned'")] } })), insert, /statement is not the one asked for/);
    await refused(onPrepare((b) => ({ ...b, sql: { ...b.sql!, stmts: ['DELETE FROM `notes`'] } })), insert, /statement is not the one asked for/);
    await refused(onPrepare((b) => ({ ...b, sql: { ...b.sql!, stmts: [stmt(b), 'DELETE FROM `accounts`'] } })), insert, /2 statements/);
    await refused(onPrepare((b) => ({ ...b, sql: { ...b.sql!, undo: ['DROP TABLE `accounts`'] } })), insert, /undo touches something else/);
    await refused(onPrepare((b) => ({ ...b, sql: { ...b.sql!, refs: ['accounts:1'], base: { 'accounts:1': null } } })), insert, /not of table notes/);
    await refused(onPrepare((b) => ({ ...b, from: otherKey })), insert, /not by this key/);
    // The node limits a WHERE to the keys it touched: it may not swap the WHERE for keys of its choice.
    const update = ['sql', "UPDATE notes SET body = 'seen' WHERE body LIKE 'h%'"];
    const keysOnly = (b: TransferBody) => ({ ...b, sql: { ...b.sql!, stmts: [stmt(b).replace(/WHERE .*/, 'WHERE `id` IN (1, 2, 3)')] } });
    await refused(onPrepare(keysOnly), update, /statement is not the one asked for/);
    await refused(onPrepare((b) => ({ ...b, sql: { ...b.sql!, stmts: [stmt(b).replace(') AND `id` IN (1, 2)', ') OR `id` IN (1, 2, 3)')] } })), update, /statement is not the one asked for/);
    // Coins moved by an update that costs nothing under the pinned config.
    const [coin] = await rpc('listunspent', [remote.address]);
    await refused(onPrepare((b) => ({ ...b, in: [{ tx: coin.txid, n: coin.n }], out: [{ to: attacker, amount: String(Math.round(Number(coin.amount) * 1e8)) }] })), insert, /pays 5 coins to/);
  });

  test('a node that lies about its consensus config or its genesis is refused', async () => {
    await refused((m, r) => (m === 'getconsensus' ? { ...r, config: { ...r.config, CoinsForBlockMade: 1000 } } : r), send(), /hashes to .*not the/);
    await refused((m, r) => (m === 'getblockchaininfo' ? { ...r, genesis: 'ef'.repeat(32) } : r), send(), /two different genesis blocks|pinned to/);
  });

  test('the same commands through the honest node are signed and pooled', async () => {
    const sent = await remoteRun(...send(), '--node', nodeUrl);
    assert.equal(sent.code, 0, sent.stderr);
    const ins = await remoteRun(...insert, '--node', doubleUrl);
    assert.equal(ins.code, 0, `an untouched answer through the double is fine too: ${ins.stderr}`);
    assert.equal(submitted.length, 1);
    const pool = await rpc('getrawmempool');
    assert.deepEqual(pool.sort(), [JSON.parse(sent.stdout).txid, JSON.parse(ins.stdout).txid].sort());
  });
});
