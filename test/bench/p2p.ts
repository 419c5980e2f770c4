// Peers: replay speed of `oursql import` (next to the same statements run straight on MariaDB),
// propagation of a 1,000-tx block from a miner to one peer alone and to 5 peers (p50/p95), and the
// bytes a block needs on the wire as a compact block next to its full size. The receivers run as
// node processes of their own (p2p-node.ts), as peers on other machines would, not on the bench's
// event loop; five of them and the seed share this machine's cores, which peers on machines of
// their own would not.
import { fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { blockToWire, sqlOf } from '../../consensus/index.ts';
import { NODE_PROCESS_FLAGS } from '../../server/cli/daemon.ts';
import { importNode } from '../../server/node/import.ts';
import { Cluster, until, type ClusterNode } from '../helpers/cluster.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';
import { cpuMeter, cpuMs, mysqlServerPid } from './cpu-time.ts';
import { checkInterrupt, Cleanups, progress } from './measure.ts';
import { fmt, type Row } from './table.ts';

// the size the import test asks for (≥ 200 blocks, ≥ 5,000 SQL txs)
const REPLAY_BLOCKS = Number(process.env.BENCH_REPLAY_BLOCKS ?? 200);
const REPLAY_PER_BLOCK = Number(process.env.BENCH_REPLAY_PER_BLOCK ?? 30);
const PROP_TXS = Number(process.env.BENCH_PROP_TXS ?? 1000);
// blocks per propagation figure: 6 to 5 peers give 30 delays, so p95 is not just the slowest one or two
const PROP_ROUNDS = Number(process.env.BENCH_PROP_ROUNDS ?? 6);
const RECEIVERS = Number(process.env.BENCH_RECEIVERS ?? 5);
const IMPORT_RUNS = Math.max(1, Number(process.env.BENCH_IMPORT_RUNS ?? 3));

const cleanups = new Cleanups();
export const cleanup = (): Promise<void> => cleanups.run();

async function writeRows(n: ClusterNode, table: string, count: number, from: number): Promise<void> {
  const conns = await Promise.all(Array.from({ length: 4 }, () => n.sql()));
  await Promise.all(conns.map(async (c, k) => {
    for (let i = k; i < count; i += conns.length) await c.query(`INSERT INTO ${table} VALUES (?, ?, ?)`, [from + i, `owner ${i % 13}`, `note ${i}`]);
  }));
  await Promise.all(conns.map((c) => c.end()));
}

/** V8 flags from BENCH_NODE_FLAGS (e.g. --trace-deopt), for every child process. */
const benchFlags = () => process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
/** A node process's V8 flags: those `oursql start` runs its node with. */
const nodeFlags = () => [...NODE_PROCESS_FLAGS, ...benchFlags()];
/** With BENCH_PROF_DIR set, the bench's child processes (imports, receivers) write V8 CPU profiles there. */
const profiling = () => (process.env.BENCH_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF_DIR, '--cpu-prof-interval', '200'] : []);

type ImportTimes = {
  blocks: number; txs: number; ms: number; firstMs: number; firstTxs: number; restMs: number; cpuMs: number; elu: number; checkedHere: number;
  /** CPU ms of MariaDB and of this process (the seed serving the chain) while the import ran */
  mysqlCpuMs?: number; seedCpuMs?: number;
};

