import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  addressOf, checkAddress, ConsensusError, isCompressedPublicKey, isValidAddress, newPrivateKey, normalizePublicKey,
  parsePrivateKey, publicKeyOf,
} from '../../consensus/index.ts';
import {
  BASE58_ALPHABET, N, P, base58CheckEncode, base58Encode, hex32, independentAddress, opensslPublicKey, ripemd160Buf, sha256Buf,
  throwsCode,
} from './consensus-helpers.ts';

const K1 = hex32(1n);
const K3 = hex32(3n);

test('independent base58 and hashes behave as bitcoin defines them (self-check of the test helpers)', () => {
  // Known base58 vectors (bitcoin core base58_encode_decode.json).
  assert.equal(base58Encode(Buffer.from('', 'hex')), '');
  assert.equal(base58Encode(Buffer.from('61', 'hex')), '2g');
  assert.equal(base58Encode(Buffer.from('626262', 'hex')), 'a3gV');
  assert.equal(base58Encode(Buffer.from('00000000000000000000', 'hex')), '1111111111');
  assert.equal(base58Encode(Buffer.from('572e4794', 'hex')), '3EFU7m');
  assert.equal(base58Encode(Buffer.from('10c8511e', 'hex')), 'Rt5zm');
  assert.equal(base58Encode(Buffer.from('00eb15231dfceb60925886b67d065299925915aeb172c06647', 'hex')), '1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L');
  // Known hash vectors.
  assert.equal(sha256Buf(Buffer.from('abc')).toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(ripemd160Buf(Buffer.from('abc')).toString('hex'), '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc');
});

test('private key 1 → generator point, bitcoin address 1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH', () => {
  const pub = publicKeyOf(K1);
  assert.equal(pub, '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
  assert.equal(pub, opensslPublicKey(K1));
  assert.equal(independentAddress(pub), '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH');
  assert.equal(addressOf(pub), '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH');
});

test('private key 3 → address 1CUNEBjYrCn2y1SdiUMohaKUi4wpP326Lb', () => {
  const pub = publicKeyOf(K3);
  assert.equal(pub, '02f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9');
  assert.equal(pub, opensslPublicKey(K3));
  assert.equal(independentAddress(pub), '1CUNEBjYrCn2y1SdiUMohaKUi4wpP326Lb');
  assert.equal(addressOf(pub), '1CUNEBjYrCn2y1SdiUMohaKUi4wpP326Lb');
});

test('public keys and addresses agree with OpenSSL + node:crypto hashes for many keys', () => {
  const keys = [hex32(2n), hex32(7n), hex32(N - 1n), hex32(N - 2n), hex32(2n ** 128n + 12345n), '7f'.repeat(32)];
  // plus deterministic pseudo-random keys
  for (let i = 0; i < 40; i++) keys.push(sha256Buf(`consensus-keys ${i}`).toString('hex'));
  for (const k of keys) {
    const pub = publicKeyOf(k);
    assert.equal(pub, opensslPublicKey(k), k);
    assert.match(pub, /^0[23][0-9a-f]{64}$/);
    const addr = addressOf(pub);
    assert.equal(addr, independentAddress(pub), k);
    assert.ok(addr.startsWith('1'));
    assert.ok(isValidAddress(addr));
    assert.equal(checkAddress(addr), addr);
    assert.ok(isCompressedPublicKey(pub));
  }
});

test('n-1 gives the negated generator (same x, odd y → prefix 03)', () => {
  assert.equal(publicKeyOf(hex32(N - 1n)), '0379be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
});

test('65-byte uncompressed public keys are accepted and compressed at once', () => {
  for (const k of [K1, K3, hex32(N - 1n), sha256Buf('x').toString('hex')]) {
    const unc = opensslPublicKey(k, 'uncompressed');
    assert.equal(unc.length, 130);
    const comp = opensslPublicKey(k, 'compressed');
    assert.equal(normalizePublicKey(unc), comp);
    assert.equal(normalizePublicKey(comp), comp);
    assert.equal(normalizePublicKey(unc.toUpperCase()), comp, 'uppercase hex input is accepted and lowercased');
    assert.equal(addressOf(unc), addressOf(comp), 'the address is always that of the compressed key');
    assert.equal(isCompressedPublicKey(unc), false, 'bodies carry only compressed keys');
  }
  assert.equal(
    normalizePublicKey('0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8'),
    '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
  );
});

/** x whose x^3 + 7 is a quadratic non-residue mod p, i.e. no curve point has this x. */
function offCurveX(start: bigint): bigint {
  const modpow = (b: bigint, e: bigint, m: bigint): bigint => {
    let r = 1n;
    b %= m;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % m;
      b = (b * b) % m;
      e >>= 1n;
    }
    return r;
  };
  for (let x = start; ; x++) {
    const rhs = (x * x * x + 7n) % P;
    if (modpow(rhs, (P - 1n) / 2n, P) === P - 1n) return x;
  }
}

test('off-curve and malformed public keys are refused with bad-key', () => {
  const x = offCurveX(5n);
  const gen = opensslPublicKey(K1, 'uncompressed');
  const yPlus1 = (BigInt('0x' + gen.slice(66)) + 1n) % P;
  const bad: unknown[] = [
    '02' + hex32(x),
    '03' + hex32(x),
    '02' + hex32(P), // x = p is out of the field
    '04' + gen.slice(2, 66) + hex32(yPlus1), // right x, wrong y
    '04' + '00'.repeat(64), // point at infinity spelled as coordinates
    '05' + gen.slice(2, 66), // unknown prefix
    '06' + gen.slice(2), // hybrid form is not accepted
    '04' + gen.slice(2, 66), // uncompressed prefix on 33 bytes
    gen.slice(0, 64), // 32 bytes
    gen + '00', // 66 bytes
    '02' + 'zz'.repeat(32),
    '',
    null,
    42,
    undefined,
  ];
  for (const b of bad) {
    throwsCode(() => normalizePublicKey(b), 'bad-key', undefined, String(b));
    assert.equal(isCompressedPublicKey(b), false, String(b));
    assert.throws(() => addressOf(b as string), ConsensusError);
  }
});

test('private keys: range and format are checked', () => {
  assert.equal(parsePrivateKey(K1).length, 32);
  assert.equal(Buffer.from(parsePrivateKey(hex32(N - 1n))).toString('hex'), hex32(N - 1n));
  for (const bad of [hex32(0n), hex32(N), hex32(N + 1n), 'ff'.repeat(32), hex32(10n).toUpperCase(), K1.slice(2), K1 + '00', 'x'.repeat(64), 1, null]) {
    throwsCode(() => parsePrivateKey(bad), 'bad-key', undefined, String(bad));
  }
  throwsCode(() => publicKeyOf(hex32(0n)), 'bad-key');
  const a = newPrivateKey();
  const b = newPrivateKey();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, b);
  assert.equal(publicKeyOf(a), opensslPublicKey(a));
});

test('an address with any one character changed is invalid (checksum), and checkAddress says so', () => {
  for (const addr of ['1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH', '1CUNEBjYrCn2y1SdiUMohaKUi4wpP326Lb', addressOf(publicKeyOf(hex32(N - 1n)))]) {
    assert.ok(isValidAddress(addr));
    for (let i = 0; i < addr.length; i++) {
      for (const replacement of [BASE58_ALPHABET[(BASE58_ALPHABET.indexOf(addr[i]) + 1) % 58], BASE58_ALPHABET[(BASE58_ALPHABET.indexOf(addr[i]) + 29) % 58]]) {
        const changed = addr.slice(0, i) + replacement + addr.slice(i + 1);
        assert.notEqual(changed, addr);
        assert.equal(isValidAddress(changed), false, `${changed} (position ${i})`);
        const e = throwsCode(() => checkAddress(changed), 'bad-address', changed);
        assert.match(e.message, /not a valid OurSQL address/);
      }
    }
    // two adjacent characters swapped
    for (let i = 0; i + 1 < addr.length; i++) {
      if (addr[i] === addr[i + 1]) continue;
      const swapped = addr.slice(0, i) + addr[i + 1] + addr[i] + addr.slice(i + 2);
      assert.equal(isValidAddress(swapped), false, swapped);
    }
  }
  const e = throwsCode(() => checkAddress('1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMh', 'destination'), 'bad-address');
  assert.match(e.message, /^destination "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMh"/);
});

test('non-P2PKH and malformed addresses are refused', () => {
  const h160 = ripemd160Buf(sha256Buf(Buffer.from(publicKeyOf(K1), 'hex')));
  const p2sh = base58CheckEncode(Buffer.concat([Buffer.from([0x05]), h160]));
  const testnet = base58CheckEncode(Buffer.concat([Buffer.from([0x6f]), h160]));
  const short = base58CheckEncode(Buffer.concat([Buffer.from([0x00]), h160.subarray(0, 19)]));
  const long = base58CheckEncode(Buffer.concat([Buffer.from([0x00]), h160, Buffer.from([1])]));
  assert.ok(p2sh.startsWith('3'));
  const good = '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH';
  for (const bad of [
    p2sh, testnet, short, long, '', ' ' + good, good + ' ', good.slice(0, -1), '0' + good.slice(1), good.replace('B', 'O'),
    good.replace('g', 'l'), good.toLowerCase(), 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', null, undefined, 12, {}, [good],
  ]) {
    assert.equal(isValidAddress(bad), false, String(bad));
    throwsCode(() => checkAddress(bad), 'bad-address', undefined, String(bad));
  }
});

test('addresses of keys with hash160 starting with zero bytes keep their leading 1s', () => {
  // Search a few keys for one whose hash160 begins with a zero byte: the address then starts with "11".
  let found = 0;
  for (let i = 1; i < 3000 && found < 2; i++) {
    const k = sha256Buf(`lead ${i}`).toString('hex');
    const pub = opensslPublicKey(k);
    const h160 = ripemd160Buf(sha256Buf(Buffer.from(pub, 'hex')));
    if (h160[0] !== 0) continue;
    found++;
    const addr = addressOf(pub);
    assert.ok(addr.startsWith('11'), addr);
    assert.equal(addr, independentAddress(pub));
    assert.ok(isValidAddress(addr));
  }
  assert.ok(found >= 1);
});

test('random keys: library and independent computation agree', () => {
  for (let i = 0; i < 25; i++) {
    const k = crypto.randomBytes(32).toString('hex');
    if (BigInt('0x' + k) === 0n || BigInt('0x' + k) >= N) continue;
    assert.equal(addressOf(publicKeyOf(k)), independentAddress(opensslPublicKey(k)));
  }
});
