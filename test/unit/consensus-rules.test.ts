import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actionCost, checkAllowed, isAllowed, isUnmanagedTable, parseConsensusConfig, sqlCost, type ConsensusConfig, type SqlAction,
  type SqlOp,
} from '../../consensus/index.ts';
import { exampleText, throwsCode } from './consensus-helpers.ts';

const COIN = 100_000_000n;
const load = (name: string): ConsensusConfig => parseConsensusConfig(exampleText(name));
const act = (op: SqlOp, table: string): SqlAction => ({ op, table, schema: op === 'create' || op === 'drop' || op === 'alter' });
const OPS: SqlOp[] = ['insert', 'update', 'delete', 'create', 'drop', 'alter'];

/** Asserts the allowed set of ops for a table at a height, checking isAllowed and checkAllowed agree. */
function allowedOps(cfg: ConsensusConfig, table: string, height: number): SqlOp[] {
  const ok: SqlOp[] = [];
  for (const op of OPS) {
    const a = act(op, table);
    const allowed = isAllowed(cfg, a, height);
    if (allowed) {
      assert.doesNotThrow(() => checkAllowed(cfg, a, height));
      ok.push(op);
    } else {
      const e = throwsCode(() => checkAllowed(cfg, a, height), 'sql-refused', table);
      assert.deepEqual(e.details, { op, table, height });
    }
  }
  return ok;
}

test('configs-simplest: deleting from members is refused, inserting into members costs 0.05 coin', () => {
  const cfg = load('configs-simplest');
  for (const h of [1, 2, 100, 5000]) {
    assert.deepEqual(allowedOps(cfg, 'members', h), ['insert', 'update', 'create', 'drop', 'alter'], `height ${h}`);
    assert.deepEqual(allowedOps(cfg, 'posts', h), OPS, `height ${h}`);
  }
  const e = throwsCode(() => checkAllowed(cfg, act('delete', 'members'), 7), 'sql-refused');
  assert.match(e.message, /do not allow deleting rows from table members/);
  assert.equal(actionCost(cfg, act('insert', 'members'), 1), 5_000_000n);
  assert.equal(actionCost(cfg, act('insert', 'members'), 1), COIN / 20n);
  assert.equal(actionCost(cfg, act('update', 'members'), 1), 5_000_000n, 'RowUpdate 0 → Default');
  assert.equal(actionCost(cfg, act('create', 'members'), 1), COIN, 'TableCreate 1');
  assert.equal(actionCost(cfg, act('drop', 'members'), 1), 5_000_000n, 'DROP pays Default');
  assert.equal(actionCost(cfg, act('alter', 'members'), 1), 5_000_000n, 'ALTER pays Default');
  for (const op of OPS) assert.equal(actionCost(cfg, act(op, 'posts'), 1), 0n, `posts ${op} is free`);
  assert.equal(
    sqlCost(cfg, [act('create', 'members'), act('insert', 'members'), act('insert', 'members'), act('insert', 'posts')], 3),
    COIN + 10_000_000n,
  );
  assert.equal(sqlCost(cfg, [], 3), 0n);
});

test('tests-disabledcreate: create table and DROP refused globally, ALTER follows create', () => {
  const cfg = load('tests-disabledcreate');
  for (const h of [1, 2, 10]) {
    assert.deepEqual(allowedOps(cfg, 'posts', h), ['insert', 'update', 'delete'], `height ${h}`);
  }
  assert.match(throwsCode(() => checkAllowed(cfg, act('create', 'posts'), 1), 'sql-refused').message, /creating table posts/);
  assert.match(throwsCode(() => checkAllowed(cfg, act('drop', 'posts'), 1), 'sql-refused').message, /dropping table posts/);
  assert.match(throwsCode(() => checkAllowed(cfg, act('alter', 'posts'), 1), 'sql-refused').message, /altering table posts/);
  // members: its rule (active from height 1) forbids delete and create; drop is allowed by the rule (decides alone)
  assert.deepEqual(allowedOps(cfg, 'members', 1), ['insert', 'update', 'drop']);
});

