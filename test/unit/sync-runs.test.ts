// How a sync cuts a batch of blocks into runs (connected in one MySQL transaction each): the
// chain's rule (runLength) and the sync's cut of wire blocks (splitRuns) must agree, or a run the
// sync prepared would connect in pieces.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_RUN, MAX_RUN_TXS, runLength } from '../../server/chain/engine.ts';
import { splitRuns } from '../../server/p2p/sync.ts';

const wiresOf = (counts: number[]) => counts.map((n) => ({ header: {}, txs: Array.from({ length: n }, () => ({})) }));
const hashesOf = (n: number) => Array.from({ length: n }, (_, i) => `h${i}`);

describe('runs of a sync', () => {
  test('a run takes at most MAX_RUN blocks', () => {
    assert.equal(runLength(Array(MAX_RUN + 10).fill(30)), MAX_RUN);
    assert.equal(runLength(Array(7).fill(30)), 7);
  });

  test('a run takes at most MAX_RUN_TXS txs, but always its first block', () => {
    assert.equal(runLength([3000, 1500, 1000, 10]), 2); // 4,500, and 5,500 would be too many
    assert.equal(runLength([MAX_RUN_TXS, 1]), 1);
    assert.equal(runLength([MAX_RUN_TXS + 5000, 1]), 1, 'a block bigger than a run goes alone');
    assert.equal(runLength([1001, 1001, 1001, 1001, 1001]), 4);
    assert.equal(runLength([]), 1);
  });

  test('splitRuns cuts a batch where the chain would, keeping each block with its hash', () => {
    const counts = [3000, 1500, 1000, 10, ...Array(60).fill(2)];
    const runs = splitRuns(wiresOf(counts), hashesOf(counts.length));
    assert.deepEqual(runs.map((r) => r.wires.length), [2, 50, 12]);
    assert.deepEqual(runs.map((r) => r.txs), [4500, 1010 + 48 * 2, 12 * 2]);
    assert.deepEqual(runs.flatMap((r) => r.hashes), hashesOf(counts.length));
    for (const r of runs) assert.equal(runLength(r.wires.map((w) => (w as { txs: unknown[] }).txs.length)), r.wires.length);
  });

  test('a wire block without a txs list counts as none (its decoding refuses it)', () => {
    const runs = splitRuns([{ header: {} }, { txs: 'x' }, ...wiresOf([5])], hashesOf(3));
    assert.deepEqual(runs.map((r) => [r.wires.length, r.txs]), [[3, 5]]);
  });
});
