// The node's signing thread signs exactly as consensus/ does (RFC 6979: the same bytes), and its
// failures reach the caller.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasValidSignature, makeTx, publicKeyOf, signTx, type TransferBody } from '../../consensus/index.ts';
import { SignerThread } from '../../server/wallet/signer-thread.ts';

const KEY = '1f'.repeat(32);
const body = (i: number): TransferBody => ({
  v: 1, chain: 'ab'.repeat(32), time: 1_700_000_000_000 + i, from: publicKeyOf(KEY), in: [], out: [],
  sql: { stmts: [`INSERT INTO t VALUES (${i})`], undo: [`DELETE FROM t WHERE id = ${i}`], refs: [`t:${i}`], base: { [`t:${i}`]: null } },
} as unknown as TransferBody);

test('the signing thread makes the signatures signTx makes, many at once', async () => {
  const thread = new SignerThread();
  try {
    const signer = thread.signerFor(KEY);
    const unsigned = Array.from({ length: 50 }, (_, i) => makeTx(body(i)));
    const sigs = await Promise.all(unsigned.map((tx) => signer.signLater(tx)));
    unsigned.forEach((tx, i) => {
      const signed = { ...tx, sig: sigs[i] };
      assert.deepEqual(signed, signTx(body(i), KEY));
      assert.deepEqual(signer.sign(body(i)), signed);
      assert.ok(hasValidSignature(signed));
    });
    await assert.rejects(signer.signLater(makeTx({ ...body(1), from: publicKeyOf('2e'.repeat(32)) })), /does not match/);
    await assert.rejects(thread.signDigest(new Uint8Array(32).fill(1), 'zz'), /signing failed/);
    await assert.rejects(thread.signDigest(new Uint8Array([1]), KEY), /signing failed: a digest is 32 bytes/);
  } finally {
    await thread.close();
  }
  await assert.rejects(thread.signDigest(new Uint8Array(32), KEY), /closed/);
});
