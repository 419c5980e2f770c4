// A tx's signature is not unique to it: a peer can put someone's valid tx, with a forged
// signature, into a block of its own (valid proof of work) and send it. Each block keeps the
// signatures it came with, so such a block changes neither another block holding the same tx nor
// a lookup of a chain tx.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockFromWire, blockToWire, coinsToUnits, hasValidSignature, signTx, type Tx } from '../../consensus/index.ts';
import { Miner } from '../../server/chain/miner.ts';
import { buildTransfer } from '../../server/chain/send.ts';
import type { RowDataPacket } from 'mysql2/promise';
import { mineAbove, mineOn, newKey, openTestChain, testConfig, type TestKey } from '../helpers/chain.ts';
import { rootConnection } from '../helpers/mysql.ts';

const minter = newKey();
const alice = newKey();
const bob = newKey();
const attacker = newKey();
const config = () => testConfig({}, { MaxMinNumberTransactionInBlock: 1 });

async function transfer(chain: Awaited<ReturnType<typeof openTestChain>>['chain'], from: TestKey, to: string, coins: string): Promise<Tx> {
  return signTx(await buildTransfer(chain, from.pub, to, coinsToUnits(coins)), from.priv);
}

/** The same tx with another signature by the same key (valid DER, not over this tx). */
function forge(tx: Tx): Tx {
  const forged = { ...tx, sig: signTx({ ...(tx.body as Parameters<typeof signTx>[0]), time: (tx.body as { time: number }).time + 1 }, minter.priv).sig };
  assert.equal(forged.id, tx.id);
  assert.equal(hasValidSignature(forged), false);
  return forged;
}

/** A chain whose first block pays alice (a spendable coin each for minter and alice), with its miner. */
async function withChain(run: (t: Awaited<ReturnType<typeof openTestChain>>, miner: Miner) => Promise<void>): Promise<void> {
  const t = await openTestChain(config(), minter);
  const miner = new Miner(t.chain, { minter: minter.address });
  try {
    await t.chain.submitTx(await transfer(t.chain, minter, alice.address, '1'));
    assert.ok('block' in (await miner.mineOnce()));
    await run(t, miner);
  } finally {
    await miner.stop();
    await t.close();
  }
}

test('a forged copy seen first: the block that connects keeps the real signature, and so do lookups and restarts', () => withChain(async (t, miner) => {
  const tx = await transfer(t.chain, minter, alice.address, '2');
  // on the tip: tried, refused for its signature, stored as invalid
  await assert.rejects(t.chain.addBlock(mineOn(t.chain, t.chain.tip.hash, [forge(tx)], attacker.address)), /signature/);

  await t.chain.submitTx(tx);
  const mined = await miner.mineOnce();
  assert.ok('block' in mined);
  assert.equal((await t.chain.getBlock(mined.block.hash))!.txs[1].sig, tx.sig, 'the block as stored (and served to peers)');
  assert.equal((await (await t.reopen()).getBlock(mined.block.hash))!.txs[1].sig, tx.sig, 'after a restart');
  assert.equal((await t.store.getChainTxs([tx.id])).get(tx.id)?.sig, tx.sig, 'a lookup of the chain tx (RPC gettransaction, peers\' gettxs)');
  assert.notEqual(await ownSigs(t, mined.block.hash), null, 'its tx was stored before (with the forged signature): the block keeps its own');
  await servedAsStored(t, mined.block.hash);
}));

test('a block whose txs are all stored with it keeps no copy of their signatures', () => withChain(async (t, miner) => {
  const txs = [await transfer(t.chain, minter, alice.address, '2'), await transfer(t.chain, alice, bob.address, '0.5')];
  for (const tx of txs) await t.chain.submitTx(tx);
  const mined = await miner.mineOnce();
  assert.ok('block' in mined);
  assert.equal(await ownSigs(t, mined.block.hash), null);
  const stored = (await (await t.reopen()).getBlock(mined.block.hash))!;
  assert.deepEqual(stored.txs.map((x) => x.sig), mined.block.txs.map((x) => x.sig));
  await servedAsStored(t, mined.block.hash);
}));

