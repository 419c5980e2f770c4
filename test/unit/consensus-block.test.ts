import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressOf, beats, bitsForHeight, blockFromWire, blockHash, blockToWire, blockWork, checkBlockShape, checkCoinbase, checkHeader,
  checkHeaderShape, genesisTemplate, hasEnoughTxs, isGenesisOf, leadingZeroBits, makeBlock, makeCoinbase, makeTx, meetsTarget,
  medianTime, merkleProof, merkleRoot, mineSync, minTxForHeight, parseConsensusConfig, publicKeyOf, signTx, verifyMerkleProof,
  templateTxs, ZERO_HASH, type Block, type BlockHeader, type Tx,
} from '../../consensus/index.ts';
import { KEY_A, KEY_B, exampleText, sha256Buf, sha256Hex, throwsCode } from './consensus-helpers.ts';

const PUB_A = publicKeyOf(KEY_A);
const ADDR_A = addressOf(PUB_A);
const ADDR_B = addressOf(publicKeyOf(KEY_B));
const CHAIN = sha256Hex('consensus-block chain');

/** Independent bitcoin-style merkle root with node:crypto. */
function refMerkle(txids: string[]): string {
  let level: Buffer[] = txids.map((t) => Buffer.from(t, 'hex'));
  while (level.length > 1) {
    if (level.length % 2) level.push(level[level.length - 1]);
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256Buf(Buffer.concat([level[i], level[i + 1]])));
    level = next;
  }
  return level[0].toString('hex');
}

const ids = (n: number, tag = 'leaf'): string[] => Array.from({ length: n }, (_, i) => sha256Hex(`${tag} ${i}`));

test('merkle root: one tx → its txid; two → sha256(a‖b); three duplicates the last', () => {
  const [a, b, c] = ids(3);
  assert.equal(merkleRoot([a]), a);
  const ab = sha256Buf(Buffer.from(a + b, 'hex'));
  assert.equal(merkleRoot([a, b]), ab.toString('hex'));
  const cc = sha256Buf(Buffer.from(c + c, 'hex'));
  assert.equal(merkleRoot([a, b, c]), sha256Buf(Buffer.concat([ab, cc])).toString('hex'));
  assert.equal(merkleRoot([a, b, c]), merkleRoot([a, b, c, c]), 'bitcoin-style duplication');
  assert.notEqual(merkleRoot([a, b]), merkleRoot([b, a]), 'order matters');
  throwsCode(() => merkleRoot([]), 'bad-block');
  throwsCode(() => merkleRoot([a, 'ab']), 'bad-block');
});

test('merkle root matches an independent computation for 1..40 leaves and for block-sized lists', () => {
  for (const n of [...Array.from({ length: 40 }, (_, i) => i + 1), 127, 128, 129, 1000, 1001, 1025]) {
    const leaves = ids(n, `m${n}`);
    assert.equal(merkleRoot(leaves), refMerkle(leaves), `n=${n}`);
  }
});

test('merkle proofs verify for every index of 1..9 leaves, and fail when anything is changed', () => {
  for (let n = 1; n <= 9; n++) {
    const leaves = ids(n, `p${n}`);
    const root = merkleRoot(leaves);
    const depth = n === 1 ? 0 : Math.ceil(Math.log2(n));
    for (let i = 0; i < n; i++) {
      const proof = merkleProof(leaves, i);
      assert.equal(proof.length, depth, `n=${n} i=${i}`);
      assert.ok(verifyMerkleProof(leaves[i], i, proof, root), `n=${n} i=${i}`);
      // another leaf with the same proof, the wrong root, a changed sibling, or the wrong index
      if (n > 1) {
        const other = leaves[(i + 1) % n];
        assert.equal(verifyMerkleProof(other, i, proof, root), false);
        assert.equal(verifyMerkleProof(leaves[i], i, proof, sha256Hex('not the root')), false);
        const tampered = [...proof];
        tampered[0] = sha256Hex('tampered');
        assert.equal(verifyMerkleProof(leaves[i], i, tampered, root), false);
        const wrongIndex = i ^ 1;
        // the sibling at i^1 differs from leaf i unless i is the duplicated last leaf of an odd level
        if (wrongIndex < n) assert.equal(verifyMerkleProof(leaves[i], wrongIndex, proof, root), false, `n=${n} i=${i} as ${wrongIndex}`);
        assert.equal(verifyMerkleProof(leaves[i], i, proof.slice(0, -1), root), false, 'truncated proof');
      }
    }
  }
});

