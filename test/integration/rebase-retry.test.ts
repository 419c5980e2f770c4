// The re-base of a node's own dropped write (SPEC 8) is tried again for as long as it meets locked
// rows: its client was told the write happened. Another error ends it with a log line. `pending`
// counts the re-bases still to run (a test or an operator waits for it to reach 0).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import { publicKeyOf, signTx, type TransferBody } from '../../consensus/index.ts';
import type { DroppedTx } from '../../server/chain/engine.ts';
import { rebaseOwnTxs } from '../../server/node/rebase.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT } from '../helpers/mysql.ts';

const KEY = '3c'.repeat(32);
const dropped = (i: number): DroppedTx => ({
  tx: signTx({
    v: 1, chain: 'ab'.repeat(32), time: 1_700_000_000_000 + i, from: publicKeyOf(KEY), in: [], out: [],
    sql: { stmts: [`UPDATE t SET v = v + 1 WHERE id = ${i}`], undo: [`UPDATE t SET v = 0 WHERE id = ${i}`], refs: [`t:${i}`], base: { [`t:${i}`]: null } },
  } as unknown as TransferBody, KEY),
  reason: 'row changed', code: 'stale-base', at: Date.now(),
});
const lockError = () => Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 });
const until = async (ok: () => boolean) => {
  for (const end = Date.now() + 10_000; !ok();) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('a re-base meeting locked rows is tried until it runs; another error ends it; pending counts both', async () => {
  const pool = mysql.createPool({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', connectionLimit: 2 });
  const chain = new EventEmitter();
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
    chain.emit('dropped', [dropped(1), dropped(2), dropped(3)]);
    assert.equal(r.pending(), 3);
    await until(() => r.pending() === 0);
    assert.deepEqual(runs.map((s) => s.slice(-6)), [...Array(8).fill('id = 1'), 'id = 2', 'id = 3'], 'in order; the first after 7 lock errors');
    assert.equal(logs.filter((l) => /keeps meeting locked rows/.test(l)).length, 1, logs.join('\n'));
    assert.equal(logs.filter((l) => /re-based .* as f{64}/.test(l)).length, 2);
    assert.ok(logs.some((l) => /could not re-base .*doesn't exist/.test(l)), logs.join('\n'));

    // another node's tx, or one not dropped for its base, is not re-run
    chain.emit('dropped', [{ ...dropped(4), code: 'double-spend' }]);
    assert.equal(r.pending(), 0);

    // stopped: a re-base waiting between tries ends
    failures.set('UPDATE t SET v = v + 1 WHERE id = 5', Infinity);
    chain.emit('dropped', [dropped(5)]);
    await until(() => runs.length >= 12);
    r.stop();
    await until(() => r.pending() === 0);
    chain.emit('dropped', [dropped(6)]);
    assert.equal(r.pending(), 0, 'no re-base after stop');
  } finally {
    r.stop();
    await pool.end();
  }
});
