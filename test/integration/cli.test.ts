// The real `oursql` binary on the real MariaDB: a fresh datadir through init, wallet, send, pool,
// mine and the refusals on a stopped node (direct mode), then the same through a background node's
// RPC (daemon mode), and `start --foreground` on a fresh datadir stopped by SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { isAlive, NODE_PROCESS_FLAGS } from '../../server/cli/daemon.ts';
import { corruptAddress, freePort, tempNodeDir } from '../helpers/node.ts';
import { BIN, oursql, pidOf } from '../helpers/cli.ts';

const TRACE_IMPORTS = join(import.meta.dirname, '../helpers/trace-imports.mjs');

describe('oursql CLI', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let common: string[];
  let minter = '';
  let bob = '';
  let carol = '';

  /** Runs a command with --datadir/--mysql/--json; expects exit 0 and one JSON object on stdout. */
  const json = async (...args: string[]): Promise<any> => {
    const r = await oursql([...args, ...common, '--json']);
    assert.equal(r.code, 0, `oursql ${args.join(' ')} failed: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `one JSON line expected, got: ${r.stdout}`);
    return JSON.parse(lines[0]);
  };
  /** Runs a command expected to fail: exit 1 and one clear line on stderr, no stack trace. */
  const failing = async (...args: string[]): Promise<string> => {
    const r = await oursql([...args, ...common, '--json']);
    assert.equal(r.code, 1, `oursql ${args.join(' ')} should fail; stdout: ${r.stdout}`);
    assert.equal(r.stdout, '', 'nothing on stdout');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    return r.stderr.trim();
  };
  const balance = (address: string) => json('balance', address);

  before(async () => {
    env = await tempNodeDir('cli');
    common = ['--datadir', env.datadir, '--mysql', env.db.url];
  });

  after(async () => {
    const pid = await pidOf(env.datadir);
    if (pid && isAlive(pid)) process.kill(pid, 'SIGTERM');
    await env.cleanup();
  });

  test('init makes a genesis paying 10 coins to the minter', async () => {
    const r = await json('init', '--consensus', env.consensusFile);
    assert.equal(r.height, 0);
    assert.match(r.genesis, /^[0-9a-f]{64}$/);
    minter = r.minter;
    assert.equal(r.createdAddress, minter, 'a wallet was created');
    assert.deepEqual(await balance(minter), { address: minter, approved: '10', pending: '0', total: '10' });
    const all = await json('balance');
    assert.deepEqual(all, { balances: [{ address: minter, approved: '10', pending: '0', total: '10' }] });
    const s = await json('status');
    assert.equal(s.running, false);
    assert.equal(s.height, 0);
    assert.equal(s.tip, r.genesis);
    assert.equal(s.pool, 0);
    assert.equal(s.peers, 0);
    assert.match(await failing('init'), /already holds a node/);
  });

  test('wallet new / list', async () => {
    const w = await json('wallet', 'new');
    assert.match(w.address, /^1/);
    assert.match(w.pubkey, /^0[23][0-9a-f]{64}$/);
    bob = w.address;
    carol = (await json('wallet', 'new')).address;
    assert.deepEqual((await json('wallet', 'list')).addresses.map((a: { address: string }) => a.address), [minter, bob, carol]);
  });

  test('send puts a tx in the pool; balances show approved, pending (received minus spent) and total', async () => {
    const r = await json('send', '--from', minter, '--to', bob, '--amount', '1.5');
    assert.match(r.txid, /^[0-9a-f]{64}$/);
    assert.deepEqual(await balance(minter), { address: minter, approved: '10', pending: '-1.5', total: '8.5' });
    assert.deepEqual(await balance(bob), { address: bob, approved: '0', pending: '1.5', total: '1.5' });
    const pool = await json('pool');
    assert.equal(pool.size, 1);
    assert.equal(pool.txs[0].txid, r.txid);
    assert.equal(pool.txs[0].from, minter);
    assert.equal(pool.txs[0].amount, '1.5');
  });

  test('refusals: insufficient funds and a bad address exit 1 with a clear message; the pool is unchanged', async () => {
    const poor = await failing('send', '--from', bob, '--to', minter, '--amount', '100');
    assert.match(poor, /^error: insufficient funds: .*1\.5 coins, 100 needed$/);
    const bad = await failing('send', '--from', minter, '--to', corruptAddress(bob), '--amount', '1');
    assert.match(bad, /not a valid OurSQL address/);
    assert.match(await failing('balance', corruptAddress(minter)), /not a valid OurSQL address/);
    assert.match(await failing('send', '--from', minter, '--to', bob, '--amount', '0.123456789'), /at most 8 decimals/);
    assert.equal((await json('pool')).size, 1);
  });

  test('mine makes block 1 from the pool and the balances move', async () => {
    const m = await json('mine');
    assert.equal(m.height, 1);
    assert.equal(m.txs, 1);
    assert.deepEqual(await balance(minter), { address: minter, approved: '18.5', pending: '0', total: '18.5' });
    assert.deepEqual(await balance(bob), { address: bob, approved: '1.5', pending: '0', total: '1.5' });
    assert.equal((await json('pool')).size, 0);
    assert.match(await failing('mine'), /block 2 needs at least 2 transactions/);
  });

  test('a chain of unconfirmed spends (bob → carol, then carol → minter) is pooled and mined together', async () => {
    await json('send', '--from', bob, '--to', carol, '--amount', '1');
    await json('send', '--from', carol, '--to', minter, '--amount', '0.25');
    assert.deepEqual(await balance(carol), { address: carol, approved: '0', pending: '0.75', total: '0.75' });
    assert.equal((await json('pool')).size, 2);
    assert.equal((await json('mine')).height, 2);
    assert.deepEqual(await balance(bob), { address: bob, approved: '0.5', pending: '0', total: '0.5' });
    assert.deepEqual(await balance(carol), { address: carol, approved: '0.75', pending: '0', total: '0.75' });
    assert.deepEqual(await balance(minter), { address: minter, approved: '28.75', pending: '0', total: '28.75' });
  });

  test('cancel drops a pending tx; cancelling it again fails', async () => {
    const { txid } = await json('send', '--from', minter, '--to', carol, '--amount', '2');
    assert.deepEqual(await json('cancel', txid), { removed: [txid] });
    assert.equal((await json('pool')).size, 0);
    assert.deepEqual(await balance(minter), { address: minter, approved: '28.75', pending: '0', total: '28.75' });
    assert.match(await failing('cancel', txid), /not in the pool/);
  });

  test('printchain and config', async () => {
    const short = await json('printchain', '--short');
    assert.equal(short.height, 2);
    assert.deepEqual(short.blocks.map((b: { height: number }) => b.height), [0, 1, 2]);
    const full = await json('printchain');
    assert.equal(full.blocks[2].txs.length, 3);
    const human = await oursql(['printchain', ...common]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^block 0 [0-9a-f]{64}$/m);

    const cfg = await json('config');
    assert.equal(cfg.minter, minter);
    assert.equal(cfg.mining, true);
    const set = await json('config', '--set', 'mining=false');
    assert.equal(set.mining, false);
    assert.match(await failing('config', '--set', 'rpcPort=abc'), /port number/);
    assert.match(await failing('config', '--set', 'nosuchkey=1'), /key one of/);
    assert.equal(cfg.proxyRelayProcesses, 0);
    assert.equal((await json('config', '--set', 'proxyRelayProcesses=auto')).proxyRelayProcesses, 'auto');
    assert.equal((await json('config', '--set', 'proxyRelayProcesses=2')).proxyRelayProcesses, 2);
    assert.match(await failing('config', '--set', 'proxyRelayProcesses=many'), /"auto" or a whole number from 0 to 64/);
    assert.match(await failing('config', '--set', 'proxyRelayProcesses=65'), /"auto" or a whole number/);
    assert.equal(cfg.peerStatementSeconds, 10);
    assert.equal((await json('config', '--set', 'peerStatementSeconds=0.5')).peerStatementSeconds, 0.5);
    assert.equal((await json('config', '--set', 'peerStatementSeconds=0')).peerStatementSeconds, 0);
    assert.match(await failing('config', '--set', 'peerStatementSeconds=-1'), /peerStatementSeconds must be a number of seconds from 0 to 86400/);
    assert.match(await failing('config', '--set', 'peerStatementSeconds=1e3'), /a number of seconds/);
    assert.equal((await json('config', '--set', 'proxyRelayProcesses=0')).proxyRelayProcesses, 0);
  });

  test('daemon: start, already running, commands through RPC, stop twice, status from the datadir', async () => {
    const started = await json('start', '--rpc-port', '0', '--proxy-port', String(await freePort()));
    assert.equal(started.running, true);
    assert.ok(isAlive(started.pid));
    assert.ok(started.rpcPort > 0, 'the real port comes from the pid file');
    const argv = (await readFile(`/proc/${started.pid}/cmdline`, 'utf8')).split('\0');
    for (const flag of NODE_PROCESS_FLAGS) assert.ok(argv.includes(flag), `the node process runs with ${flag}: ${argv.join(' ')}`);

    const s = await json('status');
    assert.equal(s.running, true);
    assert.equal(s.pid, started.pid);
    assert.equal(s.height, 2);
    assert.equal(s.mining, false);

    // A command to a running node loads none of the node's own code: it starts in a fraction of the time.
    const trace = join(env.tmp, 'imports.txt');
    const traced = await oursql(['pool', ...common, '--json'], { NODE_OPTIONS: `--import ${TRACE_IMPORTS}`, OURSQL_TRACE_IMPORTS: trace });
    assert.equal(traced.code, 0, traced.stderr);
    const loaded = await readFile(trace, 'utf8');
    assert.match(loaded, /server\/cli\/commands\/chain\.ts/, 'the trace sees the command module');
    for (const heavy of ['node-sql-parser', 'mysql2', 'express', 'server/node/node.ts', 'server/chain/engine.ts', 'server/proxy/']) {
      assert.ok(!loaded.includes(heavy), `\`oursql pool\` to a running node loaded ${heavy}`);
    }

    const again = await oursql(['start', ...common]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already running/);

    // The pid file names a live node, so these go through its RPC with the cookie: the pool the
    // node holds in memory shows the send.
    const { txid } = await json('send', '--from', minter, '--to', bob, '--amount', '3');
    assert.deepEqual(await balance(bob), { address: bob, approved: '0.5', pending: '3', total: '3.5' });
    assert.equal((await json('pool')).txs[0].txid, txid);
    assert.equal((await json('wallet', 'list')).addresses.length, 3);
    assert.match(await failing('send', '--from', bob, '--to', minter, '--amount', '50'), /insufficient funds/);
    assert.match(await failing('mine'), /block 3 needs at least 3 transactions/);

    const stopped = await json('stop');
    assert.equal(stopped.stopped, true);
    assert.equal(isAlive(started.pid), false, 'stop waits until the process is gone');
    assert.equal(existsSync(join(env.datadir, 'oursql.pid')), false);
    const twice = await json('stop');
    assert.deepEqual(twice, { running: false, stopped: false });

    const after = await json('status');
    assert.equal(after.running, false);
    assert.equal(after.height, 2);
    assert.equal(after.pool, 1, 'the pool survives a restart');
  });
});