test('leadingZeroBits and meetsTarget', () => {
  const cases: [string, number][] = [
    ['ff' + '00'.repeat(31), 0],
    ['80' + '00'.repeat(31), 0],
    ['7f' + 'ff'.repeat(31), 1],
    ['40' + '00'.repeat(31), 1],
    ['3f' + 'ff'.repeat(31), 2],
    ['1f' + 'ff'.repeat(31), 3],
    ['0f' + 'ff'.repeat(31), 4],
    ['08' + '00'.repeat(31), 4],
    ['07' + 'ff'.repeat(31), 5],
    ['01' + '00'.repeat(31), 7],
    ['0080' + '00'.repeat(30), 8],
    ['0001' + 'ff'.repeat(30), 15],
    ['000000' + 'ff'.repeat(29), 24],
    ['00000000000001' + 'ff'.repeat(25), 55],
    ['00'.repeat(31) + '01', 255],
    ['00'.repeat(32), 256],
  ];
  for (const [h, bits] of cases) {
    assert.equal(leadingZeroBits(h), bits, h);
    assert.ok(meetsTarget(h, bits));
    assert.ok(meetsTarget(h, 0));
    if (bits < 256) assert.equal(meetsTarget(h, bits + 1), false, h);
  }
  // independent check against BigInt bit length for random hashes
  for (let i = 0; i < 200; i++) {
    const h = sha256Hex(`lz ${i}`);
    const v = BigInt('0x' + h);
    assert.equal(leadingZeroBits(h), 256 - v.toString(2).length);
  }
});

test('blockWork is 2^bits and blockHash is sha256 of the canonical header', () => {
  assert.equal(blockWork(0), 1n);
  assert.equal(blockWork(16), 65536n);
  assert.equal(blockWork(24), 16777216n);
  assert.equal(blockWork(200), 2n ** 200n);
  const header: BlockHeader = { v: 1, height: 7, prev: sha256Hex('p'), merkle: sha256Hex('m'), time: 1_700_000_000_000, bits: 16, nonce: 42 };
  const canonical = `{"bits":16,"height":7,"merkle":"${header.merkle}","nonce":42,"prev":"${header.prev}","time":1700000000000,"v":1}`;
  assert.equal(blockHash(header), sha256Hex(canonical));
  assert.equal(blockHash({ nonce: 42, bits: 16, time: 1_700_000_000_000, merkle: header.merkle, prev: header.prev, height: 7, v: 1 }), sha256Hex(canonical));
});

test('mineSync finds the first nonce that meets the target', () => {
  for (const bits of [0, 1, 4, 8, 10]) {
    const h = { v: 1 as const, height: 3, prev: sha256Hex(`prev ${bits}`), merkle: sha256Hex('merkle'), time: 1_700_000_000_000 + bits, bits };
    const mined = mineSync(h);
    assert.ok(meetsTarget(blockHash(mined), bits));
    assert.ok(leadingZeroBits(blockHash(mined)) >= bits);
    assert.deepEqual({ ...mined, nonce: 0 }, { ...h, nonce: 0 }, 'only the nonce changes');
    for (let n = 0; n < mined.nonce; n++) assert.equal(meetsTarget(blockHash({ ...h, nonce: n }), bits), false, `nonce ${n} also meets`);
    const later = mineSync(h, mined.nonce + 1);
    assert.ok(later.nonce > mined.nonce);
    assert.ok(meetsTarget(blockHash(later), bits));
  }
});

// --- blocks built from real transactions ---

function transfer(i: number): Tx {
  return signTx({
    v: 1, chain: CHAIN, time: 1_700_000_000_000 + i, from: PUB_A,
    in: [{ tx: sha256Hex(`fund ${i}`), n: 0 }], out: [{ to: ADDR_B, amount: String(1000 + i) }],
  }, KEY_A);
}

const TXS = Array.from({ length: 8 }, (_, i) => transfer(i));