/** `importNode` in a process of its own (p2p-import.ts), timed there. */
async function importInChild(job: { datadir: string; peer: string; mysql: string }): Promise<ImportTimes> {
  // node's own defaults, as `oursql import` runs (bin/oursql.js sets no V8 flags)
  const child = fork(new URL('./p2p-import.ts', import.meta.url), [], { execArgv: [...benchFlags(), '--import', 'tsx', ...profiling()], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanups.push(async () => void (child.exitCode === null && child.kill('SIGKILL')));
  // resolved once the child has exited: a profile (BENCH_PROF_DIR) is written at exit
  return new Promise((resolve, reject) => {
    let times: ImportTimes | undefined;
    child.on('message', (m: { ready?: true; error?: string } & Partial<ImportTimes>) => {
      if (m.ready) child.send(job);
      else if (m.error) reject(new Error(`import: ${m.error}`));
      else times = m as ImportTimes;
    });
    child.once('exit', (code) => (code === 0 && times ? resolve(times) : reject(new Error(`import process exited (${code})`))));
  });
}

/** A receiving node in a process of its own (p2p-node.ts), imported from `seed` first. */
class Receiver {
  private next = 0;
  private readonly waiting = new Map<number, (m: any) => void>();
  private readonly tipWaiters: ((m: { tip: string; at: number }) => void)[] = [];
  /** When each tip this node reported was connected. */
  private readonly tips = new Map<string, number>();
  fetched = 0;
  get pid(): number {
    return this.child.pid!;
  }
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: any) => {
      if (m.id !== undefined) this.waiting.get(m.id)?.(m);
      else if (m.tip) {
        this.tips.set(m.tip, m.at);
        for (const w of this.tipWaiters.splice(0)) w(m);
      }
      else if (m.fetched !== undefined) this.fetched += m.fetched;
    });
  }

  static async start(seed: ClusterNode): Promise<Receiver> {
    const env = await tempNodeDir('bprop');
    cleanups.push(() => env.cleanup());
    await importNode({ datadir: env.datadir, peer: seed.addr, mysql: env.db.url });
    const child = fork(new URL('./p2p-node.ts', import.meta.url), [], {
      execArgv: [...nodeFlags(), '--import', 'tsx', ...profiling()], env: { ...process.env, OURSQL_BENCH_DATADIR: env.datadir }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const r = new Receiver(child);
    cleanups.push(() => r.stop());
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`receiver node exited (${code}) before it was ready`)));
    });
    return r;
  }

  private ask(what: 'state' | 'stop'): Promise<any> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, ask: what });
    });
  }

  state(): Promise<{ tip: string; pool: number; received: number }> {
    return this.ask('state');
  }

  /** Resolves with the time (epoch ms) this node connected block `hash` (it may have done so already). */
  connected(hash: string): Promise<number> {
    return new Promise((resolve) => {
      const at = this.tips.get(hash);
      if (at !== undefined) return resolve(at);
      const wait = (m: { tip: string; at: number }) => (m.tip === hash ? resolve(m.at) : this.tipWaiters.push(wait));
      this.tipWaiters.push(wait);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    // it exits after answering (writing its CPU profile first, when asked to keep one)
    await Promise.race([this.ask('stop').then(() => exited), new Promise((r) => setTimeout(r, 10_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await exited;
  }
}

const clock = () => performance.timeOrigin + performance.now();

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

export async function run(): Promise<Row[]> {
  try {
    return await measure();
  } finally {
    await cleanup();
  }
}

async function measure(): Promise<Row[]> {
  const rows: Row[] = [];
  const cluster = new Cluster();
  cleanups.push(() => cluster.close());

  // ---- replay on import ----
  checkInterrupt();
  progress(`p2p: a seed chain of ${REPLAY_BLOCKS} blocks × ${REPLAY_PER_BLOCK} SQL txs`);
  const seed = await cluster.seed();
  const c = await seed.sql();
  await c.query('CREATE TABLE items (id INT PRIMARY KEY, owner VARCHAR(20) NOT NULL, note TEXT)');
  for (let b = 0; b < REPLAY_BLOCKS; b++) {
    await writeRows(seed, 'items', REPLAY_PER_BLOCK, b * REPLAY_PER_BLOCK);
    await seed.node.miner!.mineNow();
  }
  const stmts: string[] = [];
  for (let h = 1; h <= seed.node.chain.height; h++) {
    for (const tx of (await seed.node.chain.getBlock(seed.node.chain.blockHashAt(h)!))!.txs) stmts.push(...(sqlOf(tx)?.stmts ?? []));
  }
  checkInterrupt();
  progress('p2p: the same statements straight on MariaDB (one connection, autocommit)');
  const direct = testDatabase('bdirect');
  cleanups.push(() => direct.drop());
  const dc = await mysql.createConnection({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root' });
  await dc.query(`CREATE DATABASE \`${direct.name}\``);
  await dc.query(`USE \`${direct.name}\``);
  const t0 = performance.now();
  for (const s of stmts) await dc.query(s);
  const directRate = stmts.length / ((performance.now() - t0) / 1000);
  await dc.end();
  rows.push({ key: 'p2p.replay.direct', group: 'Peers', name: 'replayed statements, straight to MariaDB', value: directRate, unit: 'stmt/s' });

  // Each import into a fresh node of its own; the median of IMPORT_RUNS is reported (runs differ by ±10 %).
  const runs: ImportTimes[] = [];
  for (let i = 0; i < IMPORT_RUNS; i++) {
    checkInterrupt();
    progress(`p2p: oursql import of that chain into a fresh node (${i + 1}/${IMPORT_RUNS})`);
    const env = await tempNodeDir('bimport');
    try {
      const mysqlCpu = cpuMeter(mysqlServerPid());
      const seed0 = process.cpuUsage();
      const times = await importInChild({ datadir: env.datadir, peer: seed.addr, mysql: env.db.url });
      const seedCpu = process.cpuUsage(seed0);
      runs.push({ ...times, seedCpuMs: (seedCpu.user + seedCpu.system) / 1000, mysqlCpuMs: mysqlCpu() });
    } finally {
      await env.cleanup();
    }
  }
  const rate = (x: ImportTimes) => x.txs / (x.ms / 1000);
  const r = [...runs].sort((a, b) => rate(a) - rate(b))[Math.floor(runs.length / 2)];
  rows.push({
    key: 'p2p.replay.import', group: 'Peers', name: `import replay (${r.blocks} blocks, ${r.txs} SQL txs, signatures checked)`,
    value: rate(r), unit: 'tx/s', base: 'p2p.replay.direct',
    note: `target ≥ 5,000 tx/s; median of ${runs.length} (${runs.map((x) => fmt(rate(x))).join(', ')}); the whole command (its own process): ${r.ms.toFixed(0)} ms, of it ${r.firstMs.toFixed(0)} ms set-up to the first block (its CREATE TABLE); CPU ${(r.cpuMs / r.ms * 100).toFixed(0)}% (signature checks besides, in a helper; ${r.checkedHere} of them on the main thread), main thread busy ${(r.elu * 100).toFixed(0)}%; ` +
      `CPU ms per 1,000 txs (steadier than tx/s here): import ${fmt(r.cpuMs / r.txs * 1000)}, MariaDB ${r.mysqlCpuMs === undefined ? 'n/a' : fmt(r.mysqlCpuMs / r.txs * 1000)}, seed ${fmt((r.seedCpuMs ?? 0) / r.txs * 1000)}`,
    extra: { importCpuMs: Math.round(r.cpuMs), mysqlCpuMs: r.mysqlCpuMs === undefined ? 'n/a' : Math.round(r.mysqlCpuMs), seedCpuMs: Math.round(r.seedCpuMs ?? 0) },
  }, {
    key: 'p2p.replay.sync', group: 'Peers', name: 'of which: the blocks after the first (fetch, check, replay)', value: (r.txs - r.firstTxs) / (r.restMs / 1000),
    unit: 'tx/s', base: 'p2p.replay.direct',
  });

  // ---- propagation of a full block: to one peer alone, then to 5 peers, each a node process of its own ----
  if (PROP_ROUNDS === 0) return rows; // BENCH_PROP_ROUNDS=0: the import figures only
  checkInterrupt();
  await c.query('CREATE TABLE prop (id INT PRIMARY KEY, owner VARCHAR(20) NOT NULL, note TEXT)');
  await seed.node.miner!.mineNow();
  let nextRow = 0;
  let compactBytes = 0;
  let fullBytes = 0;
  // CPU ms used during the rounds, from the block's mining until every receiver connected it
  const mysqld = mysqlServerPid();
  const cpu = { seed: 0, mysql: 0, receivers: 0, rounds: 0, wall: 0 };
  /** Mines `rounds` blocks of PROP_TXS pooled txs (after an uncounted warm-up round); the delays until each receiver connected each. */
  /** Per round after the warm-up: ms to write the round's txs through the seed's proxy, and until every pool held them. */
  const relay = { 1: { wrote: [] as number[], pooled: [] as number[], received: 0 }, [RECEIVERS]: { wrote: [] as number[], pooled: [] as number[], received: 0 } };
  const propagate = async (to: Receiver[], rounds: number): Promise<number[]> => {
    const states = () => Promise.all(to.map((r) => r.state()));
    const atTip = async () => (await states()).every((st) => st.tip === seed.node.chain.tip.hash);
    const delays: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      checkInterrupt();
      progress(`p2p: block of ${PROP_TXS} txs to ${to.length} peer(s), ${round === 0 ? 'warm-up round' : `round ${round}/${rounds}`}`);
      await until('every peer at the tip', atTip, 120_000);
      const receivedBefore = (await states()).reduce((n, st) => n + st.received, 0);
      const written = clock();
      await writeRows(seed, 'prop', PROP_TXS, nextRow);
      const wroteMs = clock() - written;
      nextRow += PROP_TXS;
      await until('the txs in every pool', async () => (await states()).every((st) => st.pool === seed.node.chain.pool.size), 120_000);
      if (round > 0) {
        relay[to.length].wrote.push(wroteMs);
        relay[to.length].pooled.push(clock() - written);
        relay[to.length].received += (await states()).reduce((n, st) => n + st.received, 0) - receivedBefore;
      }
      const pids = [process.pid, mysqld ?? 0, ...to.map((r) => r.pid)];
      const cpu0 = pids.map(cpuMs);
      const start = clock();
      const mined = await seed.node.miner!.mineNow();
      if (!('block' in mined)) throw new Error(`no block: ${JSON.stringify(mined)}`);
      // Receivers may connect the block before the seed has (it is announced once found).
      for (const at of await Promise.all(to.map((r) => r.connected(mined.block.hash)))) {
        if (round > 0) delays.push(at - start);
      }
      const used = pids.map((pid, i) => (cpuMs(pid) ?? NaN) - (cpu0[i] ?? NaN));
      if (round > 0 && to.length > 1) {
        cpu.seed += used[0];
        cpu.mysql += used[1];
        cpu.receivers += used.slice(2).reduce((a, b) => a + b, 0);
        cpu.rounds++;
        cpu.wall += clock() - start;
      }
      if (round === 0) continue;
      const b = mined.block;
      fullBytes += Buffer.byteLength(JSON.stringify(blockToWire(b)));
      compactBytes += Buffer.byteLength(JSON.stringify({ header: b.header, coinbase: blockToWire(b).txs[0], txids: b.txs.slice(1).map((t) => t.id) }));
    }
    return delays;
  };
  progress('p2p: one peer (a node process) joining the seed');
  const receivers: Receiver[] = [await Receiver.start(seed)];
  // What one hop costs when the receiver has a machine to itself (here: shares it only with the seed).
  const alone = await propagate(receivers, PROP_ROUNDS);
  progress(`p2p: ${RECEIVERS - 1} more peers joining the seed`);
  for (let i = 1; i < RECEIVERS; i++) receivers.push(await Receiver.start(seed));
  const delays = await propagate(receivers, PROP_ROUNDS);
  const fetched = receivers.reduce((n, r) => n + r.fetched, 0); // warm-up rounds included
  const blocks = 2 * PROP_ROUNDS;
  for (const n of new Set([1, RECEIVERS])) {
    const r = relay[n];
    rows.push({
      key: `p2p.relay${n}`, group: 'Peers', name: `${PROP_TXS} txs written through the seed's proxy, until in every pool (${n} peer${n > 1 ? 's' : ''}, p50)`,
      value: pct(r.pooled, 50), unit: 'ms',
      note: `4 client connections; the writes alone took ${fmt(pct(r.wrote, 50))} ms (p50); peers admit relayed txs up to 100 to a MySQL transaction; `
        + `by then a peer had been sent ${(r.received / (r.pooled.length * n * PROP_TXS)).toFixed(2)} copies of each tx (1.00: none twice)`,
      extra: { copiesPerTx: r.received / (r.pooled.length * n * PROP_TXS) },
    });
  }
  rows.push({ key: 'p2p.prop1.p50', group: 'Peers', name: `block of ${PROP_TXS} txs reaches a lone peer (p50 of ${alone.length})`, value: pct(alone, 50), unit: 'ms', note: 'one receiver process: the cost of one hop' });
  rows.push({ key: 'p2p.prop1.p95', group: 'Peers', name: `block of ${PROP_TXS} txs reaches a lone peer (p95)`, value: pct(alone, 95), unit: 'ms' });
  rows.push({ key: 'p2p.prop.p50', group: 'Peers', name: `block of ${PROP_TXS} txs reaches ${RECEIVERS} peers (p50 of ${delays.length})`, value: pct(delays, 50), unit: 'ms', note: `${RECEIVERS} receiver processes and the seed share ${cpus().length} cores` });
  rows.push({ key: 'p2p.prop.p95', group: 'Peers', name: `block of ${PROP_TXS} txs reaches ${RECEIVERS} peers (p95)`, value: pct(delays, 95), unit: 'ms', note: 'target ≤ 300 ms' });
  if (Number.isFinite(cpu.seed + cpu.mysql + cpu.receivers) && cpu.rounds > 0) {
    const per = (x: number) => fmt(x / cpu.rounds);
    rows.push({
      key: 'p2p.prop.cpu', group: 'Peers', name: `CPU time per ${RECEIVERS}-peer round, all processes`, value: (cpu.seed + cpu.mysql + cpu.receivers) / cpu.rounds, unit: 'ms',
      note: `seed and bench ${per(cpu.seed)}, MariaDB ${per(cpu.mysql)}, receivers ${per(cpu.receivers)} (${per(cpu.receivers / RECEIVERS)} each); ${cpus().length} cores for ${per(cpu.wall)} ms of wall time`,
    });
  }
  rows.push({ key: 'p2p.bytes.full', group: 'Peers', name: 'bytes of a full block on the wire', value: fullBytes / blocks, unit: 'B' });
  rows.push({
    key: 'p2p.bytes.compact', group: 'Peers', name: `bytes of the compact block (txs fetched besides: ${fetched})`,
    value: compactBytes / blocks, unit: 'B', base: 'p2p.bytes.full',
  });
  return rows;
}
