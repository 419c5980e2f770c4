// Peers: replay speed of `oursql import` (next to the same statements run straight on MariaDB),
// propagation of a 1,000-tx block from a miner to 5 peers (p50/p95), and the bytes a block needs
// on the wire as a compact block next to its full size.
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { blockToWire, sqlOf } from '../../consensus/index.ts';
import { importNode } from '../../server/node/import.ts';
import { Cluster, until, type ClusterNode } from '../helpers/cluster.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';
import { checkInterrupt, Cleanups, progress } from './measure.ts';
import type { Row } from './table.ts';

const REPLAY_BLOCKS = Number(process.env.BENCH_REPLAY_BLOCKS ?? 40);
const REPLAY_PER_BLOCK = Number(process.env.BENCH_REPLAY_PER_BLOCK ?? 50);
const PROP_TXS = Number(process.env.BENCH_PROP_TXS ?? 1000);
const PROP_ROUNDS = Number(process.env.BENCH_PROP_ROUNDS ?? 3);
const RECEIVERS = 5;

const cleanups = new Cleanups();
export const cleanup = (): Promise<void> => cleanups.run();

async function writeRows(n: ClusterNode, table: string, count: number, from: number): Promise<void> {
  const conns = await Promise.all(Array.from({ length: 4 }, () => n.sql()));
  await Promise.all(conns.map(async (c, k) => {
    for (let i = k; i < count; i += conns.length) await c.query(`INSERT INTO ${table} VALUES (?, ?, ?)`, [from + i, `owner ${i % 13}`, `note ${i}`]);
  }));
  await Promise.all(conns.map((c) => c.end()));
}

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
  let t0 = performance.now();
  for (const s of stmts) await dc.query(s);
  const directRate = stmts.length / ((performance.now() - t0) / 1000);
  await dc.end();
  rows.push({ key: 'p2p.replay.direct', group: 'Peers', name: 'replayed statements, straight to MariaDB', value: directRate, unit: 'stmt/s' });

  checkInterrupt();
  progress('p2p: oursql import of that chain into a fresh node');
  const env = await tempNodeDir('bimport');
  cleanups.push(() => env.cleanup());
  t0 = performance.now();
  const r = await importNode({ datadir: env.datadir, peer: seed.addr, mysql: env.db.url });
  const importSecs = (performance.now() - t0) / 1000;
  rows.push({
    key: 'p2p.replay.import', group: 'Peers', name: `import replay (${r.blocks} blocks, ${r.txs} SQL txs, signatures checked)`,
    value: r.txs / importSecs, unit: 'tx/s', base: 'p2p.replay.direct', note: 'target ≥ 5,000 tx/s',
  });

  // ---- propagation of a full block to 5 peers ----
  checkInterrupt();
  progress(`p2p: ${RECEIVERS} peers joining the seed`);
  const receivers: ClusterNode[] = [];
  for (let i = 0; i < RECEIVERS; i++) receivers.push(await cluster.join(seed));
  await until('all peers at the tip', () => receivers.every((n) => n.node.chain.tip.hash === seed.node.chain.tip.hash), 120_000);
  const delays: number[] = [];
  let compactBytes = 0;
  let fullBytes = 0;
  let fetched = 0;
  await c.query('CREATE TABLE prop (id INT PRIMARY KEY, owner VARCHAR(20) NOT NULL, note TEXT)');
  await seed.node.miner!.mineNow();
  for (let round = 0; round < PROP_ROUNDS; round++) {
    checkInterrupt();
    progress(`p2p: block of ${PROP_TXS} txs to ${RECEIVERS} peers, round ${round + 1}/${PROP_ROUNDS}`);
    await until('every peer at the tip', () => receivers.every((n) => n.node.chain.tip.hash === seed.node.chain.tip.hash), 120_000);
    await writeRows(seed, 'prop', PROP_TXS, round * PROP_TXS);
    await until('the txs in every pool', () => receivers.every((n) => n.node.chain.pool.size === seed.node.chain.pool.size), 120_000);
    const arrived = receivers.map((n) => new Promise<number>((res) => n.node.chain.once('tip', () => res(performance.now()))));
    const before = receivers.map((n) => n.logs.length);
    const start = performance.now();
    const mined = await seed.node.miner!.mineNow();
    if (!('block' in mined)) throw new Error(`no block: ${JSON.stringify(mined)}`);
    for (const at of await Promise.all(arrived)) delays.push(at - start);
    const b = mined.block;
    fullBytes += Buffer.byteLength(JSON.stringify(blockToWire(b)));
    compactBytes += Buffer.byteLength(JSON.stringify({ header: b.header, coinbase: blockToWire(b).txs[0], txids: b.txs.slice(1).map((t) => t.id) }));
    receivers.forEach((n, k) => {
      for (const line of n.logs.slice(before[k])) {
        const m = / (\d+) fetched\)/.exec(line);
        if (m) fetched += Number(m[1]);
      }
    });
  }
  rows.push({ key: 'p2p.prop.p50', group: 'Peers', name: `block of ${PROP_TXS} txs reaches a peer (p50 of ${delays.length})`, value: pct(delays, 50), unit: 'ms' });
  rows.push({ key: 'p2p.prop.p95', group: 'Peers', name: `block of ${PROP_TXS} txs reaches a peer (p95)`, value: pct(delays, 95), unit: 'ms', note: 'target ≤ 300 ms' });
  rows.push({ key: 'p2p.bytes.full', group: 'Peers', name: 'bytes of a full block on the wire', value: fullBytes / PROP_ROUNDS, unit: 'B' });
  rows.push({
    key: 'p2p.bytes.compact', group: 'Peers', name: `bytes of the compact block (txs fetched besides: ${fetched})`,
    value: compactBytes / PROP_ROUNDS, unit: 'B', base: 'p2p.bytes.full',
  });
  return rows;
}