/** Low-difficulty config: MaxMin 3, Max 5, 10 coins a block. */
const SMALL = parseConsensusConfig({ CoinsForBlockMade: 10, Settings: { Complexity: 4, ComplexityStep2: 6, MaxMinNumberTransactionInBlock: 3, MaxNumberTransactionInBlock: 5 } });

function block(height: number, txs: Tx[], opts: { time?: number; coinbase?: Tx; cfg?: typeof SMALL } = {}): Block {
  const cfg = opts.cfg ?? SMALL;
  const cb = opts.coinbase ?? makeCoinbase(CHAIN, height, ADDR_A, cfg.coinsForBlockMade);
  return makeBlock({ v: 1, height, prev: sha256Hex(`parent ${height}`), time: opts.time ?? 1_700_000_100_000, bits: bitsForHeight(cfg, height), nonce: 0 }, [cb, ...txs]);
}

test('makeBlock → wire (JSON) → blockFromWire round-trips', () => {
  const b = block(3, TXS.slice(0, 3));
  assert.equal(b.header.merkle, refMerkle(b.txs.map((t) => t.id)));
  assert.equal(b.hash, blockHash(b.header));
  const wire = JSON.parse(JSON.stringify(blockToWire(b)));
  const back = blockFromWire(wire);
  assert.equal(back.hash, b.hash);
  assert.deepEqual(back.header, b.header);
  assert.deepEqual(back.txs.map((t) => t.id), b.txs.map((t) => t.id));
  assert.deepEqual(back.txs.map((t) => t.sig), b.txs.map((t) => t.sig));
  assert.equal(back.txs[0].sig, undefined);
  assert.ok(!('sig' in wire.txs[0]), 'a coinbase travels without sig');
});

test('blockFromWire refuses a wrong merkle root, extra keys and bad shapes', () => {
  const b = block(3, TXS.slice(0, 3));
  const wire = (): any => JSON.parse(JSON.stringify(blockToWire(b)));
  const cases: Record<string, [(w: any) => unknown, string]> = {
    'merkle of other txs': [(w) => { w.header.merkle = sha256Hex('x'); return w; }, 'bad-block'],
    'tx removed': [(w) => { w.txs.pop(); return w; }, 'bad-block'],
    'txs reordered': [(w) => { [w.txs[1], w.txs[2]] = [w.txs[2], w.txs[1]]; return w; }, 'bad-block'],
    'last tx duplicated (same merkle, caught later by duplicate-tx) still parses': [(w) => w, 'ok'],
    'extra key in block': [(w) => { w.extra = 1; return w; }, 'bad-block'],
    'extra key in header': [(w) => { w.header.extra = 1; return w; }, 'bad-block'],
    'missing nonce': [(w) => { delete w.header.nonce; return w; }, 'bad-block'],
    'v 2': [(w) => { w.header.v = 2; return w; }, 'bad-block'],
    'height negative': [(w) => { w.header.height = -1; return w; }, 'bad-block'],
    'height fractional': [(w) => { w.header.height = 1.5; return w; }, 'bad-block'],
    'time as string': [(w) => { w.header.time = '1'; return w; }, 'bad-block'],
    'nonce unsafe integer': [(w) => { w.header.nonce = 2 ** 53; return w; }, 'bad-block'],
    'bits 257': [(w) => { w.header.bits = 257; return w; }, 'bad-block'],
    'prev uppercase': [(w) => { w.header.prev = w.header.prev.toUpperCase(); return w; }, 'bad-block'],
    'prev short': [(w) => { w.header.prev = 'ab'; return w; }, 'bad-block'],
    'header is a list': [(w) => { w.header = [w.header]; return w; }, 'bad-block'],
    'txs not a list': [(w) => { w.txs = {}; return w; }, 'bad-block'],
    'no txs': [(w) => { w.txs = []; return w; }, 'bad-block'],
    'block is null': [() => null, 'bad-block'],
    'block is a list': [(w) => [w.header, w.txs], 'bad-block'],
    'malformed tx': [(w) => { w.txs[1].body.out[0].to = 'nope'; return w; }, 'bad-encoding'],
    'unsigned transfer': [(w) => { delete w.txs[1].sig; return w; }, 'bad-signature'],
  };
  for (const [what, [change, code]] of Object.entries(cases)) {
    if (code === 'ok') continue;
    throwsCode(() => blockFromWire(change(wire())), code as 'bad-block', undefined, what);
  }
  assert.doesNotThrow(() => checkHeaderShape(b.header));
  // The classic CVE-2012-2459 shape: duplicating the last tx keeps the merkle root. It parses here;
  // the duplicate txid is refused when the block's txs are checked in order (duplicate-tx).
  const odd = block(3, TXS.slice(0, 2));
  const dup = JSON.parse(JSON.stringify(blockToWire(odd)));
  dup.txs.push(dup.txs[2]);
  const parsed = blockFromWire(dup);
  assert.equal(parsed.hash, odd.hash);
  assert.equal(parsed.txs.length, 4);
});

