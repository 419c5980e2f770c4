// The chain engine on MariaDB: applying a full block, admitting txs to the pool, mining the pool.
import type { Pool } from 'mysql2/promise';
import {
  blockFromWire, blockToWire, checkTx, signTx, type Block, type ConsensusConfig, type TransferBody, type Tx,
} from '../../consensus/index.ts';
import type { Chain } from '../../server/chain/engine.ts';
import { StateDelta } from '../../server/chain/state.ts';
import { makeFastVerifier } from '../../server/chain/verify.ts';
import { mineOn, newKey, openTestChain, testConfig, type TestKey } from '../helpers/chain.ts';
import { rootConnection, testDatabase } from '../helpers/mysql.ts';
import { fmt, type Row } from './table.ts';
import { checkInterrupt, now, progress, timed, Cleanups } from './measure.ts';

const N = Number(process.env.BENCH_TXS ?? 2000);
const MAX_OUTPUTS = 1000; // consensus MAX_TX_OUTPUTS
const CHUNK = 200;
const APPLY = 'Block apply (chain engine, MariaDB)';
const POOL = 'Pool admission and mining the pool';

// ---- cleanup: every database this file creates is dropped, even on error or Ctrl-C ----
const cleanups = new Cleanups();
export const cleanup = (): Promise<void> => cleanups.run();

type TestChain = Awaited<ReturnType<typeof openTestChain>>;
async function openChain(cfg: ConsensusConfig, minter: TestKey): Promise<TestChain> {
  // the node's verifier (the test helper's default is OpenSSL, ~5x slower)
  const t = await openTestChain(cfg, minter, { verify: makeFastVerifier() });
  cleanups.push(async () => {
    try {
      await t.close();
    } catch {
      await t.db.drop();
    }
  });
  return t;
}

/**
 * Counts round trips to MariaDB (queries, BEGIN, COMMIT, ROLLBACK, taking a pooled connection) and
 * the time spent awaiting them. The engine awaits each one in turn, so the sum is wall time.
 */
function instrument(pool: Pool) {
  const stats = { calls: 0, ms: 0, commitMs: 0 };
  type Fn = (...a: unknown[]) => Promise<unknown>;
  const wrap = (o: object, methods: string[]) => {
    const obj = o as Record<string, Fn>;
    for (const m of methods) {
      const orig = obj[m].bind(o);
      obj[m] = async (...a: unknown[]) => {
        const t0 = now();
        try {
          return await orig(...a);
        } finally {
          const ms = now() - t0;
          stats.calls++;
          stats.ms += ms;
          if (m === 'commit') stats.commitMs += ms;
        }
      };
    }
  };
  wrap(pool, ['query']);
  const getConnection = pool.getConnection.bind(pool);
  (pool as unknown as { getConnection: () => Promise<unknown> }).getConnection = async () => {
    const t0 = now();
    const c = await getConnection();
    stats.ms += now() - t0;
    wrap(c, ['query', 'beginTransaction', 'commit', 'rollback']);
    return c;
  };
  return { stats, reset: () => Object.assign(stats, { calls: 0, ms: 0, commitMs: 0 }) };
}

/**
 * Block 1: the genesis coinbase split into N equal outputs (one tx into ≤1000-output chunks, then
 * one tx per chunk, since a tx has at most 1000 outputs). Returns the block and the N outpoints.
 */
