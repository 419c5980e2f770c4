import {
  ConsensusError, isUnmanagedTable, makeTx, normalizePublicKey, prepareTx, sqlOf, txFromPrepared,
  type PreparedTx, type TransferBody, type Tx,
} from '../../consensus/index.ts';
import { ChainBusyError, type Chain } from '../chain/engine.ts';
import { buildSqlBody, joinChanges, tableOfRef } from '../chain/sqltx.ts';
import { ER, isLockError, ReplicationError, WriteGaveWay } from './errors.ts';
import type { SqlClassifier, WriteStatement } from './classify.ts';
import { pipelined, SqlExecError, type SqlExecutor } from './executor.ts';
import { bodyMatchesSql } from './match.ts';
import { executeWrite, planDryRun, planInsertAhead, RanBeforeStale, type WriteOutcome } from './plan.ts';
import { AutoIdReservations } from './auto-ids.ts';
import { SESSION_VARS_SQL, sessionVarsOf, type SessionVars } from './determinism.ts';
import { SchemaCache } from './schema.ts';
import { sqlLiteral } from './literal.ts';

/** A node-held key that signs plain updates (the proxy key). */
export interface NodeSigner {
  pubkey: string;
  /** Signs on the calling thread. */
  sign(body: TransferBody): Tx;
  /** Signs elsewhere (the node's signing thread): the tx is admitted unsigned and signed after. */
  signLater?(tx: Tx): Promise<string>;
}

/** How an update's tx comes to be: made in the chain's critical section, maybe signed after it. */
interface TxMaker {
  make: () => Tx;
  sign?: (tx: Tx) => Promise<string>;
  /** More statements for the commit that writes the tx's pool entry. */
  persist?: (txid: string) => string[];
  /** Refs the tx names besides those of its rows (RerunOptions.extraRefs). */
  extraRefs?: readonly string[];
}

/** What a re-run (a re-base) adds to the ordinary write path. */
export interface RerunOptions {
  /** Runs in the chain's critical section just before the tx is made: throw to refuse it (nothing stays executed). */
  guard?: () => void;
  /** Statements committed together with the new tx's pool entry. */
  persist?: (txid: string) => string[];
  /**
   * Refs the new tx names besides those of the rows it touches, each with its current base: those
   * of the write it re-runs, so the two can never both be in one chain (on those rows each names
   * another tx as the one before it), even when the re-run selects other rows.
   */
  extraRefs?: readonly string[];
}

/** Per-connection state the write path keeps between statements. */
export interface WriteSession {
  /** Writes of an open BEGIN…COMMIT (node-signed), executed but not yet a blockchain tx. */
  pending: unknown[];
  /** What the write path caches per connection (table metadata). */
  cache: Map<string, unknown>;
}

/** What a replicated write answers the client. */
export interface WriteReply { affectedRows: number; insertId: bigint; txid?: string }

/** Step 2 must come within this long of step 1 (SPEC 5). */
export const SIGNED_BODY_MAX_AGE_MS = 10 * 60_000;

/** WriteSession.cache key of the session's database, account and time zone. */
export const SESSION_INFO = 'session-info';
const UTC_NAMES = new Set(['UTC', 'GMT', 'Etc/UTC', 'Universal', 'Zulu']);
const DDL = new Set(['create-table', 'drop-table', 'alter-table', 'create-index', 'drop-index', 'truncate']);
const isDdl = (w: WriteStatement) => DDL.has(w.kind);
/** Runs of an autocommit update that gave way to the chain's SQL before its client gets error 1213. */
const GIVE_WAY_TRIES = 5;
/** Accounts whose table definitions are kept at once (more are rare: the cache then starts over). */
const MAX_SCHEMA_CACHES = 64;

/**
 * Turns updates into blockchain transactions (SPEC 4, 5): runs them on the client's own backend
 * connection inside a MySQL transaction, builds and signs the tx, admits it to the pool, and
 * commits the change together with its pool entry, so no change is ever applied without its tx.
 */