test("tests-disabledcreate: table 'test' rule ApplyAfterBlock 4 — unrestricted up to height 4, enforced from 5", () => {
  const cfg = load('tests-disabledcreate');
  for (const h of [1, 2, 3, 4]) {
    assert.deepEqual(allowedOps(cfg, 'test', h), OPS, `height ${h}: the rule is not active yet, the table is unrestricted`);
  }
  assert.equal(isAllowed(cfg, act('update', 'test'), 4), true);
  assert.equal(isAllowed(cfg, act('update', 'test'), 5), false);
  for (const h of [5, 6, 100]) {
    // AllowRowDelete false, AllowRowUpdate false, AllowRowInsert true, AllowTableCreate false; AllowTableDrop defaults true
    assert.deepEqual(allowedOps(cfg, 'test', h), ['insert', 'drop'], `height ${h}`);
  }
  assert.match(throwsCode(() => checkAllowed(cfg, act('update', 'test'), 5), 'sql-refused').message, /updating rows of table test/);
});

test('every cost set has its own ApplyAfterBlock: members costs 0 at height 5, 0.5 coin at 6', () => {
  const cfg = load('tests-disabledcreate');
  for (const h of [1, 2, 4, 5]) {
    assert.equal(actionCost(cfg, act('insert', 'members'), h), 0n, `height ${h}`);
    assert.equal(actionCost(cfg, act('create', 'members'), h), 0n, `height ${h}`);
  }
  for (const h of [6, 7, 1000]) {
    assert.equal(actionCost(cfg, act('insert', 'members'), h), 50_000_000n, `height ${h}`);
    assert.equal(actionCost(cfg, act('update', 'members'), h), 50_000_000n);
    assert.equal(actionCost(cfg, act('delete', 'members'), h), 50_000_000n);
    assert.equal(actionCost(cfg, act('create', 'members'), h), 10n * COIN);
    assert.equal(actionCost(cfg, act('drop', 'members'), h), 50_000_000n);
  }
  // The 'test' rule's cost set has no ApplyAfterBlock of its own (0): it costs from height 1, even
  // while the rule's permissions (ApplyAfterBlock 4) are not active yet.
  assert.equal(actionCost(cfg, act('insert', 'test'), 1), 50_000_000n);
  assert.equal(actionCost(cfg, act('create', 'test'), 3), 10n * COIN);
  // global cost set (ApplyAfterBlock 2, all 0) → free everywhere
  for (const h of [1, 2, 3, 50]) for (const op of OPS) assert.equal(actionCost(cfg, act(op, 'posts'), h), 0n);
});

test('tests-postponedlimits: ApplyRulesAfterBlock 2 gates the global rules; table rules decide alone', () => {
  const cfg = load('tests-postponedlimits');
  // global: AllowTableDrop false, active for height > 2
  assert.deepEqual(allowedOps(cfg, 'posts', 1), OPS);
  assert.deepEqual(allowedOps(cfg, 'posts', 2), OPS);
  assert.deepEqual(allowedOps(cfg, 'posts', 3), ['insert', 'update', 'delete', 'create', 'alter']);
  // global cost set: TableCreate 5 coins from height 3
  assert.equal(actionCost(cfg, act('create', 'posts'), 2), 0n);
  assert.equal(actionCost(cfg, act('create', 'posts'), 3), 5n * COIN);
  assert.equal(actionCost(cfg, act('insert', 'posts'), 3), 0n);
  assert.equal(actionCost(cfg, act('drop', 'posts'), 3), 0n, 'DROP pays Default (0), not TableCreate');
  // members' rule has no ApplyAfterBlock: it applies from height 1 although ApplyRulesAfterBlock is 2
  assert.deepEqual(allowedOps(cfg, 'members', 1), ['insert', 'update', 'create', 'drop', 'alter']);
  // test: permissions from height 5, costs from height 6
  assert.deepEqual(allowedOps(cfg, 'test', 4), OPS);
  assert.deepEqual(allowedOps(cfg, 'test', 5), ['insert', 'create', 'drop', 'alter']);
  assert.equal(actionCost(cfg, act('insert', 'test'), 5), 0n);
  assert.equal(actionCost(cfg, act('insert', 'test'), 6), 50_000_000n);
  assert.equal(actionCost(cfg, act('create', 'test'), 6), 10n * COIN);
  // the drop of 'test' is allowed by its rule even after ApplyRulesAfterBlock, where the global rule forbids drops
  assert.equal(isAllowed(cfg, act('drop', 'test'), 10), true);
  assert.equal(isAllowed(cfg, act('drop', 'posts'), 10), false);
});

