import { EventEmitter } from 'node:events';
import type { Connection, Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import {
  beats, isUnmanagedTable, bitsForHeight, blockHash, blockWork, checkBlockShape, checkGenesis, checkHeader, checkTx, checkTxTime, ConsensusError,
  hasEnoughTxs, isCoinbase, makeCoinbase, medianTime, MEDIAN_TIME_SPAN, templateTxs,
  minTxForHeight, sqlOf, unitsToCoins, type Block, type BlockHeader, type ConsensusConfig, type SqlAction,
  type Tx, type Verifier,
} from '../../consensus/index.ts';
import { IndexBacklog } from './index-backlog.ts';
import { Mutex } from './mutex.ts';
import { beginPipelinedTransaction } from './pipelined.ts';
import { batchable, Pipeline, SqlBatcher } from './sql-batch.ts';
import { checkRowsChanged, refsOverlap, rowLimits, tableOfRef } from './sqltx.ts';
import { TxPool, type PoolEntry } from './pool.ts';
import { ConfirmedState, StateDelta, type ConfirmedCoin, type IndexRows } from './state.ts';
import { BlockStatus, ChainStore, REBASED_CODES, type DroppedTx, type StoredHeader } from './store.ts';
import { makeFastVerifier } from './verify.ts';
import { ChainBusyError, ChainError, NotInPoolError, SlowSqlError } from './errors.ts';

/** Bytes of tx bodies per INSERT when a genesis is stored (MySQL's max_allowed_packet is often 16 MiB). */
export interface ChainOptions {
  store: ChainStore;
  config: ConsensusConfig;
  verify: Verifier;
  /** Checks many signatures off the event loop (worker threads); used by `precheck`. */
  checkSignatures?: (txs: readonly Tx[]) => Promise<boolean[]>;
  /** Gets `checkSignatures` ready ahead of a sync (starts its threads). */
  prepareChecks?: () => void;
  /** The SQL classifier of the node (server/sql); without it SQL transactions are refused. */
  classify?: (stmt: string) => SqlAction;
  log?: (msg: string) => void;
  now?: () => number;
  /**
   * The state digest of `refs` as the connection sees them now (SPEC 9, server/sql/digest.ts);
   * without it blocks get no digest. When `keys` holds the primary keys of every table of `refs`
   * (a ref's text before its first `:`), it must send all its queries before it returns, so that
   * work queued after it on the connection cannot change what it reads.
   */
  stateDigest?: (conn: PoolConnection, refs: readonly string[], keys?: Map<string, string[] | null>) => Promise<string>;
  /** Reads the primary keys of `tables` into `keys` for `stateDigest` (a sync run reads them all first). */
  primaryKeys?: (conn: PoolConnection, tables: readonly string[], keys: Map<string, string[] | null>) => Promise<void>;
  /**
   * This node's undo of schema change `stmts` as it is about to run (server/sql/ddl-undo.ts): saved
   * and run instead of the tx's own, whose copy of the table is the origin's. null: the tx's stands.
   */
  ddlUndo?: (conn: PoolConnection, stmts: readonly string[]) => Promise<string[] | null>;
  /**
   * Checks, before a statement of a tx this node did not plan runs, that it is deterministic and
   * changes only rows the tx's refs name (server/sql/replay-check.ts). Without it, only how many
   * rows is checked (rowLimits).
   */
  replayCheck?: ReplayChecker;
  /** Test hook for crash tests: awaited inside the block's MySQL transaction before COMMIT. */
  beforeCommit?: () => Promise<void>;
  /**
   * How long one statement of a peer's tx may run at pool admission (submitTxs), in seconds;
   * 0 or unset: no limit. Set only on a server with MariaDB's `max_statement_time`. Blocks and
   * this node's own txs run without it.
   */
  peerStatementSeconds?: number;
}

/** Reads that check a statement's rows, sent on its connection right before and right after it. */
export interface StatementRowsCheck {
  before?: (conn: Connection) => Promise<void>;
  after?: (conn: Connection) => Promise<void>;
}

export interface ReplayChecker {
  /**
   * null: the statement's text proves it changes only rows `refs` names; else the reads that check
   * it. Rejects with a ConsensusError when it cannot be replayed as it is (not deterministic, a
   * form OurSQL never replicates). `conn` may read table definitions.
   */
  check(conn: Connection, stmt: string, refs: readonly string[]): Promise<StatementRowsCheck | null>;
  /** Rejects with a ConsensusError when the `undo` of a row-change tx naming `refs` could change rows it does not name. */
  checkUndo(conn: Connection, undo: readonly string[], refs: readonly string[]): Promise<void>;
  /** Table definitions may have changed (a schema change ran, or was undone). */
  forget(): void;
}

export type AddBlockResult = 'connected' | 'side' | 'known' | 'orphan';

export interface Balance { approved: bigint; pending: bigint; total: bigint }

export { ChainBusyError, ChainError, NotInPoolError, SlowSqlError };

/**
 * Clients' open transactions (BEGIN … not yet COMMIT) with updates: they hold row locks the
 * chain's SQL may need (the proxy keeps them; the chain knows no wire protocol).
 */
export interface OpenTransactions {
  /** Some open transaction has updated a row (or table) of `refs`. */
  holds(refs: readonly string[]): boolean;
  /** Rolls back the idle ones that hold a row of `refs` ('all': any); their clients get error 1213. */
  rollBack(refs: ReadonlySet<string> | 'all', why: string): Promise<void>;
}

/**
 * The chain engine: stores blocks, keeps the active branch, the confirmed state and the pool, and
 * moves the application database with them (SPEC 3, 4 and 9). Every change runs under one lock and
 * one MySQL transaction; memory is updated only after COMMIT.
 */
/**
 * True when applying `body` (a block's txs) leaves the database as running the pool did: every tx
 * is a committed pool entry, and on every row (and every table a schema change touches) the block
 * keeps the pool's order and no other pool tx came first. Txs on different rows commute, so a block
 * that orders them otherwise than this node's pool (peers see txs in other orders) still needs no
 * SQL undone or replayed.
 */
export function sameEffectAsPool(body: readonly Tx[], pool: readonly { tx: Tx; inflight: boolean }[]): boolean {
  const pos = new Map(body.map((t, i) => [t.id, i]));
  const pooled = new Set(pool.filter((e) => !e.inflight).map((e) => e.tx.id));
  if (body.some((t) => !pooled.has(t.id))) return false;
  // tables with a schema change in the pool: every tx on them is ordered as one key
  const whole = new Set<string>();
  for (const e of pool) for (const r of sqlOf(e.tx)?.refs ?? []) if (r.endsWith(':*')) whole.add(r.slice(0, -2));
  const seen = new Map<string, { last: number; other: boolean }>();
  for (const e of pool) {
    const at = pos.get(e.tx.id);
    // (a key named twice by one tx passes the same way twice)
    for (const r of sqlOf(e.tx)?.refs ?? []) {
      const table = whole.size ? r.slice(0, r.lastIndexOf(':')) : '';
      const k = whole.size && whole.has(table) ? `${table}:*` : r;
      let s = seen.get(k);
      if (!s) seen.set(k, (s = { last: -1, other: false }));
      if (at === undefined) s.other = true;
      else if (s.other || at < s.last) return false;
      else s.last = at;
    }
  }
  return true;
}

/** `body` is the pool's first txs in pool order (the same txids and signatures). */
export function isPoolPrefix(body: readonly Tx[], pool: readonly { tx: Tx; inflight: boolean }[]): boolean {
  if (body.length > pool.length) return false;
  return body.every((t, i) => !pool[i].inflight && pool[i].tx.id === t.id && pool[i].tx.sig === t.sig);
}

/**
 * The txs of `body` whose pool check stands for checkTx, when the block has the same effect as the
 * pool (sameEffectAsPool): the pool checked each at this block's height (every tip change re-checks
 * it at tip + 1), and in the block each sees the same row bases, since on every row the block keeps
 * the pool's order. Only coins can differ with the order, so a tx qualifies when the pool holds it
 * as is (same signature) and it spends only coins confirmed before the block, which no other pool
 * tx spends. In the pool's own order (isPoolPrefix) every tx does.
 */
export function poolChecksHold(
  body: readonly Tx[], pool: readonly { tx: Tx; inflight: boolean }[], confirmed: (txid: string, n: number) => boolean,
): Set<Tx> {
  if (new Set(body.map((t) => t.id)).size !== body.length) return new Set(); // (checkBlockShape refuses that)
  if (isPoolPrefix(body, pool)) return new Set(body);
  const sigs = new Map(pool.filter((e) => !e.inflight).map((e) => [e.tx.id, e.tx.sig]));
  return new Set(body.filter((t) => t.sig !== undefined && sigs.get(t.id) === t.sig && !isCoinbase(t.body) && t.body.in.every((i) => confirmed(i.tx, i.n))));
}

const ER_LOCK_DEADLOCK = 1213;
/** How soon a block that waited for rows a client held is tried again. */
const RETRY_CONNECT_MS = 500;
const RETRY_CONNECT_MAX_MS = 8000;
/** Lock wait timeout, deadlock: a lock someone else held, not an error of the SQL. */
const LOCK_ERRNOS = new Set([1205, ER_LOCK_DEADLOCK]);
/**
 * Blocks, and txs, of a sync connected in one MySQL transaction at most: each run ends with a wait
 * for MySQL to finish its SQL and a commit, while the event loop has nothing to do. With 16 blocks
 * of 30 txs that was a fifth of an import; the txs bound the time a run holds the chain's lock.
 */
export const MAX_RUN = 50;
export const MAX_RUN_TXS = 5_000;

/** How many of the blocks (their tx counts, in order) one run may take: at least one. */
export function runLength(txCounts: readonly number[]): number {
  let txs = 0;
  let n = 0;
  for (const count of txCounts) {
    if (n === MAX_RUN || (n > 0 && txs + count > MAX_RUN_TXS)) break;
    txs += count;
    n++;
  }
  return Math.max(1, n);
}
/** connectRun: a run was tried and rolled back (its blocks are then added one by one). */
const RUN_FAILED = -1;
/** meta key: the active block the index tables reach (index-backlog.ts). */
const INDEX_TIP = 'index_tip';
/**
 * Index rows kept in memory before they are written at once (beside the blocks that keep coming),
 * and for how long at most. A sync's runs come back to back: their rows are written sooner, while
 * the next runs connect. Blocks that come one at a time wait for the timer, so the write falls
 * between them, not while peers are still connecting the block that just came.
 */
const FLUSH_ROWS = 30_000;
const FLUSH_ROWS_IN_SYNC = 5_000;
const FLUSH_AFTER_MS = 1000;
/** Blocks whose index rows one transaction writes when a start catches the tables up. */
const CATCH_UP_BLOCKS = 100;
/** Dropped txs `oursql pool` lists (the latest). */
const DROPPED_SHOWN = 100;
const isLockError = (e: unknown) => LOCK_ERRNOS.has((e as { errno?: number }).errno ?? 0);
/** A replay check's refusal, naming what it refused (`block 5 tx …`, `transaction`). */
const namedRefusal = (e: unknown, what: string) => (e instanceof ConsensusError ? new ConsensusError(e.code, `SQL of ${what}: ${e.message}`, e.details) : e);
/**
 * MariaDB stopped the statement: ER_STATEMENT_TIMEOUT (max_statement_time), or
 * ER_QUERY_INTERRUPTED (a schema change stopped by it, or a KILL QUERY).
 */
const isInterrupted = (e: unknown) => [1969, 1317].includes((e as { errno?: number }).errno ?? 0);
/** A peer's tx that ran too long at admission is not run again for this long, nor are more than SLOW_KEPT of them remembered. */
const SLOW_FOR_MS = 10 * 60_000;
const SLOW_KEPT = 10_000;
/** Relayed txs admitted in one MySQL transaction at most (submitTxs). */
const ADMIT_BATCH = 100;
/** submitTxs: the batch's MySQL transaction is gone (a deadlock, a lost connection, a failed pool row). */
class BatchLost extends Error {
  constructor(override readonly cause: Error) {
    super(`the batch was rolled back: ${cause.message}`);
  }
}
const hasDdl = (tx: Tx): boolean => !!sqlOf(tx)?.refs.some((r) => r.endsWith(':*'));
const tablesOf = (refs: Iterable<string>): Set<string> => new Set(Array.from(refs, tableOfRef));
/** Some ref of `refs` is on one of `tables`. */
const onTables = (refs: readonly string[], tables: { has(table: string): boolean }): boolean => refs.some((r) => tables.has(tableOfRef(r)));



export type { DroppedTx } from './store.ts';

export class Chain extends EventEmitter {
  readonly headers = new Map<string, StoredHeader>();
  /** Active branch: hash at each height. */
  active: string[] = [];
  readonly state: ConfirmedState;
  pool: TxPool;
  private readonly lock = new Mutex();
  /** Sequence number the next pool entry gets (persisted order of admission). */
  private nextSeq = 1;
  private drainWaiters: (() => void)[] = [];
  /**
   * Admitted proxy writes whose MySQL commit is open: their refs and a promise that settles at
   * commit or abort. Kept here, not on pool entries, because blocks rebuild the pool's entries.
   */
  private readonly inflightWrites = new Map<string, { refs: Set<string>; settled: Promise<void>; settle: () => void }>();
  /**
   * Proxy writes waiting for the lock to be admitted. Their SQL ran and holds row locks, so engine
   * SQL under the lock must not wait for those rows: a peer's tx on them is not pooled now, and
   * a peer's tx on other rows of their tables, or a block that needs SQL undone or replayed, makes
   * them give way (they roll back; the write path runs them again, see WriteGaveWay).
   */
  private readonly waitingWrites = new Map<symbol, { refs: readonly string[]; evict: (e: Error) => void }>();
  /** Refs the engine's SQL is running on under the lock ('all': undo/replay); null: none. */
  private engineSql: Set<string> | 'all' | null = null;
  /** Set while engineSql is 'all'; resolves when it ends (untilSqlSettles). */
  private replaying: Promise<void> | undefined;
  /** Tables local writes that gave way are run again on (a count each): peer txs on them wait their turn. */
  private readonly rerunning = new Map<string, number>();
  /** Set while engineSql is not null; resolves when it is again (untilEngineSqlEnds). */
  private engineBusy: Promise<void> | undefined;
  /** Set by the node once its proxy runs. */
  openTransactions?: OpenTransactions;
  private retryTimer?: NodeJS.Timeout;
  private retries = 0;
  /** Index rows of connected blocks not written yet; replaced (not emptied) once written, so a reader's copy stays whole. */
  private backlog = new IndexBacklog();
  /** INSERT heads whose merged rows MySQL warned about: replayed one row a statement (sql-batch.ts). */
  private readonly unmergedInserts = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  /** A write of the backlog in flight beside the lock, and the rows connected since it began. */
  private flushing?: { after: IndexBacklog; done: Promise<void> };
  /** `meta.index_tip` as this engine last read or wrote it. */
  private indexTip = '';
  private readonly log: (msg: string) => void;
  private readonly now: () => number;

  private constructor(readonly opts: ChainOptions, genesis: string) {
    super();
    this.state = new ConfirmedState(genesis);
    this.pool = new TxPool(this.state);
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
  }

  get config(): ConsensusConfig {
    return this.opts.config;
  }
  get store(): ChainStore {
    return this.opts.store;
  }
  private get mysql(): Pool {
    return this.opts.store.mysql;
  }
  get genesis(): string {
    return this.state.genesis;
  }
  get height(): number {
    return this.active.length - 1;
  }
  get tip(): StoredHeader {
    return this.headers.get(this.active[this.active.length - 1])!;
  }

  /**
   * Stores and connects a genesis block made for this config (`oursql init`). Its txs after the
   * coinbase are the import of the tables the application database already held: their SQL is not
   * run (the tables are there at the origin), but their refs and txids enter the state, so later
   * writes to those rows base on them. Checked by consensus checkGenesis, not by the block rules.
   */
  static async initialize(store: ChainStore, config: ConsensusConfig, genesis: Block, opts: { verify?: Verifier } = {}): Promise<void> {
    try {
      checkGenesis(genesis, config, opts.verify ?? makeFastVerifier());
    } catch (e) {
      if (e instanceof ConsensusError) throw new ChainError(e.message);
      throw e;
    }
    await store.createSchema();
    if (await store.getMeta('genesis')) throw new ChainError('this database already holds a chain');
    const conn = await store.mysql.getConnection();
    try {
      await conn.beginTransaction();
      await store.saveBlock(genesis, blockWork(genesis.header.bits), conn);
      const state = new ConfirmedState(genesis.hash);
      const delta = new StateDelta(state);
      genesis.txs.forEach((tx, pos) => delta.applyTx(tx, 0, pos));
      delta.chain.set(0, genesis.hash);
      await store.writeDelta(delta, conn);
      await store.setBlockStatus([genesis.hash], BlockStatus.Connected, conn);
      await store.setMeta('genesis', genesis.hash, conn);
      await store.setMeta(INDEX_TIP, genesis.hash, conn);
      await store.setMeta('config', JSON.stringify(config.normalized), conn);
      await store.setMeta('config_hash', config.hash, conn);
      await conn.commit();
    } catch (e) {
      await conn.rollback();
      throw e;
    } finally {
      conn.release();
    }
  }

  /** Loads a chain from its database: headers, active branch, state and pool (re-checked). */
  static async open(opts: ChainOptions): Promise<Chain> {
    const { store, config } = opts;
    await store.createSchema();
    const genesis = await store.getMeta('genesis');
    if (!genesis) throw new ChainError('no chain in this database: run `oursql init` first');
    const configHash = await store.getMeta('config_hash');
    if (configHash !== config.hash) {
      throw new ChainError(`the chain in this database was made with another consensus config (hash ${configHash}, this node has ${config.hash})`);
    }
    const chain = new Chain(opts, genesis);
    for (const h of await store.loadHeaders()) chain.headers.set(h.hash, h);
    chain.active = await store.loadActiveChain();
    if (chain.active[0] !== genesis) throw new ChainError('active chain does not start at the genesis block');
    // first: what follows reads the index tables
    await chain.catchUpIndex();
    await store.buildAddressIndex(chain.log);
    await chain.repairDdl();
    await store.pruneDdlUndo();
    chain.ddlHere = await store.loadDdlUndo();
    await store.loadUtxo((txid, n, coin) => chain.state.addCoin(`${txid}:${n}`, coin));
    await store.loadRefs((ref, txid) => chain.state.refs.set(ref, txid));
    await store.loadTxIndex((txid) => chain.state.txids.add(txid));
    chain.recentlyDropped.push(...await store.loadDropped(DROPPED_SHOWN));
    // The pool's SQL is in the application database already. Re-check each tx; if one no longer
    // fits (it expired while the node was down), undo the pool's SQL and re-admit the rest.
    const { txs: pooled, nextSeq } = await store.loadPool();
    chain.nextSeq = nextSeq;
    await chain.repairSqlAfterCrash(pooled);
    const probe = new TxPool(chain.state);
    const allFit = pooled.every((tx) => {
      try {
        probe.add(tx, probe.check(tx, config, chain.txContext(chain.height + 1, chain.now())));
        return true;
      } catch {
        return false;
      }
    });
    if (allFit) chain.pool = probe;
    // re-admitted in order: those that fail are dropped as after a switch, stored with why (and
    // the node's own re-based once it runs)
    else await chain.rebuildPool(pooled, new Set());
    chain.log(`chain loaded: height ${chain.height}, tip ${chain.tip.hash}, ${chain.pool.size} pooled`);
    return chain;
  }

  txContext(height: number, time: number, exemptSql = false) {
    return { height, time, verify: this.opts.verify, classify: this.opts.classify, exemptSql };
  }

  // ---- reading ----

  blockHashAt(height: number): string | undefined {
    return this.active[height];
  }

  async getBlock(hash: string): Promise<Block | undefined> {
    const h = this.headers.get(hash);
    return h ? this.store.getBlock(h) : undefined;
  }

  isActive(hash: string): boolean {
    const h = this.headers.get(hash);
    return !!h && this.active[h.header.height] === hash;
  }

  /** Median time of the last 11 blocks ending at `hash` (inclusive). */
  medianTimePast(hash: string): number {
    const times: number[] = [];
    let h = this.headers.get(hash);
    while (h && times.length < MEDIAN_TIME_SPAN) {
      times.push(h.header.time);
      h = h.header.height === 0 ? undefined : this.headers.get(h.header.prev);
    }
    return medianTime(times);
  }

  async balance(address: string): Promise<Balance> {
    const approved = this.state.balanceOf(address);
    const pending = this.pool.pendingOf(address);
    return { approved, pending, total: approved + pending };
  }

  /** Outputs `address` may spend now (confirmed and pooled, minus those the pool spends). */
  async spendable(address: string): Promise<{ txid: string; n: number; amount: bigint }[]> {
    return this.spendableNow(address);
  }

  /** The same, synchronously from memory (for bodies built inside the chain's critical section). */
  spendableNow(address: string): { txid: string; n: number; amount: bigint }[] {
    return this.pool.spendable(address, this.state.coinsOf(address));
  }

  // ---- pool ----

  /** Admits a tx to the pool, running its SQL (if any) in the transaction that persists it. */
  async submitTx(tx: Tx): Promise<PoolEntry> {
    return this.lock.run(() => this.admit(tx));
  }

  /**
   * Admits a peer's txs in their order, up to ADMIT_BATCH of them in one MySQL transaction: one
   * COMMIT (one log flush) for the lot instead of one per tx, which was most of what a follower
   * spent on relayed txs. The batch's statements are written without waiting for each answer
   * (pipelined.ts): a round trip for the batch, not three per tx. A tx the checks refuse sends
   * nothing; if any statement fails, the whole batch is rolled back and its txs admitted one by
   * one, so each failure is that tx's alone. A schema change (which MySQL commits by itself) is
   * admitted on its own. Returns each tx's error, or undefined when it was pooled.
   *
   * These are peers' txs: each statement runs at most `peerStatementSeconds` (SlowSqlError).
   */
  async submitTxs(txs: readonly Tx[]): Promise<(Error | undefined)[]> {
    const out: (Error | undefined)[] = [];
    for (let i = 0; i < txs.length;) {
      if (hasDdl(txs[i])) {
        const tx = txs[i];
        out.push(await this.lock.run(() => this.admit(tx, true)).then(() => undefined, (e: Error) => e));
        i++;
        continue;
      }
      let j = i + 1;
      while (j < txs.length && j - i < ADMIT_BATCH && !hasDdl(txs[j])) j++;
      // the lock is taken per batch: a local write waits for one batch at most
      out.push(...(await this.lock.run(() => this.admitBatch(txs.slice(i, j)))));
      i = j;
    }
    return out;
  }

  private async admitBatch(txs: readonly Tx[]): Promise<(Error | undefined)[]> {
    const out: (Error | undefined)[] = [];
    const added: Tx[] = [];
    const seqBefore = this.nextSeq;
    const conn = await this.mysql.getConnection();
    let endTransaction: ((committed?: boolean) => Promise<void>) | undefined;
    try {
      // a deadlock's rollback cannot let the statements queued behind it commit (pipelined.ts)
      endTransaction = await beginPipelinedTransaction(conn, this.store.appDb);
      // what checks each tx's rows, worked out first (it may read table definitions): a batch holds no schema change
      const rowChecks = await Promise.all(txs.map((tx) => this.rowChecks(conn, tx).catch((e: Error) => e)));
      const rows = new Set<string>();
      await this.withEngineSql(rows, async () => {
        const sent: Promise<unknown>[] = [];
        sent.push(this.limitStatements(conn));
        // No await in this loop: the rows are the engine's from the first check to the last answer.
        for (const [t, tx] of txs.entries()) {
          try {
            if (this.state.hasTx(tx.id)) throw new ConsensusError('duplicate-tx', `transaction ${tx.id} is already in the chain`, { txid: tx.id });
            this.refuseIfSlow(tx);
            const checks = rowChecks[t];
            if (checks instanceof Error) throw checks;
            const check = this.pool.check(tx, this.config, this.txContext(this.height + 1, this.now()));
            const sql = sqlOf(tx);
            if (sql) {
              this.refuseIfRowsBusy(sql.refs);
              this.makeWayOn(sql.refs);
              for (const r of sql.refs) rows.add(r);
              const limits = this.rowLimits(tx);
              // a statement stopped at the time limit: its tx is refused when the batch goes one by one, not run again
              const slow = (e: unknown) => {
                if (isInterrupted(e)) this.markSlow(tx.id);
                throw e;
              };
              sql.stmts.forEach((stmt, k) => {
                const check = checks[k];
                if (check?.before) sent.push(check.before(conn).catch(slow));
                sent.push(conn.query(stmt).then(([r]) => limits && checkRowsChanged(r, limits[k], `tx ${tx.id}`, stmt), slow));
                if (check?.after) sent.push(check.after(conn).catch(slow));
              });
            }
            for (const stmt of this.store.poolInsertSql(tx, this.nextSeq)) sent.push(conn.query(stmt));
            this.nextSeq++;
            this.pool.add(tx, check);
            added.push(tx);
            out.push(undefined);
          } catch (e) {
            out.push(e as Error);
          }
        }
        sent.push(this.unlimit(conn));
        const failed = (await Promise.allSettled(sent)).find((r) => r.status === 'rejected');
        if (failed) throw new BatchLost((failed as PromiseRejectedResult).reason as Error);
      });
      await this.clearSqlUnsafe(conn);
      await conn.commit();
    } catch (e) {
      // Nothing of the batch is committed: out of the pool again, then each tx on its own.
      await conn.rollback().catch(() => {});
      await endTransaction?.();
      await this.releaseLimited(conn);
      await this.repairIfHalfDone();
      this.nextSeq = seqBefore;
      if (added.length) {
        const ids = new Set(added.map((t) => t.id));
        const ctx = { ...this.txContext(this.height + 1, this.now()), signatureKnownGood: () => true };
        this.pool.removeAll(ids, (tx, pool) => pool.check(tx, this.config, ctx));
      }
      this.log(`pool: ${txs.length} txs from a peer go one by one: ${(e as Error).message}`);
      const one: (Error | undefined)[] = [];
      for (const tx of txs) one.push(await this.admit(tx, true).then(() => undefined, (err: Error) => err));
      return one;
    }
    await endTransaction(true);
    await this.releaseLimited(conn);
    for (const tx of added) this.emit('pool', tx);
    return out;
  }

  /**
   * Builds and admits a tx in one critical section, so two sends from one address never pick the
   * same coins (`make` sees the pool as it is when it runs).
   */
  async submitWith(make: () => Promise<Tx>): Promise<PoolEntry> {
    return this.lock.run(async () => this.admit(await make()));
  }

  /**
   * A peer's tx waits its turn on rows this node's own writes hold: a local write holding their
   * locks and waiting for the chain lock (or committing), or a client's open transaction.
   */
  private refuseIfRowsBusy(refs: readonly string[]): void {
    if (this.rerunning.size && onTables(refs, this.rerunning)) {
      throw new ChainBusyError('a write of this node on the same table is being run again');
    }
    if ([...this.waitingWrites.values()].some((w) => refsOverlap(refs, new Set(w.refs))) || this.inflightTouching(refs).length) {
      throw new ChainBusyError('a write of this node on the same rows is being pooled');
    }
    if (this.openTransactions?.holds(refs)) throw new ChainBusyError('a client transaction of this node holds the same rows');
  }

  /** `peer`: a peer's tx, whose statements run under `peerStatementSeconds`. */
  private async admit(tx: Tx, peer = false): Promise<PoolEntry> {
    if (this.state.hasTx(tx.id)) throw new ConsensusError('duplicate-tx', `transaction ${tx.id} is already in the chain`, { txid: tx.id });
    const check = this.pool.check(tx, this.config, this.txContext(this.height + 1, this.now()));
    if (peer) this.refuseIfSlow(tx);
    const conn = await this.mysql.getConnection();
    try {
      await conn.beginTransaction();
      const sql = sqlOf(tx);
      if (sql) {
        this.refuseIfRowsBusy(sql.refs);
        this.makeWayOn(sql.refs);
        if (peer) await this.limitStatements(conn);
        await this.withEngineSql(new Set(sql.refs), () => (hasDdl(tx) ? this.runDdl(conn, tx, 'transaction', true) : this.runTxSql(conn, tx, 'transaction')));
        await this.unlimit(conn);
      }
      await this.store.poolAdd(tx, this.nextSeq, conn);
      await this.clearSqlUnsafe(conn);
      await conn.commit();
      this.nextSeq++;
    } catch (e) {
      await conn.rollback();
      await this.repairIfHalfDone();
      if (e instanceof SlowSqlError) this.markSlow(tx.id);
      throw e;
    } finally {
      await this.releaseLimited(conn);
    }
    this.pool.add(tx, check);
    this.emit('pool', tx);
    return this.pool.get(tx.id)!;
  }

  // ---- the time a peer's statement may take at admission ----

  /** Txids of peers' txs stopped at the time limit, and until when they are refused without running. */
  private readonly slowTxs = new Map<string, number>();

  private markSlow(txid: string): void {
    this.slowTxs.delete(txid);
    this.slowTxs.set(txid, this.now() + SLOW_FOR_MS);
    // the oldest first (insertion order)
    for (const [id] of this.slowTxs) {
      if (this.slowTxs.size <= SLOW_KEPT) break;
      this.slowTxs.delete(id);
    }
  }

  private refuseIfSlow(tx: Tx): void {
    const until = this.slowTxs.get(tx.id);
    if (until === undefined) return;
    if (until <= this.now()) {
      this.slowTxs.delete(tx.id);
      return;
    }
    throw new SlowSqlError(`tx ${tx.id}: its SQL ran longer than ${this.opts.peerStatementSeconds} s here a short while ago; not pooled (a block holding it runs it)`);
  }

  /** Connections whose statements run under peerStatementSeconds now. */
  private readonly limited = new WeakSet<Connection>();

  /**
   * The peer's statements that follow run under the limit; this node's own (the pool rows, the
   * COMMIT) come after unlimit(): a slow disk must not turn into a refused tx.
   */
  private async limitStatements(conn: PoolConnection): Promise<void> {
    const s = this.opts.peerStatementSeconds;
    if (!s) return;
    this.limited.add(conn);
    await conn.query(`SET SESSION max_statement_time = ${Number(s)}`);
  }

  private async unlimit(conn: PoolConnection): Promise<void> {
    if (!this.limited.has(conn)) return;
    await conn.query('SET SESSION max_statement_time = 0');
    this.limited.delete(conn);
  }

  /** Back to the pool without the limit (a connection that cannot be reset is closed instead). */
  private async releaseLimited(conn: PoolConnection): Promise<void> {
    try {
      await this.unlimit(conn);
      conn.release();
    } catch {
      conn.destroy();
    }
  }

  /**
   * Admits a tx whose SQL already ran, uncommitted, on a connection the caller owns (the proxy's
   * session with the client's backend). Returns the statements that persist the pool entry: the
   * caller runs them in that same MySQL transaction, then COMMITs and calls commitInflight (or
   * rolls back and calls abortInflight). Blocks include only committed entries.
   */
  async admitInflight(
    txOrMake: Tx | (() => Tx),
    opts: {
      signatureKnownGood?: boolean;
      refs?: readonly string[];
      /** Signs the admitted tx outside the lock (on a signing thread): built and admitted unsigned, signed before it is persisted. */
      sign?: (tx: Tx) => Promise<string>;
    } = {},
  ): Promise<{ tx: Tx; seq: number; persist: string[] }> {
    const refs = opts.refs ?? [];
    for (;;) {
      this.refuseIfEngineOn(refs);
      // A tx must not base on another write to the same rows whose MySQL commit is still open: if
      // that one rolled back, this one's base would name a tx that never happened. Wait for it.
      const waits = this.inflightTouching(refs);
      if (waits.length) {
        await Promise.all(waits);
        continue;
      }
      const key = Symbol('write');
      let evicted: Error | undefined;
      const eviction = new Promise<never>((_, reject) => {
        this.waitingWrites.set(key, { refs, evict: (e) => reject((evicted = e)) });
      });
      eviction.catch(() => {});
      const admitted = this.lock.run(async () => {
        this.waitingWrites.delete(key);
        if (evicted) return undefined;
        if (this.inflightTouching(refs).length) return undefined;
        // A maker runs here, so bodies built from the pool (SQL bases, coin choice) see it as admitted.
        const tx = typeof txOrMake === 'function' ? txOrMake() : txOrMake;
        if (this.state.hasTx(tx.id)) throw new ConsensusError('duplicate-tx', `transaction ${tx.id} is already in the chain`, { txid: tx.id });
        const ctx = { ...this.txContext(this.height + 1, this.now()), signatureKnownGood: () => !!opts.signatureKnownGood };
        const check = this.pool.check(tx, this.config, ctx);
        const seq = this.nextSeq++;
        this.pool.add(tx, check, Date.now(), true);
        let settle = () => {};
        const settled = new Promise<void>((resolve) => (settle = resolve));
        this.inflightWrites.set(tx.id, { refs: new Set(sqlOf(tx)?.refs ?? []), settled, settle });
        return { tx, seq };
      });
      let r: Awaited<typeof admitted>;
      try {
        r = await Promise.race([admitted, eviction]);
      } finally {
        this.waitingWrites.delete(key);
      }
      if (!r) continue;
      let tx = r.tx;
      if (opts.sign) {
        // In flight, the entry is in no block and sent to no peer: it may wait for its signature.
        try {
          tx = { ...tx, sig: await opts.sign(tx) };
        } catch (e) {
          this.abortInflight(tx.id);
          throw e;
        }
        this.pool.replaceTx(tx);
      }
      return { tx, seq: r.seq, persist: this.store.poolInsertSql(tx, r.seq) };
    }
  }

  commitInflight(txid: string): void {
    const e = this.pool.get(txid);
    if (e) e.inflight = false;
    // Nothing builds on an in-flight entry, so nothing should have dropped it: say so if it happened.
    else this.log(`pool: ${txid} committed in MySQL after it had left the pool`);
    this.settleInflight(txid);
    this.emit('pool', e?.tx ?? null);
    this.wakeDrain();
  }

  /** The MySQL transaction of an admitted tx rolled back: take it (and what built on it) out. */
  abortInflight(txid: string): void {
    this.settleInflight(txid);
    if (this.pool.has(txid)) {
      // Every entry's signature was checked when it came in, and one in flight may not have its
      // signature yet: only what the removed tx changes (coins, row bases) is checked again.
      const ctx = { ...this.txContext(this.height + 1, this.now()), signatureKnownGood: () => true };
      const dropped = this.pool.remove(txid, (tx, pool) => pool.check(tx, this.config, ctx));
      for (const d of dropped) this.log(`pool: ${d.tx.id} depended on failed ${txid} and is dropped`);
      if (dropped.some((d) => !d.inflight)) {
        // Cannot happen (nothing builds on a write still in flight). If it does, MySQL holds the
        // committed SQL of txs the pool no longer has, which no undo list covers any more: rebuild
        // the application database from the chain and the pool, as after a crash mid-DDL.
        this.log(`pool: a committed tx depended on failed ${txid}: rebuilding the application database`);
        void this.lock.run(async () => {
          await this.markSqlUnsafe();
          await this.repairIfHalfDone();
        }).catch((e) => this.log(`rebuilding the application database failed: ${(e as Error).message}`));
      }
    }
    this.wakeDrain();
  }

  private inflightTouching(refs: readonly string[]): Promise<void>[] {
    const out: Promise<void>[] = [];
    if (refs.length === 0) return out;
    for (const w of this.inflightWrites.values()) if (refs.some((r) => w.refs.has(r))) out.push(w.settled);
    return out;
  }

  /**
   * Local writes waiting for the lock on the tables of `refs` give way to the engine's SQL about
   * to run there. By table, not by row: a statement locks every row it reads (a scan of
   * `WHERE v < 50`, say), more than the rows its refs name, and would wait for theirs.
   */
  private makeWayOn(refs: readonly string[]): void {
    if (this.waitingWrites.size === 0) return;
    const tables = tablesOf(refs);
    for (const [key, w] of this.waitingWrites) {
      if (!onTables(w.refs, tables)) continue;
      w.evict(new ChainBusyError('the chain is running SQL of a peer\'s transaction on the table this update touched; it was rolled back: run it again'));
      this.waitingWrites.delete(key);
    }
  }

  /** A write on a table the engine's SQL is running on now must not wait for the lock (see makeWayOn). */
  private refuseIfEngineOn(refs: readonly string[]): void {
    const on = this.engineSql;
    if (on === null || refs.length === 0) return;
    if (on === 'all' || onTables(refs, tablesOf(on))) {
      throw new ChainBusyError('the chain is running SQL of a block or of a peer\'s transaction on the table this update touched; it was rolled back: run it again');
    }
  }

  /** Runs `work` (engine SQL under the lock) with proxy writes kept off `refs` ('all': every row). */
  private async withEngineSql<T>(refs: Set<string> | 'all', work: () => Promise<T>): Promise<T> {
    let quiet: (() => void) | undefined;
    let idle: (() => void) | undefined;
    if (!this.engineBusy) this.engineBusy = new Promise<void>((resolve) => (idle = resolve));
    if (refs === 'all') {
      for (const w of this.waitingWrites.values()) {
        w.evict(new ChainBusyError('the chain had to undo and replay SQL on rows this update touched (a block connecting, mined here or by a peer, or `oursql cancel`); it was rolled back: run it again'));
      }
      this.waitingWrites.clear();
      if (!this.replaying) this.replaying = new Promise<void>((resolve) => (quiet = resolve));
    }
    const before = this.engineSql;
    this.engineSql = refs;
    try {
      return await work();
    } finally {
      this.engineSql = before;
      if (quiet) {
        this.replaying = undefined;
        quiet();
      }
      if (idle) {
        this.engineBusy = undefined;
        idle();
      }
    }
  }

  /**
   * While the chain undoes and replays SQL on every row (a block connecting the slow way, `oursql
   * cancel`): a promise that resolves when it is done; else undefined (nothing to wait for, and no
   * await on the write path). A new autocommit write waits for it before it runs: meanwhile a
   * schema change's undo drops and re-creates its table, where the write would fail (no such
   * table, a duplicate id) instead of being turned away cleanly at admission.
   */
  untilSqlSettles(): Promise<void> | undefined {
    return this.replaying;
  }

  /**
   * While the chain runs SQL of its own (a peer's tx, a block, an undo and replay): a promise that
   * resolves when it is done; else undefined. A write that gave way to that SQL runs again then.
   */
  untilEngineSqlEnds(): Promise<void> | undefined {
    return this.engineBusy;
  }

  /**
   * A local write that gave way runs again on `tables`: until the returned function is called,
   * peer txs on them are not pooled now (they come back with the next pull or in a block), so a
   * steady stream of them cannot make the same write give way every time.
   */
  rerunOn(tables: readonly string[]): () => void {
    for (const t of tables) this.rerunning.set(t, (this.rerunning.get(t) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const t of tables) {
        const n = (this.rerunning.get(t) ?? 1) - 1;
        if (n > 0) this.rerunning.set(t, n);
        else this.rerunning.delete(t);
      }
    };
  }

  private settleInflight(txid: string): void {
    this.inflightWrites.get(txid)?.settle();
    this.inflightWrites.delete(txid);
  }

  /** Resolves once no admitted tx waits for its MySQL commit (call under the lock). */
  private drain(): Promise<void> {
    if (this.inflightWrites.size === 0) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  private wakeDrain(): void {
    if (this.inflightWrites.size > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Drops a pending tx (and pending txs that depend on it): `oursql cancel TXID`. */
  async cancel(txid: string): Promise<string[]> {
    return this.lock.run(async () => {
      // Writes in flight commit or roll back first: the pool undone and re-admitted is then the
      // one MySQL holds (one that rolled back meanwhile is not run again).
      await this.drain();
      if (!this.pool.has(txid)) throw new NotInPoolError(txid);
      const dropped = await this.rebuildPool(this.pool.txs(), new Set([txid]));
      this.emit('pool', null);
      return [txid, ...dropped];
    });
  }

  /**
   * Undoes the SQL of `pooled` (last first) and re-admits all but `remove`, in order, in one MySQL
   * transaction; txs that no longer validate are dropped too. Returns the ids dropped besides `remove`.
   */
  private async rebuildPool(pooled: Tx[], remove: Set<string>): Promise<string[]> {
    await this.drain();
    return this.withEngineSql('all', () => this.rebuildPoolNow(pooled, remove));
  }

  private async rebuildPoolNow(pooled: Tx[], remove: Set<string>): Promise<string[]> {
    if (this.backlog.pooled.size) await this.flushIndex(); // the pool table is rewritten
    const conn = await this.mysql.getConnection();
    try {
      await conn.beginTransaction();
      await conn.query(`USE \`${this.store.appDb}\``);
      await this.undoSql(conn, pooled);
      const { pool, dropped } = await this.readmit(conn, this.state, pooled.filter((t) => !remove.has(t.id)), this.height + 1, true);
      await this.store.poolReplace(pool.txs(), conn);
      await this.store.saveDropped(dropped, conn);
      await this.clearSqlUnsafe(conn);
      await conn.commit();
      this.pool = pool;
      this.nextSeq = pool.size + 1;
      this.emit('sql');
      if (dropped.length) this.noteDropped(dropped);
      return dropped.map((d) => d.tx.id);
    } catch (e) {
      await conn.rollback();
      await this.repairIfHalfDone();
      throw e;
    } finally {
      conn.release();
    }
  }

  // ---- blocks ----

  /** A block template for the miner: the pool's oldest txs on top of the tip, or why not yet. */
  blockTemplate(minter: string): { header: Omit<BlockHeader, 'nonce'>; txs: readonly Tx[] } | { wait: string; retryAt?: number } {
    const tip = this.tip;
    const height = tip.header.height + 1;
    const txs = this.pool.committedPrefix(this.config.maxNumberTransactionInBlock);
    const need = minTxForHeight(this.config, height);
    let time = Math.max(this.now(), this.medianTimePast(tip.hash) + 1);
    if (!hasEnoughTxs(this.config, height, txs.length, time, tip.header.time)) {
      const interval = this.config.maxBlockIntervalSeconds;
      if (interval > 0 && txs.length >= 1) {
        const at = tip.header.time + interval * 1000;
        return { wait: `block ${height} needs ${need} transactions or ${interval} s after block ${height - 1}`, retryAt: at };
      }
      return { wait: `block ${height} needs at least ${need} transactions, the pool has ${txs.length}` };
    }
    const coinbase = makeCoinbase(this.genesis, height, minter, this.config.coinsForBlockMade);
    // frozen with its root: the miner's makeBlock of these txs does not hash them again
    const all = templateTxs([coinbase, ...txs]);
    time = Math.max(time, tip.header.time + 1);
    return {
      header: { v: 1, height, prev: tip.hash, merkle: all.merkle, time, bits: bitsForHeight(this.config, height) },
      txs: all.txs,
    };
  }

  /**
   * Stores a block and switches to it when its branch has the most work (ties: the lower hash, see `beats`).
   * Throws ConsensusError for an invalid block; nothing changes then.
   */
  async addBlock(block: Block): Promise<AddBlockResult> {
    return this.lock.run(async () => {
      const known = this.headers.get(block.hash);
      if (known) {
        if (known.status === BlockStatus.Invalid) throw new ConsensusError('bad-block', `block ${block.hash} was found invalid before`);
        return 'known';
      }
      const parent = this.headers.get(block.header.prev);
      if (!parent) return 'orphan';
      if (parent.status === BlockStatus.Invalid) throw new ConsensusError('bad-block', 'block builds on an invalid block');
      if (blockHash(block.header) !== block.hash) throw new ConsensusError('bad-block', 'block hash does not match its header');
      checkHeader(this.config, block.header, block.hash, { parent: parent.header, medianTimePast: this.medianTimePast(parent.hash), now: this.now() });
      checkBlockShape(this.config, block, parent.header.time, this.genesis);

      const work = parent.work + blockWork(block.header.bits);
      const stored: StoredHeader = { hash: block.hash, header: block.header, txids: block.txs.map((t) => t.id), work, status: BlockStatus.Stored, seq: 0 };
      if (!beats({ work, hash: block.hash }, this.tip)) {
        stored.seq = await this.saveAside(block, work);
        this.headers.set(block.hash, stored);
        return 'side';
      }
      // A block that becomes the tip is stored in the transaction that connects it (one commit).
      this.headers.set(block.hash, stored);
      try {
        await this.switchTo(stored, block, { unsaved: new Map([[block.hash, block]]) });
      } catch (e) {
        if (!(e instanceof ChainBusyError)) throw e;
        this.retryLater(e);
        return 'side';
      }
      return 'connected';
    });
  }

  /**
   * Adds blocks in the order given (a sync). A run of them that extends the tip, none with a
   * schema change, connects in one MySQL transaction: one commit and one state write for the run
   * instead of one per block. Anything else, and a run that fails, goes block by block through
   * `addBlock`, which decides (and blames) exactly as for single blocks. `digestsFrom`: a run reads
   * the state digests of its blocks at this height and above only (a sync: the older ones no peer
   * compares, see docs/protocol.md).
   */
  async addBlocks(blocks: readonly Block[], onAdded?: (block: Block, result: AddBlockResult) => void, opts: { digestsFrom?: number } = {}): Promise<void> {
    let oneByOneUntil = 0; // after a run that failed: its blocks one by one
    for (let i = 0; i < blocks.length;) {
      const run = i < oneByOneUntil ? 0 : await this.lock.run(() => this.connectRun(blocks.slice(i, i + MAX_RUN), opts.digestsFrom));
      if (run > 0) {
        for (const b of blocks.slice(i, i + run)) onAdded?.(b, 'connected');
        i += run;
        continue;
      }
      // A block that cannot start a run (a schema change, say) goes alone, and runs resume after it.
      if (run === RUN_FAILED) oneByOneUntil = Math.max(oneByOneUntil, i + MAX_RUN);
      onAdded?.(blocks[i], await this.addBlock(blocks[i]));
      i++;
    }
  }

  /**
   * Connects the longest prefix of `blocks` (at least two) that extends the tip as one run; how
   * many it connected: ≥ 2, 0 when no run starts here, RUN_FAILED when one was tried and rolled back.
   */
  private async connectRun(blocks: readonly Block[], digestsFrom?: number): Promise<number> {
    const run: Block[] = [];
    const added: StoredHeader[] = [];
    let parent = this.tip;
    try {
      for (const block of blocks.slice(0, runLength(blocks.map((b) => b.txs.length)))) {
        if (block.header.prev !== parent.hash || this.headers.has(block.hash) || block.txs.some(hasDdl)) break;
        if (blockHash(block.header) !== block.hash) break;
        try {
          checkHeader(this.config, block.header, block.hash, { parent: parent.header, medianTimePast: this.medianTimePast(parent.hash), now: this.now() });
          checkBlockShape(this.config, block, parent.header.time, this.genesis);
        } catch {
          break; // addBlock says why
        }
        const h: StoredHeader = {
          hash: block.hash, header: block.header, txids: block.txs.map((t) => t.id),
          work: parent.work + blockWork(block.header.bits), status: BlockStatus.Stored, seq: 0,
        };
        this.headers.set(h.hash, h); // the next block's median time reads it
        added.push(h);
        run.push(block);
        parent = h;
      }
      if (run.length < 2) return 0;
      await this.switchTo(parent, run[run.length - 1], { unsaved: new Map(run.map((b) => [b.hash, b])), run: true, digestsFrom });
      return run.length;
    } catch {
      return RUN_FAILED; // nothing of the run is left (rolled back); block by block finds out why
    } finally {
      if (!this.isActive(parent.hash)) for (const h of added) this.headers.delete(h.hash);
    }
  }

  /**
   * A stored block with more work could not connect because a client's transaction held rows its
   * SQL needed: try again shortly (the client commits or rolls back; MySQL's lock wait is bounded).
   */
  private retryLater(why: Error): void {
    if (this.retryTimer) return;
    // Each try holds the lock while it waits for the rows: back off so the node's own clients
    // can write in between (0.5 s, 1 s, 2 s … 8 s).
    const delay = Math.min(RETRY_CONNECT_MS * 2 ** this.retries++, RETRY_CONNECT_MAX_MS);
    this.log(`chain: a block with more work waits: ${why.message}; retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.lock.run(() => this.connectBest()).then(
        () => (this.retries = 0),
        (e: Error) => {
          if (e instanceof ChainBusyError) this.retryLater(e);
          else this.log(`chain: could not connect the best stored block: ${e.message}`);
        },
      );
    }, delay);
    this.retryTimer.unref();
  }

  /** Switches to the stored, not invalid block that beats the tip most (more work; at equal work, a lower hash). */
  private async connectBest(): Promise<void> {
    let best: StoredHeader | undefined;
    for (const h of this.headers.values()) {
      if (beats(h, best ?? this.tip) && this.validBranch(h)) best = h;
    }
    if (!best) return;
    const block = await this.store.getBlock(best);
    await this.switchTo(best, block);
  }

  /** No block from `h` down to the active chain is known invalid. */
  private validBranch(h: StoredHeader): boolean {
    for (let x: StoredHeader | undefined = h; x && !this.isActive(x.hash); x = this.headers.get(x.header.prev)) {
      if (x.status === BlockStatus.Invalid) return false;
    }
    return true;
  }

  /** Stops the timers and writes the index backlog (the node is stopping). */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.flush();
  }

  // ---- the index backlog (index-backlog.ts) ----

  /** Index rows of connected blocks that the tables do not hold yet (lookups merge them). */
  get indexBacklog(): IndexBacklog {
    return this.backlog;
  }

  /** Writes the index backlog now; a failure is logged (it is written again later, or replayed at start). */
  async flush(): Promise<void> {
    await this.lock.run(() => this.flushIndex()).catch((e: Error) => this.log(`chain: index rows not written yet: ${e.message}`));
  }

  /** Under the lock: every backlog row written (one in flight waited for), the tables at the tip. */
  private async flushIndex(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    // Writes begun beside the lock first (one that fails leaves its rows in the backlog); then this
    // one's own, whose failure the caller sees: a switch that undoes blocks must not go on without.
    while (this.flushing) await this.flushing.done;
    await this.writeBacklog();
  }

  /**
   * Writes the backlog's rows as they are now, with the block they reach, in one transaction on a
   * connection of its own: blocks go on connecting meanwhile (a sync's runs do not wait for it), and
   * their rows go to `after` as well, the backlog once this write commits. One write at a time.
   * It needs no lock: no switch that adds blocks touches the index tables or the pool rows it moves,
   * and one that drops blocks, rewrites the pool or reads the index tables flushes first (flushIndex).
   */
  private writeBacklog(): Promise<void> {
    if (this.flushing) return this.flushing.done;
    const rows = this.backlog;
    if (rows.empty) return Promise.resolve();
    const from = this.indexTip;
    const tip = rows.tip!;
    const write = this.store.indexWrites(rows);
    const pooled = [...rows.pooled];
    const after = new IndexBacklog();
    const done = this.store.inTransaction(async (conn) => {
      // Another engine on this database (a second node, a test's reopened chain) moved the tables on.
      if (!(await this.store.moveMeta(INDEX_TIP, from, tip, conn))) {
        throw new ChainError(`${INDEX_TIP} is not ${from} in MySQL: another process writes this chain database`);
      }
      await Promise.all([write(conn), this.store.movePooledBodies(pooled, conn)]);
    }).then(() => {
      this.indexTip = tip;
      this.backlog = after;
    }).finally(() => {
      this.flushing = undefined;
    });
    this.flushing = { after, done: done.catch(() => {}) };
    return done;
  }

  /** The rows of blocks connected up to `tip`, kept until written (see writeBacklog). */
  private addToBacklog(rows: IndexRows, tip: string, pooled: readonly string[]): void {
    this.backlog.add(rows, tip, pooled);
    this.flushing?.after.add(rows, tip, pooled);
  }

  /** After a block: many rows are written now, fewer a moment later (blocks coming meanwhile join them). */
  private scheduleFlush(run: boolean): void {
    // after a write in flight: the rows it did not take
    const write = () => void (this.flushing?.done ?? Promise.resolve()).then(() => this.writeBacklog())
      .catch((e: Error) => this.log(`chain: index rows not written yet: ${e.message}`));
    if ((this.flushing?.after ?? this.backlog).rows >= (run ? FLUSH_ROWS_IN_SYNC : FLUSH_ROWS)) return write();
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      write();
    }, FLUSH_AFTER_MS);
    this.flushTimer.unref();
  }

  /**
   * At open: replays into the index tables the txs of active blocks after `meta.index_tip` (a
   * stop that did not write the backlog). When that block is not active, which no run of this
   * code leaves, the tables are built again from the genesis block.
   */
  private async catchUpIndex(): Promise<void> {
    const at = await this.store.getMeta(INDEX_TIP);
    this.indexTip = this.tip.hash;
    if (at === this.tip.hash) return;
    // versions before the backlog wrote the rows with each block
    if (at === undefined) return this.store.setMeta(INDEX_TIP, this.tip.hash);
    const from = this.isActive(at) ? this.headers.get(at)!.header.height + 1 : 0;
    for (let height = from; height <= this.height; height += CATCH_UP_BLOCKS) {
      const headers = this.active.slice(height, height + CATCH_UP_BLOCKS).map((hash) => this.headers.get(hash)!);
      const bodies = await this.store.getTxs(headers.flatMap((h) => h.txids));
      const delta = new StateDelta(new ConfirmedState(this.genesis));
      for (const h of headers) {
        h.txids.forEach((id, pos) => {
          const tx = bodies.get(id);
          if (!tx) throw new ChainError(`block ${h.hash} refers to tx ${id} that is not stored`);
          delta.applyTx(tx, h.header.height, pos);
        });
      }
      await this.store.inTransaction(async (conn) => {
        if (height === 0) await this.store.clearIndex(conn);
        await Promise.all([
          this.store.writeIndex(delta, conn),
          this.store.movePooledBodies(headers.flatMap((h) => h.txids), conn),
          this.store.setMeta(INDEX_TIP, headers[headers.length - 1].hash, conn),
        ]);
      });
    }
    this.log(`chain: index tables ${from === 0 ? 'built again' : 'caught up'} from height ${from} to ${this.height}`);
  }

  /** Where `txid` is in the active chain (the backlog, then txindex). */
  async txLocation(txid: string): Promise<{ height: number; pos: number } | undefined> {
    const at = this.backlog.location(txid);
    if (at !== undefined) return at ? { height: at[0], pos: at[1] } : undefined;
    return this.store.txLocation(txid);
  }

  /** Txs as the active chain has them (see ChainStore.getChainTxs), the backlog's included. */
  async getChainTxs(ids: readonly string[]): Promise<Map<string, Tx>> {
    const known = new Map<string, { hash: string; pos: number } | null>();
    const b = this.backlog;
    for (const id of ids) {
      const at = b.location(id);
      if (at !== undefined) known.set(id, at && { hash: this.active[at[0]], pos: at[1] });
    }
    return this.store.getChainTxs(ids, known);
  }

  /** The pool's committed row holds `tx` with its signature (stored blocks copy such bodies inside MySQL). */
  private copyFromPool(tx: Tx): boolean {
    return this.committedInPool(tx.id) && this.pooledAsIs(tx);
  }

  /** A pool tx whose row is committed (an in-flight proxy write's row may not be yet). */
  private committedInPool(txid: string): boolean {
    const e = this.pool.get(txid);
    return e !== undefined && !e.inflight;
  }

  /**
   * Makes `target` the tip: undo pool and blocks down to the fork point, apply the new branch, re-admit.
   * `unsaved`: blocks of the branch not stored yet (the target, or a run from a sync); they are
   * stored in the same transaction. `run`: a failure only rolls back and throws (the caller adds
   * the blocks one by one to find out which one is bad).
   */
  private async switchTo(target: StoredHeader, targetBlock: Block, how: SwitchOptions = {}): Promise<void> {
    const { forceSlow = false, unsaved = new Map<string, Block>(), run = false, digestsFrom = 0 } = how;
    const saveTarget = unsaved.has(target.hash);
    const branch: StoredHeader[] = [];
    for (let h: StoredHeader | undefined = target; h && !this.isActive(h.hash); h = this.headers.get(h.header.prev)) branch.unshift(h);
    const forkHeight = branch[0].header.height - 1;
    const dropped = this.active.slice(forkHeight + 1).map((hash) => this.headers.get(hash)!);
    // Undoing blocks reads the index tables (where each spent output was made) and writes them:
    // they are brought up to the tip first. A switch that only adds blocks leaves its rows in the backlog.
    const deferIndex = dropped.length === 0;
    if (!deferIndex) {
      await this.flushIndex().catch(async (e) => {
        // not the block's fault: it is kept, to connect once the rows can be written
        if (saveTarget) await this.saveUnconnected(target, targetBlock);
        throw e;
      });
    }

    const body = targetBlock.txs.slice(1);
    // Fast path: the new block extends the tip and is exactly the pool's first txs, whose SQL
    // already ran in this order. Otherwise undo the pool, then the dropped blocks, then replay;
    // that needs every admitted proxy write committed first.
    const extendsTip = !forceSlow && dropped.length === 0 && branch.length === 1;
    // Pool txs after the block that touched its rows: undone for a moment to read its digest.
    const overDigest = extendsTip && this.opts.stateDigest ? await this.laterOnSameRows(body) : [];
    const pooled = this.pool.list();
    const schemaChanging = body.some(hasDdl) || pooled.some((e) => hasDdl(e.tx));
    if (schemaChanging) this.digestKeys.clear();
    const fast = extendsTip && overDigest !== null && sameEffectAsPool(body, pooled);
    // Txs the pool checked at this height whose checks hold in the block's order: only the block's
    // time is new to them (see applyBlock).
    const checkedInPool = fast ? poolChecksHold(body, pooled, (txid, n) => this.state.unspent(txid, n) !== undefined) : undefined;
    if (!fast) {
      // it rewrites the pool table, where the backlog's pooled bodies still are
      if (this.backlog.pooled.size) await this.flushIndex();
      await this.drain();
      // Undo and replay need every row: proxy writes waiting with row locks make way (see waitingWrites),
      // and so do clients' open transactions on the rows this switch undoes or replays.
      if (this.engineSql !== 'all') {
        return this.withEngineSql('all', async () => {
          const replayed = dropped.length === 0 ? branch.map((h) => (h === target ? targetBlock : unsaved.get(h.hash))) : [];
          const rows = replayed.length && replayed.every((b) => b !== undefined)
            ? new Set([...this.pool.txs(), ...replayed.flatMap((b) => b!.txs)].flatMap((t) => sqlOf(t)?.refs ?? []))
            : 'all';
          await this.openTransactions?.rollBack(rows, 'a block connecting (mined here or by a peer) needed rows this transaction updated');
          return this.switchTo(target, targetBlock, { ...how, forceSlow: true });
        });
      }
    }
    // Taken after the drain: an in-flight entry is signed by the time it commits, and the pool then
    // holds the signed tx (its admission held the unsigned one).
    const poolBefore = this.pool.txs();
    const inflight = new Set(this.pool.list().filter((e) => e.inflight).map((e) => e.tx.id));
    const conn = await this.mysql.getConnection();
    const delta = new StateDelta(this.state);
    let newPool: TxPool;
    let droppedTxs: DroppedTx[] = [];
    let failed: StoredHeader | undefined;
    const digests = new Map<string, string>();
    /** Digest reads queued in the pipeline, not awaited where they were sent. */
    const digestReads: Promise<void>[] = [];
    // A run (a sync) queues its MySQL work without waiting for each answer, so MySQL runs one
    // block's SQL while the next is checked; any failure rolls the whole run back (see connectRun).
    // So does the fast path, which runs no SQL: its writes and digest reads go while it checks.
    const pipeline = run || fast ? new Pipeline() : undefined;
    const queue = async (work: Promise<unknown>) => (pipeline ? pipeline.track(work) : await work);
    let endTransaction: ((committed?: boolean) => Promise<void>) | undefined;
    try {
      // Queued queries are written at once, not one per round trip, and what a deadlock leaves
      // queued behind it cannot commit on its own (pipelined.ts).
      endTransaction = await beginPipelinedTransaction(conn, this.store.appDb);
      // A run's digest reads are queued with its SQL, which needs the primary keys they use first:
      // kept from run to run (a run holds no DDL, and DDL anywhere clears them), so they are read
      // when a table is new to the sync, not once per run.
      const runKeys = run && this.opts.stateDigest && this.opts.primaryKeys && target.header.height >= digestsFrom ? (schemaChanging ? new Map<string, string[] | null>() : this.digestKeys) : undefined;
      if (runKeys) {
        const refs = branch.filter((h) => h.header.height >= digestsFrom).flatMap((h) => unsaved.get(h.hash)?.txs ?? []).flatMap((t) => sqlOf(t)?.refs ?? []);
        await this.opts.primaryKeys!(conn, [...new Set(refs.filter((r) => r.indexOf(':') > 0).map((r) => r.slice(0, r.indexOf(':'))))], runKeys);
      }
      // first: it copies pooled bodies from the pool table, which the rest may empty
      const toSave = branch.filter((h) => unsaved.has(h.hash));
      // The fast path leaves its bodies in their pool rows: the backlog's flush moves them (index-backlog.ts).
      // A body is in `txs` only if a stored block holds its tx, and no active block holds a pooled tx:
      // with every stored block active or in this branch, no pooled body is there (nothing to ask).
      const offActive = this.headers.size - this.active.length - branch.length;
      await queue(this.store.saveBlocks(
        toSave.map((h) => ({ block: unsaved.get(h.hash)!, work: h.work })), conn, (tx) => this.copyFromPool(tx), fast, offActive !== 0,
      ).then((seqs) => toSave.forEach((h, i) => (h.seq = seqs[i]))));
      if (fast) await this.digestAfter(conn, targetBlock, overDigest ?? [], digests, schemaChanging ? undefined : this.digestKeys, pipeline, true, digestReads);
      const droppedBlocks: Block[] = [];
      for (const h of dropped) droppedBlocks.push(await this.store.getBlock(h, conn));
      // Primary keys read once per switch when none of its SQL changes a schema (see stateDigest).
      const inHand = branch.map((h) => (h === target ? targetBlock : unsaved.get(h.hash)));
      const noDdl = inHand.every((b) => b && !b.txs.some(hasDdl)) && ![...poolBefore, ...droppedBlocks.flatMap((b) => b.txs)].some(hasDdl);
      const keys = noDdl ? runKeys ?? new Map<string, string[] | null>() : undefined;
      if (!noDdl) this.digestKeys.clear();

      if (!fast) {
        await this.undoSql(conn, poolBefore);
        await this.undoBlocks(conn, delta, droppedBlocks);
      }
      for (const h of branch) {
        const block = h === target ? targetBlock : unsaved.get(h.hash) ?? await this.store.getBlock(h, conn);
        try {
          await this.applyBlock(conn, delta, block, !fast, pipeline, block === targetBlock ? checkedInPool : undefined);
        } catch (e) {
          failed = h;
          throw e;
        }
        // Slow path: the database holds exactly the state after this block.
        if (!fast && block.header.height >= digestsFrom) await this.digestAfter(conn, block, [], digests, keys, pipeline, false, digestReads);
        if (pipeline?.failed) await pipeline.settle();
      }
      const newHeight = target.header.height;
      const again = [...droppedBlocks.flatMap((b) => b.txs.slice(1)), ...poolBefore].filter((t) => !delta.hasTx(t.id));
      // (its SQL, if any, queues behind a run's)
      const r = await this.readmit(conn, delta, again, newHeight + 1, !fast, inflight);
      if (fast && r.dropped.length) {
        // A pool tx no longer fits at the new height: take the slow path to undo its SQL exactly.
        throw new RetrySlow();
      }
      newPool = r.pool;
      droppedTxs = r.dropped;
      // Each writes rows of its own tables: sent together and waited for once; in a run, while
      // MySQL still runs the run's SQL. The digests are known once a run's reads are settled.
      const writes = Promise.all([
        deferIndex ? this.store.writeChainRows(delta, conn) : this.store.writeDelta(delta, conn),
        deferIndex ? undefined : this.store.setMeta(INDEX_TIP, target.hash, conn),
        this.store.setBlockStatus(branch.map((h) => h.hash), BlockStatus.Connected, conn),
        fast ? undefined : this.store.poolReplace(newPool.txs(), conn),
        this.store.saveDropped(droppedTxs, conn),
        pipeline ? undefined : this.store.saveDigests(digests, conn),
      ]);
      if (pipeline) {
        pipeline.track(writes);
        // The digests are known once their reads are answered, before the writes queued after
        // them: their row goes out then, behind those writes, and is waited for with them.
        pipeline.track(Promise.all(digestReads).then(() => this.store.saveDigests(digests, conn)));
        await pipeline.settle();
      } else await writes;
      await this.clearSqlUnsafe(conn);
      await this.opts.beforeCommit?.();
      await conn.commit();
      if (!fast) this.nextSeq = newPool.size + 1;
    } catch (e) {
      await conn.rollback().catch(() => {});
      await endTransaction?.();
      conn.release();
      await this.repairIfHalfDone();
      if (e instanceof RetrySlow) return this.switchTo(target, targetBlock, { ...how, forceSlow: true });
      if (run) throw e;
      // The rollback took the new block's row with it: store it as a block not connected.
      if (saveTarget && !(await this.saveUnconnected(target, targetBlock))) throw e;
      if (failed && !(e instanceof ChainBusyError)) await this.markInvalid(failed);
      throw e;
    }
    await endTransaction?.(true);
    conn.release();
    this.state.merge(delta);
    if (deferIndex) this.addToBacklog(delta, target.hash, fast ? body.map((t) => t.id) : []);
    else this.indexTip = target.hash;
    this.active = [...this.active.slice(0, forkHeight + 1), ...branch.map((h) => h.hash)];
    for (const h of branch) {
      h.status = BlockStatus.Connected;
      const d = digests.get(h.hash);
      if (d) h.digest = d;
    }
    newPool.rebase(this.state);
    // Proxy writes that committed, rolled back or were signed (on the signing thread) while this
    // block was applied settled on the old pool. Signatures were checked on entry, and one in
    // flight may not have its own yet: only what a rolled-back write changed is checked again.
    const ctx = { ...this.txContext(this.height + 1, this.now()), signatureKnownGood: () => true };
    for (const d of newPool.carryInflight(this.pool, (tx, p) => p.check(tx, this.config, ctx))) {
      this.log(`pool: ${d.tx.id} depended on a write that rolled back while a block connected, and is dropped`);
    }
    this.pool = newPool;
    this.wakeDrain();
    if (!fast) this.emit('sql');
    if (droppedTxs.length) this.noteDropped(droppedTxs);
    if (dropped.length) this.log(`fork switch: dropped ${dropped.length} block(s) above height ${forkHeight}, applied ${branch.length}`);
    if (deferIndex) this.scheduleFlush(run);
    this.emit('tip', this.tip);
  }

  /**
   * Committed pool txs outside `body` that touch its rows (or tables), last first: what must be
   * undone for a moment to see the rows as the block leaves them. Waits for admitted writes on
   * those rows to commit first. null: one is a schema change, which no savepoint can take back.
   * A schema change that changed nothing (nothing to undo: CREATE TABLE IF NOT EXISTS of a table
   * that was there) leaves the rows as they were: it is left out, and the block goes the fast way.
   */
  private async laterOnSameRows(body: readonly Tx[]): Promise<Tx[] | null> {
    const refs = new Set(body.flatMap((t) => sqlOf(t)?.refs ?? []));
    if (refs.size === 0) return [];
    const inBody = new Set(body.map((t) => t.id));
    const later = () => this.pool.list().filter((e) => !inBody.has(e.tx.id) && !this.changedNothing(e.tx) && refsOverlap(sqlOf(e.tx)?.refs ?? [], refs));
    if (later().some((e) => e.inflight)) await this.drain();
    const txs = later().map((e) => e.tx);
    if (txs.some(hasDdl)) return null;
    return txs.reverse();
  }

  /**
   * Reads the state digest of `block` (SPEC 9) into `digests`, with `undo` (pool txs on its rows,
   * last first) undone inside a savepoint and put back after. The undo never waits for a row lock:
   * a proxy write running on those rows waits for this lock, so waiting for it would deadlock;
   * the block then gets no digest here (peers that have one compare it). A failed read likewise.
   * With a `pipeline` the reads are queued when nothing can run before them: every primary key is
   * in `keys`, or `noSqlFollows` (the fast path: this connection runs no application SQL before
   * its commit, and the chain lock keeps the rows as they are); such a read is added to `queuedReads`.
   */
  private async digestAfter(
    conn: PoolConnection, block: Block, undo: readonly Tx[], digests: Map<string, string>, keys?: Map<string, string[] | null>, pipeline?: Pipeline,
    noSqlFollows = false, queuedReads?: Promise<void>[],
  ): Promise<void> {
    const read = this.opts.stateDigest;
    if (!read) return;
    const refs = [...new Set(block.txs.flatMap((t) => sqlOf(t)?.refs ?? []))];
    const skip = (e: unknown) => this.log(`block ${block.hash}: no state digest here: ${(e as Error).message}`);
    if (undo.length === 0) {
      const reading = read(conn, refs, keys).then((d) => void digests.set(block.hash, d), skip);
      // with every primary key known its reads are queued by now: the next block's SQL can follow
      if (pipeline && (noSqlFollows || keysCover(refs, keys))) {
        pipeline.track(reading);
        queuedReads?.push(reading);
      } else await reading;
      return;
    }
    await conn.query('SAVEPOINT digest');
    let deadlock = false;
    try {
      await conn.query('SET @oursql_lock_wait = @@session.innodb_lock_wait_timeout, SESSION innodb_lock_wait_timeout = 0');
      for (const tx of undo) for (const stmt of sqlOf(tx)!.undo) await conn.query(stmt);
      digests.set(block.hash, await read(conn, refs));
    } catch (e) {
      // A deadlock rolled back the whole transaction: start over on the slow path.
      if ((e as { errno?: number }).errno === ER_LOCK_DEADLOCK) deadlock = true;
      else skip(e);
    } finally {
      await conn.query('SET SESSION innodb_lock_wait_timeout = @oursql_lock_wait').catch(() => {});
    }
    if (deadlock) throw new RetrySlow();
    await conn.query('ROLLBACK TO SAVEPOINT digest');
  }

  /**
   * Stores a block that is not connected now. A tx of it whose body a connected block left in the
   * pool table is moved out first: the row this save would add (maybe with another signature)
   * must not take the place of the one the connected block reads its signature from.
   */
  private async saveAside(block: Block, work: bigint): Promise<number> {
    if (block.txs.some((t) => this.backlog.pooled.has(t.id))) await this.flushIndex();
    return this.store.saveBlock(block, work, this.mysql, (tx) => this.copyFromPool(tx));
  }

  /** Stores a block whose connection failed; if even that fails, forgets it so it can come again. */
  private async saveUnconnected(h: StoredHeader, block: Block): Promise<boolean> {
    try {
      h.seq = await this.saveAside(block, h.work);
      return true;
    } catch (e) {
      this.headers.delete(h.hash);
      this.log(`block ${h.hash} could not be stored: ${(e as Error).message}`);
      return false;
    }
  }

  private async markInvalid(bad: StoredHeader): Promise<void> {
    const hashes = [bad.hash];
    for (const h of this.headers.values()) {
      // Descendants of an invalid block are invalid too.
      for (let p = this.headers.get(h.header.prev); p && p.header.height >= bad.header.height; p = this.headers.get(p.header.prev)) {
        if (p.hash === bad.hash) hashes.push(h.hash);
      }
    }
    await this.store.setBlockStatus(hashes, BlockStatus.Invalid);
    for (const hash of hashes) this.headers.get(hash)!.status = BlockStatus.Invalid;
  }

  /** The pool holds this tx with this signature: txid binds the body, so it was verified at admission. */
  private pooledAsIs(tx: Tx): boolean {
    return tx.sig !== undefined && this.pool.get(tx.id)?.tx.sig === tx.sig;
  }

  /**
   * Primary keys of application tables, for the fast path's state digests: kept from block to
   * block while no schema change is pooled or connected (cleared when one is), so a block's digest
   * read is queued at once instead of after a SHOW KEYS answer.
   */
  private readonly digestKeys = new Map<string, string[] | null>();

  /** Block txs whose pool checks stood for checkTx (see applyBlock's `checkedInPool`); for tests and the bench. */
  poolChecksReused = 0;

  /** Signatures of block txs checked on the event loop: neither prechecked by the helpers nor pooled (a figure for the bench). */
  signaturesCheckedHere = 0;

  /** Tx objects whose signature `precheck` found valid (the objects themselves: nothing else can be in here). */
  private readonly checkedSignatures = new WeakSet<Tx>();

  /** Many blocks are coming (a sync): start what `precheck` needs now. */
  prepareChecks(): void {
    this.opts.prepareChecks?.();
  }

  /**
   * Checks the signatures of a block's txs on the signature threads ahead of addBlock, where the
   * node has them (the next blocks are checked while this one's SQL runs). Only marks valid ones;
   * anything it could not check is checked when the block is applied, as without it.
   */
  async precheck(block: Block): Promise<void> {
    if (!this.opts.checkSignatures) return;
    const txs = block.txs.filter((t) => !isCoinbase(t.body) && !this.pooledAsIs(t) && !this.checkedSignatures.has(t));
    const ok = await this.opts.checkSignatures(txs).catch(() => [] as boolean[]);
    txs.forEach((t, i) => ok[i] === true && this.checkedSignatures.add(t));
  }

  /**
   * Validates every tx of `block` on `delta` and connects it; runs its SQL when `runSql`.
   * `checkedInPool`: its txs whose pool checks hold in this block (poolChecksHold): checkTx would
   * give the same answers but for the time, which alone is checked.
   */
  private async applyBlock(conn: PoolConnection, delta: StateDelta, block: Block, runSql: boolean, run?: Pipeline, checkedInPool?: ReadonlySet<Tx>): Promise<void> {
    const { header } = block;
    delta.applyTx(block.txs[0], header.height, 0);
    const knownGood = (tx: Tx) => this.checkedSignatures.has(tx) || this.pooledAsIs(tx) || (this.signaturesCheckedHere++, false);
    const ctx = { ...this.txContext(header.height, header.time), signatureKnownGood: knownGood };
    // Checked in memory first (no check reads MySQL), the SQL then goes in batches; a schema
    // change, or a statement that cannot be batched, runs on its own between batches. In a run
    // (`run`: its pipeline) the batches are queued, not waited for.
    const batch = new SqlBatcher<Tx>(conn, (txs) => this.runTxsSql(conn, header.height, txs), {
      is: isLockError,
      busy: (e) => new ChainBusyError(`SQL of block ${header.height} is waiting for rows a client transaction holds: ${(e as Error).message}`),
    }, run ? 'abort' : 'savepoint', run, this.unmergedInserts);
    for (let i = 1; i < block.txs.length; i++) {
      const tx = block.txs[i];
      if (checkedInPool?.has(tx) && !isCoinbase(tx.body)) {
        checkTxTime(tx.body, header.time);
        this.poolChecksReused++;
      } else checkTx(tx, delta, this.config, ctx);
      const sql = sqlOf(tx);
      if (runSql && sql) {
        const what = `block ${header.height} tx ${tx.id}`;
        // its undo checked here once, and its statements' checks kept for the run
        const checks = hasDdl(tx) ? [] : await this.rowChecks(conn, tx).catch((e: unknown) => Promise.reject(namedRefusal(e, what)));
        // a tx whose rows need reads to be checked runs on its own, with them
        if (hasDdl(tx) || !sql.stmts.every(batchable) || checks.some((c) => c !== null)) {
          await batch.flush();
          await (hasDdl(tx) ? this.runDdl(conn, tx, what) : this.runTxSql(conn, tx, what, checks));
        } else {
          await batch.add(tx, sql.stmts, this.rowLimits(tx));
        }
      }
      delta.applyTx(tx, header.height, i);
    }
    await batch.flush();
    delta.chain.set(header.height, block.hash);
  }

  /** One by one: what a batch falls back to, and where its error names the tx. */
  private async runTxsSql(conn: PoolConnection, height: number, txs: readonly Tx[]): Promise<void> {
    for (const tx of txs) await this.runTxSql(conn, tx, `block ${height} tx ${tx.id}`);
  }

  private async undoBlocks(conn: PoolConnection, delta: StateDelta, blocks: Block[]): Promise<void> {
    if (blocks.length === 0) return;
    const inputIds = new Set<string>();
    for (const b of blocks) for (const t of b.txs) if (!isCoinbase(t.body)) for (const i of t.body.in) inputIds.add(i.tx);
    const inputTxs = await this.store.getTxs([...inputIds], conn);
    const heights = new Map<string, number>();
    for (const id of inputIds) heights.set(id, (await this.txLocation(id))?.height ?? 0);
    const spentCoin = (txid: string, n: number): ConfirmedCoin => {
      const out = inputTxs.get(txid)?.body.out[n];
      if (!out) throw new ChainError(`cannot undo: output ${txid}:${n} is not stored`);
      return { to: out.to, amount: BigInt(out.amount), height: heights.get(txid)! };
    };
    for (const b of [...blocks].reverse()) {
      for (const tx of [...b.txs].reverse()) {
        await this.runUndo(conn, tx, `undo of tx ${tx.id}`);
        delta.undoTx(tx, spentCoin);
      }
      delta.chain.set(b.header.height, null);
    }
  }

  /** Re-checks `txs` in order on `base` for the pool at `height`; runs their SQL when `runSql`. */
  private async readmit(conn: PoolConnection, base: StateDelta | ConfirmedState, txs: Tx[], height: number, runSql: boolean, inflight = new Set<string>()) {
    const pool = new TxPool(base);
    const dropped: DroppedTx[] = [];
    // Re-admitted txs were verified when they first came in (same txid and sig: same signature).
    // An in-flight entry was checked at admission and may still wait for its own signature.
    const known = new Map(this.pool.list().map((e) => [e.tx.id, e.tx.sig]));
    const ctx = {
      ...this.txContext(height, this.now()),
      signatureKnownGood: (tx: Tx) => inflight.has(tx.id) || (tx.sig !== undefined && known.get(tx.id) === tx.sig),
    };
    for (const tx of txs) {
      try {
        const check = pool.check(tx, this.config, ctx);
        const sql = sqlOf(tx);
        if (runSql && sql && hasDdl(tx)) {
          // A schema change commits what came before it, savepoints included; if it fails, it changed nothing.
          await this.runDdl(conn, tx, 'transaction');
        } else if (runSql && sql) {
          await conn.query('SAVEPOINT readmit');
          try {
            await this.runTxSql(conn, tx, 'transaction');
          } catch (e) {
            await conn.query('ROLLBACK TO SAVEPOINT readmit');
            throw e;
          }
        }
        pool.add(tx, check, Date.now(), inflight.has(tx.id));
      } catch (e) {
        dropped.push({ tx, reason: (e as Error).message, code: e instanceof ConsensusError ? e.code : undefined, at: Date.now() });
      }
    }
    return { pool, dropped };
  }

  /** Per statement of `tx` (not a schema change), the reads that check its rows; rejects when it cannot be replayed (ReplayChecker). */
  private async rowChecks(conn: PoolConnection, tx: Tx): Promise<(StatementRowsCheck | null)[]> {
    const sql = sqlOf(tx);
    const checker = this.opts.replayCheck;
    if (!sql || !checker || hasDdl(tx)) return [];
    const out: (StatementRowsCheck | null)[] = [];
    for (const stmt of sql.stmts) out.push(await checker.check(conn, stmt, sql.refs));
    await checker.checkUndo(conn, sql.undo, sql.refs);
    return out;
  }

  /**
   * Runs the statements of row-changing `tx` (a peer's, a block's or a re-admitted one): each
   * changes at most as many rows as its refs name on its table, and only rows they name; its undo
   * is checked first to be able to change only those too.
   */
  private async runTxSql(conn: PoolConnection, tx: Tx, what: string, checked?: readonly (StatementRowsCheck | null)[]): Promise<void> {
    const sql = sqlOf(tx)!;
    // `checked`: rowChecks ran for this tx just now (its undo included), on the same schema
    if (!checked) await this.opts.replayCheck?.checkUndo(conn, sql.undo, sql.refs).catch((e: unknown) => Promise.reject(namedRefusal(e, what)));
    await this.runSql(conn, sql.stmts, what, false, this.rowLimits(tx), sql.refs, checked);
  }

  /** What each statement of a peer's tx may change (rowLimits); undefined for a tx without SQL. */
  private rowLimits(tx: Tx): number[] | undefined {
    const sql = sqlOf(tx);
    const classify = this.opts.classify;
    return sql && classify ? rowLimits(sql, (stmt) => classify(stmt).table) : undefined;
  }

  private async undoSql(conn: PoolConnection, txs: Tx[]): Promise<void> {
    for (const tx of [...txs].reverse()) await this.runUndo(conn, tx, `undo of pooled tx ${tx.id}`);
  }

  // ---- schema changes: each node undoes them from its own copy of the table ----

  /** Txids of schema changes this node saved its own undo of, and whether that undo does anything. */
  private ddlHere = new Map<string, boolean>();

  /**
   * A schema change that changed nothing here (IF NOT EXISTS / IF EXISTS found the table as asked):
   * its undo is empty.
   */
  private changedNothing(tx: Tx): boolean {
    if (!hasDdl(tx)) return false;
    return this.ddlHere.has(tx.id) ? !this.ddlHere.get(tx.id) : sqlOf(tx)!.undo.length === 0;
  }

  /**
   * Runs schema change `tx` as a peer's (or a block's, or a re-admitted one): first saves, in the
   * transaction the DDL commits, how to undo it on this node's rows, which may not be the origin's.
   */
  private async runDdl(conn: PoolConnection, tx: Tx, what: string, alone = false): Promise<void> {
    const { stmts } = sqlOf(tx)!;
    await this.markSqlUnsafe(conn);
    const here = this.opts.ddlUndo ? await this.opts.ddlUndo(conn, stmts) : null;
    if (here) await this.store.saveDdlUndo(tx.id, here, conn);
    else await this.store.clearDdlUndo(tx.id, conn);
    try {
      await this.runSql(conn, stmts, what, true);
    } catch (e) {
      // `alone`: the transaction held nothing else, and a schema change is one statement, which
      // MariaDB runs atomically: if it failed, it changed nothing, and what its implicit commit
      // committed is only the mark and the saved undo. Take those back instead of rebuilding the
      // whole database from the chain (which a peer could otherwise set off at will).
      if (alone && stmts.length === 1) {
        await this.store.clearDdlUndo(tx.id, conn);
        await this.clearSqlUnsafe(conn);
        await conn.query('COMMIT');
      }
      throw e;
    }
    if (here) this.ddlHere.set(tx.id, here.length > 0);
    else this.ddlHere.delete(tx.id);
  }

  /** Runs the undo of `tx`: of a schema change, this node's own when it saved one. */
  private async runUndo(conn: PoolConnection, tx: Tx, what: string): Promise<void> {
    const sql = sqlOf(tx);
    if (!sql) return;
    if (!hasDdl(tx)) return this.runSql(conn, sql.undo, what);
    const here = await this.store.ddlUndo(tx.id, conn);
    await this.runSql(conn, here ?? sql.undo, what, true);
    if (here) await this.store.clearDdlUndo(tx.id, conn);
    this.ddlHere.delete(tx.id);
  }

  /**
   * Runs `stmts` in order; with `limits` (rowLimits), each may change at most that many rows; with
   * `refs` (of a tx that changes rows), only rows they name (ReplayChecker; `checked`: its checks
   * of `stmts`, made already).
   */
  private async runSql(
    conn: PoolConnection, stmts: readonly string[], what = 'transaction', ddl = false, limits?: readonly number[], refs?: readonly string[],
    checked?: readonly (StatementRowsCheck | null)[],
  ): Promise<void> {
    // MySQL commits DDL by itself: what ran before it in this transaction commits with it, so a
    // crash from here to the final COMMIT would leave the database half changed. Say so first.
    if (ddl) await this.markSqlUnsafe(conn);
    // a replay check's refusal names the tx and the block
    const named = (e: unknown) => namedRefusal(e, what);
    try {
      for (let i = 0; i < stmts.length; i++) {
        const stmt = stmts[i];
        try {
          const check = checked ? checked[i] : refs && this.opts.replayCheck ? await this.opts.replayCheck.check(conn, stmt, refs).catch((e) => Promise.reject(named(e))) : null;
          await check?.before?.(conn).catch((e) => Promise.reject(named(e)));
          const [result] = await conn.query(stmt);
          if (limits) checkRowsChanged(result, limits[i], what, stmt);
          await check?.after?.(conn).catch((e) => Promise.reject(named(e)));
        } catch (e) {
          if (e instanceof ConsensusError) throw e;
          if (isInterrupted(e) && this.limited.has(conn)) {
            throw new SlowSqlError(`SQL of ${what} ran longer than this node lets a peer's statement run at pool admission (peerStatementSeconds ${this.opts.peerStatementSeconds} s): not pooled here`);
          }
          // stopped from outside (KILL QUERY): nothing is wrong with the SQL; it is tried again later
          if (isInterrupted(e)) throw new ChainBusyError(`SQL of ${what} was interrupted: ${(e as Error).message}`);
          if (isLockError(e)) {
            throw new ChainBusyError(`SQL of ${what} is waiting for rows a client transaction holds: ${(e as Error).message}`);
          }
          throw new ConsensusError('bad-block', `SQL of ${what} failed: ${(e as Error).message}`, { stmt });
        }
      }
    } finally {
      if (ddl) this.opts.replayCheck?.forget();
      // The implicit commit ended the transaction: without a new one, the rest of the run would
      // commit statement by statement, and its final ROLLBACK or savepoints would do nothing.
      if (ddl) await conn.query('START TRANSACTION');
    }
  }

  // ---- DDL inside the engine's own SQL runs (SPEC 9) ----

  private sqlUnsafe = false;

  /**
   * Records that the application database may be half changed: committed at once on a connection
   * of its own, or, with `ddl` (the transaction a schema change is about to run in), written in
   * that transaction, which the schema change commits before it runs (MySQL's implicit commit):
   * durable as early, without a second connection and a commit of its own.
   */
  private async markSqlUnsafe(ddl?: PoolConnection): Promise<void> {
    if (this.sqlUnsafe) return;
    await this.store.setMeta('sql_unsafe', '1', ddl);
    this.sqlUnsafe = true;
  }

  /** In the transaction that completes the change: the database matches the chain again. */
  private async clearSqlUnsafe(conn: PoolConnection): Promise<void> {
    if (!this.sqlUnsafe) return;
    await this.store.setMeta('sql_unsafe', '0', conn);
    this.sqlUnsafe = false;
  }

  /** A run that failed after DDL committed part of it: put the database back to chain + pool now. */
  private async repairIfHalfDone(): Promise<void> {
    if (!this.sqlUnsafe) return;
    this.sqlUnsafe = false;
    await this.drain(); // proxy writes admitted before: let them commit (no new ones: we hold the lock)
    await this.repairSqlAfterCrash(this.pool.txs()).catch((e) => this.log(`rebuilding the application database failed: ${(e as Error).message}; it is retried at the next start`));
  }

  /**
   * After a crash while block or pool SQL with DDL was running: the application database is
   * rebuilt from the chain: every table dropped (unmanaged ones kept), then the SQL of every
   * active block and of the pool replayed in order. Slow for a long chain, but needs no one.
   */
  private async repairSqlAfterCrash(pooled: readonly Tx[]): Promise<void> {
    this.digestKeys.clear();
    if ((await this.store.getMeta('sql_unsafe')) !== '1') return;
    this.log('a block or pool switch with a schema change did not finish: rebuilding the application database from the chain');
    const conn = await this.mysql.getConnection();
    try {
      await conn.query(`USE \`${this.store.appDb}\``);
      await conn.query('SET FOREIGN_KEY_CHECKS = 0');
      const [tables] = await conn.query<RowDataPacket[]>(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
      );
      for (const { t } of tables) if (!isUnmanagedTable(this.config, t)) await conn.query(`DROP TABLE \`${String(t).replace(/`/g, '``')}\``);
      await this.store.clearAllDdlUndo(conn);
      this.ddlHere.clear();
      const replay = async (tx: Tx) => {
        const sql = sqlOf(tx);
        if (!sql) return;
        const here = hasDdl(tx) && this.opts.ddlUndo ? await this.opts.ddlUndo(conn, sql.stmts) : null;
        if (here) {
          await this.store.saveDdlUndo(tx.id, here, conn);
          this.ddlHere.set(tx.id, here.length > 0);
        }
        for (const stmt of sql.stmts) await conn.query(stmt);
      };
      for (const hash of this.active) {
        for (const tx of (await this.store.getBlock(this.headers.get(hash)!, conn)).txs) await replay(tx);
      }
      for (const tx of pooled) await replay(tx);
      await conn.query('SET FOREIGN_KEY_CHECKS = 1');
      await this.store.setMeta('sql_unsafe', '0', conn);
    } finally {
      conn.release();
    }
    this.log(`application database rebuilt: ${this.active.length} block(s) and ${pooled.length} pooled tx(s) replayed`);
  }

  // ---- the DDL journal: schema changes the proxy runs outside a transaction (SPEC 9) ----

  /** Notes, committed, that a pooled-to-be DDL tx is about to run, with the SQL that undoes it. */
  journalDdl(txid: string, undo: readonly string[]): Promise<void> {
    this.ddlHere.delete(txid); // this node is the origin: the tx's own undo is this node's
    return this.store.journalDdl(txid, undo);
  }

  /** The DDL of `txid` is accounted for: its pool entry committed, or it did not run. */
  settleDdl(txid: string): Promise<void> {
    return this.store.clearDdl(txid);
  }

  /**
   * After a crash: a journaled DDL whose tx is neither pooled nor in a block may have run without
   * its tx. Its undo puts the schema (and rows) back; an undo statement that fails because the DDL
   * never ran (no such table, table exists) is what we want anyway.
   */
  private async repairDdl(): Promise<void> {
    await this.store.clearSettledDdl();
    for (const { txid, undo } of await this.store.orphanedDdl()) {
      const conn = await this.mysql.getConnection();
      try {
        await conn.query(`USE \`${this.store.appDb}\``);
        for (const stmt of undo) {
          await conn.query(stmt).catch((e: Error) => this.log(`ddl journal: undo of ${txid}: ${e.message} (skipped)`));
        }
      } finally {
        conn.release();
      }
      await this.store.clearDdl(txid);
      this.log(`ddl journal: the schema change of ${txid} had no pooled transaction after a crash: undone`);
    }
  }

  /** Txs a fork switch or pool rebuild dropped, newest last (what `oursql pool` explains). */
  readonly recentlyDropped: DroppedTx[] = [];

  /**
   * Dropped txs whose re-base (SPEC 8) was still to do when the node last stopped: stored with the
   * switch that dropped them, so the node that signed them runs them again after a restart too.
   */
  get unsettledDrops(): DroppedTx[] {
    return this.recentlyDropped.filter((d) => d.code !== undefined && REBASED_CODES.has(d.code) && d.rebase === undefined);
  }

  /** Logs dropped txs, keeps the last 100 for `oursql pool`, and tells listeners ('dropped'). */
  private noteDropped(list: DroppedTx[]): void {
    for (const d of list) this.log(`pool: dropped ${d.tx.id}: ${d.reason}`);
    this.recentlyDropped.push(...list);
    this.recentlyDropped.splice(0, Math.max(0, this.recentlyDropped.length - DROPPED_SHOWN));
    this.emit('dropped', list);
  }

  /** Human summary used by logs and `oursql status`. */
  describe(): string {
    return `height ${this.height}, tip ${this.tip.hash.slice(0, 16)}…, pool ${this.pool.size}, reward ${unitsToCoins(this.config.coinsForBlockMade)}`;
  }
}

class RetrySlow extends Error {}

interface SwitchOptions {
  forceSlow?: boolean; unsaved?: ReadonlyMap<string, Block>; run?: boolean;
  /** Blocks below this height get no state digest (a sync's older blocks). */
  digestsFrom?: number;
}

/** Whether `keys` holds the primary key of every table `refs` name (a ref is `table:…`). */
function keysCover(refs: readonly string[], keys: Map<string, string[] | null> | undefined): boolean {
  return !!keys && refs.every((r) => r.indexOf(':') <= 0 || keys.has(r.slice(0, r.indexOf(':'))));
}
