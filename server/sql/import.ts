/**
 * `oursql init` on a database that already holds tables: turns them into signed SQL transactions
 * for the genesis block (docs/consensus.md, Genesis), so a peer that replays the genesis gets the
 * same tables and rows, and later writes to those rows base on the transaction that made them.
 *
 * Per table (base tables of the current database, minus the config's UnmanagedTables; views are
 * skipped), parents before children by foreign key:
 *  - one tx: stmts [SHOW CREATE TABLE without AUTO_INCREMENT=N], undo [DROP TABLE], refs [`t:*`];
 *  - its rows in order of primary key, in txs of at most 1,000 rows and ~900 KiB of body each:
 *    stmts [one multi-row INSERT naming every stored column], undo [DELETE of those keys],
 *    refs [`t:<pk>` per row]. A table without a primary key cannot name its rows: its row txs
 *    ref `t:*` (each basing on the previous tx on the table) and undo with one NULL-safe
 *    `DELETE … LIMIT 1` per row.
 * Values are read as MySQL's text (strings; Buffers for binary columns; FLOAT through DOUBLE so no
 * digit is lost) inside one consistent snapshot at time zone UTC, and written back as literals,
 * never pasted. Each `base` is the previous import tx on that ref, or null.
 */
import { isUnmanagedTable, MAX_TX_BYTES, type ConsensusConfig, type SqlPart, type TransferBody, type Tx, type TxSigner } from '../../consensus/index.ts';
import type { SqlExecutor } from './executor.ts';
import { quoteIdent, rowRef, sqlLiteral, tableRef, type SqlValue } from './literal.ts';
import { withoutAutoIncrementOption } from './plan.ts';
import { dataColumns, readTableInfo, type ColumnDef, type TableInfo } from './schema.ts';

export interface ImportOptions {
  /** Target size of one tx body, canonical JSON bytes (default 900 KiB; a lone big row may use up to MAX_TX_BYTES). */
  maxTxBytes?: number;
  /** Rows per tx (default 1,000). */
  maxRowsPerTx?: number;
  log?: (msg: string) => void;
}

export interface ImportResult {
  txs: Tx[];
  /** Imported tables, in the order their txs come. */
  tables: string[];
  rows: number;
  /** Tables left out and why (views, unmanaged tables). */
  skipped: { table: string; reason: string }[];
}

export class ImportError extends Error {
  override name = 'ImportError';
}

export const IMPORT_MAX_TX_BYTES = 900 * 1024;
export const IMPORT_MAX_ROWS_PER_TX = 1000;
/** The chain's `refs` table keys refs as VARBINARY(1024). */
export const MAX_REF_BYTES = 1024;
const READ_BATCH_ROWS = 5000;
/** A progress line every this many rows of one table. */
const PROGRESS_ROWS = 100_000;
/** PK types whose `>` agrees with their ORDER BY, so rows can be paged by key. */
const KEYSET_TYPES = new Set([
  'tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'decimal',
  'char', 'varchar', 'binary', 'varbinary', 'date', 'datetime', 'timestamp', 'time', 'year',
]);

const text = (v: SqlValue): string => (v === null ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : v);
/** Bytes a string takes inside canonical JSON (quotes and escapes included). */
const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s));

/** The import txs of the executor's current database (see the module comment). */
export async function buildImportTxs(exec: SqlExecutor, cfg: ConsensusConfig, signer: TxSigner, time: number, opts: ImportOptions = {}): Promise<Tx[]> {
  return (await buildImport(exec, cfg, signer, time, opts)).txs;
}

/** Whether the executor's current database holds any table or view. */
export async function databaseHasTables(exec: SqlExecutor): Promise<boolean> {
  const r = await exec.query('SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()');
  return Number(text(r.rows[0][0])) > 0;
}