test('configs-postponedrules: rule ApplyAfterBlock 5 on test; global create forbidden', () => {
  const cfg = load('configs-postponedrules');
  assert.equal(isAllowed(cfg, act('create', 'posts'), 1), false);
  assert.equal(isAllowed(cfg, act('create', 'test'), 1), true, 'not active yet → unrestricted');
  assert.equal(isAllowed(cfg, act('create', 'test'), 6), true, 'the rule allows it');
  assert.deepEqual(allowedOps(cfg, 'test', 6), OPS, 'missing permission keys default to allowed');
  assert.equal(actionCost(cfg, act('insert', 'posts'), 1), COIN, 'global RowInsert 1');
  assert.equal(actionCost(cfg, act('update', 'posts'), 1), 0n, 'global RowUpdate 0 and Default 0');
  assert.equal(actionCost(cfg, act('create', 'posts'), 1), COIN);
  assert.equal(actionCost(cfg, act('insert', 'test'), 1), 2n * COIN, "rule's Default (its RowInsert is missing → 0)");
  assert.equal(actionCost(cfg, act('create', 'test'), 1), 2n * COIN);
});

test("a table rule's missing cost keys take the defaults (0), not the global values", () => {
  const cfg = load('configs-somepaidtables');
  assert.equal(cfg.cost.rowInsert, COIN);
  assert.equal(actionCost(cfg, act('insert', 'posts'), 1), COIN, 'no rule: global RowInsert');
  assert.equal(actionCost(cfg, act('insert', 'members'), 1), 5_000_000n, "members' own Default, not the global RowInsert");
  assert.equal(actionCost(cfg, act('insert', 'test'), 1), 2n * COIN);
  assert.equal(actionCost(cfg, act('create', 'posts'), 1), COIN);
  assert.equal(actionCost(cfg, act('create', 'members'), 1), COIN);
  assert.equal(actionCost(cfg, act('delete', 'posts'), 1), 0n);
  // an explicit check with a rule that has no TransactionCost at all: free, though the global set costs
  const c2 = parseConsensusConfig({ TransactionCost: { Default: 3, RowInsert: 4 }, TableRules: [{ Table: 'free' }] });
  for (const op of OPS) assert.equal(actionCost(c2, act(op, 'free'), 1), 0n, op);
  assert.equal(actionCost(c2, act('insert', 'other'), 1), 4n * COIN);
  assert.equal(actionCost(c2, act('update', 'other'), 1), 3n * COIN);
});

test('a cost set picks the per-operation price when > 0, else Default; DROP and ALTER pay Default', () => {
  const cfg = parseConsensusConfig({
    TransactionCost: { Default: 0.1, RowInsert: 0.2, RowUpdate: 0, RowDelete: 0.3, TableCreate: 5 },
  });
  assert.equal(actionCost(cfg, act('insert', 't'), 1), 20_000_000n);
  assert.equal(actionCost(cfg, act('update', 't'), 1), 10_000_000n);
  assert.equal(actionCost(cfg, act('delete', 't'), 1), 30_000_000n);
  assert.equal(actionCost(cfg, act('create', 't'), 1), 5n * COIN);
  assert.equal(actionCost(cfg, act('drop', 't'), 1), 10_000_000n);
  assert.equal(actionCost(cfg, act('alter', 't'), 1), 10_000_000n);
  const noDefault = parseConsensusConfig({ TransactionCost: { RowInsert: 0.2 } });
  assert.equal(actionCost(noDefault, act('insert', 't'), 1), 20_000_000n);
  for (const op of ['update', 'delete', 'create', 'drop', 'alter'] as SqlOp[]) assert.equal(actionCost(noDefault, act(op, 't'), 1), 0n, op);
  // height 0 (genesis) never costs: a gate ApplyAfterBlock 0 is active for height > 0
  assert.equal(actionCost(cfg, act('insert', 't'), 0), 0n);
  assert.equal(sqlCost(cfg, OPS.map((op) => act(op, 't')), 1), 20_000_000n + 10_000_000n + 30_000_000n + 5n * COIN + 20_000_000n);
});

