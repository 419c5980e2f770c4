// secp256k1 signatures (noble vs OpenSSL) and transaction ids (canonical JSON + SHA-256).
import { createPrivateKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import {
  addressOf, bytesToHex, canonicalize, hexToBytes, makeTx, newPrivateKey, nobleVerify, publicKeyOf, sha256, signedMessage,
  signMessage, txFromWire, txidOf, txToWire, type TransferBody,
} from '../../consensus/index.ts';
import { isCompressedPublicKey, isValidAddress, secp } from '../../consensus/keys.ts';
import { ripemd160 } from '@noble/hashes/legacy.js';
import bs58check from 'bs58check';
import { makeAddonVerifier, makeOpensslVerifier, makeWasmVerifier } from '../../server/chain/verify.ts';
import { compare, progress } from './measure.ts';
import type { Row } from './table.ts';

const SIG_GROUP = 'secp256k1 signatures (DER, SHA-256 of a signed tx message)';
const TXID_GROUP = 'Transaction ids (canonical JSON + SHA-256)';
const SET = 200;

interface Item { priv: string; pub: string; body: TransferBody; message: Uint8Array; sig: string }

/** A typical coin transfer: one input, payment plus change. */
function transfer(chain: string, pub: string, to: string): TransferBody {
  return {
    v: 1, chain, time: Date.now(), from: pub,
    in: [{ tx: randomBytes(32).toString('hex'), n: 1 }],
    out: [{ to, amount: '150000000' }, { to: addressOf(pub), amount: '849990000' }],
  };
}

function makeSet(): Item[] {
  const chain = randomBytes(32).toString('hex');
  const items: Item[] = [];
  for (let i = 0; i < SET; i++) {
    const priv = newPrivateKey();
    const pub = publicKeyOf(priv);
    const body = transfer(chain, pub, addressOf(publicKeyOf(newPrivateKey())));
    const message = signedMessage(canonicalize(body));
    items.push({ priv, pub, body, message, sig: signMessage(message, priv) });
  }
  return items;
}

/** A node:crypto private key from raw hex, via JWK (x, y from noble). */
function opensslKey(privHex: string): KeyObject {
  const point = secp.getPublicKey(hexToBytes(privHex), false);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return createPrivateKey({
    key: { kty: 'EC', crv: 'secp256k1', d: b64(hexToBytes(privHex)), x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)) },
    format: 'jwk',
  });
}

