// The node's MySQL proxy on a real node and the real MariaDB: read throughput and added latency
// against a plain C relay (socat), the same relay in Node (the floor for a Node proxy) and
// MariaDB itself, and node-signed INSERTs with the
// miner running. The MySQL clients (mysql2) run in a process of their own (this file, forked), as
// sysbench would: they share neither the node's event loop nor its process, and every path is
// measured with the same client.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import mysql, { type Connection } from 'mysql2/promise';
import { sqlOf, type Tx } from '../../consensus/index.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, rootConnection, testDatabase } from '../helpers/mysql.ts';
import { freePort, tempNodeDir } from '../helpers/node.ts';
import { childrenCpuMs, cpuMeter, cpuMs, mysqlServerPid, treeCpuMs } from './cpu-time.ts';
import { checkInterrupt, now, progress, Cleanups } from './measure.ts';
import { fmt, type Row } from './table.ts';

const READ_ROWS = 10_000;
const READ_ROUNDS = Number(process.env.BENCH_READ_ROUNDS ?? 6); // interleaved rounds per path and concurrency
const READ_ROUND_S = 0.5; // → ~3 s per path and concurrency
const LAT_ROUNDS = 5;
const LAT_PER_ROUND = 1000; // → 5,000 sequential round trips per path
const INS_S = { direct1: 2, proxy1: 3, direct8: 2, proxy8: 5 };
const INS_TARGET = 1500;
const READ_TARGET = 0.9;
/** Read-relay processes of the second proxy (BENCH_RELAY_PROCESSES, default 1). */
const RELAY_PROCESSES = Number(process.env.BENCH_RELAY_PROCESSES ?? 1);
/** The node's read-relay processes run this file (server/proxy/relay/). */
const RELAY_ENTRY = 'relay/worker-entry.js';
const SELECT_SQL = 'SELECT c FROM sbtest WHERE id = ?';
const INSERT_SQL = 'INSERT INTO bench_ins (k, v) VALUES (?, ?)';
const INS_TABLE = 'CREATE TABLE bench_ins (id BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, v VARCHAR(64) NOT NULL)';
/** Many txs per block, 8-bit proof of work: the miner keeps up with the proxy. */
const CONSENSUS = { Settings: { Complexity: 8, ComplexityStep2: 8, MaxMinNumberTransactionInBlock: 1, MaxNumberTransactionInBlock: 10000 } };

// ---------------------------------------------------------------------------------------------
// The load process: sets of mysql2 connections, closed loops on them, answers by IPC message.

type LoadReq =
  | { op: 'open'; set: string; port: number; database: string; n: number }
  | { op: 'close'; set: string }
  | { op: 'warm'; set: string; maxId: number }
  | { op: 'select'; set: string; n: number; seconds: number; maxId: number }
  | { op: 'latency'; set: string; count: number; maxId: number }
  | { op: 'insert'; set: string; n: number; seconds: number }
  | { op: 'connect-insert'; port: number; database: string; seconds: number };
interface LoopResult { ops: number; seconds: number; errors: number; firstError?: string; /** event-loop utilization of the client */ clientBusy: number }
const LOAD_ENV = 'OURSQL_PROXY_BENCH_LOAD';