test('a block made of pooled txs leaves their bodies in the pool for a moment: read from there, moved at a restart, and a forged copy stored meanwhile changes nothing', () => withChain(async (t, miner) => {
  const where = async (txid: string) => {
    const db = `\`${t.db.name}_chain\``;
    const [[p], [x]] = await Promise.all(['pool', 'txs'].map((table) => t.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${db}.${table} WHERE txid = ?`, [txid]).then(([r]) => r)));
    return { pool: Number(p.n), txs: Number(x.n) };
  };
  const tx = await transfer(t.chain, minter, alice.address, '2');
  await t.chain.submitTx(tx);
  const mined = await miner.mineOnce();
  assert.ok('block' in mined);
  assert.deepEqual(await where(tx.id), { pool: 1, txs: 0 }, 'its connect did not copy the body');
  assert.equal(t.chain.pool.has(tx.id), false);
  assert.equal((await t.chain.getBlock(mined.block.hash))!.txs[1].sig, tx.sig);
  await servedAsStored(t, mined.block.hash);

  // a restart before the move (a crash) moves it
  const reopened = await t.reopen();
  assert.deepEqual(await where(tx.id), { pool: 0, txs: 1 });
  assert.equal(reopened.pool.size, 0, 'a confirmed tx is not pooled again');
  assert.equal((await reopened.getBlock(mined.block.hash))!.txs[1].sig, tx.sig);
  assert.equal(await ownSigs(t, mined.block.hash), null);
  t.chain = reopened;
  const m2 = new Miner(reopened, { minter: minter.address });
  try {
    const tx2 = await transfer(reopened, minter, bob.address, '1');
    await reopened.submitTx(tx2);
    const second = await m2.mineOnce();
    assert.ok('block' in second);
    assert.deepEqual(await where(tx2.id), { pool: 1, txs: 0 });
    // a side block with a forged copy of it: stored after the body moved, so the row keeps the real signature
    const side = mineAbove(reopened, second.block.header.prev, [forge(tx2)], attacker.address, second.block);
    assert.equal(await reopened.addBlock(side), 'side');
    assert.deepEqual(await where(tx2.id), { pool: 0, txs: 1 });
    assert.equal((await reopened.getBlock(second.block.hash))!.txs[1].sig, tx2.sig);
    assert.equal(await ownSigs(t, second.block.hash), null);
    assert.notEqual(await ownSigs(t, side.hash), null, 'the side block keeps its own');
    assert.equal((await reopened.getChainTxs([tx2.id])).get(tx2.id)?.sig, tx2.sig);
    await servedAsStored(t, second.block.hash);
  } finally {
    await m2.stop();
  }
}));

test('reads of a block while its bodies move out of the pool find every one', () => withChain(async (t, miner) => {
  const txs = [await transfer(t.chain, minter, alice.address, '2'), await transfer(t.chain, alice, bob.address, '0.5')];
  for (const tx of txs) await t.chain.submitTx(tx);
  const mined = await miner.mineOnce();
  assert.ok('block' in mined);
  const read = async () => {
    const b = (await t.chain.getBlock(mined.block.hash))!;
    assert.deepEqual(b.txs.map((x) => x.sig), mined.block.txs.map((x) => x.sig));
    return t.store.getBlocksJson([t.chain.headers.get(mined.block.hash)!]);
  };
  const reads: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) reads.push(read());
  reads.push(t.chain.flush());
  for (let i = 0; i < 30; i++) reads.push(read());
  await Promise.all(reads);
  assert.equal(Number((await t.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${t.db.name}_chain\`.pool`))[0][0].n), 0, 'moved');
}));

/** The block as peers get it (`getblocks`, spliced from stored bodies) is the block as stored, signatures included. */
async function servedAsStored(t: Awaited<ReturnType<typeof openTestChain>>, hash: string): Promise<void> {
  const h = t.chain.headers.get(hash)!;
  const [text] = await t.store.getBlocksJson([h]);
  const served = blockFromWire(JSON.parse(text));
  assert.deepEqual(blockToWire(served), blockToWire((await t.chain.getBlock(hash))!));
  assert.ok(served.txs.slice(1).every((tx) => hasValidSignature(tx)));
}

