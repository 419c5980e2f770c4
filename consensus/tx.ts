import { bytesToHex, isHex, sha256, utf8ToBytes } from './bytes.ts';
import { canonicalize, inCanonicalOrder, parseCanonical } from './canonical.ts';
import { fail } from './errors.ts';
import { isCompressedPublicKey, isValidAddress } from './keys.ts';
import { parseUnits } from './amount.ts';

export const TX_VERSION = 1;
export const SIGNED_TX_PREFIX = 'OurSQL signed transaction v1\n';
/** Upper bound of one transaction body (canonical JSON bytes). */
export const MAX_TX_BYTES = 1024 * 1024;
export const MAX_TX_INPUTS = 1000;
export const MAX_TX_OUTPUTS = 1000;

export interface TxInput { tx: string; n: number }
export interface TxOutput { to: string | null; amount: string }
export interface SqlPart {
  stmts: string[];
  undo: string[];
  refs: string[];
  base: Record<string, string | null>;
}
export interface TransferBody {
  v: 1;
  chain: string;
  time: number;
  from: string;
  in: TxInput[];
  out: TxOutput[];
  sql?: SqlPart;
}
export interface CoinbaseBody {
  v: 1;
  chain: string;
  coinbase: number;
  out: TxOutput[];
}
export type TxBody = TransferBody | CoinbaseBody;

/** A transaction as stored and sent: the body, its canonical text, id and signature (none for coinbase). */
export interface Tx {
  readonly id: string;
  readonly body: TxBody;
  /** Canonical JSON of the body: what is hashed and signed. */
  readonly raw: string;
  readonly sig?: string;
}

/** What travels between nodes and is stored: `{"body":{...},"sig":"..."}`. */
export interface TxWire { body: unknown; sig?: unknown }

export const isCoinbase = (body: TxBody): body is CoinbaseBody => 'coinbase' in body;

/** M = prefix ‖ canonical body: what a key holder signs (readable, never blind hex). */
export function signedMessageText(raw: string): string {
  return SIGNED_TX_PREFIX + raw;
}
export function signedMessage(raw: string): Uint8Array {
  return utf8ToBytes(signedMessageText(raw));
}

export function txidOf(raw: string): string {
  return bytesToHex(sha256(signedMessageText(raw)));
}

/** Builds a Tx from a body object we made ourselves (canonicalises it, checks its shape). */
export function makeTx(made: TxBody, sig?: string): Tx {
  const body = inCanonicalOrder(made);
  const raw = canonicalize(body);
  checkBodyShape(body, raw.length);
  return { id: txidOf(raw), body, raw, sig };
}

/** Parses a body received as canonical text (proxy DATA comment, RPC submitsigned). */
export function txFromRaw(raw: string, sig?: string): Tx {
  if (raw.length > MAX_TX_BYTES) fail('bad-encoding', `transaction body is larger than ${MAX_TX_BYTES} bytes`);
  return txFromCanonical(raw, parseCanonical(raw), sig);
}

/** `raw` is canonical JSON (checked or made so) and `body` what it parses to. */
function txFromCanonical(raw: string, body: unknown, sig: string | undefined): Tx {
  checkBodyShape(body, raw.length);
  if (sig !== undefined && !isHex(sig)) fail('bad-signature', 'signature must be lowercase hex');
  if (isCoinbase(body) && sig !== undefined) fail('bad-encoding', 'a coinbase carries no signature');
  if (!isCoinbase(body) && sig === undefined) fail('bad-signature', 'transaction is not signed');
  return { id: txidOf(raw), body, raw, sig };
}

/** `wire`: JSON data as parsed from a message or a row; its body becomes the tx's (left unmodified afterwards). */
export function txFromWire(wire: unknown): Tx {
  if (!isObject(wire) || !onlyKeys(wire, ['body', 'sig'])) fail('bad-encoding', 'transaction must be {"body":{...},"sig":"..."}');
  const raw = canonicalize(wire.body);
  const sig = wire.sig;
  if (sig !== undefined && typeof sig !== 'string') fail('bad-signature', 'signature must be a hex string');
  if (raw.length > MAX_TX_BYTES) fail('bad-encoding', `transaction body is larger than ${MAX_TX_BYTES} bytes`);
  // The body as received is what `raw` parses to: plain JSON data (a peer's message, parsed),
  // for which canonicalize only orders keys and spells numbers; no second parse is needed.
  return txFromCanonical(raw, wire.body, sig as string | undefined);
}