export async function buildImport(exec: SqlExecutor, cfg: ConsensusConfig, signer: TxSigner, time: number, opts: ImportOptions = {}): Promise<ImportResult> {
  const log = opts.log ?? (() => {});
  const db = (await exec.query('SELECT DATABASE(), @@session.time_zone')).rows[0];
  if (db[0] === null) throw new ImportError('import: no database selected');
  const tz = text(db[1]);
  // TIMESTAMP values are read at UTC: the node replays its SQL at UTC (server/node/node.ts).
  await exec.query("SET @@session.time_zone = '+00:00'");
  await exec.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  try {
    const out = await importTables(exec, cfg, signer, time, {
      maxTxBytes: opts.maxTxBytes ?? IMPORT_MAX_TX_BYTES,
      maxRowsPerTx: opts.maxRowsPerTx ?? IMPORT_MAX_ROWS_PER_TX,
      log,
    });
    await exec.query('COMMIT');
    return out;
  } catch (e) {
    await exec.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await exec.query(`SET @@session.time_zone = ${sqlLiteral(tz)}`).catch(() => {});
  }
}

interface Limits { maxTxBytes: number; maxRowsPerTx: number; log: (msg: string) => void }

async function importTables(exec: SqlExecutor, cfg: ConsensusConfig, signer: TxSigner, time: number, limits: Limits): Promise<ImportResult> {
  const listed = await exec.query(
    'SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME',
  );
  const skipped: ImportResult['skipped'] = [];
  const names: string[] = [];
  for (const r of listed.rows) {
    const name = text(r[0]);
    const type = text(r[1]);
    if (type === 'VIEW') {
      skipped.push({ table: name, reason: 'view (views are not replicated)' });
    } else if (isUnmanagedTable(cfg, name)) {
      skipped.push({ table: name, reason: 'in UnmanagedTables' });
    } else if (type === 'TEMPORARY') {
      continue;
    } else if (type !== 'BASE TABLE') {
      throw new ImportError(
        `import: \`${name}\` is a ${type.toLowerCase()}, which OurSQL cannot replicate; drop it, or list it in the consensus config's UnmanagedTables`,
      );
    } else {
      names.push(name);
    }
  }
  for (const s of skipped) limits.log(`import: skipping \`${s.table}\`: ${s.reason}`);

  const order = await dependencyOrder(exec, names, new Set(skipped.map((s) => s.table)));
  const chain = new RefChain();
  const txs: Tx[] = [];
  let rows = 0;
  const sign = (sql: SqlPart): Tx => {
    const body: TransferBody = { v: 1, chain: cfg.hash, time, from: signer.pubkey, in: [], out: [], sql };
    const tx = signer.sign(body);
    chain.record(tx);
    txs.push(tx);
    return tx;
  };

  for (const name of order) {
    const info = await readTableInfo(exec, name);
    if (!info) throw new ImportError(`import: table \`${name}\` disappeared while it was read; run init again`);
    if (info.triggers > 0) {
      throw new ImportError(
        `import: table \`${name}\` has triggers, which OurSQL does not replicate (and its writes would be refused); ` +
        'drop the triggers, or list the table in the consensus config\'s UnmanagedTables',
      );
    }
    const show = await exec.query(`SHOW CREATE TABLE ${quoteIdent(info.name)}`);
    const create = withoutAutoIncrementOption(text(show.rows[0][1]));
    const tref = tableRef(info.name);
    sign({ stmts: [create], undo: [`DROP TABLE ${quoteIdent(info.name)}`], refs: [tref], base: chain.base([tref]) });
    const before = txs.length;
    const n = await importRows(exec, info, limits, chain, sign);
    rows += n;
    limits.log(`import: \`${info.name}\`: ${n} row(s) in ${txs.length - before + 1} transaction(s)`);
  }
  return { txs, tables: order, rows, skipped };
}

/** The latest import tx on each ref: the `base` of the next one. */
class RefChain {
  private readonly latest = new Map<string, string>();
  base(refs: readonly string[]): Record<string, string | null> {
    return Object.fromEntries(refs.map((r) => [r, this.latest.get(r) ?? null]));
  }
  record(tx: Tx): void {
    if ('sql' in tx.body && tx.body.sql) for (const r of tx.body.sql.refs) this.latest.set(r, tx.id);
  }
}

// ---------------------------------------------------------------------------------------------
// table order

