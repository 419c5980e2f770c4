// Signatures checked by helpers ahead of a block (import and catch-up), as child processes (native
// libsecp256k1) or worker threads (WebAssembly): the helpers say what consensus hasValidSignature
// says, a block whose signatures they checked is applied without checking them again, and a
// forged signature still makes the block invalid.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { coinsToUnits, ConsensusError, hasValidSignature, makeTx, nobleVerify, signTx, txFromRaw, type Tx, type Verifier } from '../../consensus/index.ts';
import { buildTransfer } from '../../server/chain/send.ts';
import { VerifyPool, type VerifyHelpers } from '../../server/chain/verify-pool.ts';
import { hasNativeVerifier, makeOpensslVerifier } from '../../server/chain/verify.ts';
import { mineOn, newKey, openTestChain, testConfig } from '../helpers/chain.ts';

const sqlBody = (from: string, i: number) => ({
  v: 1, chain: 'ab'.repeat(32), time: 1_700_000_000_000 + i, from, in: [], out: [],
  sql: { stmts: [`INSERT INTO t VALUES (${i})`], undo: [`DELETE FROM t WHERE id = ${i}`], refs: [`t:${i}`], base: { [`t:${i}`]: null } },
}) as unknown as Parameters<typeof signTx>[0];

for (const kind of ['process', 'thread'] as VerifyHelpers[]) test(`${kind} helpers agree with hasValidSignature on valid, swapped and tampered signatures`, async () => {
  const pool = new VerifyPool(kind, 2);
  try {
    const keys = [newKey(), newKey(), newKey()];
    const valid = Array.from({ length: 30 }, (_, i) => signTx(sqlBody(keys[i % 3].pub, i), keys[i % 3].priv));
    const txs: Tx[] = [
      ...valid,
      { ...valid[0], sig: valid[1].sig }, // another tx's signature
      { ...valid[3], sig: valid[4].sig }, // another key's signature
      txFromRaw(valid[2].raw.replace('INSERT', 'insert'), valid[2].sig), // the text changed after signing
      { ...valid[5], sig: undefined }, // no signature
      { ...valid[6], sig: '3006020101020101' }, // well-formed DER, wrong values
    ];
    const ok = await pool.check(txs);
    assert.deepEqual(ok, txs.map((t) => hasValidSignature(t, nobleVerify)));
    assert.deepEqual(ok.slice(0, 30), Array(30).fill(true));
    assert.deepEqual(ok.slice(30), [false, false, false, false, false]);
    assert.deepEqual(await pool.check([]), []);
    // processes use the native addon where it loads; threads never do (see verify-worker.js)
    assert.equal(pool.native, kind === 'process' && hasNativeVerifier());
    // a worker that dies fails the check in flight (no hang) and the next check starts new ones
    const inFlight = pool.check(Array.from({ length: 300 }, () => valid).flat()); // long enough to be running
    await (pool as unknown as { workers: { stop(): Promise<unknown> }[] }).workers[0].stop();
    await assert.rejects(inFlight, /stopped/);
    assert.deepEqual(await pool.check(valid), Array(30).fill(true));
    // helpers that keep dying are not started again: nothing is vouched for, the caller checks all
    const workers = () => (pool as unknown as { workers: { stop(): Promise<unknown> }[] }).workers;
    for (let i = 0; i < 3; i++) {
      const running = pool.check(Array.from({ length: 300 }, () => valid).flat());
      await workers()[0].stop();
      await assert.rejects(running, /stopped/);
    }
    assert.deepEqual(await pool.checkIfReady(valid), Array(30).fill(false));
    assert.equal(workers().length, 0, 'none started');
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.check([makeTx(sqlBody(newKey().pub, 1))]), /closed/);
});

test('idle helpers stop, and the next check starts them again', async () => {
  const pool = new VerifyPool('process', 1, 200);
  const workers = () => (pool as unknown as { workers: unknown[] }).workers;
  try {
    const key = newKey();
    const valid = [signTx(sqlBody(key.pub, 1), key.priv)];
    assert.deepEqual(await pool.check(valid), [true]);
    assert.equal(workers().length, 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(workers().length, 0, 'stopped after 200 ms without a check');
    assert.deepEqual(await pool.check(valid), [true]);
    assert.equal(workers().length, 1);
  } finally {
    await pool.close();
  }
});

test('txs checked ahead (an import\'s first blocks): checkIfReady gives those answers, and never waits for a starting helper', async () => {
  const key = newKey();
  const valid = Array.from({ length: 5 }, (_, i) => signTx(sqlBody(key.pub, i), key.priv));
  const txs = [...valid, { ...valid[0], sig: valid[1].sig }];
  const pool = new VerifyPool('process', 1);
  const jobs = () => (pool as unknown as { next: number }).next;
  try {
    pool.checkAhead(txs);
    // the helper is still starting: nothing is vouched for, the caller checks them itself
    assert.deepEqual(await pool.checkIfReady(txs), Array(6).fill(false));
    assert.deepEqual(await pool.check([valid[0]]), [true]); // answered after the job ahead
    const before = jobs();
    assert.deepEqual(await pool.checkIfReady(txs), [true, true, true, true, true, false]);
    assert.equal(jobs(), before, 'the answers ahead, no new job');
    // a tx not checked ahead among them: all go to the helpers
    const other = signTx(sqlBody(key.pub, 9), key.priv);
    assert.deepEqual(await pool.checkIfReady([valid[0], other]), [true, true]);
    assert.equal(jobs(), before + 1);
  } finally {
    await pool.close();
  }
});

describe('chain precheck', () => {
  const minter = newKey();
  const dest = newKey();
  const pool = new VerifyPool('process', 2);
  let mainThreadChecks = 0;
  const native = makeOpensslVerifier();
  const counting: Verifier = (pub, msg, sig) => (mainThreadChecks++, native(pub, msg, sig));
  let t: Awaited<ReturnType<typeof openTestChain>>;
  before(async () => {
    t = await openTestChain(testConfig(), minter, { verify: counting, checkSignatures: (txs) => pool.check(txs) });
  });
  after(async () => {
    await t.close();
    await pool.close();
  });

  test('a forged signature is refused even after a precheck; checked ones are not checked again', async () => {
    const chain = t.chain;
    const body = await buildTransfer(chain, minter.pub, dest.address, coinsToUnits('1'));
    const tx = signTx(body, minter.priv);
    const forged = { ...tx, sig: signTx({ ...body, time: body.time + 1 }, minter.priv).sig };
    const bad = mineOn(chain, chain.tip.hash, [forged], minter.address);
    await chain.precheck(bad);
    mainThreadChecks = 0;
    await assert.rejects(chain.addBlock(bad), (e) => e instanceof ConsensusError && e.code === 'bad-signature');
    assert.equal(mainThreadChecks, 1, 'the forged signature was checked on the main thread');

    const good = mineOn(chain, chain.tip.hash, [tx], minter.address);
    await chain.precheck(good);
    mainThreadChecks = 0;
    assert.equal(await chain.addBlock(good), 'connected');
    assert.equal(mainThreadChecks, 0, 'the workers checked it');
    assert.equal((await chain.balance(dest.address)).approved, coinsToUnits('1'));
  });
});