function fanOutBlock(chain: Chain, genesis: Block, key: TestKey) {
  const coinbase = genesis.txs[0];
  const total = BigInt(coinbase.body.out[0].amount);
  const per = total / BigInt(N);
  const chunks: number[] = [];
  for (let left = N; left > 0; left -= MAX_OUTPUTS) chunks.push(Math.min(MAX_OUTPUTS, left));
  const body = (inputs: { tx: string; n: number }[], out: { to: string; amount: string }[]): TransferBody =>
    ({ v: 1, chain: chain.genesis, time: Date.now(), from: key.pub, in: inputs, out });
  const splitOut = chunks.map((c) => ({ to: key.address, amount: (per * BigInt(c)).toString() }));
  const rest = total - per * BigInt(N);
  if (rest > 0n) splitOut.push({ to: key.address, amount: rest.toString() });
  const split = signTx(body([{ tx: coinbase.id, n: 0 }], splitOut), key.priv);
  const fans = chunks.map((c, j) =>
    signTx(body([{ tx: split.id, n: j }], Array.from({ length: c }, () => ({ to: key.address, amount: per.toString() }))), key.priv));
  const outpoints = fans.flatMap((f, j) => Array.from({ length: chunks[j] }, (_, n) => ({ tx: f.id, n })));
  return { block: mineOn(chain, chain.tip.hash, [split, ...fans], key.address), outpoints, per };
}

/** N independent transfers, each spending one fan-out output: a payment and change, signed now. */
function transfers(chain: Chain, key: TestKey, to: string, outpoints: { tx: string; n: number }[], per: bigint): Tx[] {
  const pay = (per * 3n) / 5n;
  return outpoints.map((o) => signTx({
    v: 1, chain: chain.genesis, time: Date.now(), from: key.pub, in: [o],
    out: [{ to, amount: pay.toString() }, { to: key.address, amount: (per - pay).toString() }],
  }, key.priv));
}

async function setUpChain(cfg: ConsensusConfig, minter: TestKey, payee: TestKey) {
  const t = await openChain(cfg, minter);
  const fan = fanOutBlock(t.chain, t.genesis, minter);
  const r = await t.chain.addBlock(fan.block);
  if (r !== 'connected') throw new Error(`fan-out block: ${r}`);
  const t0 = now();
  const txs = transfers(t.chain, minter, payee.address, fan.outpoints, fan.per);
  const signMs = now() - t0;
  return { t, txs, signMs };
}

/** A scratch database of our own for the raw MariaDB baselines, with tables shaped like the chain's. */
async function openScratch() {
  const db = testDatabase('bench');
  cleanups.push(() => db.drop());
  const c = await rootConnection();
  cleanups.push(() => c.end());
  await c.query(`CREATE DATABASE \`${db.name}\``);
  await c.query(`USE \`${db.name}\``);
  const txsTable = (name: string) => `CREATE TABLE ${name} (
    txid CHAR(64) CHARACTER SET ascii PRIMARY KEY, body MEDIUMTEXT NOT NULL, sig VARCHAR(200) CHARACTER SET ascii NULL) ENGINE=InnoDB`;
  for (const t of ['bulk_a', 'bulk_b', 'each_rows']) await c.query(txsTable(t));
  await c.query(`CREATE TABLE each_pool (seq BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    txid CHAR(64) CHARACTER SET ascii NOT NULL UNIQUE, added BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB`);
  const row = (t: Tx) => [t.id, t.raw, t.sig ?? null];
  return {
    /** One transaction, multi-row INSERTs of 1000 rows (as ChainStore.saveBlocks batches bodies); returns ms. */
    async bulk(table: 'bulk_a' | 'bulk_b', txs: Tx[]): Promise<number> {
      const rows = txs.map(row);
      const t0 = now();
      await c.beginTransaction();
      for (let i = 0; i < rows.length; i += 1000) await c.query(`INSERT INTO ${table} (txid, body, sig) VALUES ?`, [rows.slice(i, i + 1000)]);
      await c.commit();
      return now() - t0;
    },
    /** One transaction per tx with the two rows ChainStore.poolAdd writes; returns ms. */
    async each(txs: Tx[]): Promise<number> {
      const t0 = now();
      for (const t of txs) {
        checkInterrupt();
        await c.beginTransaction();
        await c.query('INSERT IGNORE INTO each_rows (txid, body, sig) VALUES (?, ?, ?)', row(t));
        await c.query('INSERT INTO each_pool (txid, added) VALUES (?, ?)', [t.id, Date.now()]);
        await c.commit();
      }
      return now() - t0;
    },
  };
}

