// Node-held keys sign with native libsecp256k1 on the event loop: the same bytes as consensus/
// signTx (RFC 6979, low S), valid for noble, and a body from another key is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasValidSignature, publicKeyOf, signTx, type TransferBody } from '../../consensus/index.ts';
import { loadAddon } from '../../server/chain/verify.ts';
import { nativePublicKey, nativeSigner } from '../../server/wallet/native-signer.ts';

const body = (key: string, i: number): TransferBody => ({
  v: 1, chain: 'ab'.repeat(32), time: 1_700_000_000_000 + i, from: publicKeyOf(key), in: [], out: [],
  sql: { stmts: [`INSERT INTO t VALUES (${i}, 'ü''x')`], undo: [`DELETE FROM t WHERE id = ${i}`], refs: [`t:${i}`], base: { [`t:${i}`]: null } },
} as unknown as TransferBody);

test('the native addon loads here and signs exactly as signTx does', () => {
  assert.ok(loadAddon(), 'the secp256k1 prebuilt addon loads on this machine');
  for (const key of ['1f'.repeat(32), '00'.repeat(31) + '01', 'fe'.repeat(16) + '01'.repeat(16)]) {
    const signer = nativeSigner(key)!;
    assert.equal(signer.pubkey, publicKeyOf(key));
    assert.equal(nativePublicKey(key), publicKeyOf(key));
    assert.equal(nativePublicKey(key, null), publicKeyOf(key), 'no addon: noble');
    for (let i = 0; i < 40; i++) {
      const tx = signer.sign(body(key, i));
      assert.deepEqual(tx, signTx(body(key, i), key));
      assert.ok(hasValidSignature(tx));
    }
    assert.throws(() => signer.sign(body('2e'.repeat(32), 1)), /does not match/);
  }
  assert.equal(nativeSigner('1f'.repeat(32), null), null, 'no addon: no native signer');
  assert.throws(() => nativeSigner('zz'), /private key/i);
  assert.throws(() => nativePublicKey('00'.repeat(32)), /private key/i);
});
