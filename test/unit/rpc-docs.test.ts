// docs/rpc.md is generated from the method table: it must be what the table renders now, and
// every method's example must be a valid call and a valid answer of that method.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { addressOf, publicKeyOf, signTx } from '../../consensus/index.ts';
import { METHODS } from '../../server/rpc/dispatch.ts';
import { exampleProblems, renderRpcDocs } from '../../server/rpc/docs.ts';
import { EX, exampleKey, exampleTransfer, exampleTransferSig } from '../../server/rpc/examples.ts';

const SPEC_METHODS = [
  'getblockchaininfo', 'getblockcount', 'getbestblockhash', 'getblockhash', 'getblock', 'getrawmempool', 'gettransaction', 'getbalance',
  'getaddressinfo', 'listunspent', 'getaddresshistory', 'validateaddress', 'getpeerinfo', 'addnode', 'removenode', 'getnodeinfo',
  'getconsensus', 'getnewaddress', 'listaddresses', 'sendtoaddress', 'preparesend', 'preparesql', 'submitsigned',
];

test('every method of SPEC 7 is served', () => {
  assert.deepEqual(SPEC_METHODS.filter((m) => !Object.hasOwn(METHODS, m)), []);
});

test('the examples\' keys, addresses and signature are those their seeds give', () => {
  for (const who of ['alice', 'bob'] as const) {
    const pubkey = publicKeyOf(exampleKey(who));
    assert.equal(EX[`${who}Pubkey`], pubkey);
    assert.equal(EX[who], addressOf(pubkey));
  }
  assert.equal(exampleTransferSig, signTx(exampleTransfer, exampleKey('alice')).sig);
});

test('every example fits its method\'s params schema and result schema', () => {
  assert.deepEqual(exampleProblems(METHODS), []);
});

test('docs/rpc.md is up to date with the method table (run `npm run docs:rpc`)', async () => {
  const file = await readFile(new URL('../../docs/rpc.md', import.meta.url), 'utf8');
  const rendered = renderRpcDocs(METHODS);
  assert.ok(file === rendered, 'docs/rpc.md is out of date: run `npm run docs:rpc`');
  for (const name of Object.keys(METHODS)) {
    assert.match(file, new RegExp(`### \`${name}\`\\n`), `${name} has a section`);
    assert.match(file, new RegExp(`"method": ?"${name}"`), `${name} has an example request`);
  }
});