test('gates: ApplyAfterBlock N is active for heights > N', () => {
  const cfg = parseConsensusConfig({
    ApplyRulesAfterBlock: 10,
    AllowRowDelete: false,
    TransactionCost: { Default: 1, ApplyAfterBlock: 20 },
    TableRules: [{ Table: 'r', AllowRowInsert: false, ApplyAfterBlock: 30, TransactionCost: { Default: 2, ApplyAfterBlock: 40 } }],
  });
  assert.equal(isAllowed(cfg, act('delete', 'x'), 10), true);
  assert.equal(isAllowed(cfg, act('delete', 'x'), 11), false);
  assert.equal(actionCost(cfg, act('delete', 'x'), 20), 0n);
  assert.equal(actionCost(cfg, act('delete', 'x'), 21), COIN);
  assert.equal(isAllowed(cfg, act('insert', 'r'), 30), true);
  assert.equal(isAllowed(cfg, act('insert', 'r'), 31), false);
  assert.equal(isAllowed(cfg, act('delete', 'r'), 31), true, "the rule decides alone: its delete default (allowed) wins over the global ban");
  assert.equal(isAllowed(cfg, act('delete', 'r'), 11), true, 'before the rule applies, the table is unrestricted');
  assert.equal(actionCost(cfg, act('insert', 'r'), 40), 0n);
  assert.equal(actionCost(cfg, act('insert', 'r'), 41), 2n * COIN);
  assert.equal(actionCost(cfg, act('insert', 'r'), 25), 0n, "the rule's cost set replaces the global one, even before it is active");
});

test('AllowTableDrop per table (our addition)', () => {
  const cfg = parseConsensusConfig({ TableRules: [{ Table: 'keep', AllowTableDrop: false }] });
  assert.deepEqual(allowedOps(cfg, 'keep', 1), ['insert', 'update', 'delete', 'create', 'alter']);
  assert.deepEqual(allowedOps(cfg, 'other', 1), OPS);
  const global = parseConsensusConfig({ AllowTableDrop: false, TableRules: [{ Table: 'dropme' }] });
  assert.equal(isAllowed(global, act('drop', 'dropme'), 1), true);
  assert.equal(isAllowed(global, act('drop', 'other'), 1), false);
});

test('table names match exactly', () => {
  const cfg = load('configs-simplest');
  assert.equal(isAllowed(cfg, act('delete', 'members'), 1), false);
  assert.equal(isAllowed(cfg, act('delete', 'members2'), 1), true);
  assert.equal(isAllowed(cfg, act('delete', 'member'), 1), true);
});

test('UnmanagedTables', () => {
  const cfg = load('configs-simplest');
  assert.equal(isUnmanagedTable(cfg, 'temp'), true);
  assert.equal(isUnmanagedTable(cfg, 'members'), false);
  assert.equal(isUnmanagedTable(cfg, 'temp2'), false);
  assert.equal(isUnmanagedTable(cfg, 'tem'), false);
  const docker = load('docker-consensusconfig');
  assert.equal(isUnmanagedTable(docker, 'temp'), false);
  const many = parseConsensusConfig({ UnmanagedTables: ['a', 'b_log'] });
  assert.equal(isUnmanagedTable(many, 'a'), true);
  assert.equal(isUnmanagedTable(many, 'b_log'), true);
  assert.equal(isUnmanagedTable(many, 'b'), false);
});

test('defaults: everything allowed and free at every height', () => {
  const cfg = load('docker-consensusconfig');
  for (const h of [0, 1, 2, 999, 1000, 10 ** 6]) {
    assert.deepEqual(allowedOps(cfg, 'anything', h), OPS);
    for (const op of OPS) assert.equal(actionCost(cfg, act(op, 'anything'), h), 0n);
  }
});