test('bitsForHeight and minTxForHeight follow the config', () => {
  const hard = parseConsensusConfig(exampleText('tests-hardpow'));
  assert.equal(bitsForHeight(hard, 0), 22);
  assert.equal(bitsForHeight(hard, 19), 22);
  assert.equal(bitsForHeight(hard, 20), 24);
  assert.equal(bitsForHeight(hard, 100000), 24);
  assert.equal(minTxForHeight(hard, 0), 1);
  assert.equal(minTxForHeight(hard, 5), 5);
  assert.equal(minTxForHeight(hard, 20), 20);
  assert.equal(minTxForHeight(hard, 21), 20);
});

test('checkHeader: linkage, bits, proof of work, time', () => {
  const cfg = parseConsensusConfig({ Settings: { Complexity: 4, ComplexityStep2: 6, MaxMinNumberTransactionInBlock: 10 } });
  const now = 1_700_000_000_000;
  const parent: BlockHeader = { v: 1, height: 9, prev: ZERO_HASH, merkle: sha256Hex('pm'), time: now - 60_000, bits: 4, nonce: 0 };
  const median = now - 600_000;
  const ctx = { parent, medianTimePast: median, now };
  const child = (over: Partial<Omit<BlockHeader, 'nonce'>> = {}): BlockHeader =>
    mineSync({ v: 1, height: 10, prev: blockHash(parent), merkle: sha256Hex('cm'), time: now, bits: 6, ...over });
  const ok = child();
  assert.doesNotThrow(() => checkHeader(cfg, ok, blockHash(ok), ctx));
  // below MaxMin the first complexity applies
  const ctx8 = { ...ctx, parent: { ...parent, height: 8 } };
  const at9 = child({ height: 9, bits: 4 });
  assert.doesNotThrow(() => checkHeader(cfg, at9, blockHash(at9), ctx8));
  const at9hard = child({ height: 9, bits: 6 });
  throwsCode(() => checkHeader(cfg, at9hard, blockHash(at9hard), ctx8), 'bad-pow', 'bits 4');

  for (const height of [9, 11, 0, 20]) {
    const h = child({ height, bits: bitsForHeight(cfg, height) });
    throwsCode(() => checkHeader(cfg, h, blockHash(h), ctx), 'bad-block', 'does not follow', `height ${height}`);
  }
  for (const bits of [4, 5, 7, 0]) {
    const h = child({ bits });
    throwsCode(() => checkHeader(cfg, h, blockHash(h), ctx), 'bad-pow', 'must have bits 6', `bits ${bits}`);
  }
  // a nonce that does not meet the target
  let nonce = 0;
  while (meetsTarget(blockHash({ ...ok, nonce }), 6)) nonce++;
  const weak = { ...ok, nonce };
  throwsCode(() => checkHeader(cfg, weak, blockHash(weak), ctx), 'bad-pow', 'proof-of-work');
  // the proof of work is checked on the hash given with the header
  throwsCode(() => checkHeader(cfg, ok, 'f'.repeat(64), ctx), 'bad-pow');

  // time: strictly after the median of the last 11 blocks, strictly before now + 2 h
  const atMedian = child({ time: median });
  throwsCode(() => checkHeader(cfg, atMedian, blockHash(atMedian), ctx), 'bad-time', 'median');
  const beforeMedian = child({ time: median - 1 });
  throwsCode(() => checkHeader(cfg, beforeMedian, blockHash(beforeMedian), ctx), 'bad-time');
  const afterMedian = child({ time: median + 1 });
  assert.doesNotThrow(() => checkHeader(cfg, afterMedian, blockHash(afterMedian), ctx));
  const twoHours = 2 * 60 * 60 * 1000;
  const atLimit = child({ time: now + twoHours });
  throwsCode(() => checkHeader(cfg, atLimit, blockHash(atLimit), ctx), 'bad-time', 'future');
  const justBelow = child({ time: now + twoHours - 1 });
  assert.doesNotThrow(() => checkHeader(cfg, justBelow, blockHash(justBelow), ctx));
});

