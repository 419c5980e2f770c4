import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateOverlay, parseUnits, type ChainView } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { testDatabase } from '../helpers/mysql.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

function startChild(datadir: string, env: Record<string, string>): { child: ChildProcess; sent: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/node-process.ts'), datadir], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const sent = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('SENT') && resolve());
    child.on('exit', (code) => reject(new Error(`node exited (${code}) before sending: ${err}`)));
  });
  return { child, sent };
}

const waitFor = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const kill9 = (child: ChildProcess) => new Promise<void>((r) => {
  child.once('exit', () => r());
  child.kill('SIGKILL');
});

/** Replays the active chain from its stored blocks and compares with what the node loaded. */
async function assertConsistent(node: OursqlNode): Promise<void> {
  const chain = node.chain;
  const empty: ChainView = { genesis: chain.genesis, unspent: () => undefined, latestOnRef: () => null, hasTx: () => false };
  const replay = new StateOverlay(empty);
  for (const hash of chain.active) for (const tx of (await chain.getBlock(hash))!.txs) replay.apply(tx);
  const expected = [...replay.created.entries()].map(([k, c]) => [k, c.to, c.amount]).sort();
  const loaded = [...chain.state.utxo.entries()].map(([k, c]) => [k, c.to, c.amount]).sort();
  assert.deepEqual(loaded, expected, 'UTXO set equals a replay of the active chain');
  const total = [...chain.state.utxo.values()].reduce((s, c) => s + c.amount, 0n);
  assert.equal(total, BigInt(chain.height + 1) * chain.config.coinsForBlockMade, 'no coin made or lost');
  for (const e of chain.pool.list()) assert.ok(!chain.state.hasTx(e.tx.id), 'no pool tx is also confirmed');
  assert.equal(chain.pool.list().reduce((s, e) => s + e.tx.body.out.reduce((a, o) => a + parseUnits(o.amount), 0n), 0n) >= 0n, true);
}

describe('kill -9 and restart', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  async function freshNode(complexity: number, maxMin = 3, step2 = complexity) {
    const dir = await mkdtemp(join(tmpdir(), 'oursql-crash-'));
    const db = testDatabase('crash');
    cleanups.push(() => rm(dir, { recursive: true, force: true }), () => db.drop());
    const consensus = join(dir, 'consensus-src.json');
    await writeFile(consensus, JSON.stringify({ Settings: { Complexity: complexity, ComplexityStep2: step2, MaxMinNumberTransactionInBlock: maxMin } }));
    await initNode({ datadir: join(dir, 'node'), mysql: db.url, consensusFile: consensus });
    return join(dir, 'node');
  }

  test('during block apply: the block is not half-applied; pool and chain intact', async () => {
    const datadir = await freshNode(4);
    const hang = join(datadir, 'hang');
    // The hanging block holds the chain lock, so the child may never finish its sends: wait for the hang.
    const { child, sent } = startChild(datadir, { OURSQL_TEST_SENDS: '3', OURSQL_TEST_HANG_FILE: hang });
    sent.catch(() => {});
    await waitFor(() => existsSync(hang), 30_000);
    await kill9(child);

    const node = await OursqlNode.start({ datadir, overrides: { mining: false }, serve: false, log: () => {} });
    try {
      assert.equal(node.chain.height, 0, 'the block whose transaction never committed is not there');
      const pooled = node.chain.pool.size;
      assert.ok(pooled >= 1 && pooled <= 3, 'every payment committed before the kill is still pooled');
      await assertConsistent(node);
      const r = await node.miner!.mineOnce();
      assert.ok('block' in r);
      assert.equal(node.chain.height, 1);
      assert.equal(node.chain.pool.size, 0);
      await assertConsistent(node);
    } finally {
      await node.stop();
    }
  });

  test('during mining: pool and chain intact, the next block still buildable', async () => {
    // Block 1 (1 tx) is easy; from height 2 on the target is 30 bits, so the worker is still
    // searching when the process is killed.
    const datadir = await freshNode(4, 2, 30);
    const { child, sent } = startChild(datadir, { OURSQL_TEST_SENDS: '1,2' });
    await sent;
    await new Promise((r) => setTimeout(r, 300));
    await kill9(child);
    const node = await OursqlNode.start({ datadir, overrides: { mining: false }, serve: false, log: () => {} });
    try {
      assert.equal(node.chain.height, 1);
      assert.equal(node.chain.pool.size, 2, 'both sends made while mining are pooled');
      await assertConsistent(node);
      const t = node.chain.blockTemplate(node.config.minter!);
      assert.ok('header' in t && t.header.height === 2 && t.txs.length === 3);
    } finally {
      await node.stop();
    }
  });
});