export async function run(): Promise<Row[]> {
  const cfg = testConfig({}, { MaxMinNumberTransactionInBlock: 1, MaxNumberTransactionInBlock: 10_000, Complexity: 4, ComplexityStep2: 4 });
  const minter = newKey();
  const payee = newKey();
  const rows: Row[] = [];
  try {
    // ---- A block of N txs arriving from outside ----
    checkInterrupt();
    progress(`apply: chain A — fan-out block, then signing ${N} transfers`);
    const A = await setUpChain(cfg, minter, payee);
    const chain = A.t.chain;
    const block = mineOn(chain, chain.tip.hash, A.txs, minter.address);
    const height = block.header.height;

    // What the validation alone costs, in memory (no MySQL): once with the node's verifier, once without signatures.
    const dry = (verify: (pub: string, msg: Uint8Array, sig: string) => boolean) => {
      const delta = new StateDelta(chain.state);
      const t0 = now();
      delta.applyTx(block.txs[0], height, 0);
      for (let i = 1; i < block.txs.length; i++) {
        checkTx(block.txs[i], delta, cfg, { height, time: block.header.time, verify });
        delta.applyTx(block.txs[i], height, i);
      }
      return now() - t0;
    };
    checkInterrupt();
    progress('apply: in-memory validation of the block (no MySQL)');
    dry(makeFastVerifier()); // warm-up (JIT), not timed
    const validateMs = dry(makeFastVerifier());
    const noSigMs = dry(() => true);

    checkInterrupt();
    progress('apply: blockFromWire of the block (parse as received from a peer)');
    const wire = JSON.stringify(blockToWire(block));
    const t0 = now();
    const parsedBlock = blockFromWire(JSON.parse(wire));
    const fromWireMs = now() - t0;
    if (parsedBlock.hash !== block.hash) throw new Error('blockFromWire changed the block');

    checkInterrupt();
    progress(`apply: raw MariaDB baseline, ${N} rows in one transaction (before and after addBlock)`);
    const scratch = await openScratch();
    const bulkBefore = await scratch.bulk('bulk_a', A.txs);
    checkInterrupt();
    progress(`apply: chain.addBlock of a ${N}-tx block`);
    const probe = instrument(A.t.pool);
    probe.reset();
    const add = await timed(() => chain.addBlock(block));
    if (add.result !== 'connected' || chain.height !== height) throw new Error(`addBlock: ${add.result}, height ${chain.height}`);
    const addSql = { ...probe.stats };

    const bulkAfter = await scratch.bulk('bulk_b', A.txs);
    const bulkMs = Math.min(bulkBefore, bulkAfter);

    // ---- The same N txs through the pool, then mined (fast path) ----
    checkInterrupt();
    progress(`pool: chain B — fan-out block, then signing ${N} transfers`);
    const B = await setUpChain(cfg, minter, payee);
    const probeB = instrument(B.t.pool);
    checkInterrupt();
    progress(`pool: ${N} × chain.submitTx, in chunks of ${CHUNK} interleaved with the raw MariaDB baseline`);
    probeB.reset();
    const submit = { ms: 0, cpuMs: 0 };
    let eachMs = 0;
    for (let i = 0; i < N; i += CHUNK) {
      const chunk = B.txs.slice(i, i + CHUNK);
      eachMs += await scratch.each(chunk);
      const r = await timed(async () => {
        for (const tx of chunk) {
          checkInterrupt();
          await B.t.chain.submitTx(tx);
        }
      });
      submit.ms += r.ms;
      submit.cpuMs += r.cpuMs;
    }
    const submitSql = { ...probeB.stats };
    if (B.t.chain.pool.size !== N) throw new Error(`pool holds ${B.t.chain.pool.size} txs, expected ${N}`);

    checkInterrupt();
    progress('pool: addBlock of a block equal to the pool (fast path)');
    const mined = mineOn(B.t.chain, B.t.chain.tip.hash, B.t.chain.pool.txs(), minter.address);
    probeB.reset();
    const fast = await timed(() => B.t.chain.addBlock(mined));
    const fastSql = { ...probeB.stats };
    if (fast.result !== 'connected' || B.t.chain.pool.size !== 0 || B.t.chain.height !== 2) {
      throw new Error(`fast path: ${fast.result}, pool ${B.t.chain.pool.size}, height ${B.t.chain.height}`);
    }

    const perSec = (ms: number) => N / (ms / 1000);
    type Sql = { calls: number; ms: number; commitMs: number };
    const split = (x: { ms: number; cpuMs: number }, sql: Sql) =>
      `${fmt(x.ms)} ms, of it awaiting MariaDB ${fmt(sql.ms)} ms (${sql.calls} round trips; COMMIT ${fmt(sql.commitMs)} ms); node CPU ${fmt(x.cpuMs)} ms`;
    const extra = (x: { ms: number; cpuMs: number }, sql: Sql) => ({
      wallMs: Number(x.ms.toFixed(1)), cpuMs: Number(x.cpuMs.toFixed(1)), mysqlCalls: sql.calls,
      mysqlMs: Number(sql.ms.toFixed(1)), commitMs: Number(sql.commitMs.toFixed(1)),
    });

    rows.push(
      { key: 'apply.raw_insert', group: APPLY, name: `raw MariaDB: ${N} rows, multi-row INSERT, 1 transaction`, value: perSec(bulkMs), unit: 'rows/s', note: `${fmt(bulkMs)} ms (faster of a run before and after addBlock); rows shaped like chain txs` },
      { key: 'apply.add_block', group: APPLY, name: `chain.addBlock, ${N}-tx block from outside`, value: perSec(add.ms), unit: 'tx/s', base: 'apply.raw_insert', note: split(add, addSql), extra: extra(add, addSql) },
      { key: 'apply.validate_only', group: APPLY, name: 'of which: checkTx in memory, libsecp256k1 verify', value: perSec(validateMs), unit: 'tx/s', note: `${fmt(validateMs)} ms (no MySQL)` },
      { key: 'apply.validate_nosig', group: APPLY, name: 'of which: checkTx in memory, signatures skipped', value: perSec(noSigMs), unit: 'tx/s', note: `${fmt(noSigMs)} ms` },
      { key: 'apply.block_from_wire', group: APPLY, name: 'before it: blockFromWire (parse block from peer)', value: perSec(fromWireMs), unit: 'tx/s', note: `${fmt(fromWireMs)} ms, ${fmt(wire.length / 1024)} KiB JSON; not part of addBlock` },
      { key: 'pool.raw_each', group: POOL, name: `raw MariaDB: ${N} transactions of 2 one-row INSERTs`, value: perSec(eachMs), unit: 'tx/s', note: `${fmt(eachMs)} ms; the 2 rows poolAdd writes, BEGIN…COMMIT each, one connection` },
      { key: 'pool.submit', group: POOL, name: `chain.submitTx × ${N}, one by one`, value: perSec(submit.ms), unit: 'tx/s', base: 'pool.raw_each', note: split(submit, submitSql), extra: extra(submit, submitSql) },
      { key: 'pool.add_block_fast', group: POOL, name: 'chain.addBlock of the pool\'s txs (fast path)', value: perSec(fast.ms), unit: 'tx/s', base: 'apply.raw_insert', note: split(fast, fastSql), extra: extra(fast, fastSql) },
      { key: 'apply.sign_setup', group: POOL, name: 'setup: signTx of the transfers (noble)', value: perSec(A.signMs), unit: 'tx/s', note: 'publicKeyOf + makeTx + signMessage per tx' },
    );
  } finally {
    progress('apply: dropping the test databases');
    await cleanup();
  }
  return rows;
}
