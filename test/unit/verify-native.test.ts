import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { bytesToHex, hexToBytes, nobleVerify, publicKeyOf, signMessage, utf8ToBytes } from '../../consensus/index.ts';
import { secp } from '../../consensus/keys.ts';
import { makeAddonVerifier, makeFastVerifier, makeOpensslVerifier, makeWasmVerifier } from '../../server/chain/verify.ts';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A secp256k1 private key as a node:crypto KeyObject (SEC1 DER), to sign the way OpenSSL clients do. */
function opensslKey(privHex: string) {
  const der = Buffer.concat([
    Buffer.from('30740201010420', 'hex'), Buffer.from(privHex, 'hex'),
    Buffer.from('a00706052b8104000aa144034200', 'hex'),
    Buffer.from(hexToBytes(uncompressed(privHex))),
  ]);
  return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
}
// The 65-byte point via noble: this test compares verifiers, not key derivation.
const uncompressed = (privHex: string): string => bytesToHex(secp.getPublicKey(hexToBytes(privHex), false));

function highS(derHex: string): string {
  const der = hexToBytes(derHex);
  const rLen = der[3];
  const r = der.subarray(4, 4 + rLen);
  const sLen = der[5 + rLen];
  const s = BigInt('0x' + bytesToHex(der.subarray(6 + rLen, 6 + rLen + sLen)));
  const hs = N - s;
  let hsHex = hs.toString(16);
  if (hsHex.length % 2) hsHex = '0' + hsHex;
  if (parseInt(hsHex.slice(0, 2), 16) & 0x80) hsHex = '00' + hsHex;
  const sb = hexToBytes(hsHex);
  const body = [0x02, r.length, ...r, 0x02, sb.length, ...sb];
  return bytesToHex(Uint8Array.from([0x30, body.length, ...body]));
}

test('the node verifies with native libsecp256k1 here (its prebuilt addon loads)', () => {
  const addon = makeAddonVerifier();
  assert.ok(addon, 'the secp256k1 addon did not load: the node falls back to WebAssembly, ~4x slower');
  const priv = 'c0ffee'.padStart(64, '1');
  const msg = utf8ToBytes('OurSQL signed transaction v1\n{}');
  assert.equal(makeFastVerifier()(publicKeyOf(priv), msg, signMessage(msg, priv)), true);
});

const requireAddon = () => makeAddonVerifier() ?? assert.fail('no secp256k1 addon');
for (const [name, make] of [['OpenSSL', makeOpensslVerifier], ['libsecp256k1 (native addon)', requireAddon], ['libsecp256k1 (WebAssembly)', makeWasmVerifier]] as const)
test(`the ${name} verifier agrees with noble on the same vectors`, () => {
  const native = make();
  const keys = ['01'.padStart(64, '0'), 'c0ffee'.padStart(64, '1'), 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140'];
  let highSeen = 0;
  for (const priv of keys) {
    const pub = publicKeyOf(priv);
    for (let i = 0; i < 25; i++) {
      const msg = utf8ToBytes(`OurSQL signed transaction v1\n{"n":${i},"k":"${priv.slice(0, 8)}"}`);
      const ours = signMessage(msg, priv);
      const openssl = bytesToHex(cryptoSign('sha256', msg, opensslKey(priv)));
      const high = highS(ours);
      for (const sig of [ours, openssl, high]) {
        assert.equal(native(pub, msg, sig), true);
        assert.equal(nobleVerify(pub, msg, sig), true);
      }
      highSeen++;
      const tampered = new Uint8Array(msg);
      tampered[tampered.length - 2] ^= 1;
      assert.equal(native(pub, tampered, ours), false);
      assert.equal(nobleVerify(pub, tampered, ours), false);
      const other = publicKeyOf('02'.padStart(64, '0'));
      assert.equal(native(other, msg, ours), false);
      assert.equal(nobleVerify(other, msg, ours), false);
      assert.equal(native(pub, msg, 'zz'), false);
      assert.equal(nobleVerify(pub, msg, '3006020101020101'), false);
      assert.equal(native(pub, msg, '3006020101020101'), false);
    }
  }
  assert.equal(highSeen, 75);
  // Keys: only a compressed point passes, as the consensus rules take them.
  const priv = 'c0ffee'.padStart(64, '1');
  const msg = utf8ToBytes('OurSQL signed transaction v1\n{}');
  const sig = signMessage(msg, priv);
  assert.equal(native(publicKeyOf(priv), msg, sig), true);
  assert.equal(native(uncompressed(priv), msg, sig), false, 'uncompressed key');
  assert.equal(native(publicKeyOf(priv).slice(2), msg, sig), false, 'x-only key');
  assert.equal(native('04' + publicKeyOf(priv).slice(2), msg, sig), false, 'bad prefix');
  // r or s zero, or not below the group order: never valid.
  const zeroS = bytesToHex(new Uint8Array(64).fill(1, 0, 32));
  const bigR = N.toString(16) + '01'.padStart(64, '0');
  for (const bad of [zeroS, bigR]) {
    assert.equal(native(publicKeyOf(priv), msg, bad), false);
    assert.equal(nobleVerify(publicKeyOf(priv), msg, bad), false);
  }
});