test('medianTime of the last blocks', () => {
  assert.equal(medianTime([5]), 5);
  assert.equal(medianTime([3, 1, 2]), 2);
  assert.equal(medianTime([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]), 60);
  assert.equal(medianTime([110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10]), 60);
  assert.equal(medianTime([1, 1000, 2, 999]), 999, 'even count: upper middle');
  const arr = [3, 1, 2];
  medianTime(arr);
  assert.deepEqual(arr, [3, 1, 2], 'input is not sorted in place');
});

test('hasEnoughTxs with the default config: min(max(h,1), 1000) txs', () => {
  const cfg = parseConsensusConfig(exampleText('docker-consensusconfig'));
  const t = 1_700_000_000_000;
  assert.equal(hasEnoughTxs(cfg, 1, 0, t, t - 1), false);
  assert.equal(hasEnoughTxs(cfg, 1, 1, t, t - 1), true);
  assert.equal(hasEnoughTxs(cfg, 2, 1, t, t - 1), false);
  assert.equal(hasEnoughTxs(cfg, 2, 2, t, t - 1), true);
  assert.equal(hasEnoughTxs(cfg, 10, 9, t, t - 1), false);
  assert.equal(hasEnoughTxs(cfg, 10, 10, t, t - 1), true);
  assert.equal(hasEnoughTxs(cfg, 999, 999, t, t - 1), true);
  assert.equal(hasEnoughTxs(cfg, 1500, 999, t, t - 1), false);
  assert.equal(hasEnoughTxs(cfg, 1500, 1000, t, t - 1), true);
  assert.equal(hasEnoughTxs(cfg, 1_000_000, 1000, t, t - 1), true);
  // MaxBlockIntervalSeconds is off by default: a year later a 1-tx block at height 1500 is still short
  assert.equal(hasEnoughTxs(cfg, 1500, 1, t + 365 * 86_400_000, t), false);
});

test('MaxBlockIntervalSeconds lets a block with ≥ 1 tx through once that long after its parent', () => {
  const cfg = parseConsensusConfig({ Settings: { MaxBlockIntervalSeconds: 60 } });
  assert.equal(cfg.maxBlockIntervalSeconds, 60);
  const parent = 1_700_000_000_000;
  assert.equal(hasEnoughTxs(cfg, 500, 1, parent + 60_000, parent), true);
  assert.equal(hasEnoughTxs(cfg, 500, 1, parent + 60_001, parent), true);
  assert.equal(hasEnoughTxs(cfg, 500, 1, parent + 59_999, parent), false);
  assert.equal(hasEnoughTxs(cfg, 500, 2, parent + 1, parent), false);
  assert.equal(hasEnoughTxs(cfg, 500, 0, parent + 60_000, parent), false, 'never with 0 tx');
  assert.equal(hasEnoughTxs(cfg, 500, 0, parent + 10 ** 12, parent), false, 'never with 0 tx');
  assert.equal(hasEnoughTxs(cfg, 500, 500, parent + 1, parent), true, 'a full block needs no wait');
  // block-level check uses it too
  const small = parseConsensusConfig({ CoinsForBlockMade: 10, Settings: { Complexity: 4, MaxMinNumberTransactionInBlock: 3, MaxBlockIntervalSeconds: 60 } });
  const b = block(7, TXS.slice(0, 1), { time: parent + 60_000, cfg: small });
  assert.doesNotThrow(() => checkBlockShape(small, b, parent, CHAIN));
  const early = block(7, TXS.slice(0, 1), { time: parent + 59_999, cfg: small });
  throwsCode(() => checkBlockShape(small, early, parent, CHAIN), 'bad-block', 'needs at least 3');
  const empty = block(7, [], { time: parent + 600_000, cfg: small });
  throwsCode(() => checkBlockShape(small, empty, parent, CHAIN), 'bad-block', 'needs at least 3');
});

