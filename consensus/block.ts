import { bytesToHex, concatBytes, hexToBytes, isHex, sha256 } from './bytes.ts';
import { canonicalize } from './canonical.ts';
import { fail } from './errors.ts';
import { isObject, isUint, onlyKeys, txFromWire, txToWire, type Tx, type TxWire } from './tx.ts';

export const BLOCK_VERSION = 1;
export const ZERO_HASH = '0'.repeat(64);

export interface BlockHeader {
  v: 1;
  height: number;
  prev: string;
  merkle: string;
  time: number;
  bits: number;
  nonce: number;
}

export interface Block {
  readonly hash: string;
  readonly header: BlockHeader;
  /** Coinbase first. */
  readonly txs: readonly Tx[];
}

export interface BlockWire { header: unknown; txs: TxWire[] }

export function blockHash(header: BlockHeader): string {
  return bytesToHex(sha256(canonicalize(header)));
}

/**
 * Bitcoin-style merkle root over txids (coinbase first); odd levels repeat their last node.
 * The levels live in one buffer (32 bytes a node, one spare slot for the repeat): each pair is
 * hashed where it lies and its parent written over the level's front, which is already read.
 */
export function merkleRoot(txids: readonly string[]): string {
  const n = txids.length;
  if (n === 0) fail('bad-block', 'a block has at least its coinbase');
  const nodes = new Uint8Array((n + 1) * 32);
  for (let i = 0; i < n; i++) {
    const id = hexToBytes(txids[i]);
    if (id.length !== 32) fail('bad-block', 'a txid is 32 bytes');
    nodes.set(id, i * 32);
  }
  for (let len = n; len > 1; len = (len + 1) >> 1) {
    if (len & 1) nodes.copyWithin(len * 32, (len - 1) * 32, len * 32);
    for (let i = 0; i < len; i += 2) nodes.set(sha256(nodes.subarray(i * 32, i * 32 + 64)), i * 16);
  }
  return bytesToHex(nodes.subarray(0, 32));
}

/** The proof a client needs to check that `txid` is in a block with root `merkle`. */
export function merkleProof(txids: readonly string[], index: number): string[] {
  const proof: string[] = [];
  let level = txids.map(hexToBytes);
  let i = index;
  while (level.length > 1) {
    proof.push(bytesToHex(level[i ^ 1] ?? level[i]));
    const next: Uint8Array[] = [];
    for (let j = 0; j < level.length; j += 2) next.push(sha256(concatBytes(level[j], level[j + 1] ?? level[j])));
    level = next;
    i >>= 1;
  }
  return proof;
}

export function verifyMerkleProof(txid: string, index: number, proof: readonly string[], root: string): boolean {
  let node = hexToBytes(txid);
  let i = index;
  for (const sibling of proof) {
    const s = hexToBytes(sibling);
    node = i & 1 ? sha256(concatBytes(s, node)) : sha256(concatBytes(node, s));
    i >>= 1;
  }
  return bytesToHex(node) === root;
}

/** Number of leading zero bits of a hex hash. */
export function leadingZeroBits(hashHex: string): number {
  let bits = 0;
  for (const ch of hashHex) {
    const nibble = parseInt(ch, 16);
    if (nibble === 0) {
      bits += 4;
      continue;
    }
    return bits + Math.clz32(nibble) - 28;
  }
  return bits;
}

export function meetsTarget(hashHex: string, bits: number): boolean {
  return leadingZeroBits(hashHex) >= bits;
}

/** Work of one block: 2^bits expected hashes. */
export function blockWork(bits: number): bigint {
  return 1n << BigInt(bits);
}

/**
 * Fork choice: the tip with more cumulative work; at equal work the lower block hash. (SPEC 3 keeps
 * the first seen on a tie, which leaves nodes that saw two equal tips in different orders apart
 * until a next block, and a quiet chain may have none: docs/consensus.md.)
 */
export function beats(a: { work: bigint; hash: string }, b: { work: bigint; hash: string }): boolean {
  return a.work > b.work || (a.work === b.work && a.hash < b.hash);
}

export function checkHeaderShape(h: unknown): asserts h is BlockHeader {
  const bad = (why: string): never => fail('bad-block', `malformed block header: ${why}`);
  if (!isObject(h) || !onlyKeys(h, ['v', 'height', 'prev', 'merkle', 'time', 'bits', 'nonce'])) bad('unexpected keys');
  const x = h as Record<string, unknown>;
  if (x.v !== BLOCK_VERSION) bad(`v must be ${BLOCK_VERSION}`);
  if (!isUint(x.height) || !isUint(x.time) || !isUint(x.nonce)) bad('height, time and nonce must be non-negative integers');
  if (!isUint(x.bits) || (x.bits as number) > 256) bad('bits out of range');
  if (!isHex(x.prev, 32) || !isHex(x.merkle, 32)) bad('prev and merkle must be 32-byte hex hashes');
}

/** Parses a block from the wire: shapes, canonical bodies, merkle root. Chain rules are checked elsewhere. */
export function blockFromWire(wire: unknown): Block {
  if (!isObject(wire) || !onlyKeys(wire, ['header', 'txs']) || !Array.isArray(wire.txs)) fail('bad-block', 'block must be {header, txs}');
  return blockFromParts(wire.header, (wire.txs as unknown[]).map(txFromWire));
}

/**
 * A block from a header and txs already decoded (a compact block: most txs come from the pool,
 * parsed and checked when they were pooled): header shape and merkle root checked.
 */
export function blockFromParts(header: unknown, txs: readonly Tx[]): Block {
  checkHeaderShape(header);
  if (txs.length === 0) fail('bad-block', 'block has no coinbase');
  const root = merkleRoot(txs.map((t) => t.id));
  if (root !== header.merkle) fail('bad-block', 'merkle root does not match the transactions');
  return withRoot(blockHash(header), header, txs, root);
}

/**
 * The merkle root of each block made here, over its txs (a frozen copy, so it stays true): a
 * block's txs are hashed once, not again by checkBlockShape (4 ms per 1,000 txs each time).
 */
const roots = new WeakMap<Block, string>();

function withRoot(hash: string, header: BlockHeader, txs: readonly Tx[], root: string): Block {
  const block: Block = { hash, header, txs: Object.freeze([...txs]) };
  roots.set(block, root);
  return block;
}

/** Whether the block's header names the merkle root of its txs. */
export function merkleMatches(block: Block): boolean {
  return (roots.get(block) ?? merkleRoot(block.txs.map((t) => t.id))) === block.header.merkle;
}

export function blockToWire(block: Block): BlockWire {
  return { header: block.header, txs: block.txs.map(txToWire) };
}

/** Roots of tx lists frozen by `templateTxs`: a miner's block reuses its template's root. */
const listRoots = new WeakMap<readonly Tx[], string>();

/** A block template's txs, frozen, and their merkle root (`makeBlock` of that list hashes them no more). */
export function templateTxs(txs: readonly Tx[]): { txs: readonly Tx[]; merkle: string } {
  const frozen = Object.freeze([...txs]);
  const merkle = merkleRoot(frozen.map((t) => t.id));
  listRoots.set(frozen, merkle);
  return { txs: frozen, merkle };
}

export function makeBlock(header: Omit<BlockHeader, 'merkle'>, txs: readonly Tx[]): Block {
  const full: BlockHeader = { ...header, merkle: listRoots.get(txs) ?? merkleRoot(txs.map((t) => t.id)) };
  return withRoot(blockHash(full), full, txs, full.merkle);
}
