// The oursql-remote keystore: private keys sealed with scrypt + AES-256-GCM, never on disk in clear;
// a wrong passphrase, a damaged entry or a swapped entry is a clear error.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { addressOf, newPrivateKey, publicKeyOf } from '../../consensus/index.ts';
import { KeystoreError } from '../../remoteclient/errors.ts';
import { Keystore } from '../../remoteclient/keystore.ts';
import { DEFAULT_SCRYPT_N, deriveKey, newKdf, seal, unseal } from '../../remoteclient/sealing.ts';

/** Cheap KDF for the tests that only check the logic (the default cost is checked on its own). */
const FAST = () => newKdf(2 ** 10);
let dir = '';
let file = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oursql-keystore-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fresh = (name: string) => join(dir, `${name}.json`);

test('keys are sealed: the file holds addresses and public keys, never a private key in clear', async () => {
  file = fresh('main');
  const ks = await Keystore.open(file);
  assert.equal(ks.initialized, false);
  const ring = ks.unlock('pass phrase', FAST());
  const keys = [newPrivateKey(), newPrivateKey()];
  const added = keys.map((k) => ring.add(k));
  await ring.save();
  assert.deepEqual(added.map((a) => a.address), keys.map((k) => addressOf(publicKeyOf(k))));

  const text = await readFile(file, 'utf8');
  for (const k of keys) {
    assert.ok(!text.includes(k), 'no private key hex');
    assert.ok(!text.includes(Buffer.from(k, 'hex').toString('base64')), 'no private key base64');
    assert.ok(!text.toLowerCase().includes(k.slice(8, 40)), 'not even a part of it');
  }
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(dir)).isDirectory(), true);

  const again = await Keystore.open(file);
  assert.deepEqual(again.list(), added.map(({ address, pubkey }) => ({ address, pubkey })), 'addresses need no passphrase');
  const opened = again.unlock('pass phrase');
  assert.deepEqual(keys.map((k) => opened.privateKey(addressOf(publicKeyOf(k)))), keys);
  assert.equal(opened.add(keys[0].toUpperCase()).added, false, 'a key held already is not added twice');
});

test('a wrong passphrase is refused with a clear error', async () => {
  const ks = await Keystore.open(file);
  assert.throws(() => ks.unlock('Pass phrase'), (e: unknown) => e instanceof KeystoreError && /wrong passphrase for the keystore/.test((e as Error).message));
  assert.throws(() => ks.unlock(''), /passphrase is empty/);
});

test('a damaged or swapped entry is refused; a damaged file is a clear error', async () => {
  const data = JSON.parse(await readFile(file, 'utf8'));
  const [a, b] = data.keys;
  // Swapping the sealed keys of two addresses: the associated data (the address) no longer matches.
  const swapped = { ...data, keys: [{ ...a, key: b.key }, { ...b, key: a.key }] };
  await writeFile(fresh('swapped'), JSON.stringify(swapped));
  const ring = (await Keystore.open(fresh('swapped'))).unlock('pass phrase');
  assert.throws(() => ring.privateKey(a.address), /damaged/);

  const flipped = { ...data, keys: [{ ...a, key: { ...a.key, data: (a.key.data[0] === '0' ? '1' : '0') + a.key.data.slice(1) } }] };
  await writeFile(fresh('flipped'), JSON.stringify(flipped));
  const ring2 = (await Keystore.open(fresh('flipped'))).unlock('pass phrase');
  assert.throws(() => ring2.privateKey(a.address), /damaged/);
  assert.throws(() => ring2.privateKey(addressOf(publicKeyOf(newPrivateKey()))), /not in the keystore/);

  await writeFile(fresh('junk'), 'not json');
  await assert.rejects(Keystore.open(fresh('junk')), /not a keystore/);
  await writeFile(fresh('weak'), JSON.stringify({ ...data, kdf: { ...data.kdf, N: 16 } }));
  await assert.rejects(Keystore.open(fresh('weak')), /not a valid keystore: kdf.N/);
});

test('the default KDF is scrypt N=2^16, r=8, p=1 with a 16-byte salt; AES-GCM detects any change', () => {
  const kdf = newKdf();
  assert.deepEqual({ ...kdf, salt: kdf.salt.length }, { name: 'scrypt', N: DEFAULT_SCRYPT_N, r: 8, p: 1, salt: 32 });
  assert.equal(DEFAULT_SCRYPT_N, 65536);
  assert.notEqual(newKdf().salt, kdf.salt);
  const key = deriveKey('x', newKdf(2 ** 10));
  const box = seal(key, new Uint8Array([1, 2, 3]), 'aad');
  assert.deepEqual(unseal(key, box, 'aad'), new Uint8Array([1, 2, 3]));
  assert.equal(unseal(key, box, 'other aad'), undefined);
  assert.equal(unseal(deriveKey('y', newKdf(2 ** 10)), box, 'aad'), undefined);
  assert.notEqual(seal(key, new Uint8Array([1, 2, 3]), 'aad').nonce, box.nonce, 'a fresh nonce each time');
});