test('checkBlockShape: tx counts, coinbase presence, amount, height and chain', () => {
  const parentTime = 1_700_000_000_000;
  // valid: height 2 needs 2, height 7 needs 3 (MaxMin), at most 5
  assert.doesNotThrow(() => checkBlockShape(SMALL, block(2, TXS.slice(0, 2)), parentTime, CHAIN));
  assert.doesNotThrow(() => checkBlockShape(SMALL, block(7, TXS.slice(0, 3)), parentTime, CHAIN));
  assert.doesNotThrow(() => checkBlockShape(SMALL, block(7, TXS.slice(0, 5)), parentTime, CHAIN));
  throwsCode(() => checkBlockShape(SMALL, block(2, TXS.slice(0, 1)), parentTime, CHAIN), 'bad-block', 'needs at least 2');
  throwsCode(() => checkBlockShape(SMALL, block(7, TXS.slice(0, 2)), parentTime, CHAIN), 'bad-block', 'needs at least 3');
  throwsCode(() => checkBlockShape(SMALL, block(7, TXS.slice(0, 6)), parentTime, CHAIN), 'bad-block', 'at most 5');

  // missing coinbase: first tx is a transfer
  const noCb = makeBlock({ v: 1, height: 2, prev: ZERO_HASH, time: parentTime + 1, bits: 4, nonce: 0 }, TXS.slice(0, 3));
  throwsCode(() => checkBlockShape(SMALL, noCb, parentTime, CHAIN), 'bad-block', 'coinbase');
  // a second coinbase
  const cb2 = makeCoinbase(CHAIN, 2, ADDR_B, SMALL.coinsForBlockMade);
  throwsCode(() => checkBlockShape(SMALL, block(2, [TXS[0], cb2, TXS[1]]), parentTime, CHAIN), 'bad-block', 'only the first');
  // coinbase amount
  for (const units of [SMALL.coinsForBlockMade + 1n, SMALL.coinsForBlockMade - 1n, 0n, SMALL.coinsForBlockMade * 2n]) {
    const cb = makeCoinbase(CHAIN, 2, ADDR_A, units);
    throwsCode(() => checkBlockShape(SMALL, block(2, TXS.slice(0, 2), { coinbase: cb }), parentTime, CHAIN), 'bad-block', 'pay exactly', String(units));
  }
  assert.equal(SMALL.coinsForBlockMade, 1_000_000_000n);
  // coinbase height
  for (const h of [1, 3, 0]) {
    const cb = makeCoinbase(CHAIN, h, ADDR_A, SMALL.coinsForBlockMade);
    throwsCode(() => checkBlockShape(SMALL, block(2, TXS.slice(0, 2), { coinbase: cb }), parentTime, CHAIN), 'bad-block', 'coinbase height', String(h));
  }
  // coinbase of another chain
  const other = makeCoinbase(sha256Hex('other chain'), 2, ADDR_A, SMALL.coinsForBlockMade);
  throwsCode(() => checkBlockShape(SMALL, block(2, TXS.slice(0, 2), { coinbase: other }), parentTime, CHAIN), 'wrong-chain');
  // header merkle not matching the tx list
  const good = block(2, TXS.slice(0, 2));
  const forged: Block = { ...good, txs: [good.txs[0], TXS[5], TXS[6]] };
  throwsCode(() => checkBlockShape(SMALL, forged, parentTime, CHAIN), 'bad-block', 'merkle');
  throwsCode(() => checkCoinbase(SMALL, undefined as unknown as Tx, 2, CHAIN), 'bad-block');
  throwsCode(() => makeCoinbase(CHAIN, 2, 'not an address', 1n), 'bad-address');
});