export class ReplicatedWrites {
  /** Bumped when another connection may have changed a table definition (blocks, DDL). */
  private schemaEpoch = 0;
  /** Table definitions by MySQL account, read at `schemaCachesEpoch` (see schema()). */
  private readonly schemaCaches = new Map<string, SchemaCache>();
  private schemaCachesEpoch = 0;
  private readonly granted = new Set<string>();
  private readonly autoIds = new AutoIdReservations();

  constructor(
    private readonly chain: Chain,
    private readonly classifier: SqlClassifier,
    private readonly opts: {
      appDb: string;
      chainDb: string;
      signer: NodeSigner | null;
      /** The backend runs MariaDB's `BEGIN NOT ATOMIC … END` (saves a round trip per update). */
      compoundStatements?: boolean;
      /** Runs SQL as the node's own MySQL user (to GRANT the pool tables to proxy logins). */
      asNode: (sql: string) => Promise<void>;
      log: (msg: string) => void;
    },
  ) {
    // Table definitions change under other connections when the engine replays or undoes SQL,
    // or when another connection's DDL is pooled.
    chain.on('sql', () => {
      this.schemaEpoch++;
      this.autoIds.clear();
    });
    chain.on('pool', (tx: Tx | null) => {
      const refs = tx ? sqlOf(tx)?.refs : undefined;
      if (!tx || refs?.some((r) => r.endsWith(':*'))) {
        this.schemaEpoch++;
        this.autoIds.clear();
      } else if (refs && (tx.body as { from?: string }).from !== this.opts.signer?.pubkey) {
        // rows another key wrote (a peer's tx, a client-signed one) may hold ids reserved here
        for (const r of refs) this.autoIds.forget(tableOfRef(r));
      }
    });
  }

  get nodeSigns(): boolean {
    return this.opts.signer !== null;
  }

  isUnmanaged(table: string): boolean {
    return isUnmanagedTable(this.chain.config, table);
  }

  // ---- node-signed ----

  async autocommit(exec: SqlExecutor, s: WriteSession, w: WriteStatement, signer = this.opts.signer, extra: RerunOptions = {}): Promise<WriteReply> {
    if (!signer) throw new ReplicationError(ER.NEEDS_SIGNATURE, 'OurSQL: no node-held key to sign this update');
    return this.givingWay([w.table], () => this.inSession(exec, s, (vars) => this.autocommitIn(exec, s, w, signer, vars, extra)));
  }

  /**
   * Runs an autocommit update; when it gave way to the chain's own SQL on its rows (WriteGaveWay:
   * rolled back, nothing of it committed), runs it again once that SQL is done. The 1213 came from
   * replication, not from the client's own concurrency, and one statement is the node's to retry:
   * the client hears of it only after GIVE_WAY_TRIES.
   */
  private async givingWay<T>(tables: readonly string[], run: () => Promise<T>): Promise<T> {
    let release: (() => void) | undefined;
    try {
      for (let tries = 1; ; tries++) {
        // New updates wait for an undo and replay of every row (untilSqlSettles); one that gave way
        // waits for whatever SQL of the chain's made it, and peer txs on its tables wait for it.
        if (tries === 2) release = this.chain.rerunOn(tables);
        const settling = tries === 1 ? this.chain.untilSqlSettles() : this.chain.untilEngineSqlEnds();
        if (settling) await settling;
        try {
          return await run();
        } catch (e) {
          if (!(e instanceof WriteGaveWay) || tries >= GIVE_WAY_TRIES) throw e;
        }
      }
    } finally {
      release?.();
    }
  }