/** Tables sorted so each comes after the tables its foreign keys reference (ties by name). */
async function dependencyOrder(exec: SqlExecutor, tables: string[], skipped: Set<string>): Promise<string[]> {
  const fks = await exec.query(
    'SELECT TABLE_NAME, CONSTRAINT_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS ' +
    'WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME',
  );
  const db = text((await exec.query('SELECT DATABASE()')).rows[0][0]);
  const included = new Set(tables);
  const parents = new Map<string, Set<string>>(tables.map((t) => [t, new Set()]));
  for (const r of fks.rows) {
    const [child, constraint, schema, parent] = r.map(text);
    if (!included.has(child)) continue;
    if (schema !== db) {
      throw new ImportError(`import: foreign key ${constraint} of \`${child}\` references a table in database \`${schema}\`, which peers do not have; drop the key, or list \`${child}\` in UnmanagedTables`);
    }
    if (!included.has(parent)) {
      const why = skipped.has(parent) ? 'is not replicated (a view or in UnmanagedTables)' : 'does not exist';
      throw new ImportError(`import: foreign key ${constraint} of \`${child}\` references \`${parent}\`, which ${why}: peers could not create \`${child}\``);
    }
    if (parent !== child) parents.get(child)!.add(parent); // a table referencing itself: its rows are ordered instead
  }
  const order: string[] = [];
  const done = new Set<string>();
  const remaining = new Set(tables);
  while (remaining.size) {
    const ready = [...remaining].filter((t) => [...parents.get(t)!].every((p) => done.has(p)));
    if (ready.length === 0) {
      const cycle = findCycle([...remaining], parents);
      throw new ImportError(
        `import: the foreign keys of ${cycle.map((t) => `\`${t}\``).join(' → ')} form a cycle, so no table can be created first on a peer; ` +
        'drop one of these foreign keys before init (and add it back later through OurSQL)',
      );
    }
    ready.sort();
    for (const t of ready) {
      order.push(t);
      done.add(t);
      remaining.delete(t);
    }
  }
  return order;
}

function findCycle(nodes: string[], parents: Map<string, Set<string>>): string[] {
  const inSet = new Set(nodes);
  const path: string[] = [];
  let t = nodes[0];
  while (!path.includes(t)) {
    path.push(t);
    t = [...parents.get(t)!].find((p) => inSet.has(p))!;
  }
  return [...path.slice(path.indexOf(t)), t];
}

// ---------------------------------------------------------------------------------------------
// rows

async function importRows(exec: SqlExecutor, info: TableInfo, limits: Limits, chain: RefChain, sign: (sql: SqlPart) => Tx): Promise<number> {
  const cols = dataColumns(info);
  const pkIdx = info.primaryKey.map((k) => cols.findIndex((c) => c.name === k));
  const selfFks = await selfForeignKeys(exec, info, cols);
  const batcher = new RowBatcher(info, cols, pkIdx, limits, chain, sign);
  let count = 0;
  let reported = 0;
  const progress = (n: number) => {
    if (n - reported >= PROGRESS_ROWS) {
      limits.log(`import: \`${info.name}\`: ${n} rows read…`);
      reported = n;
    }
  };
  if (selfFks.length > 0) {
    // rows that reference rows of the same table must come after them
    const all: SqlValue[][] = [];
    await readRows(exec, info, cols, pkIdx, (batch) => {
      for (const row of batch) all.push(row);
      progress(all.length);
    });
    for (const row of orderSelfReferences(info, all, selfFks)) batcher.add(row);
    count = all.length;
  } else {
    await readRows(exec, info, cols, pkIdx, (batch) => {
      for (const row of batch) batcher.add(row);
      count += batch.length;
      progress(count);
    });
  }
  batcher.flush();
  return count;
}

/** Reads every row as values of `cols` (FLOAT through DOUBLE), in primary key order. */
async function readRows(exec: SqlExecutor, info: TableInfo, cols: ColumnDef[], pkIdx: number[], each: (rows: SqlValue[][]) => void): Promise<void> {
  const list = cols.map((c) => (c.dataType === 'float' ? `CAST(${quoteIdent(c.name)} AS DOUBLE)` : quoteIdent(c.name))).join(', ');
  const from = `SELECT ${list} FROM ${quoteIdent(info.name)}`;
  if (pkIdx.length === 0) {
    each((await exec.query(from)).rows);
    return;
  }
  const orderBy = ` ORDER BY ${info.primaryKey.map(quoteIdent).join(', ')}`;
  const keyset = pkIdx.every((i) => KEYSET_TYPES.has(cols[i].dataType));
  let last: SqlValue[] | null = null;
  for (let offset = 0; ; offset += READ_BATCH_ROWS) {
    let sql: string;
    if (!keyset) sql = `${from}${orderBy} LIMIT ${READ_BATCH_ROWS} OFFSET ${offset}`;
    else sql = `${from}${last ? ` WHERE ${after(cols, pkIdx, last)}` : ''}${orderBy} LIMIT ${READ_BATCH_ROWS}`;
    const rows = (await exec.query(sql)).rows;
    if (rows.length) each(rows);
    if (rows.length < READ_BATCH_ROWS) return;
    last = pkIdx.map((i) => rows[rows.length - 1][i]);
  }
}

