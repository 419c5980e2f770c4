// Shared, independent helpers for the consensus-*.test.ts files. Everything here is computed with
// node:crypto and hand-written code, never with the library under test, so the tests compare the
// library against a second implementation.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ConsensusError, type ChainView, type Coin, type ConsensusErrorCode } from '../../consensus/index.ts';

export const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;

export const sha256Hex = (data: Uint8Array | string): string => crypto.createHash('sha256').update(data).digest('hex');
export const sha256Buf = (data: Uint8Array | string): Buffer => crypto.createHash('sha256').update(data).digest();
export const ripemd160Buf = (data: Uint8Array): Buffer => crypto.createHash('ripemd160').update(data).digest();

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export const BASE58_ALPHABET = B58;

export function base58Encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}

export function base58CheckEncode(payload: Uint8Array): string {
  const check = sha256Buf(sha256Buf(payload)).subarray(0, 4);
  return base58Encode(Buffer.concat([payload, check]));
}

/** Independent bitcoin P2PKH address of a compressed public key (hex). */
export function independentAddress(pubHex: string, version = 0x00): string {
  const h160 = ripemd160Buf(sha256Buf(Buffer.from(pubHex, 'hex')));
  return base58CheckEncode(Buffer.concat([Buffer.from([version]), h160]));
}

/** Public key of a private key computed by OpenSSL. */
export function opensslPublicKey(privHex: string, form: 'compressed' | 'uncompressed' = 'compressed'): string {
  const ecdh = crypto.createECDH('secp256k1');
  ecdh.setPrivateKey(Buffer.from(privHex, 'hex'));
  return ecdh.getPublicKey('hex', form);
}

/** A node:crypto (OpenSSL) private key object for a fixed private key hex. */
export function opensslPrivateKey(privHex: string): crypto.KeyObject {
  const pub = Buffer.from(opensslPublicKey(privHex, 'uncompressed'), 'hex');
  return crypto.createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'secp256k1',
      d: Buffer.from(privHex, 'hex').toString('base64url'),
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** SPKI DER of a compressed secp256k1 public key, so OpenSSL can verify with it. */
export function opensslPublicKeyObject(compressedPubHex: string): crypto.KeyObject {
  const spki = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200' + compressedPubHex, 'hex');
  return crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

/** OpenSSL: DER signature over SHA-256(message). */
export function opensslSign(privHex: string, message: Uint8Array): string {
  return crypto.sign('sha256', message, opensslPrivateKey(privHex)).toString('hex');
}

/** OpenSSL: verifies a DER signature over SHA-256(message). */
export function opensslVerify(compressedPubHex: string, message: Uint8Array, derHex: string): boolean {
  return crypto.verify('sha256', message, opensslPublicKeyObject(compressedPubHex), Buffer.from(derHex, 'hex'));
}

/** Minimal DER parse (lenient) → r, s as bigints; used to build high-S variants. */
export function derParse(derHex: string): { r: bigint; s: bigint } {
  const d = Buffer.from(derHex, 'hex');
  assert.equal(d[0], 0x30);
  let at = 2;
  const ints: bigint[] = [];
  for (let k = 0; k < 2; k++) {
    assert.equal(d[at], 0x02);
    const len = d[at + 1];
    ints.push(BigInt('0x' + (d.subarray(at + 2, at + 2 + len).toString('hex') || '00')));
    at += 2 + len;
  }
  return { r: ints[0], s: ints[1] };
}

/** Strict minimal DER of (r, s). */
export function derEncode(r: bigint, s: bigint): string {
  const int = (v: bigint): Buffer => {
    let h = v.toString(16);
    if (h.length % 2) h = '0' + h;
    let b = Buffer.from(h, 'hex');
    if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]).toString('hex');
}

export const hex32 = (v: bigint): string => v.toString(16).padStart(64, '0');

/** Asserts that fn throws a ConsensusError with `code` (and, optionally, a message matching `msg`). */
export function throwsCode(fn: () => unknown, code: ConsensusErrorCode, msg?: RegExp | string, label?: string): ConsensusError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `${label ?? ''} expected ConsensusError ${code}, nothing was thrown`);
  assert.ok(caught instanceof ConsensusError, `${label ?? ''} expected ConsensusError, got ${String(caught)}`);
  assert.equal(caught.code, code, `${label ?? ''} wrong code; message: ${caught.message}`);
  if (msg !== undefined) {
    if (typeof msg === 'string') assert.ok(caught.message.includes(msg), `${label ?? ''} message "${caught.message}" lacks "${msg}"`);
    else assert.match(caught.message, msg, label);
  }
  return caught;
}

/** A tiny Map-backed chain view. */
export class MapChainView implements ChainView {
  readonly coins = new Map<string, Coin>();
  readonly refs = new Map<string, string>();
  readonly txs = new Set<string>();
  constructor(readonly genesis: string) {}
  addCoin(txid: string, n: number, to: string | null, amount: bigint): this {
    this.coins.set(`${txid}:${n}`, { to, amount });
    this.txs.add(txid);
    return this;
  }
  unspent(txid: string, n: number): Coin | undefined {
    return this.coins.get(`${txid}:${n}`);
  }
  latestOnRef(ref: string): string | null {
    return this.refs.get(ref) ?? null;
  }
  hasTx(txid: string): boolean {
    return this.txs.has(txid);
  }
}

export const EXAMPLES_DIR = fileURLToPath(new URL('../../../shared/consensus-examples/', import.meta.url));

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort();
}

export function exampleText(name: string): string {
  return readFileSync(join(EXAMPLES_DIR, name.endsWith('.json') ? name : `${name}.json`), 'utf8');
}

/** Fixed private keys used across the tests (never use these for real coins). */
export const KEY_A = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
export const KEY_B = '0000000000000000000000000000000000000000000000000000000000000003';
export const KEY_C = hex32(N - 1n);

/** Independent canonical JSON (sorted keys, no whitespace) of plain JSON values. */
export function canon(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).sort().map((k) => JSON.stringify(k) + ':' + canon(o[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}