  private async autocommitIn(exec: SqlExecutor, s: WriteSession, w: WriteStatement, signer: NodeSigner, vars: SessionVars, extra: RerunOptions): Promise<WriteReply> {
    const schema = this.schema(s);
    if (isDdl(w)) {
      const out = await planDryRun(exec, w, schema, { session: vars });
      schema.invalidate(w.table);
      return this.runDdl(exec, out, this.signedBy(signer, out, extra));
    }
    if (this.opts.compoundStatements && w.kind === 'insert' && vars.autoIncrementIncrement === '1') {
      const done = await this.insertAhead(exec, schema, w, signer, vars, extra);
      if (done) return done;
    }
    try {
      const out = await this.executeAlone(exec, w, schema, vars);
      if (w.kind === 'insert' && out.insertId > 0n && vars.autoIncrementIncrement === '1') this.autoIds.learn(w.table, out.insertId + BigInt(out.affectedRows));
      if (touchesNothing(out)) {
        // An UPDATE/DELETE that matched no row changes nothing: no transaction to make.
        await exec.query('COMMIT');
        return { affectedRows: 0, insertId: 0n };
      }
      return await this.commitWith(exec, [out], this.signedBy(signer, joinChanges([out]), extra));
    } catch (e) {
      await exec.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  /** An autocommit update in a MySQL transaction of its own, left open for the pool entry. */
  private async executeAlone(exec: SqlExecutor, w: WriteStatement, schema: SchemaCache, vars: SessionVars): Promise<WriteOutcome> {
    try {
      return await executeWrite(beginWith(exec), w, schema, { session: vars, rollsBackOnError: true });
    } catch (e) {
      if (!(e instanceof RanBeforeStale)) throw e;
      // it ran on a stale definition of its table: undo it, and run it once more, step by step
      await exec.query('ROLLBACK');
      schema.invalidate(w.table);
      return executeWrite(beginWith(exec), w, schema, { session: vars });
    }
  }

  async inTransaction(exec: SqlExecutor, s: WriteSession, w: WriteStatement): Promise<WriteReply> {
    if (isDdl(w)) {
      throw new ReplicationError(ER.NOT_REPLICATED, 'OurSQL: a schema change inside a transaction would commit it implicitly: COMMIT first, then run it on its own');
    }
    return this.inSession(exec, s, async (vars) => {
      const out = await executeWrite(exec, w, this.schema(s), { session: vars });
      if (!touchesNothing(out)) s.pending.push(out);
      return { affectedRows: out.affectedRows, insertId: out.insertId };
    });
  }

  async commit(exec: SqlExecutor, s: WriteSession, extra: RerunOptions = {}): Promise<WriteReply> {
    const outs = s.pending as WriteOutcome[];
    s.pending = [];
    try {
      return await this.commitWith(exec, outs, this.signedBy(this.opts.signer!, joinChanges(outs), extra));
    } catch (e) {
      await exec.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  /**
   * `oursql sql` / RPC `sql`: one statement on a connection of the node's own, signed by a
   * node-held key; a read returns its rows.
   */
  async runStatement(exec: SqlExecutor, sql: string, signer: NodeSigner): Promise<{ reply: WriteReply } | { columns: string[]; rows: (string | null)[][] }> {
    const c = this.classifier.classify(sql);
    switch (c.kind) {
      case 'read':
      case 'empty': {
        const r = await exec.query(sql);
        return { columns: r.columns.map((x) => x.name), rows: r.rows.map((row) => row.map((v) => (v === null ? null : Buffer.isBuffer(v) ? v.toString('hex') : v))) };
      }
      case 'txn':
        throw new ReplicationError(ER.NOT_REPLICATED, 'OurSQL: run one statement at a time here; transactions need a MySQL connection to the proxy');
      case 'refused':
        throw new ReplicationError(ER.NOT_REPLICATED, `OurSQL: ${c.reason}`);
      case 'write':
        if (this.isUnmanaged(c.write.table)) return { reply: { affectedRows: (await exec.query(sql)).affectedRows, insertId: 0n } };
        return { reply: await this.autocommit(exec, { pending: [], cache: new Map() }, c.write, signer) };
    }
  }

  /**
   * Runs the statements of a tx this node signed once more, as one new tx on the current state: a
   * fork switch dropped the old one because a row it touched changed on the winning branch (SPEC 8:
   * a node-signed tx is re-based and re-signed by its own node). The statements are canonical, so
   * they mean the same as when first run; undo and row bases are made anew.
   */
  async rerun(exec: SqlExecutor, stmts: readonly string[], extra: RerunOptions = {}): Promise<WriteReply> {
    const signer = this.opts.signer;
    if (!signer) throw new ReplicationError(ER.NEEDS_SIGNATURE, 'OurSQL: no node-held key to sign the re-based transaction');
    const writes = stmts.map((sql) => this.classifier.parseWrite(sql));
    const s: WriteSession = { pending: [], cache: new Map() };
    if (writes.length === 1 && isDdl(writes[0])) return this.autocommit(exec, s, writes[0], signer, extra);
    if (writes.some(isDdl)) throw new ReplicationError(ER.NOT_REPLICATED, 'OurSQL: a transaction mixing schema changes and row changes cannot be re-run');
    await exec.query('START TRANSACTION');
    try {
      for (const w of writes) await this.inTransaction(exec, s, w);
      if (s.pending.length === 0) {
        await exec.query('COMMIT');
        return { affectedRows: 0, insertId: 0n };
      }
      return await this.commit(exec, s, extra);
    } catch (e) {
      await exec.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  /** The public key of the proxy key, if the node has one. */
  get signerPubkey(): string | null {
    return this.opts.signer?.pubkey ?? null;
  }

  private signedBy(signer: NodeSigner, change: { stmts: string[]; undo: string[]; refs: string[] }, extra: RerunOptions = {}): TxMaker {
    const named = extra.extraRefs ? { ...change, refs: [...new Set([...change.refs, ...extra.extraRefs])] } : change;
    const body = () => {
      extra.guard?.();
      return buildSqlBody(this.chain, signer.pubkey, named).body;
    };
    const more = { persist: extra.persist, extraRefs: extra.extraRefs };
    if (signer.signLater) return { make: () => makeTx(body()), sign: signer.signLater, ...more };
    return { make: () => signer.sign(body()), ...more };
  }

  // ---- client-signed (two steps, stateless on the node) ----

  async prepare(exec: SqlExecutor, s: WriteSession, w: WriteStatement, pubkey: string): Promise<PreparedTx> {
    const from = normalizePublicKey(pubkey);
    return this.inSession(exec, s, async (vars) => {
      const out = await this.dryRun(exec, s, w, vars);
      return prepareTx(buildSqlBody(this.chain, from, out).body);
    });
  }

  async executeSigned(exec: SqlExecutor, s: WriteSession, sql: string, data: string, sign: string): Promise<WriteReply> {
    const tx = txFromPrepared(data, sign);
    const part = sqlOf(tx);
    if (!part || part.stmts.length !== 1) throw new ReplicationError(ER.BAD_TRANSACTION, 'OurSQL: DATA is not a transaction made for one SQL statement by step 1');
    if (!bodyMatchesSql(part.stmts[0], sql)) {
      throw new ReplicationError(ER.SQL_MISMATCH, 'OurSQL: the SQL differs from the SQL in DATA: send the same statement as in step 1');
    }
    if (Date.now() - (tx.body as { time: number }).time > SIGNED_BODY_MAX_AGE_MS) {
      throw new ReplicationError(ER.STALE, 'OurSQL: the signed transaction is older than 10 minutes: run step 1 again');
    }
    return this.givingWay([...new Set(part.refs.map(tableOfRef))], () => this.inSession(exec, s, async (vars) => {
      const w = this.classifier.parseWrite(part.stmts[0]);
      const schema = this.schema(s);
      const same = (out: WriteOutcome) =>
        JSON.stringify([out.stmts, out.undo, out.refs]) === JSON.stringify([part.stmts, part.undo, part.refs]);
      const stale = () => new ReplicationError(ER.STALE, 'OurSQL: the rows this statement touches changed since step 1: run step 1 again');
      if (isDdl(w)) {
        const out = await planDryRun(exec, w, schema, { session: vars });
        schema.invalidate(w.table);
        if (!same(out)) throw stale();
        return this.runDdl(exec, out, { make: () => tx }, false);
      }
      try {
        const out = await this.executeAlone(exec, w, schema, vars);
        if (!same(out)) throw stale();
        return await this.commitWith(exec, [out], { make: () => tx }, false);
      } catch (e) {
        await exec.query('ROLLBACK').catch(() => {});
        throw e;
      }
    }));
  }

  // ---- shared steps ----

  /**
   * Admits the tx (built inside the chain's critical section, so its bases are current), writes
   * its pool entry in the open MySQL transaction, and commits change and entry together.
   */
  private async commitWith(exec: SqlExecutor, outs: WriteOutcome[], maker: TxMaker, ownSignature = true): Promise<WriteReply> {
    const { tx, persist } = await this.admit(maker, ownSignature, withExtra(outs.flatMap((o) => o.refs), maker.extraRefs));
    try {
      await this.commitWithEntry(exec, maker.persist ? [...persist, ...maker.persist(tx.id)] : persist);
    } catch (e) {
      this.chain.abortInflight(tx.id);
      throw notPooled(e);
    }
    this.chain.commitInflight(tx.id);
    return summarize(outs, tx.id);
  }

  /**
   * An INSERT whose keys are known before it runs (planInsertAhead) goes out in one round trip:
   * admitted first (a refusal executes nothing), then one compound statement runs it, writes its
   * pool entry and commits, or rolls all of it back. Null when the ordinary path must run it: its
   * keys are not known ahead, or the attempt failed (a reserved id was taken, a duplicate key, a
   * row lock, ...), which the ordinary path then reports as MySQL words it.
   *
   * The INSERT must not wait for a row lock: the ordinary path takes MySQL's locks first and then
   * waits at admission for in-flight writes to the same rows, and this one, admitted first, waiting
   * for such a lock would close a cycle that only innodb_lock_wait_timeout breaks.
   */
  private async insertAhead(exec: SqlExecutor, schema: SchemaCache, w: WriteStatement, signer: NodeSigner, vars: SessionVars, extra: RerunOptions): Promise<WriteReply | null> {
    let plan;
    try {
      plan = await planInsertAhead(exec, w, schema, (table, rows) => this.autoIds.reserve(table, rows), { session: vars });
    } catch {
      return null; // refusals and errors come from the ordinary path, which plans it again
    }
    if (!plan) return null;
    const maker = this.signedBy(signer, joinChanges([plan.outcome]), extra);
    const { tx, persist } = await this.admit(maker, true, withExtra(plan.outcome.refs, maker.extraRefs));
    const entry = maker.persist ? [...persist, ...maker.persist(tx.id)] : persist;
    try {
      const preset = plan.outcome.insertId > 0n ? [`SET insert_id = ${plan.outcome.insertId}`] : [];
      // An INSERT that fails before it takes the id (an unknown column, say) leaves insert_id set,
      // for the session's next INSERT into any table: the handler clears it.
      const run = ['START TRANSACTION', ...preset, `SET STATEMENT innodb_lock_wait_timeout = 0 FOR ${plan.sql}`, ...entry, 'COMMIT'];
      await exec.query(compound(run, preset.length ? ['SET insert_id = 0'] : []));
    } catch (e) {
      this.chain.abortInflight(tx.id);
      if (!(e instanceof SqlExecError)) throw notPooled(e);
      if (e.errno === ER_DUP_ENTRY) this.autoIds.forget(w.table);
      return null;
    }
    this.chain.commitInflight(tx.id);
    return summarize([plan.outcome], tx.id);
  }

  /**
   * DDL commits by itself: admit first (a refusal executes nothing), journal it (a crash before
   * its pool entry commits is undone at the next start), run it, then persist the entry.
   */
  private async runDdl(exec: SqlExecutor, out: WriteOutcome, maker: TxMaker, ownSignature = true): Promise<WriteReply> {
    const { tx, persist } = await this.admit(maker, ownSignature, withExtra(out.refs, maker.extraRefs));
    try {
      await this.chain.journalDdl(tx.id, out.undo);
    } catch (e) {
      this.chain.abortInflight(tx.id);
      throw notPooled(e);
    }
    try {
      for (const stmt of out.stmts) await exec.query(stmt);
    } catch (e) {
      this.chain.abortInflight(tx.id);
      await this.settleDdl(tx.id);
      throw e;
    }
    try {
      await exec.query('START TRANSACTION');
      await this.commitWithEntry(exec, maker.persist ? [...persist, ...maker.persist(tx.id)] : persist);
    } catch (e) {
      // The schema change happened but cannot be pooled: put the schema back.
      this.chain.abortInflight(tx.id);
      await exec.query('ROLLBACK').catch(() => {});
      for (const stmt of out.undo) await exec.query(stmt).catch((u: Error) => this.opts.log(`proxy: undo of DDL failed: ${u.message}`));
      await this.settleDdl(tx.id);
      throw notPooled(e);
    }
    this.chain.commitInflight(tx.id);
    await this.settleDdl(tx.id);
    return summarize([out], tx.id);
  }

  /** Drops a journal row; if that fails, the next start finds the tx pooled (or repairs it). */
  private async settleDdl(txid: string): Promise<void> {
    await this.chain.settleDdl(txid).catch((e: Error) => this.opts.log(`proxy: could not clear the DDL journal of ${txid}: ${e.message}`));
  }

  /**
   * Writes the pool entry and commits, in the open MySQL transaction. On MariaDB one compound
   * statement does both (one round trip): if the entry cannot be written, it rolls back the whole
   * transaction itself and returns the error, so the change is never committed without its entry.
   */
  private async commitWithEntry(exec: SqlExecutor, persist: string[]): Promise<void> {
    if (this.opts.compoundStatements) {
      await exec.query(compound([...persist, 'COMMIT']));
      return;
    }
    for (const stmt of persist) await exec.query(stmt);
    await exec.query('COMMIT');
  }

  private async admit(maker: TxMaker, ownSignature: boolean, refs: string[]) {
    try {
      return await this.chain.admitInflight(maker.make, { signatureKnownGood: ownSignature, refs, sign: maker.sign });
    } catch (e) {
      if (e instanceof ConsensusError) throw e;
      if (e instanceof ChainBusyError) throw new WriteGaveWay(`OurSQL: ${e.message}`);
      throw notPooled(e);
    }
  }

  /** Runs the statement in a transaction that is rolled back (DDL is only planned, never run). */
  private async dryRun(exec: SqlExecutor, s: WriteSession, w: WriteStatement, vars: SessionVars): Promise<WriteOutcome> {
    const schema = this.schema(s);
    if (isDdl(w)) return planDryRun(exec, w, schema, { session: vars });
    await exec.query('START TRANSACTION');
    try {
      return await planDryRun(exec, w, schema, { session: vars });
    } finally {
      await exec.query('ROLLBACK').catch(() => {});
    }
  }

  /**
   * Checks the session can write (the node's database; INSERT on the pool tables, granted once per
   * login) and runs `work` with the session's time zone at UTC: TIMESTAMP literals the determinizer
   * writes must mean the same instant on every peer. The client's time zone is restored after.
   */
  private async inSession<T>(exec: SqlExecutor, s: WriteSession, work: (vars: SessionVars) => Promise<T>): Promise<T> {
    // Cached per connection; the proxy drops it when the client sends USE, SET or COM_INIT_DB.
    let info = s.cache.get(SESSION_INFO) as (string | null)[] | undefined;
    if (!info) {
      info = (await exec.query(`SELECT DATABASE(), CURRENT_USER(), @@session.time_zone, @@system_time_zone, ${SESSION_VARS_SQL}`)).rows[0] as (string | null)[];
      s.cache.set(SESSION_INFO, info);
    }
    const [db, account, tz, systemTz] = info;
    const vars = sessionVarsOf(info.slice(4));
    if (db !== this.opts.appDb) {
      throw new ReplicationError(ER.NOT_REPLICATED, `OurSQL: updates go to the node's database \`${this.opts.appDb}\`: USE ${this.opts.appDb} first`);
    }
    if (account && !this.granted.has(account)) {
      const [user, host] = splitAccount(account);
      const to = `'${user.replace(/'/g, "''")}'@'${host.replace(/'/g, "''")}'`;
      for (const table of ['pool']) {
        await this.opts.asNode(`GRANT INSERT ON \`${this.opts.chainDb}\`.\`${table}\` TO ${to}`).catch((e: Error) =>
          this.opts.log(`proxy: could not GRANT INSERT on ${this.opts.chainDb}.${table} to ${account}: ${e.message}`),
        );
      }
      this.granted.add(account);
    }
    const utc = tz === '+00:00' || (tz === 'SYSTEM' && UTC_NAMES.has(systemTz ?? ''));
    if (utc) return work(vars);
    await exec.query("SET @@session.time_zone = '+00:00'");
    try {
      return await work(vars);
    } finally {
      await exec.query(`SET @@session.time_zone = ${sqlLiteral(tz)}`).catch(() => {});
    }
  }


  /**
   * The table definitions of the session's account (in the node's database: inSession checked it),
   * shared by its connections: a connection's first update reads none of information_schema when
   * another connection of that login read the tables before (~13 ms of MariaDB's time, most of it
   * for TRIGGERS). Per account, as information_schema shows each login only what it may see.
   */
  private schema(s: WriteSession): SchemaCache {
    const account = (s.cache.get(SESSION_INFO) as (string | null)[] | undefined)?.[1] ?? '';
    if (this.schemaCachesEpoch !== this.schemaEpoch) {
      this.schemaCaches.clear();
      this.schemaCachesEpoch = this.schemaEpoch;
    }
    let cache = this.schemaCaches.get(account);
    if (!cache) {
      if (this.schemaCaches.size >= MAX_SCHEMA_CACHES) this.schemaCaches.clear();
      cache = new SchemaCache();
      this.schemaCaches.set(account, cache);
    }
    return cache;
  }
}

/**
 * An executor whose first statement (or pipeline) goes out behind START TRANSACTION: one round
 * trip less per update. START TRANSACTION cannot fail here (the proxy refuses XA, the one state in
 * which it would), and on a lost connection none of them runs.
 */
function beginWith(exec: SqlExecutor): SqlExecutor {
  let begun = false;
  const pipeline = async (sqls: readonly string[]) => {
    if (begun) return pipelined(exec, sqls);
    begun = true;
    const [start, ...rest] = await pipelined(exec, ['START TRANSACTION', ...sqls]);
    if (start instanceof SqlExecError) throw start;
    return rest;
  };
  return {
    async query(sql) {
      if (begun) return exec.query(sql);
      const [first] = await pipeline([sql]);
      if (first instanceof SqlExecError) throw first;
      return first;
    },
    pipeline,
  };
}

/**
 * MariaDB's anonymous block: runs `stmts` in order; at the first error, rolls back, runs `onError`
 * and returns that error.
 */
const compound = (stmts: readonly string[], onError: readonly string[] = []): string =>
  `BEGIN NOT ATOMIC DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ${['ROLLBACK', ...onError, 'RESIGNAL'].join('; ')}; END; ${stmts.join('; ')}; END`;

const ER_DUP_ENTRY = 1062;

/** Refs to wait for at admission: a re-run's extra refs too (none on the ordinary write path). */
const withExtra = (refs: string[], extra?: readonly string[]): string[] => (extra ? [...refs, ...extra] : refs);

const touchesNothing = (out: WriteOutcome): boolean => out.refs.length === 0 && !out.ddl;

function splitAccount(account: string): [string, string] {
  const at = account.lastIndexOf('@');
  return at < 0 ? [account, '%'] : [account.slice(0, at), account.slice(at + 1)];
}

function summarize(outs: WriteOutcome[], txid: string): WriteReply {
  const affectedRows = outs.reduce((n, o) => n + o.affectedRows, 0);
  const insertId = [...outs].reverse().find((o) => o.insertId > 0n)?.insertId ?? 0n;
  return { affectedRows, insertId, txid };
}

function notPooled(e: unknown): ReplicationError {
  // A deadlock or lock wait timeout stays what it is: clients and ORMs know to run those again.
  if (e instanceof SqlExecError && isLockError(e.errno)) {
    return new ReplicationError(e.errno, `OurSQL: the change was rolled back: ${e.message}`, e.sqlState);
  }
  const why = e instanceof SqlExecError ? `${e.message} (MySQL error ${e.errno})` : (e as Error).message;
  return new ReplicationError(ER.NOT_POOLED, `OurSQL: the change could not be added to the pool and was rolled back: ${why}`);
}
