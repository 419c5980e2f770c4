// The re-base of a node's own dropped write (SPEC 8) is tried again for as long as it meets locked
// rows: its client was told the write happened. Another error ends it with a log line. `pending`
// counts the re-bases still to run (a test or an operator waits for it to reach 0). A dropped copy
// whose line (the original write and its re-runs, in the chain's `rebased` table) has a tx in the
// chain is not run again. The write path is a stand-in; the chain's tables are real.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import { publicKeyOf, signTx, type TransferBody } from '../../consensus/index.ts';
import type { DroppedTx } from '../../server/chain/engine.ts';
import { ChainStore } from '../../server/chain/store.ts';
import { rebaseOwnTxs } from '../../server/node/rebase.ts';
import type { RerunOptions } from '../../server/sql/replicate.ts';
import type { SqlExecutor } from '../../server/sql/executor.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';

const KEY = '3c'.repeat(32);
const dropped = (i: number): DroppedTx => ({
  tx: signTx({
    v: 1, chain: 'ab'.repeat(32), time: 1_700_000_000_000 + i, from: publicKeyOf(KEY), in: [], out: [],
    sql: { stmts: [`UPDATE t SET v = v + 1 WHERE id = ${i}`], undo: [`UPDATE t SET v = 0 WHERE id = ${i}`], refs: [`t:${i}`], base: { [`t:${i}`]: null } },
  } as unknown as TransferBody, KEY),
  reason: 'row changed', code: 'stale-base', at: Date.now(),
});
const lockError = () => Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 });
/** A stand-in chain: dropped events by hand, `inChain` as its active chain's txids, real tables. */
async function standInChain() {
  const pool = mysql.createPool({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', connectionLimit: 2 });
  const db = testDatabase('rebase');
  const store = new ChainStore(pool, `${db.name}_chain`, db.name);
  await store.createSchema();
  const inChain = new Set<string>();
  const chain = Object.assign(new EventEmitter(), { store, state: { hasTx: (id: string) => inChain.has(id) }, unsettledDrops: [] });
  const close = async () => {
    await db.drop();
    await pool.end();
  };
  return { pool, chain, inChain, close };
}
const until = async (ok: () => boolean) => {
  for (const end = Date.now() + 10_000; !ok();) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('a re-base meeting locked rows is tried until it runs; another error ends it; pending counts both', async () => {
  const { pool, chain, close } = await standInChain();
  const logs: string[] = [];
  const runs: string[] = [];
  const failures = new Map<string, number>([['UPDATE t SET v = v + 1 WHERE id = 1', 7]]);
  const writes = {
    signerPubkey: publicKeyOf(KEY),
    async rerun(_exec: unknown, stmts: readonly string[]) {
      runs.push(stmts[0]);
      const left = failures.get(stmts[0]) ?? 0;
      if (left > 0) {
        failures.set(stmts[0], left - 1);
        throw lockError();
      }
      if (stmts[0].endsWith('id = 2')) throw Object.assign(new Error("Table 't' doesn't exist"), { errno: 1146 });
      return { affectedRows: 1, insertId: 0n, txid: 'f'.repeat(64) };
    },
  };
  const r = rebaseOwnTxs(chain as never, writes as never, pool, (m) => logs.push(m), 1);
  try {
    const first = [dropped(1), dropped(2), dropped(3)];
    chain.emit('dropped', first);
    assert.equal(r.pending(), 3);
    assert.deepEqual(first.map((d) => d.rebase), ['to re-base', 'to re-base', 'to re-base'], 'what `oursql pool` shows meanwhile');
    await until(() => r.pending() === 0);
    assert.deepEqual(first.map((d) => d.rebase), [`re-based as ${'f'.repeat(64)}`, "could not re-base: Table 't' doesn't exist", `re-based as ${'f'.repeat(64)}`]);
    assert.deepEqual(runs.map((s) => s.slice(-6)), [...Array(8).fill('id = 1'), 'id = 2', 'id = 3'], 'in order; the first after 7 lock errors');
    assert.equal(logs.filter((l) => /keeps meeting locked rows/.test(l)).length, 1, logs.join('\n'));
    assert.equal(logs.filter((l) => /re-based .* as f{64}/.test(l)).length, 2);
    assert.ok(logs.some((l) => /could not re-base .*doesn't exist/.test(l)), logs.join('\n'));

    // one too old for any next block (the node was down for hours) is run again too
    const expired = { ...dropped(7), code: 'bad-time' };
    chain.emit('dropped', [expired]);
    await until(() => r.pending() === 0);
    assert.equal(expired.rebase, `re-based as ${'f'.repeat(64)}`);

    // another node's tx, or one not dropped for its base or age, is not re-run
    const other = { ...dropped(4), code: 'double-spend' };
    chain.emit('dropped', [other]);
    assert.equal(r.pending(), 0);
    assert.equal(other.rebase, undefined);

    // stopped: a re-base waiting between tries ends
    failures.set('UPDATE t SET v = v + 1 WHERE id = 5', Infinity);
    chain.emit('dropped', [dropped(5)]);
    await until(() => runs.length >= 13);
    r.stop();
    await until(() => r.pending() === 0);
    chain.emit('dropped', [dropped(6)]);
    assert.equal(r.pending(), 0, 'no re-base after stop');
  } finally {
    r.stop();
    await close();
  }
});

test('a dropped copy is not re-run while a tx of its line is in the chain, checked again where the tx is made', async () => {
  const { pool, chain, inChain, close } = await standInChain();
  const logs: string[] = [];
  let made = 0;
  const runs: string[] = [];
  /** Before the tx is made: what a fork switch might do meanwhile. */
  let meanwhile = () => {};
  const writes = {
    signerPubkey: publicKeyOf(KEY),
    // as ReplicatedWrites.rerun: the guard runs where the tx is made, persist in its commit
    async rerun(exec: SqlExecutor, stmts: readonly string[], extra: RerunOptions) {
      runs.push(stmts[0]);
      meanwhile();
      extra.guard?.();
      const txid = (++made).toString(16).padStart(64, '0');
      for (const sql of extra.persist?.(txid) ?? []) await exec.query(sql);
      return { affectedRows: 1, insertId: 0n, txid };
    },
  };
  const r = rebaseOwnTxs(chain as never, writes as never, pool, (m) => logs.push(m), 1);
  const asDropped = (d: DroppedTx, id: string): DroppedTx => ({ ...d, tx: { ...d.tx, id } });
  try {
    const t1 = dropped(1);
    const x1 = '1'.padStart(64, '0');
    const x2 = '2'.padStart(64, '0');
    chain.emit('dropped', [t1]);
    await until(() => r.pending() === 0);
    assert.deepEqual(await chain.store.rebaseLine(x1), { origin: t1.tx.id, txids: [t1.tx.id, x1] });

    // the branch with the original won: its re-run x1 is dropped and stays dropped
    inChain.add(t1.tx.id);
    const again = asDropped(t1, x1);
    chain.emit('dropped', [again]);
    await until(() => r.pending() === 0);
    assert.equal(runs.length, 1);
    assert.equal(again.rebase, `not re-based: the write it re-runs is in the chain as ${t1.tx.id}`);
    assert.ok(logs.some((l) => l === `pool: ${x1} not re-based: the write it re-runs is in the chain as ${t1.tx.id}`), logs.join('\n'));

    // neither is in the chain: x1 is re-run as x2, of the same line
    inChain.clear();
    chain.emit('dropped', [asDropped(t1, x1)]);
    await until(() => r.pending() === 0);
    assert.equal(runs.length, 2);
    assert.deepEqual(await chain.store.rebaseLine(x2), { origin: t1.tx.id, txids: [t1.tx.id, x1, x2] });

    // x1 enters the chain while x2's re-run executes: refused where the tx is made, nothing recorded
    meanwhile = () => inChain.add(x1);
    chain.emit('dropped', [asDropped(t1, x2)]);
    await until(() => r.pending() === 0);
    assert.equal(runs.length, 3);
    assert.equal(made, 2, 'no tx made');
    assert.ok(logs.some((l) => l === `pool: ${x2} not re-based: the write it re-runs is in the chain as ${x1}`), logs.join('\n'));
    assert.equal((await chain.store.rebaseLine(t1.tx.id)).txids.length, 3);
  } finally {
    r.stop();
    await close();
  }
});

test('drops and re-base lines are kept 30 days', async () => {
  const { pool, chain, close } = await standInChain();
  const t = (name: string) => `${chain.store.db}.${name}`;
  try {
    const old = { ...dropped(1), at: Date.now() - 31 * 24 * 3600_000 };
    await chain.store.saveDropped([old], pool);
    await pool.query(chain.store.rebasedInsertSql('a'.repeat(64), old.tx.id).replace(/, \d+\)$/, ', 0)'));
    await pool.query(chain.store.rebasedInsertSql('b'.repeat(64), old.tx.id));
    const fresh = dropped(2);
    await chain.store.saveDropped([fresh], pool);
    const [ds] = await pool.query<any[]>(`SELECT txid FROM ${t('dropped')}`);
    assert.deepEqual(ds.map((r) => r.txid), [fresh.tx.id]);
    const [rs] = await pool.query<any[]>(`SELECT txid FROM ${t('rebased')}`);
    assert.deepEqual(rs.map((r) => r.txid), ['b'.repeat(64)]);
    // what a restart reads back: the drop, still to re-base
    assert.deepEqual((await chain.store.loadDropped(10)).map((d) => [d.tx.id, d.code, d.rebase]), [[fresh.tx.id, 'stale-base', undefined]]);
  } finally {
    await close();
  }
});
