// The two SHA-256s behind `#sha256` (package.json "imports"): noble's for browsers and bundlers,
// OpenSSL's for Node. Every txid, block hash and merkle root depends on them giving the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sha256 as fromImportMap } from '#sha256';
import { sha256 as nobleSha256 } from '../../consensus/sha256.ts';
import { sha256 as opensslSha256 } from '../../server/crypto/sha256.ts';
import { bytesToHex, sha256 as consensusSha256, signedMessage, txidOf, utf8ToBytes } from '../../consensus/index.ts';

/** A deterministic byte pattern (xorshift), so a failure names a reproducible input. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('both agree with the FIPS 180-2 vectors', () => {
  const vectors: [string, string][] = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ];
  for (const [text, hex] of vectors) {
    for (const f of [nobleSha256, opensslSha256]) {
      assert.equal(bytesToHex(f(text)), hex, text);
      assert.equal(bytesToHex(f(utf8ToBytes(text))), hex, text);
    }
  }
  assert.equal(bytesToHex(opensslSha256(new Uint8Array(1_000_000).fill(0x61))), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
});

test('both give the same bytes for every length around the block boundaries and for large inputs', () => {
  const lengths = [...Array.from({ length: 200 }, (_, i) => i), 511, 512, 513, 1000, 4096, 65_537, 300_000];
  for (const n of lengths) {
    const data = bytes(n, n + 7);
    assert.equal(bytesToHex(opensslSha256(data)), bytesToHex(nobleSha256(data)), `length ${n}`);
  }
  // a view into a larger buffer hashes only its own bytes
  const big = bytes(100, 3);
  assert.equal(bytesToHex(opensslSha256(big.subarray(10, 74))), bytesToHex(nobleSha256(big.slice(10, 74))));
});

test('a string is hashed as its UTF-8 bytes by both (multi-byte text, lone surrogates as U+FFFD)', () => {
  for (const s of ['ünïcödé', '漢字とかな', 'emoji 🎉 and more', 'a\u0000b', 'lone \ud800 surrogate', 'x'.repeat(10_000)]) {
    const expected = bytesToHex(nobleSha256(utf8ToBytes(s)));
    assert.equal(bytesToHex(nobleSha256(s)), expected, s);
    assert.equal(bytesToHex(opensslSha256(s)), expected, s);
  }
});

test('OpenSSL\'s digest is a plain Uint8Array of 32 bytes, not a Buffer', () => {
  const d = opensslSha256('abc');
  assert.equal(d.length, 32);
  assert.equal(Object.getPrototypeOf(d), Uint8Array.prototype);
});

test('in Node, #sha256 and so consensus/ use OpenSSL\'s; the map names noble\'s for browsers', () => {
  assert.equal(fromImportMap, opensslSha256);
  assert.equal(consensusSha256, opensslSha256);
  const map = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).imports['#sha256'];
  assert.deepEqual(map, { browser: './consensus/sha256.ts', node: './server/crypto/sha256.ts', default: './consensus/sha256.ts' });
  // a txid (hashed from the signed message's text) is what noble gives for the message's bytes
  const raw = '{"amount":"1","from":"02ab","note":"ü","time":1}';
  assert.equal(txidOf(raw), bytesToHex(nobleSha256(signedMessage(raw))));
});