describe('oursql start --foreground on a fresh datadir (npm start)', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  before(async () => {
    env = await tempNodeDir('fg');
  });
  after(async () => {
    const pid = await pidOf(env.datadir);
    if (pid && isAlive(pid)) process.kill(pid, 'SIGTERM');
    await env.cleanup();
  });

  test('initialises the datadir, serves RPC, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    // The datadir comes from OURSQL_DATADIR here, as `npm start` would use it.
    const dirEnv = { OURSQL_DATADIR: env.datadir };
    const child = spawn(process.execPath, [BIN, 'start', '--foreground', '--mysql', env.db.url, '--rpc-port', String(port), '--proxy-port', String(await freePort())], {
      env: { ...process.env, ...dirEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));

    const deadline = Date.now() + 60_000;
    while ((await pidOf(env.datadir)) !== child.pid) {
      assert.ok(Date.now() < deadline, `node did not start: ${out}`);
      assert.equal(child.exitCode, null, `node exited: ${out}`);
      await sleep(100);
    }
    const s = await oursql(['status', '--json'], dirEnv);
    assert.equal(s.code, 0, s.stderr);
    const status = JSON.parse(s.stdout);
    assert.equal(status.running, true);
    assert.equal(status.height, 0);
    assert.equal(status.rpc, `http://127.0.0.1:${port}/rpc`);
    assert.match(out, /initialising/);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(join(env.datadir, 'oursql.pid')), false);
    const stop = await oursql(['stop'], dirEnv);
    assert.equal(stop.code, 0);
    assert.match(stop.stdout, /not running/);
  });
});

test('a command on a datadir with no node says to run init, and exits 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'oursql-nonode-'));
  try {
    for (const args of [['pool'], ['status'], ['config'], ['balance']]) {
      const r = await oursql([...args, '--datadir', dir]);
      assert.equal(r.code, 1, `${args[0]}: ${r.stdout}`);
      assert.equal(r.stderr, `error: ${dir} holds no node: run \`oursql init\` first\n`, args[0]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