/** `(a > x) OR (a = x AND b > y) …`: rows after key `last` in key order. */
function after(cols: ColumnDef[], pkIdx: number[], last: SqlValue[]): string {
  const terms: string[] = [];
  for (let k = 0; k < pkIdx.length; k++) {
    const eq = pkIdx.slice(0, k).map((i, j) => `${quoteIdent(cols[i].name)} = ${sqlLiteral(last[j])}`);
    terms.push(`(${[...eq, `${quoteIdent(cols[pkIdx[k]].name)} > ${sqlLiteral(last[k])}`].join(' AND ')})`);
  }
  return terms.join(' OR ');
}

interface SelfFk { name: string; from: number[]; to: number[] }

async function selfForeignKeys(exec: SqlExecutor, info: TableInfo, cols: ColumnDef[]): Promise<SelfFk[]> {
  const r = await exec.query(
    'SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE ' +
    `WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = BINARY ${sqlLiteral(info.name)} ` +
    `AND REFERENCED_TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = BINARY ${sqlLiteral(info.name)} ` +
    'ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION',
  );
  const byName = new Map<string, SelfFk>();
  const idx = (name: string) => cols.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
  for (const row of r.rows) {
    const [name, col, ref] = row.map(text);
    let fk = byName.get(name);
    if (!fk) byName.set(name, (fk = { name, from: [], to: [] }));
    fk.from.push(idx(col));
    fk.to.push(idx(ref));
  }
  return [...byName.values()].filter((fk) => fk.from.every((i) => i >= 0) && fk.to.every((i) => i >= 0));
}

const tupleKey = (row: SqlValue[], idx: number[]): string | null =>
  idx.some((i) => row[i] === null) ? null : JSON.stringify(idx.map((i) => (Buffer.isBuffer(row[i]) ? `0x${(row[i] as Buffer).toString('hex')}` : row[i])));

/** Rows in an order where a row comes after the rows of the same table it references (else key order). */
function orderSelfReferences(info: TableInfo, rows: SqlValue[][], fks: SelfFk[]): SqlValue[][] {
  const deps: number[][] = rows.map(() => []);
  for (const fk of fks) {
    const target = new Map<string, number>();
    rows.forEach((row, i) => {
      const k = tupleKey(row, fk.to);
      if (k !== null && !target.has(k)) target.set(k, i);
    });
    rows.forEach((row, i) => {
      const k = tupleKey(row, fk.from);
      const j = k === null ? undefined : target.get(k);
      if (j !== undefined && j !== i) deps[i].push(j);
    });
  }
  const out: SqlValue[][] = [];
  const state = new Uint8Array(rows.length); // 0 new, 1 on the stack, 2 placed
  for (let start = 0; start < rows.length; start++) {
    if (state[start]) continue;
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [i, next] = top;
      if (next < deps[i].length) {
        top[1]++;
        const j = deps[i][next];
        if (state[j] === 1) {
          throw new ImportError(
            `import: rows of \`${info.name}\` reference each other in a cycle (foreign key to the table itself), so they cannot be inserted one after another on a peer; ` +
            'set one of the references to NULL before init',
          );
        }
        if (state[j] === 0) {
          state[j] = 1;
          stack.push([j, 0]);
        }
      } else {
        stack.pop();
        state[i] = 2;
        out.push(rows[i]);
      }
    }
  }
  return out;
}