function loadProcess(): void {
  const sets = new Map<string, Connection[]>();
  const conns = (set: string, n?: number) => {
    const s = sets.get(set);
    if (!s) throw new Error(`no connection set ${set}`);
    return n === undefined ? s : s.slice(0, n);
  };
  const randomId = (maxId: number) => 1 + Math.floor(Math.random() * maxId);
  let seq = 0;

  /** Each connection in its own closed loop until `seconds` have passed. */
  async function loop<C>(cs: C[], seconds: number, fn: (c: C) => Promise<unknown>): Promise<LoopResult> {
    const elu0 = performance.eventLoopUtilization();
    const start = now();
    const end = start + seconds * 1000;
    const r: LoopResult = { ops: 0, seconds: 0, errors: 0, clientBusy: 0 };
    await Promise.all(cs.map(async (c) => {
      while (now() < end) {
        try {
          await fn(c);
          r.ops++;
        } catch (e) {
          r.errors++;
          r.firstError ??= (e as Error).message;
          if (r.errors > 50) return;
        }
      }
    }));
    r.seconds = (now() - start) / 1000;
    r.clientBusy = performance.eventLoopUtilization(elu0).utilization;
    return r;
  }

  async function handle(m: LoadReq): Promise<unknown> {
    switch (m.op) {
      case 'open': {
        const cs = await Promise.all(Array.from({ length: m.n }, () =>
          mysql.createConnection({ host: '127.0.0.1', port: m.port, user: 'root', database: m.database })));
        sets.set(m.set, cs);
        return cs.length;
      }
      case 'close': {
        const cs = sets.get(m.set) ?? [];
        sets.delete(m.set);
        await Promise.all(cs.map((c) => c.end().catch(() => c.destroy())));
        return 0;
      }
      case 'warm': // prepares the statement on every connection (mysql2 caches it) and warms the JIT
        await Promise.all(conns(m.set).map(async (c) => {
          for (let i = 0; i < 100; i++) await c.execute(SELECT_SQL, [randomId(m.maxId)]);
        }));
        return 0;
      case 'select':
        return loop(conns(m.set, m.n), m.seconds, (c) => c.execute(SELECT_SQL, [randomId(m.maxId)]));
      case 'latency': {
        const [c] = conns(m.set, 1);
        const us = new Float64Array(m.count);
        for (let i = 0; i < m.count; i++) {
          const t0 = performance.now();
          await c.execute(SELECT_SQL, [randomId(m.maxId)]);
          us[i] = (performance.now() - t0) * 1000;
        }
        return us;
      }
      case 'insert':
        return loop(conns(m.set, m.n), m.seconds, (c) => c.execute(INSERT_SQL, [Math.floor(Math.random() * 1e9), `v${++seq}`]));
      case 'connect-insert': // as a PHP page does: log in, one INSERT, quit
        return loop([m], m.seconds, async () => {
          const c = await mysql.createConnection({ host: '127.0.0.1', port: m.port, user: 'root', database: m.database });
          try {
            await c.query(INSERT_SQL, [Math.floor(Math.random() * 1e9), `v${++seq}`]);
          } finally {
            await c.end();
          }
        });
    }
  }

  // The bench stops this process itself (after Ctrl-C too); it exits when the bench goes away.
  process.on('SIGINT', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: { id: number; req: LoadReq }) => {
    handle(msg.req).then(
      (result) => process.send!({ id: msg.id, result }),
      (e: Error) => process.send!({ id: msg.id, error: e.message }),
    );
  });
  process.send!({ ready: true });
}

/**
 * With BENCH_PROF_DIR set, a V8 CPU profile of this process (the node's) while `work` runs,
 * written there as `<name>.cpuprofile`.
 */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROF_DIR;
  if (!dir) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** The bench's handle on the load process (this file, forked with the same tsx loader). */
class Load {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [LOAD_ENV]: '1' }, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let started!: () => void;
    let failed!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => ((started = resolve), (failed = reject)));
    this.child.on('message', (m: { id: number; result?: unknown; error?: string; ready?: true }) => {
      if (m.ready) return started();
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`load process: ${m.error}`));
      else w?.resolve(m.result);
    });
    const fail = (e: Error) => {
      failed(e);
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.child.on('error', fail);
    this.child.on('exit', (code, signal) => fail(new Error(`load process exited (${signal ?? code})`)));
  }

  call<T>(req: LoadReq): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, req });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 2000))]);
  }
}

// ---------------------------------------------------------------------------------------------
// socat: a plain C byte relay in front of MariaDB, the floor for any relaying proxy; and the
// same relay in 10 lines of Node (net + pipe), the floor for a relay written in Node.

/** What the Node relay runs (plain JS, no loader): port, MariaDB host and port as arguments. */
const NODE_RELAY = `const net = require('node:net'); const [port, host, dbPort] = process.argv.slice(1);
net.createServer((c) => { const b = net.connect(Number(dbPort), host); c.setNoDelay(true); b.setNoDelay(true);
c.pipe(b); b.pipe(c); c.on('error', () => b.destroy()); b.on('error', () => c.destroy()); }).listen(Number(port), '127.0.0.1');`;