export async function run(): Promise<Row[]> {
  progress(`crypto: making ${SET} keys and signed transfer messages`);
  const items = makeSet();
  const msgBytes = items[0].message.length;
  const pick = (i: number) => items[i % SET];
  const mustVerify = (ok: boolean, i: number) => {
    if (!ok) throw new Error(`signature ${i % SET} did not verify`);
  };

  const native = makeOpensslVerifier();
  const wasmVerify = makeWasmVerifier();
  const addon = makeAddonVerifier() ?? wasmVerify; // the row says which
  const addonName = makeAddonVerifier() ? 'native addon' : 'addon did not load: wasm';
  for (const it of items) mustVerify(native(it.pub, it.message, it.sig) && wasmVerify(it.pub, it.message, it.sig) && addon(it.pub, it.message, it.sig), 0);
  progress('crypto: verify — noble, OpenSSL (keys cached), OpenSSL (key parsed each call), libsecp256k1 (wasm, native); 1.5 s each, interleaved');
  const verify = compare({
    noble: (i) => {
      const it = pick(i);
      mustVerify(nobleVerify(it.pub, it.message, it.sig), i);
    },
    nativeWarm: (i) => {
      const it = pick(i);
      mustVerify(native(it.pub, it.message, it.sig), i);
    },
    nativeCold: (i) => {
      const it = pick(i);
      mustVerify(makeOpensslVerifier()(it.pub, it.message, it.sig), i);
    },
    wasm: (i) => {
      const it = pick(i);
      mustVerify(wasmVerify(it.pub, it.message, it.sig), i);
    },
    addon: (i) => {
      const it = pick(i);
      mustVerify(addon(it.pub, it.message, it.sig), i);
    },
  }, 1.5, { batch: 4 });

  const keys = items.map((it) => opensslKey(it.priv));
  {
    // Sanity: OpenSSL's signature (maybe high-S) verifies with the reference verifier.
    const s = cryptoSign('sha256', items[0].message, { key: keys[0], dsaEncoding: 'der' });
    mustVerify(nobleVerify(items[0].pub, items[0].message, s.toString('hex')), 0);
  }
  progress('crypto: sign — signMessage (noble), node:crypto (OpenSSL); 1 s each, interleaved');
  const sign = compare({
    noble: (i) => {
      const it = pick(i);
      if (signMessage(it.message, it.priv).length < 16) throw new Error('no signature');
    },
    native: (i) => {
      if (cryptoSign('sha256', pick(i).message, { key: keys[i % SET], dsaEncoding: 'der' }).length < 8) throw new Error('no signature');
    },
  }, 1);

  const rows: Row[] = [
    { key: 'sig.verify_noble', group: SIG_GROUP, name: 'verify: nobleVerify (@noble/secp256k1)', value: verify.noble.perSec, unit: 'verify/s', note: `${SET} distinct keys and signatures, message ${msgBytes} B` },
    { key: 'sig.verify_native', group: SIG_GROUP, name: 'verify: makeOpensslVerifier (OpenSSL), keys cached', value: verify.nativeWarm.perSec, unit: 'verify/s', base: 'sig.verify_noble' },
    { key: 'sig.verify_wasm', group: SIG_GROUP, name: 'verify: libsecp256k1 as WebAssembly (the fallback)', value: verify.wasm.perSec, unit: 'verify/s', base: 'sig.verify_noble' },
    { key: 'sig.verify_addon', group: SIG_GROUP, name: `verify: libsecp256k1 (${addonName}): the node uses it`, value: verify.addon.perSec, unit: 'verify/s', base: 'sig.verify_noble' },
    { key: 'sig.verify_native_cold', group: SIG_GROUP, name: 'verify: OpenSSL, key parsed every call', value: verify.nativeCold.perSec, unit: 'verify/s', base: 'sig.verify_noble' },
    { key: 'sig.sign_noble', group: SIG_GROUP, name: 'sign: signMessage (noble, RFC 6979, low-S)', value: sign.noble.perSec, unit: 'sign/s' },
    { key: 'sig.sign_native', group: SIG_GROUP, name: 'sign: node:crypto (OpenSSL), DER', value: sign.native.perSec, unit: 'sign/s', base: 'sig.sign_noble' },
  ];

  // ---- key and address helpers that checkTx / checkBodyShape run per tx ----
  const KEYS_GROUP = 'Key/address helpers run per tx (checkTx, checkBodyShape, TxPool.add)';
  const addrs = items.map((it) => it.body.out[0].to as string);
  const addressByHash = (pub: string) => {
    const payload = new Uint8Array(21);
    payload.set(ripemd160(sha256(hexToBytes(pub))), 1);
    return bs58check.encode(payload);
  };
  if (addressByHash(items[0].pub) !== addressOf(items[0].pub)) throw new Error('address shortcut differs from addressOf');
  // more distinct addresses than isValidAddress keeps, visited in turn: every check decodes
  const FRESH = 30_000;
  const fresh = Array.from({ length: FRESH }, (_, i) => {
    const payload = new Uint8Array(21);
    payload.set(sha256(new TextEncoder().encode(`fresh ${i}`)).subarray(0, 20), 1);
    return bs58check.encode(payload);
  });
  progress('keys: addressOf, address by hashing only, isCompressedPublicKey, isValidAddress (kept, new); 0.7 s each, interleaved');
  const k = compare({
    addr: (i) => {
      if (addressOf(pick(i).pub).length < 26) throw new Error('bad address');
    },
    hashOnly: (i) => {
      if (addressByHash(pick(i).pub).length < 26) throw new Error('bad address');
    },
    compressed: (i) => {
      if (!isCompressedPublicKey(pick(i).pub)) throw new Error('bad key');
    },
    validAddr: (i) => {
      if (!isValidAddress(addrs[i % SET])) throw new Error('bad address');
    },
    validNew: (i) => {
      if (!isValidAddress(fresh[i % FRESH])) throw new Error('bad address');
    },
  }, 0.7);
  const vs = 'sig.verify_native';
  rows.push(
    { key: 'keys.address_of', group: KEYS_GROUP, name: 'addressOf(pubkey) (decompress point, re-compress, hash)', value: k.addr.perSec, unit: 'op/s', base: vs, note: 'ratios here: vs one OpenSSL verify (keys cached)' },
    { key: 'keys.address_hash_only', group: KEYS_GROUP, name: 'same address, hashing only (no point decompression)', value: k.hashOnly.perSec, unit: 'op/s', base: vs },
    { key: 'keys.is_compressed', group: KEYS_GROUP, name: 'isCompressedPublicKey (point decompression)', value: k.compressed.perSec, unit: 'op/s', base: vs },
    { key: 'keys.is_valid_address', group: KEYS_GROUP, name: 'isValidAddress, an address seen before (kept)', value: k.validAddr.perSec, unit: 'op/s', base: vs },
    { key: 'keys.is_valid_address_new', group: KEYS_GROUP, name: 'isValidAddress, a new address each time (base58check decode)', value: k.validNew.perSec, unit: 'op/s', base: vs },
  );

  // ---- txids ----
  const bodies = items.map((it) => it.body);
  const wires = items.map((it) => JSON.parse(JSON.stringify(txToWire({ ...makeTx(it.body), sig: it.sig }))) as unknown);
  const rawBytes = canonicalize(bodies[0]).length;
  const b = (i: number) => bodies[i % SET];
  progress('txid: stringify+sha256, canonicalize+txidOf, canonicalize, makeTx, txFromWire; 0.8 s each, interleaved');
  const t = compare({
    plain: (i) => {
      if (bytesToHex(sha256(JSON.stringify(b(i)))).length !== 64) throw new Error('bad hash');
    },
    canon: (i) => {
      if (txidOf(canonicalize(b(i))).length !== 64) throw new Error('bad txid');
    },
    canonOnly: (i) => {
      if (canonicalize(b(i)).length < 10) throw new Error('bad json');
    },
    made: (i) => {
      if (makeTx(b(i)).id.length !== 64) throw new Error('bad txid');
    },
    parsed: (i) => {
      if (txFromWire(wires[i % SET]).id.length !== 64) throw new Error('bad txid');
    },
  }, 0.8);

  const base = 'txid.stringify_sha';
  rows.push(
    { key: base, group: TXID_GROUP, name: 'JSON.stringify + noble sha256 (not canonical)', value: t.plain.perSec, unit: 'tx/s', note: `typical transfer body ${rawBytes} B` },
    { key: 'txid.canonical', group: TXID_GROUP, name: 'canonicalize + txidOf (prefix + body → SHA-256)', value: t.canon.perSec, unit: 'tx/s', base },
    { key: 'txid.canonicalize_only', group: TXID_GROUP, name: 'canonicalize only', value: t.canonOnly.perSec, unit: 'tx/s', base },
    { key: 'txid.make_tx', group: TXID_GROUP, name: 'makeTx (+ checkBodyShape)', value: t.made.perSec, unit: 'tx/s', base },
    { key: 'txid.from_wire', group: TXID_GROUP, name: 'txFromWire (canonicalize, shape, txid)', value: t.parsed.perSec, unit: 'tx/s', base },
  );
  return rows;
}