/** The `sigs` column of a stored block: its own copy of its txs' signatures, or null. */
async function ownSigs(t: Awaited<ReturnType<typeof openTestChain>>, hash: string): Promise<string | null> {
  const [rows] = await t.pool.query<RowDataPacket[]>(`SELECT sigs FROM \`${t.db.name}_chain\`.blocks WHERE hash = ?`, [hash]);
  assert.equal(rows.length, 1);
  return rows[0].sigs;
}

test('a forged copy stored first does not make a valid side branch invalid when it wins', () => withChain(async (t, miner) => {
  const h1 = t.chain.tip.hash;
  // txs valid on h1, kept aside for a branch the node has not seen yet
  const x = await transfer(t.chain, minter, alice.address, '2');
  const z = await transfer(t.chain, alice, bob.address, '0.5');
  await t.chain.submitTx(await transfer(t.chain, minter, bob.address, '0.1'));
  const mined = await miner.mineOnce();
  assert.ok('block' in mined);

  assert.equal(await t.chain.addBlock(mineAbove(t.chain, h1, [forge(x)], attacker.address, mined.block)), 'side');
  const real = mineAbove(t.chain, h1, [x], minter.address, mined.block);
  assert.equal(await t.chain.addBlock(real), 'side');
  const next = mineOn(t.chain, real.hash, [z], minter.address);
  assert.equal(await t.chain.addBlock(next), 'connected');
  assert.equal(t.chain.tip.hash, next.hash);
  assert.equal((await t.chain.getBlock(real.hash))!.txs[1].sig, x.sig);
  assert.notEqual(await ownSigs(t, real.hash), null);
}));

test('a datadir from before blocks kept their signatures gets the column at start, and its blocks read their txs\' signatures', () => withChain(async (t, miner) => {
  const root = await rootConnection();
  try {
    const tx = await transfer(t.chain, minter, alice.address, '2');
    await t.chain.submitTx(tx);
    const mined = await miner.mineOnce();
    assert.ok('block' in mined);
    const chainDb = `${t.db.name}_chain`;
    await root.query(`ALTER TABLE \`${chainDb}\`.blocks DROP COLUMN sigs`);
    const reopened = await t.reopen();
    const [cols] = await root.query<RowDataPacket[]>('SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [chainDb, 'blocks', 'sigs']);
    assert.equal(cols.length, 1, 'the column is back');
    const block = (await reopened.getBlock(mined.block.hash))!;
    assert.deepEqual(block.txs.map((x) => x.sig), mined.block.txs.map((x) => x.sig));
    assert.ok(hasValidSignature(block.txs[1]));
  } finally {
    await root.end();
  }
}));

test('a block of pooled txs asks MySQL for stored copies of their bodies only when some stored block is off the active chain', () => withChain(async (t, miner) => {
  // saveBlocks' last argument: whether the engine may have stored a pooled tx's body before
  const asked: boolean[] = [];
  const save = t.store.saveBlocks.bind(t.store);
  t.store.saveBlocks = (blocks, conn, pooled, leaveInPool, storedBefore) => {
    if (leaveInPool) asked.push(storedBefore ?? true);
    return save(blocks, conn, pooled, leaveInPool, storedBefore);
  };
  const tx = await transfer(t.chain, minter, alice.address, '2');
  await t.chain.submitTx(tx);
  const first = await miner.mineOnce();
  assert.ok('block' in first);
  assert.deepEqual(asked, [false], 'every stored block is active: no pooled body can be in txs');
  assert.equal(await ownSigs(t, first.block.hash), null);

  // a side block holding a forged copy of the next tx: its body is in txs now
  const tx2 = await transfer(t.chain, minter, bob.address, '0.5');
  assert.equal(await t.chain.addBlock(mineAbove(t.chain, first.block.header.prev, [forge(tx2)], attacker.address, first.block)), 'side');
  await t.chain.submitTx(tx2);
  const second = await miner.mineOnce();
  assert.ok('block' in second);
  assert.deepEqual(asked, [false, true]);
  assert.notEqual(await ownSigs(t, second.block.hash), null, 'the copy was found: the block keeps its own signatures');
  assert.equal((await t.chain.getBlock(second.block.hash))!.txs[1].sig, tx2.sig);
}));