async function startSocat(): Promise<{ port: number; child: ChildProcess } | { missing: string }> {
  const port = await freePort();
  // BENCH_SOCAT: another socat binary (or a missing one, to try the fallback to MariaDB direct).
  return startRelay(port, process.env.BENCH_SOCAT ?? 'socat', [`TCP-LISTEN:${port},fork,reuseaddr,bind=127.0.0.1`, `TCP:${TEST_MYSQL_HOST}:${TEST_MYSQL_PORT}`], 'socat');
}

async function startNodeRelay(): Promise<{ port: number; child: ChildProcess } | { missing: string }> {
  const port = await freePort();
  return startRelay(port, process.execPath, ['-e', NODE_RELAY, '--', String(port), TEST_MYSQL_HOST, String(TEST_MYSQL_PORT)], 'the Node relay');
}

async function startRelay(port: number, cmd: string, args: string[], what: string): Promise<{ port: number; child: ChildProcess } | { missing: string }> {
  const child = spawn(cmd, args, {
    stdio: 'ignore',
    detached: true, // its own process group: stopping it also stops its per-connection children
  });
  const started = await new Promise<true | Error>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', (e) => resolve(e));
  });
  if (started !== true) return { missing: (started as NodeJS.ErrnoException).code === 'ENOENT' ? `${what} not installed` : started.message };
  const deadline = now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return { port, child };
    if (child.exitCode !== null || now() > deadline) {
      stopRelay(child);
      return { missing: `${what} did not accept on port ${port}` };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stopRelay(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  return Promise.race([exited, new Promise<void>((r) => setTimeout(r, 2000))]);
}

// ---------------------------------------------------------------------------------------------
// cleanup: the node, its databases, the scratch database, the relays and the load process, even on error or Ctrl-C

const cleanups = new Cleanups();
export const cleanup = (): Promise<void> => cleanups.run();

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const pct = (x: number) => `${Math.round(x * 100)}%`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const int = (n: number) => Math.round(n).toLocaleString('en-US');

const RELAYED = `${RELAY_PROCESSES} read-relay process${RELAY_PROCESSES === 1 ? '' : 'es'}`;
const READ_PATH_NAMES = {
  direct: 'straight to MariaDB', socat: 'through socat (C byte relay)', nodepipe: 'through a 10-line Node relay (net + pipe)',
  proxy: 'through the OurSQL proxy', relayed: `through the proxy with ${RELAYED}`,
};
const LATENCY_PATH_NAMES = {
  direct: 'straight to MariaDB', socat: 'through socat', nodepipe: 'through the Node relay',
  proxy: 'through the OurSQL proxy', relayed: `through the proxy with ${RELAYED}`,
};
const READS = (n: number) => `Proxy reads: prepared point SELECT, ${n} connection${n > 1 ? 's' : ''} (${fmt(READ_ROWS)} rows)`;
const LATENCY = 'Proxy added latency: sequential point SELECTs, 1 connection';
const WRITES = 'Node-signed INSERTs through the proxy, miner on';

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  try {
    // ---- a node with a fast-mining consensus, and the read table created straight in its database ----
    checkInterrupt();
    progress('proxy: initialising a node (8-bit PoW, blocks of up to 10,000 txs) and starting it with the miner on');
    const env = await tempNodeDir('bproxy');
    cleanups.push(() => env.cleanup());
    const consensusFile = join(env.tmp, 'consensus-bench.json');
    await writeFile(consensusFile, JSON.stringify(CONSENSUS));
    await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile });
    const node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: true }, log: () => {} });
    cleanups.push(() => node.stop());
    // the same proxy with read-relay processes (proxyRelayProcesses, off by default), on a node of
    // its own; reads pass through to the first node's database
    const relayEnv = await tempNodeDir('bproxy_relay');
    cleanups.push(() => relayEnv.cleanup());
    await initNode({ datadir: relayEnv.datadir, mysql: relayEnv.db.url, consensusFile });
    const relayNode = await OursqlNode.start({
      datadir: relayEnv.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false, proxyRelayProcesses: RELAY_PROCESSES }, log: () => {},
    });
    cleanups.push(() => relayNode.stop());
    const appDb = env.db.name;

    const root = await rootConnection();
    cleanups.push(() => root.end());
    progress(`proxy: ${fmt(READ_ROWS)}-row sbtest table straight in the node's database (no txs)`);
    await root.query(`CREATE TABLE \`${appDb}\`.sbtest (id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0,
      c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_1 (k)) ENGINE=InnoDB`);
    for (let i = 0; i < READ_ROWS; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, READ_ROWS - i) }, (_, j) => {
        const id = i + j + 1;
        return [id, Math.floor(Math.random() * READ_ROWS), `${id}-`.padEnd(119, 'c'), 'p'.repeat(59)];
      });
      await root.query(`INSERT INTO \`${appDb}\`.sbtest (id, k, c, pad) VALUES ?`, [batch]);
    }

    // ---- socat, the Node relay and the load process ----
    const socat = await startSocat();
    if ('child' in socat) cleanups.push(() => stopRelay(socat.child));
    else progress(`proxy: ${socat.missing}: reads are compared with MariaDB direct instead`);
    const relay = await startNodeRelay();
    if ('child' in relay) cleanups.push(() => stopRelay(relay.child));
    else progress(`proxy: ${relay.missing}: no Node relay row`);
    const load = new Load();
    cleanups.push(() => load.stop());
    await load.ready;

    type Path = 'direct' | 'socat' | 'nodepipe' | 'proxy' | 'relayed';
    const ports: Partial<Record<Path, number>> = { direct: TEST_MYSQL_PORT, proxy: node.proxyPort, relayed: relayNode.proxyPort };
    if ('port' in socat) ports.socat = socat.port;
    if ('port' in relay) ports.nodepipe = relay.port;
    const paths = (['direct', 'socat', 'nodepipe', 'proxy', 'relayed'] as Path[]).filter((p) => ports[p] !== undefined);
    const base: Path = 'port' in socat ? 'socat' : 'direct';
    // CPU the path's relay uses: socat with its per-connection children, the Node relay, this process (the node)
    const relayCpu: Record<Path, () => number | undefined> = {
      direct: () => 0,
      socat: () => ('child' in socat ? treeCpuMs(socat.child.pid!) : undefined),
      nodepipe: () => ('child' in relay ? cpuMs(relay.child.pid!) : undefined),
      // the node's main thread and its read-relay processes (children of this process, as the load process is)
      relayed: () => (cpuMs(process.pid) ?? NaN) + childrenCpuMs(process.pid, RELAY_ENTRY),
      // the node's main thread and its read-relay processes (children of this process, as the load process is)
      proxy: () => cpuMs(process.pid),
    };
    const mysqld = mysqlServerPid();
    progress(`proxy: opening 8 connections per path (${paths.join(', ')}) in the load process`);
    for (const p of paths) {
      await load.call({ op: 'open', set: `read-${p}`, port: ports[p]!, database: appDb, n: 8 });
      await load.call({ op: 'warm', set: `read-${p}`, maxId: READ_ROWS });
    }
    // the relay process starts at the first hand-off offered (~0.7 s of CPU, compiling its sources): not in a measured round
    for (let i = 0; i < 50 && relayNode.proxyConnections.relayedElsewhere < 8 / (RELAY_PROCESSES + 1) && RELAY_PROCESSES > 0; i++) {
      await load.call({ op: 'warm', set: 'read-relayed', maxId: READ_ROWS });
    }

    // ---- 1. read throughput, closed loops, interleaved rounds ----
    for (const n of [1, 8]) {
      checkInterrupt();
      progress(`proxy: point selects, ${n} connection(s), ${READ_ROUNDS} interleaved rounds of ${READ_ROUND_S} s per path`);
      const best = new Map<Path, LoopResult & { perSec: number }>();
      // each round's figure of each path: a path over the baseline of the same round is steadier than best over best
      const perRound = new Map<Path, number[]>();
      const total = new Map<Path, { ops: number; seconds: number; errors: number; nodeElu: number; clientElu: number; rounds: number; relayMs: number; mysqlMs: number }>();
      for (let r = 0; r < READ_ROUNDS; r++) {
        for (const p of paths) {
          checkInterrupt();
          const e0 = performance.eventLoopUtilization();
          const relay0 = relayCpu[p]();
          const mysql0 = mysqld === undefined ? undefined : cpuMs(mysqld);
          const res = await load.call<LoopResult>({ op: 'select', set: `read-${p}`, n, seconds: READ_ROUND_S, maxId: READ_ROWS });
          const nodeElu = performance.eventLoopUtilization(e0).utilization;
          const relayMs = (relayCpu[p]() ?? NaN) - (relay0 ?? NaN);
          const mysqlMs = (mysqld === undefined ? NaN : cpuMs(mysqld) ?? NaN) - (mysql0 ?? NaN);
          const clientElu = res.clientBusy;
          if (res.errors) throw new Error(`reads via ${p}: ${res.errors} errors, first: ${res.firstError}`);
          const perSec = res.ops / res.seconds;
          if (!best.has(p) || perSec > best.get(p)!.perSec) best.set(p, { ...res, perSec });
          perRound.set(p, [...(perRound.get(p) ?? []), perSec]);
          const t = total.get(p) ?? { ops: 0, seconds: 0, errors: 0, nodeElu: 0, clientElu: 0, rounds: 0, relayMs: 0, mysqlMs: 0 };
          total.set(p, {
            ops: t.ops + res.ops, seconds: t.seconds + res.seconds, errors: t.errors + res.errors, nodeElu: t.nodeElu + nodeElu,
            clientElu: t.clientElu + clientElu, rounds: t.rounds + 1, relayMs: t.relayMs + relayMs, mysqlMs: t.mysqlMs + mysqlMs,
          });
        }
      }
      // BENCH_PROF_DIR: one more round through the proxy, profiled, not counted
      if (process.env.BENCH_PROF_DIR) await profiled(`proxy-reads-${n}`, () => load.call({ op: 'select', set: 'read-proxy', n, seconds: READ_ROUND_S, maxId: READ_ROWS }));
      const key = (p: Path) => `proxy.read${n}.${p}`;
      for (const p of paths) {
        const b = best.get(p)!;
        const t = total.get(p)!;
        const mean = t.ops / t.seconds;
        const elu = `node main thread busy ${pct(t.nodeElu / t.rounds)}, client ${pct(t.clientElu / t.rounds)}`;
        const name = READ_PATH_NAMES[p];
        // µs of CPU per query over all rounds (NaN where /proc could not be read)
        const perQuery = (ms: number) => (ms * 1000) / t.ops;
        const cpu = `CPU per query: ${p === 'direct' ? '' : `relay ${fmt(perQuery(t.relayMs))} µs, `}MariaDB ${fmt(perQuery(t.mysqlMs))} µs`;
        const paired = p === base ? undefined : median(perRound.get(p)!.map((v, r) => v / perRound.get(base)![r]));
        let note = `best of ${READ_ROUNDS} × ${READ_ROUND_S} s (mean ${fmt(mean)}${paired === undefined ? '' : `; median of the rounds' ratios ${paired.toFixed(2)}×`}); ${elu}; ${cpu}`;
        if (p === 'proxy') note = `target ≥ ${READ_TARGET} × ${base}; ` + note;
        if (p === 'relayed') {
          const { relayedElsewhere, open } = relayNode.proxyConnections;
          note = `proxyRelayProcesses ${RELAY_PROCESSES} (default 0); ` + note + `; ${relayedElsewhere} of ${open} connections in relay processes`;
        }
        if (p === 'direct' && base === 'direct') note = `${'missing' in socat ? socat.missing : ''}: baseline is direct; ` + note;
        rows.push({
          key: key(p), group: READS(n), name: `${name}, ${n} conn`, value: b.perSec, unit: 'qps', base: p === base ? undefined : key(base), note,
          extra: {
            meanPerSec: Number(mean.toFixed(1)), ...(paired !== undefined && { pairedRatio: Number(paired.toFixed(4)) }), nodeMainThreadBusy: Number((t.nodeElu / t.rounds).toFixed(3)), clientBusy: Number((t.clientElu / t.rounds).toFixed(3)),
            relayCpuUsPerQuery: Number(perQuery(t.relayMs).toFixed(1)), mysqlCpuUsPerQuery: Number(perQuery(t.mysqlMs).toFixed(1)),
          },
        });
      }
      if (!('port' in socat)) {
        rows.push({ key: `proxy.read${n}.socat`, group: READS(n), name: `through socat (C byte relay), ${n} conn`, value: 0, unit: 'qps', note: socat.missing });
      }
    }

    // ---- 2. added latency at 1 connection ----
    checkInterrupt();
    progress(`proxy: latency, ${LAT_ROUNDS} interleaved rounds of ${LAT_PER_ROUND} sequential executes per path`);
    const samples = new Map<Path, Float64Array[]>();
    for (const p of paths) await load.call({ op: 'latency', set: `read-${p}`, count: 300, maxId: READ_ROWS }); // warm-up
    for (let r = 0; r < LAT_ROUNDS; r++) {
      for (const p of paths) {
        checkInterrupt();
        const us = await load.call<Float64Array>({ op: 'latency', set: `read-${p}`, count: LAT_PER_ROUND, maxId: READ_ROWS });
        samples.set(p, [...(samples.get(p) ?? []), us]);
      }
    }
    const lat = new Map<Path, { p50: number; p99: number; mean: number }>();
    for (const p of paths) {
      const parts = samples.get(p)!;
      const all = new Float64Array(parts.reduce((n, a) => n + a.length, 0));
      let o = 0;
      for (const a of parts) {
        all.set(a, o);
        o += a.length;
      }
      const mean = all.reduce((s, x) => s + x, 0) / all.length;
      all.sort();
      lat.set(p, { p50: percentile(all, 50), p99: percentile(all, 99), mean });
    }
    const latName = (p: Path) => LATENCY_PATH_NAMES[p];
    for (const q of ['p50', 'p99'] as const) {
      for (const p of paths) {
        const l = lat.get(p)!;
        rows.push({
          key: `proxy.lat_${q}.${p}`, group: LATENCY, name: `${q}, ${latName(p)}`, value: l[q], unit: 'µs',
          base: p === base ? undefined : `proxy.lat_${q}.${base}`,
          note: q === 'p50' ? `mean ${fmt(l.mean)} µs; ${int(LAT_ROUNDS * LAT_PER_ROUND)} round trips` : undefined,
        });
      }
    }
    const pl = lat.get('proxy')!;
    const dl = lat.get('direct')!;
    const sl = lat.get('socat');
    rows.push(
      { key: 'proxy.lat_added_p50', group: LATENCY, name: 'added by the proxy: p50 proxy − direct', value: pl.p50 - dl.p50, unit: 'µs', note: sl ? `socat − direct: ${fmt(sl.p50 - dl.p50)} µs` : undefined },
      { key: 'proxy.lat_added_p99', group: LATENCY, name: 'added by the proxy: p99 proxy − direct', value: pl.p99 - dl.p99, unit: 'µs', note: sl ? `socat − direct: ${fmt(sl.p99 - dl.p99)} µs` : undefined },
    );
    for (const p of paths) await load.call({ op: 'close', set: `read-${p}` });
    if ('child' in socat) await stopRelay(socat.child);
    if ('child' in relay) await stopRelay(relay.child);

    // ---- 3. INSERTs: straight to MariaDB into an identical table, and node-signed through the proxy ----
    checkInterrupt();
    progress('proxy: INSERT tables (scratch database straight on MariaDB; the node\'s through the proxy)');
    const scratch = testDatabase('bproxy_raw');
    cleanups.push(() => scratch.drop());
    await root.query(`CREATE DATABASE \`${scratch.name}\``);
    await root.query(INS_TABLE.replace('bench_ins', `\`${scratch.name}\`.bench_ins`));
    await load.call({ op: 'open', set: 'ins-direct', port: TEST_MYSQL_PORT, database: scratch.name, n: 8 });
    await load.call({ op: 'open', set: 'ins-proxy', port: node.proxyPort, database: appDb, n: 8 });
    const ddl = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: appDb });
    try {
      await ddl.query(INS_TABLE);
    } finally {
      await ddl.end();
    }

    const heightBefore = node.chain.height;
    const insert = async (set: 'ins-direct' | 'ins-proxy', n: number, seconds: number, connectEach = false) => {
      checkInterrupt();
      progress(`proxy: INSERTs, ${set === 'ins-proxy' ? 'node-signed through the proxy' : 'straight to MariaDB'}, ${connectEach ? 'a new connection for each' : `${n} connection(s)`}, ${seconds} s`);
      const h0 = node.chain.height;
      const e0 = performance.eventLoopUtilization();
      const cpu0 = process.cpuUsage();
      const mysqlCpu = cpuMeter(mysqld);
      const r = await load.call<LoopResult>(connectEach
        ? { op: 'connect-insert', port: set === 'ins-proxy' ? node.proxyPort : TEST_MYSQL_PORT, database: set === 'ins-proxy' ? appDb : scratch.name, seconds }
        : { op: 'insert', set, n, seconds });
      const cpu = process.cpuUsage(cpu0);
      const mysqlMs = mysqlCpu();
      return {
        ...r, perSec: r.ops / r.seconds, blocks: node.chain.height - h0,
        nodeElu: performance.eventLoopUtilization(e0).utilization, clientElu: r.clientBusy,
        // CPU time per row (steal time excluded): steadier than rows/s on a shared machine
        nodeCpuUs: r.ops ? (cpu.user + cpu.system) / r.ops : 0,
        mysqlCpuUs: mysqlMs !== undefined && r.ops ? (mysqlMs * 1000) / r.ops : undefined,
      };
    };
    const d1 = await insert('ins-direct', 1, INS_S.direct1);
    const p1 = await insert('ins-proxy', 1, INS_S.proxy1);
    const d8 = await insert('ins-direct', 8, INS_S.direct8);
    const p8 = await profiled('proxy-inserts-8', () => insert('ins-proxy', 8, INS_S.proxy8));
    const dc = await insert('ins-direct', 1, INS_S.direct1, true);
    const pc = await insert('ins-proxy', 1, INS_S.proxy1, true);
    await load.call({ op: 'close', set: 'ins-direct' });
    await load.call({ op: 'close', set: 'ins-proxy' });

    // Let the miner take what is left in the pool (a little while at most), then check.
    progress('proxy: letting the miner empty the pool, then checking every row has its tx');
    for (const t0 = now(); node.chain.pool.size > 0 && now() - t0 < 3000;) await new Promise((r) => setTimeout(r, 50));
    // One synchronous snapshot of the active chain and the pool (a block moves txs from one to the other).
    const active = [...node.chain.active];
    const pooled = node.chain.pool.txs();
    const isInsert = (tx: Tx) => /^INSERT INTO `bench_ins`/i.test(sqlOf(tx)?.stmts[0] ?? '');
    let inChain = 0;
    for (const hash of active) {
      const b = await node.chain.getBlock(hash);
      if (!b) throw new Error(`active block ${hash} not found`);
      inChain += b.txs.filter(isInsert).length;
    }
    const inPool = pooled.filter(isInsert).length;
    const [[{ n: tableRows }]] = (await root.query(`SELECT COUNT(*) AS n FROM \`${appDb}\`.bench_ins`)) as unknown as [[{ n: string | number }]];
    const rowsIn = Number(tableRows);
    const okReplies = p1.ops + p8.ops + pc.ops;
    const consistent = rowsIn === inChain + inPool && rowsIn === okReplies;
    const blocks = node.chain.height - heightBefore;
    const blockTxs = blocks > 0 ? inChain / blocks : 0; // INSERT txs per block (coinbase excluded)
    if (!consistent) progress(`proxy: MISMATCH rows ${rowsIn}, INSERT txs ${inChain + inPool} (chain ${inChain}, pool ${inPool}), OK replies ${okReplies}`);

    const insNote = (r: typeof p1, proxied: boolean) =>
      `${int(r.ops)} in ${fmt(r.seconds)} s${r.errors ? `, ${r.errors} errors (first: ${r.firstError})` : ''}` +
      (proxied ? `; ${r.blocks} blocks mined meanwhile; node main thread busy ${pct(r.nodeElu)}, client ${pct(r.clientElu)}` : `; client ${pct(r.clientElu)}`) +
      `; CPU per row: ${proxied ? `node ${fmt(r.nodeCpuUs)} µs, ` : ''}MariaDB ${r.mysqlCpuUs === undefined ? 'n/a' : `${fmt(r.mysqlCpuUs)} µs`}`;
    const insExtra = (r: typeof p1) => ({
      ops: r.ops, seconds: Number(r.seconds.toFixed(2)), errors: r.errors, blocks: r.blocks,
      nodeMainThreadBusy: Number(r.nodeElu.toFixed(3)), clientBusy: Number(r.clientElu.toFixed(3)),
      nodeCpuUsPerRow: Number(r.nodeCpuUs.toFixed(1)), mysqlCpuUsPerRow: r.mysqlCpuUs === undefined ? 'n/a' : Number(r.mysqlCpuUs.toFixed(1)),
    });
    rows.push(
      { key: 'proxy.ins1.direct', group: WRITES, name: 'straight to MariaDB, 1 conn (autocommit)', value: d1.perSec, unit: 'rows/s', note: insNote(d1, false), extra: insExtra(d1) },
      { key: 'proxy.ins1.proxy', group: WRITES, name: 'node-signed via proxy, 1 conn', value: p1.perSec, unit: 'rows/s', base: 'proxy.ins1.direct', note: insNote(p1, true), extra: insExtra(p1) },
      { key: 'proxy.ins8.direct', group: WRITES, name: 'straight to MariaDB, 8 conns (autocommit)', value: d8.perSec, unit: 'rows/s', note: insNote(d8, false), extra: insExtra(d8) },
      {
        key: 'proxy.ins8.proxy', group: WRITES, name: 'node-signed via proxy, 8 conns', value: p8.perSec, unit: 'rows/s', base: 'proxy.ins8.direct',
        note: `target ≥ ${fmt(INS_TARGET)}; ` + insNote(p8, true), extra: insExtra(p8),
      },
      { key: 'proxy.insconn.direct', group: WRITES, name: 'straight to MariaDB, a new connection per INSERT', value: dc.perSec, unit: 'rows/s', note: `log in, INSERT, quit, one client; ${insNote(dc, false)}`, extra: insExtra(dc) },
      {
        key: 'proxy.insconn.proxy', group: WRITES, name: 'node-signed via proxy, a new connection per INSERT', value: pc.perSec, unit: 'rows/s', base: 'proxy.insconn.direct',
        note: `as a PHP page does; ${insNote(pc, true)}`, extra: insExtra(pc),
      },
      {
        key: 'proxy.ins_check', group: WRITES, name: 'check: rows in table = INSERT txs in chain + pool', value: rowsIn, unit: 'rows',
        note: `${consistent ? 'OK' : 'MISMATCH'}: ${int(rowsIn)} rows, ${int(inChain + inPool)} INSERT txs (${int(inChain)} in blocks, ${int(inPool)} in pool), ${int(okReplies)} OK replies`,
        extra: { consistent: consistent ? 1 : 0, txsInChain: inChain, txsInPool: inPool, okReplies },
      },
      {
        key: 'proxy.ins_blocks', group: WRITES, name: 'blocks mined during the INSERT runs', value: blocks, unit: 'blocks',
        note: `${fmt(blockTxs)} INSERT txs per block on average; chain height ${node.chain.height}`,
      },
    );
  } finally {
    progress('proxy: stopping the node and socat, dropping the test databases');
    await cleanup();
  }
  return rows;
}

if (process.env[LOAD_ENV] === '1' && process.send) loadProcess();