/** Collects rows into txs of at most maxRowsPerTx rows and ~maxTxBytes of body. */
class RowBatcher {
  private readonly head: string;
  private readonly tref: string;
  private tuples: string[] = [];
  private keys: string[] = [];
  private undo: string[] = [];
  private refs: string[] = [];
  private refSet = new Set<string>();
  private bytes = 0;
  /** Body bytes besides the rows: keys, chain, from, signature-free envelope, statement heads. */
  private readonly overhead: number;

  constructor(
    private readonly info: TableInfo,
    private readonly cols: ColumnDef[],
    private readonly pkIdx: number[],
    private readonly limits: Limits,
    private readonly chain: RefChain,
    private readonly sign: (sql: SqlPart) => Tx,
  ) {
    this.head = `INSERT INTO ${quoteIdent(info.name)} (${cols.map((c) => quoteIdent(c.name)).join(', ')}) VALUES `;
    this.tref = tableRef(info.name);
    this.overhead = 512 + jsonBytes(this.head) + 2 * jsonBytes(this.deleteHead()) + 2 * jsonBytes(this.tref);
  }

  add(row: SqlValue[]): void {
    const tuple = `(${row.map(sqlLiteral).join(', ')})`;
    let cost = jsonBytes(tuple);
    let key = '';
    let undo = '';
    let ref = '';
    if (this.pkIdx.length) {
      const values = this.pkIdx.map((i) => row[i]);
      ref = rowRef(this.info.name, values);
      if (Buffer.byteLength(ref) > MAX_REF_BYTES) {
        throw new ImportError(`import: a primary key of \`${this.info.name}\` makes a row ref longer than ${MAX_REF_BYTES} bytes (${ref.slice(0, 60)}…); OurSQL cannot replicate that row`);
      }
      key = values.length === 1 ? sqlLiteral(values[0]) : `(${values.map(sqlLiteral).join(', ')})`;
      cost += jsonBytes(key) + 2 * jsonBytes(ref) + 8;
    } else {
      const where = this.cols.map((c, i) => `${quoteIdent(c.name)} <=> ${sqlLiteral(row[i])}`).join(' AND ');
      undo = `DELETE FROM ${quoteIdent(this.info.name)} WHERE ${where} LIMIT 1`;
      cost += jsonBytes(undo);
    }
    if (this.tuples.length > 0 && (this.tuples.length >= this.limits.maxRowsPerTx || this.overhead + this.bytes + cost > this.limits.maxTxBytes)) this.flush();
    if (this.overhead + cost > MAX_TX_BYTES) {
      throw new ImportError(
        `import: a row of \`${this.info.name}\`${ref ? ` (${ref.slice(0, 80)})` : ''} needs about ${this.overhead + cost} bytes as a transaction, ` +
        `more than the ${MAX_TX_BYTES} bytes a transaction may hold; OurSQL cannot replicate it`,
      );
    }
    this.tuples.push(tuple);
    if (this.pkIdx.length) {
      this.keys.push(key);
      // two keys may print alike (`a,b`+`c` and `a`+`b,c`): a tx names each ref once
      if (!this.refSet.has(ref)) this.refs.push(ref);
      this.refSet.add(ref);
    } else {
      this.undo.push(undo);
    }
    this.bytes += cost;
  }

  flush(): void {
    if (this.tuples.length === 0) return;
    const stmts = [this.head + this.tuples.join(', ')];
    let undo: string[];
    let refs: string[];
    if (this.pkIdx.length) {
      undo = [this.deleteHead() + this.keys.join(', ') + ')'];
      refs = this.refs;
    } else {
      undo = [...this.undo].reverse();
      refs = [this.tref];
    }
    const tx = this.sign({ stmts, undo, refs, base: this.chain.base(refs) });
    if (tx.raw.length > MAX_TX_BYTES) throw new Error(`import: internal error: a transaction of ${tx.raw.length} bytes was built for \`${this.info.name}\``);
    this.tuples = [];
    this.keys = [];
    this.undo = [];
    this.refs = [];
    this.refSet = new Set();
    this.bytes = 0;
  }

  private deleteHead(): string {
    const cols = this.pkIdx.map((i) => quoteIdent(this.cols[i].name));
    return `DELETE FROM ${quoteIdent(this.info.name)} WHERE ${cols.length === 1 ? cols[0] : `(${cols.join(', ')})`} IN (`;
  }
}