test('coinbase body shape: exactly one output, height integer, no signature', () => {
  const cb = makeCoinbase(CHAIN, 4, ADDR_A, 5n);
  assert.deepEqual(cb.body, { v: 1, chain: CHAIN, coinbase: 4, out: [{ to: ADDR_A, amount: '5' }] });
  assert.equal(cb.raw, `{"chain":"${CHAIN}","coinbase":4,"out":[{"amount":"5","to":"${ADDR_A}"}],"v":1}`);
  throwsCode(() => makeTx({ v: 1, chain: CHAIN, coinbase: 4, out: [] }), 'bad-encoding');
  throwsCode(() => makeTx({ v: 1, chain: CHAIN, coinbase: 4, out: [{ to: ADDR_A, amount: '1' }, { to: ADDR_B, amount: '1' }] }), 'bad-encoding');
  throwsCode(() => makeTx({ v: 1, chain: CHAIN, coinbase: -1, out: [{ to: ADDR_A, amount: '1' }] }), 'bad-encoding');
  throwsCode(() => makeTx({ v: 1, chain: CHAIN, coinbase: 1, time: 5, out: [{ to: ADDR_A, amount: '1' }] } as never), 'bad-encoding');
});

test('genesis: commits to the config hash, meets its bits, and is recognised', () => {
  const cfg = parseConsensusConfig({ Settings: { Complexity: 8 } });
  const time = 1_700_000_000_000;
  const tpl = genesisTemplate(cfg, ADDR_A, time);
  assert.equal(tpl.header.height, 0);
  assert.equal(tpl.header.prev, cfg.hash);
  assert.equal(tpl.header.bits, 8);
  assert.equal(tpl.txs.length, 1);
  const cb = tpl.txs[0].body;
  assert.ok('coinbase' in cb);
  assert.equal(cb.chain, cfg.hash);
  assert.deepEqual(cb.out, [{ to: ADDR_A, amount: '1000000000' }]);
  assert.equal(tpl.header.merkle, tpl.txs[0].id);
  const header = mineSync(tpl.header);
  const g: Block = { hash: blockHash(header), header, txs: tpl.txs };
  assert.ok(leadingZeroBits(g.hash) >= 8);
  assert.ok(isGenesisOf(g, cfg));
  const other = parseConsensusConfig({ Settings: { Complexity: 9 } });
  assert.equal(isGenesisOf(g, other), false);
  // round trip over the wire
  assert.equal(blockFromWire(JSON.parse(JSON.stringify(blockToWire(g)))).hash, g.hash);
  throwsCode(() => genesisTemplate(cfg, '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMh', time), 'bad-address');
});

test('the txs of a template are frozen with their merkle root; makeBlock of them makes the same block as of a copy', () => {
  const cb = makeCoinbase(CHAIN, 2, ADDR_A, 50n);
  const t = templateTxs([cb, ...TXS.slice(0, 3)]);
  assert.equal(t.merkle, merkleRoot([cb, ...TXS.slice(0, 3)].map((x) => x.id)));
  assert.ok(Object.isFrozen(t.txs));
  assert.throws(() => (t.txs as Tx[]).push(TXS[3]), TypeError, 'no tx can be added after the root was taken');
  const header = { v: 1 as const, height: 2, prev: ZERO_HASH, time: 1_700_000_100_000, bits: 4, nonce: 7 };
  const fromTemplate = makeBlock(header, t.txs);
  const fromCopy = makeBlock(header, [...t.txs]);
  assert.equal(fromTemplate.header.merkle, t.merkle);
  assert.deepEqual(fromTemplate, fromCopy);
  assert.equal(fromTemplate.hash, fromCopy.hash);
});

test('fork choice: more work wins; at equal work the lower hash; a tip never beats itself', () => {
  const tip = (work: bigint, hash: string) => ({ work, hash });
  assert.equal(beats(tip(3n, 'ff'.repeat(32)), tip(2n, '00'.repeat(32))), true);
  assert.equal(beats(tip(2n, '00'.repeat(32)), tip(3n, 'ff'.repeat(32))), false);
  assert.equal(beats(tip(2n, '0a'.repeat(32)), tip(2n, '0b'.repeat(32))), true);
  assert.equal(beats(tip(2n, '0b'.repeat(32)), tip(2n, '0a'.repeat(32))), false);
  assert.equal(beats(tip(2n, '0a'.repeat(32)), tip(2n, '0a'.repeat(32))), false);
});
