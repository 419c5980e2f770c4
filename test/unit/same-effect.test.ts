// When a block's txs may be taken without undoing and replaying the pool's SQL: only when, row by
// row, the block keeps the pool's order and no other pool tx touched the row first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tx } from '../../consensus/index.ts';
import { sameEffectAsPool } from '../../server/chain/engine.ts';

const tx = (id: string, refs: string[]): Tx => ({ id, raw: '', body: { sql: { stmts: [], undo: [], refs, base: {} } } as never });
const pool = (...txs: Tx[]) => txs.map((t) => ({ tx: t, inflight: false }));

test('txs on different rows commute; on the same row they keep the pool order', () => {
  const [a, b, c] = [tx('a', ['t:1']), tx('b', ['t:2']), tx('c', ['t:1'])];
  assert.ok(sameEffectAsPool([a, b, c], pool(a, b, c)));
  assert.ok(sameEffectAsPool([b, a, c], pool(a, b, c)), 'b commutes with a');
  assert.ok(!sameEffectAsPool([c, a, b], pool(a, b, c)), 'c after a on row t:1');
  assert.ok(sameEffectAsPool([b], pool(a, b, c)), 'a block of b alone');
  assert.ok(!sameEffectAsPool([c], pool(a, b, c)), 'a touched t:1 first and is not in the block');
  assert.ok(!sameEffectAsPool([a, tx('z', ['t:9'])], pool(a, b, c)), 'a tx not in the pool');
  assert.ok(!sameEffectAsPool([a], [{ tx: a, inflight: true }]), 'an in-flight entry is not committed yet');
});

test('a schema change orders every tx on its table', () => {
  const [ddl, r1, r2, other] = [tx('d', ['t:*']), tx('r1', ['t:1']), tx('r2', ['t:2']), tx('o', ['u:1'])];
  assert.ok(sameEffectAsPool([ddl, r1, r2, other], pool(ddl, r1, r2, other)));
  assert.ok(!sameEffectAsPool([r2, ddl, r1], pool(ddl, r1, r2)), 'r2 before the DDL');
  assert.ok(!sameEffectAsPool([r2, r1, ddl], pool(ddl, r1, r2)));
  assert.ok(sameEffectAsPool([other, ddl, r1, r2], pool(ddl, r1, r2, other)), 'another table commutes');
});