export function txToWire(tx: Tx): TxWire {
  return tx.sig === undefined ? { body: tx.body } : { body: tx.body, sig: tx.sig };
}

/** Strict structural check of a body: exact keys, types, hex, addresses, amounts. */
export function checkBodyShape(body: unknown, size: number): asserts body is TxBody {
  const bad = (why: string): never => fail('bad-encoding', `malformed transaction: ${why}`);
  if (size > MAX_TX_BYTES) bad(`larger than ${MAX_TX_BYTES} bytes`);
  if (!isObject(body)) bad('body is not an object');
  const b = body as Record<string, unknown>;
  if (b.v !== TX_VERSION) bad(`v must be ${TX_VERSION}`);
  if (!isHex(b.chain, 32)) bad('chain must be a 32-byte hex hash');
  if (!Array.isArray(b.out) || b.out.length > MAX_TX_OUTPUTS) bad('out must be a list');
  (b.out as unknown[]).forEach((o, i) => {
    if (!isObject(o) || !onlyKeys(o, ['to', 'amount']) || !('to' in o)) bad(`out[${i}] must be {to, amount}`);
    const out = o as Record<string, unknown>;
    if (out.to !== null && !isValidAddress(out.to)) bad(`out[${i}].to is not a valid address`);
    parseUnits(out.amount, `out[${i}].amount`);
  });
  if ('coinbase' in b) {
    if (!onlyKeys(b, ['v', 'chain', 'coinbase', 'out'])) bad('unexpected key in coinbase');
    if (!isUint(b.coinbase)) bad('coinbase must be the block height');
    if ((b.out as unknown[]).length !== 1) bad('a coinbase has exactly one output');
    return;
  }
  if (!onlyKeys(b, ['v', 'chain', 'time', 'from', 'in', 'out', 'sql'])) bad('unexpected key');
  if (!isUint(b.time)) bad('time must be unix milliseconds');
  if (!isCompressedPublicKey(b.from)) bad('from must be a compressed public key (33 bytes hex)');
  if (!Array.isArray(b.in) || b.in.length > MAX_TX_INPUTS) bad('in must be a list');
  (b.in as unknown[]).forEach((x, i) => {
    if (!isObject(x) || !onlyKeys(x, ['tx', 'n']) || !isHex(x.tx, 32) || !isUint(x.n)) bad(`in[${i}] must be {tx, n}`);
  });
  if (b.sql !== undefined) checkSqlShape(b.sql, bad);
  if ((b.in as unknown[]).length === 0 && b.sql === undefined) bad('a transaction without SQL must spend inputs');
}

function checkSqlShape(sql: unknown, bad: (why: string) => never): void {
  if (!isObject(sql) || !onlyKeys(sql, ['stmts', 'undo', 'refs', 'base'])) bad('sql must be {stmts, undo, refs, base}');
  const s = sql as Record<string, unknown>;
  for (const k of ['stmts', 'undo', 'refs'] as const) {
    if (!Array.isArray(s[k]) || !(s[k] as unknown[]).every((x) => typeof x === 'string')) bad(`sql.${k} must be a list of strings`);
  }
  if ((s.stmts as string[]).length === 0) bad('sql.stmts is empty');
  if (!isObject(s.base)) bad('sql.base must be an object');
  const base = s.base as Record<string, unknown>;
  const refs = s.refs as string[];
  if (new Set(refs).size !== refs.length) bad('sql.refs has duplicates');
  if (Object.keys(base).length !== refs.length || !refs.every((r) => r in base)) bad('sql.base must name exactly the refs');
  for (const r of refs) if (base[r] !== null && !isHex(base[r], 32)) bad(`sql.base["${r}"] must be a txid or null`);
}

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
export function onlyKeys(o: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(o).every((k) => allowed.includes(k));
}
export function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

export function sqlOf(tx: Tx): SqlPart | undefined {
  return isCoinbase(tx.body) ? undefined : tx.body.sql;
}
