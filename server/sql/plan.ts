/**
 * Runs one replicated update on the client's backend connection, inside the caller's MySQL
 * transaction, and produces the `sql` part of its blockchain transaction (SPEC 2 and 4):
 * `stmts` (what every peer replays), `undo` (restores every touched row exactly, run in list
 * order) and `refs` (`table:<pk>` per row, `table:*` for DDL).
 *
 * Contract with the caller:
 *  - call inside BEGIN … COMMIT/ROLLBACK on the same connection; if executeWrite throws anything
 *    but WriteRefused, ROLLBACK (the statement may have run). WriteRefused: nothing was executed.
 *  - DDL commits implicitly (MySQL); the outcome says `ddl: true`.
 *  - planDryRun runs DML the same way (the caller rolls back after) and runs no DDL at all.
 */
import type { WriteStatement } from './classify.ts';
import { pipelined, SqlExecError, type SqlExecutor, type SqlResult } from './executor.ts';
import { checkLiterals, cleanCopy, columnName, funcName, keyListColumns, literalNode, parseOne, toCheckedSql, toSql, walk } from './ast.ts';
import { checkDmlShape, checkSessionSqlMode, determinize, toExprSql, withAutoIds, type Determinized, type SessionVars } from './determinism.ts';
import { quoteIdent, rowRef, sqlLiteral, tableRef, type SqlValue } from './literal.ts';
import { checkRowWritable, dataColumns, findColumn, type ColumnDef, type SchemaCache, type TableInfo } from './schema.ts';
import { WriteRefused } from './write-refused.ts';

export interface WriteOutcome {
  /** Canonical SQL every peer replays, in order. */
  stmts: string[];
  /** SQL that restores every touched row (or the table, for DDL) exactly, run in list order. */
  undo: string[];
  /** `table:<pk>` per touched row (composite keys joined with `,`), `table:*` for DDL. */
  refs: string[];
  /** As MySQL reported it for the executed statement (0 for a dry run of DDL). */
  affectedRows: number;
  /** LAST_INSERT_ID of the executed statement (0n when none). */
  insertId: bigint;
  /** The statement was DDL: MySQL committed the transaction around it. */
  ddl: boolean;
}

export interface WriteOptions {
  /** Rows one statement may touch (default 10,000). */
  maxRows?: number;
  /** Bytes of undo SQL one statement may need (default 900 KiB: a transaction body is at most 1 MiB). */
  maxUndoBytes?: number;
  /** The session's sql_mode and auto-increment settings, when the caller knows them. */
  session?: SessionVars;
  /**
   * The caller rolls back whatever executeWrite throws (an autocommit statement in a transaction
   * of its own): an UPDATE or DELETE of at most one row (its WHERE names the whole primary key)
   * may then run in the round trip that reads its before-image, before the checks on what it read.
   */
  rollsBackOnError?: boolean;
}

export const DEFAULT_MAX_ROWS = 10_000;
export const DEFAULT_MAX_UNDO_BYTES = 900 * 1024;

/** Rows per INSERT in the undo of DDL, and the bytes one such INSERT may grow to. */
const RESTORE_BATCH_BYTES = 64 * 1024;
const READ_BATCH_ROWS = 1000;
const CASCADING = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT']);

/** Executes a replicated update and returns what to replicate. */
export function executeWrite(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, opts: WriteOptions = {}): Promise<WriteOutcome> {
  return run(exec, write, schema, opts, false);
}

/**
 * Client-signed step 1: the same outcome, for a body to sign. DML runs (the caller ROLLBACKs
 * after); DDL is only planned: its before-image is read, nothing is executed.
 */
export function planDryRun(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, opts: WriteOptions = {}): Promise<WriteOutcome> {
  return run(exec, write, schema, opts, true);
}

interface Limits { maxRows: number; maxUndoBytes: number; session?: SessionVars; rollsBackOnError?: boolean }

const limitsOf = (opts: WriteOptions): Limits => ({ ...opts, maxRows: opts.maxRows ?? DEFAULT_MAX_ROWS, maxUndoBytes: opts.maxUndoBytes ?? DEFAULT_MAX_UNDO_BYTES });

async function run(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, opts: WriteOptions, dryRun: boolean): Promise<WriteOutcome> {
  const limits = limitsOf(opts);
  switch (write.kind) {
    case 'insert':
    case 'replace':
    case 'update':
    case 'delete':
      checkDmlShape(write.ast, write.kind);
      // a definition cached before someone else's ALTER: read it again once
      for (let attempt = 0; ; attempt++) {
        try {
          return write.kind === 'insert' || write.kind === 'replace'
            ? await writeInsert(exec, write, schema, limits)
            : await writeUpdateDelete(exec, write, schema, limits);
        } catch (e) {
          // (not once the statement ran: the caller must roll it back first, see RanBeforeStale)
          if (attempt === 0 && (e instanceof StaleSchema || (e instanceof SqlExecError && e.errno === 1054 && (e as any).beforeExecution))) {
            schema.invalidate(write.table);
            continue;
          }
          throw e;
        }
      }
    case 'create-table':
      return createTable(exec, write, schema, dryRun, limits);
    default:
      return otherDdl(exec, write, schema, limits, dryRun);
  }
}

/** The canonical text; `known` when the statement's shape already passed toCheckedSql's read-back. */
const canonicalSql = (ast: any, known: boolean | undefined): string => (known ? toSql(ast) : toCheckedSql(ast));

// ---------------------------------------------------------------------------------------------
// UPDATE / DELETE

let selectForUpdateAst: any;
const selectForUpdate = () => (selectForUpdateAst ??= parseOne('SELECT * FROM t WHERE 1 FOR UPDATE'));

async function writeUpdateDelete(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, limits: Limits): Promise<WriteOutcome> {
  const info = await schema.require(exec, write.table);
  checkRowWritable(info);
  checkForeignKeys(info, write);
  const det = await determinize(exec, write, info, schema, limits.session);
  const ast = det.ast;
  const entry = (write.kind === 'delete' ? ast.from : ast.table)[0];
  const cols = dataColumns(info);
  const sql = canonicalSql(ast, write.printable && !det.rewritten);

  // the before-image: exactly the rows the statement touches, locked
  const sel = cleanCopy(selectForUpdate());
  sel.from = [{ db: null, table: entry.table, as: entry.as ?? null }];
  sel.where = ast.where ?? null;
  // One row at most, or else replicated limited to its keys (below): read in a total order, so
  // the same statement and its keyed form read their rows in the same order.
  const byKey = namesWholeKey(ast.where, info);
  sel.orderby = byKey ? ast.orderby ?? null : totalOrder(ast.orderby, info, entry.as ?? null);
  const userLimit = ast.limit?.value?.length ? BigInt(String(ast.limit.value[0].value)) : null;
  const cap = BigInt(limits.maxRows + 1);
  sel.limit = { seperator: '', value: [{ type: 'number', value: Number(userLimit !== null && userLimit < cap ? userLimit : cap) }] };
  const select = (list: string) => toSql(sel).replace(/^SELECT \* /, `SELECT ${list} `);
  // One row at most: the statement goes in the before-image's round trip (the read runs first, and
  // locks the row); the caller rolls it back if anything below refuses it.
  let ran: SqlResult | undefined;
  let rows: SqlValue[][];
  if (limits.rollsBackOnError && byKey) {
    const read = selectRows(info);
    const [image, result] = await pipelined(exec, [select(read.list), sql]);
    // an unknown column may be a stale definition too: the caller rolls back and runs it step by step
    if (image instanceof SqlExecError) throw image.errno === 1054 ? new RanBeforeStale(image.message) : image;
    rows = rowsRead(info, read, image, true);
    if (result instanceof SqlExecError) throw result;
    ran = result;
  } else rows = await readRows(exec, info, select);
  if (rows.length > limits.maxRows) {
    throw new WriteRefused(`this ${write.kind.toUpperCase()} would touch more than ${limits.maxRows} rows, OurSQL's limit for one statement; split it into smaller ones`, 'limit');
  }
  if (det.perRowInSet && rows.length > 1) {
    throw new WriteRefused(
      `${det.perRowInSet} gives a new value for every row, which cannot be made deterministic in an UPDATE that touches ${rows.length} rows; compute the value in the application, or update one row per statement`,
      'nonDeterministic',
    );
  }

  const pkIdx = info.primaryKey.map((k) => cols.findIndex((c) => c.name === k));
  const keyOf = (row: SqlValue[]) => pkIdx.map((i) => row[i]);
  const undo: string[] = [];
  if (write.kind === 'delete') {
    for (const row of [...rows].reverse()) undo.push(insertSql(info.name, cols, [row]));
  } else if (rows.length > 1 && touchesUniqueKey(info, ast) && info.referencedBy.length === 0) {
    // per-row restores could collide on a UNIQUE key midway (u = u + 1): remove, then put back
    undo.push(`DELETE FROM ${quoteIdent(info.name)} WHERE ${rows.map((r) => `(${keyWhere(info, keyOf(r))})`).join(' OR ')}`);
    for (const chunk of chunkRows(info.name, cols, rows)) undo.push(chunk);
  } else {
    const setCols = cols.map((c, i) => ({ c, i })).filter(({ c }) => !info.primaryKey.includes(c.name));
    for (const row of [...rows].reverse()) {
      if (setCols.length === 0) continue;
      undo.push(`UPDATE ${quoteIdent(info.name)} SET ${setCols.map(({ c, i }) => `${quoteIdent(c.name)} = ${sqlLiteral(row[i])}`).join(', ')} WHERE ${keyWhere(info, keyOf(row))}`);
    }
  }
  checkUndoSize(undo, limits, write.kind);

  const res = ran ?? (await exec.query(sql));
  if (write.kind === 'delete' ? res.affectedRows !== rows.length : res.affectedRows > rows.length) {
    throw new Error(`OurSQL: the ${write.kind.toUpperCase()} changed ${res.affectedRows} rows but ${rows.length} were read before it; something changed underneath, roll back and retry`);
  }
  return {
    // A WHERE that does not pin one row by its primary key picks rows by what they hold, and a
    // peer may hold other rows than the origin did (txs it has not seen, another branch): what
    // every peer replays is also limited to the rows the origin touched, which refs and undo describe.
    stmts: [rows.length === 0 || byKey ? sql : toSql({ ...ast, where: keyedWhere(ast.where, info, rows.map(keyOf)) })],
    undo,
    refs: unique(rows.map((r) => rowRef(info.name, keyOf(r)))),
    affectedRows: res.affectedRows,
    insertId: res.insertId,
    ddl: false,
  };
}

export function checkForeignKeys(info: TableInfo, write: Pick<WriteStatement, 'kind' | 'ast'>): void {
  const rule = (fk: TableInfo['referencedBy'][number]) => (write.kind === 'update' ? fk.onUpdate : fk.onDelete);
  const cascading = info.referencedBy.filter((fk) => CASCADING.has(rule(fk).toUpperCase()));
  if (cascading.length === 0) return;
  if (write.kind === 'update' && !touchesUniqueKey(info, write.ast)) return; // referenced columns are keys: unchanged
  const fk = cascading[0];
  throw new WriteRefused(
    `foreign key ${fk.constraint} of table \`${fk.table}\` would ${rule(fk)} rows of \`${fk.table}\` when this ${write.kind.toUpperCase()} runs; ` +
    'OurSQL cannot replicate or undo those changes: change the child rows explicitly first (or use ON DELETE/UPDATE RESTRICT)',
  );
}

/** The UPDATE sets a column of a UNIQUE key (other than the primary key, whose change is refused). */
function touchesUniqueKey(info: TableInfo, ast: any): boolean {
  const set = new Set<string>((ast.set ?? []).map((s: any) => String(s.column).toLowerCase()));
  return info.uniqueKeys.some((k) => k.columns.some((c) => set.has(c.toLowerCase())));
}

// ---------------------------------------------------------------------------------------------
// INSERT / REPLACE

/** What an INSERT/REPLACE is before it runs: its table, determinized statement and key expressions. */
interface InsertPlan { info: TableInfo; det: Determinized; cols: ColumnDef[]; pkCols: ColumnDef[]; pkExprs: string[][] }

async function planInsert(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, limits: Limits): Promise<InsertPlan> {
  const info = await schema.require(exec, write.table);
  checkRowWritable(info);
  if (write.kind === 'replace') {
    if (info.uniqueKeys.length > 0) {
      throw new WriteRefused(
        `REPLACE on \`${info.name}\`, which has UNIQUE keys besides its primary key (${info.uniqueKeys.map((k) => k.name).join(', ')}), may delete other rows than the one with the same key; ` +
        'OurSQL v1 refuses it: DELETE the old row and INSERT the new one in one transaction',
      );
    }
    checkForeignKeys(info, { ...write, kind: 'delete' });
  }
  const det = await beforeExecution(() => determinize(exec, write, info, schema, limits.session));
  const rows = det.rows!;
  if (rows.count > limits.maxRows) {
    throw new WriteRefused(`this ${write.kind.toUpperCase()} writes ${rows.count} rows, more than ${limits.maxRows}, OurSQL's limit for one statement; split it into smaller ones`, 'limit');
  }
  const cols = dataColumns(info);
  const pkCols = info.primaryKey.map((k) => findColumn(info, k)!);
  return { info, det, cols, pkCols, pkExprs: pkExpressions(info, det, pkCols) };
}

async function writeInsert(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, limits: Limits): Promise<WriteOutcome> {
  const { info, det, cols, pkCols, pkExprs } = await planInsert(exec, write, schema, limits);

  // REPLACE: the rows it will replace, locked
  let old: SqlValue[][] = [];
  if (write.kind === 'replace') {
    const conds = pkExprs
      .filter((_, r) => !det.auto?.assigned[r])
      .map((e) => `(${pkCols.map((c, i) => `${quoteIdent(c.name)} = (${e[i]})`).join(' AND ')})`);
    if (conds.length > 0) {
      old = await readRows(exec, info, (list) => `SELECT ${list} FROM ${quoteIdent(info.name)} WHERE ${unique(conds).join(' OR ')} FOR UPDATE`);
    }
  }

  const executed = canonicalSql(det.ast, write.printable && !det.rewritten);
  // Keys known as given need no read; others that need no AUTO_INCREMENT id are read in the INSERT's round trip.
  const literal = det.auto ? null : integerKeys(pkCols, pkExprs);
  const reads = det.auto || literal ? undefined : keyReads(info, pkCols, pkExprs);
  let res: SqlResult;
  let readBack: SqlResult[] | undefined;
  if (reads) {
    const [r, ...back] = await pipelined(exec, [executed, ...reads]);
    if (r instanceof SqlExecError) throw r;
    const failed = back.find((b) => b instanceof SqlExecError);
    if (failed) throw failed;
    [res, readBack] = [r, back as SqlResult[]];
  } else res = await exec.query(executed);
  let stmt = executed;
  if (det.auto) {
    if (res.insertId === 0n) throw new Error('OurSQL: MySQL assigned no AUTO_INCREMENT id to the inserted rows; roll back');
    const filled = withAutoIds(det, res.insertId);
    // integers put in place of what MySQL assigned print as they read: no read-back needed
    stmt = canonicalSql(filled.ast, !filled.needsCheck);
    filled.ids.forEach((id, r) => {
      if (id !== null) pkCols.forEach((c, i) => c.name === det.auto!.column.name && (pkExprs[r][i] = id.toString()));
    });
  }

  // the keys of the new rows, in the server's text form
  const keys = literal ?? (readBack ? keysRead(readBack, pkExprs.length) : await readKeys(exec, info, pkCols, pkExprs, det));
  const pkIdx = info.primaryKey.map((k) => cols.findIndex((c) => c.name === k));
  const newRefs = unique(keys.map((k) => rowRef(info.name, k)));
  const oldRefs = old.map((r) => rowRef(info.name, pkIdx.map((i) => r[i])));
  const undo = deleteNewRows(info, keys);
  for (const row of old) undo.push(insertSql(info.name, cols, [row]));

  return {
    stmts: [stmt],
    undo,
    refs: unique([...newRefs, ...oldRefs]),
    affectedRows: res.affectedRows,
    insertId: res.insertId,
    ddl: false,
  };
}

/** The undo of new rows: one DELETE per distinct key, the last written first. */
function deleteNewRows(info: TableInfo, keys: SqlValue[][]): string[] {
  const undo: string[] = [];
  const seen = new Set<string>();
  for (const k of [...keys].reverse()) {
    const ref = rowRef(info.name, k);
    if (seen.has(ref)) continue;
    seen.add(ref);
    undo.push(`DELETE FROM ${quoteIdent(info.name)} WHERE ${keyWhere(info, k)}`);
  }
  return undo;
}

/** An INSERT planned before it runs: the SQL to run, and the outcome it has if it succeeds. */
export interface InsertAhead {
  /** The INSERT to run; when `outcome.insertId` is not 0n, right after `SET insert_id = <insertId>`. */
  sql: string;
  outcome: WriteOutcome;
}

/**
 * Plans an INSERT whose new rows' keys are known before it runs, so that the caller can send it,
 * its pool entry and the COMMIT in one round trip. Keys are known when they are integer literals
 * in a table without AUTO_INCREMENT, or when the key is the AUTO_INCREMENT column alone and the
 * caller reserves the ids (`reserveIds(table, rows)`, the first of `rows` consecutive ids): the
 * INSERT then runs right after `SET insert_id`, so MySQL assigns exactly those and LAST_INSERT_ID() is
 * what the client would see without OurSQL. Null when the keys cannot be known ahead (executeWrite
 * then runs the statement). If the INSERT fails (a reserved id taken meanwhile, a duplicate key),
 * nothing of it stays: the caller rolls back and may run executeWrite.
 */
export async function planInsertAhead(
  exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, reserveIds: (table: string, rows: number) => bigint | null, opts: WriteOptions = {},
): Promise<InsertAhead | null> {
  if (write.kind !== 'insert') return null;
  checkDmlShape(write.ast, write.kind);
  const limits = limitsOf(opts);
  const { info, det, pkCols, pkExprs } = await planInsert(exec, write, schema, limits);
  const executed = canonicalSql(det.ast, write.printable && !det.rewritten);
  const count = det.rows!.count;
  const auto = det.auto;
  if (!auto) {
    // an explicit value in an AUTO_INCREMENT column: MySQL's reply tells the client which id, so it runs as usual
    const keys = info.autoIncrement ? null : integerKeys(pkCols, pkExprs);
    if (!keys) return null;
    return { sql: executed, outcome: insertOutcome(info, executed, keys, count, 0n) };
  }
  if (auto.increment !== 1n || pkCols.length !== 1 || pkCols[0].name !== auto.column.name || !auto.assigned.every(Boolean)) return null;
  const first = reserveIds(info.name, count);
  if (first === null) return null;
  const filled = withAutoIds(det, first);
  const keys = filled.ids.map((id) => [id!.toString()]);
  return { sql: executed, outcome: insertOutcome(info, canonicalSql(filled.ast, !filled.needsCheck), keys, count, first) };
}

function insertOutcome(info: TableInfo, stmt: string, keys: SqlValue[][], rows: number, insertId: bigint): WriteOutcome {
  return { stmts: [stmt], undo: deleteNewRows(info, keys), refs: unique(keys.map((k) => rowRef(info.name, k))), affectedRows: rows, insertId, ddl: false };
}

/** Per row, per primary key column: SQL giving its value (`DEFAULT(col)` when not given). */
export function pkExpressions(info: TableInfo, det: Pick<Determinized, 'rows' | 'auto'>, pkCols: ColumnDef[]): string[][] {
  const rows = det.rows!;
  const out: string[][] = [];
  for (let r = 0; r < rows.count; r++) {
    out.push(pkCols.map((c) => {
      if (det.auto && det.auto.assigned[r] && c.name === det.auto.column.name) return '?';
      const i = rows.columns.findIndex((n) => n.toLowerCase() === c.name.toLowerCase());
      if (i < 0) return `DEFAULT(${quoteIdent(c.name)})`;
      const e = rows.get(r, i);
      walk(e, (n) => {
        if (n.type === 'column_ref' || (n.type === 'function' && funcName(n) === 'VALUES')) {
          throw new WriteRefused(`the primary key value of \`${c.name}\` must not refer to other columns; give it as a value`);
        }
        if (n.type === 'select') throw new WriteRefused(`the primary key value of \`${c.name}\` must not be a subquery; give it as a value`);
      });
      return toExprSql(e);
    }));
  }
  return out;
}

/** The keys of rows an INSERT gave AUTO_INCREMENT ids, as the server stores them: known, or read back (one query per 200 rows). */
async function readKeys(exec: SqlExecutor, info: TableInfo, pkCols: ColumnDef[], pkExprs: string[][], det: Determinized): Promise<SqlValue[][]> {
  // a key that is just the AUTO_INCREMENT id needs no read: the id is its text form
  if (det.auto && pkCols.length === 1 && pkCols[0].name === det.auto.column.name && det.auto.assigned.every(Boolean)) {
    return pkExprs.map((e) => [e[0]]);
  }
  const results: SqlResult[] = [];
  for (const sql of keyReads(info, pkCols, pkExprs)) results.push(await exec.query(sql));
  return keysRead(results, pkExprs.length);
}

/** The queries that read the new rows' keys back, 200 rows each; each row's number comes first. */
export function keyReads(info: TableInfo, pkCols: ColumnDef[], pkExprs: string[][]): string[] {
  const list = keySelectList(pkCols);
  const out: string[] = [];
  for (let start = 0; start < pkExprs.length; start += 200) {
    out.push(pkExprs.slice(start, start + 200)
      .map((e, j) => `SELECT ${start + j}, ${list} FROM ${quoteIdent(info.name)} WHERE ${pkCols.map((c, i) => `${quoteIdent(c.name)} = (${e[i]})`).join(' AND ')}`)
      .join(' UNION ALL '));
  }
  return out;
}

/** The primary key columns as readRows prints them (FLOAT through DOUBLE: its text keeps 6 digits only). */
export function keySelectList(pkCols: readonly ColumnDef[]): string {
  return pkCols.map((c) => (c.dataType === 'float' ? `CAST(${quoteIdent(c.name)} AS DOUBLE)` : quoteIdent(c.name))).join(', ');
}

/** Each of `count` rows' key from the answers to keyReads: exactly one row each. */
export function keysRead(results: readonly SqlResult[], count: number): SqlValue[][] {
  const byRow = new Map<number, SqlValue[][]>();
  for (const res of results) {
    for (const r of res.rows) {
      const n = Number(r[0]);
      byRow.set(n, [...(byRow.get(n) ?? []), r.slice(1)]);
    }
  }
  const keys: SqlValue[][] = [];
  for (let n = 0; n < count; n++) {
    const found = byRow.get(n) ?? [];
    if (found.length !== 1) {
      throw new Error(`OurSQL: could not read back row ${n + 1} of the INSERT by its primary key (found ${found.length}); roll back`);
    }
    keys.push(found[0]);
  }
  return keys;
}

/** Bits of MariaDB's integer types: a value in range is stored exactly and prints as its decimal. */
const INTEGER_BITS: Record<string, number> = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, bigint: 64 };
const INTEGER_LITERAL = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * The values an integer column stores exactly and prints as their decimal; null for other types
 * and ZEROFILL (which pads).
 */
export function integerRange(c: ColumnDef): [bigint, bigint] | null {
  const bits = INTEGER_BITS[c.dataType];
  if (!bits || /zerofill/i.test(c.columnType)) return null;
  const unsigned = /unsigned/i.test(c.columnType);
  return unsigned ? [0n, (1n << BigInt(bits)) - 1n] : [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
}

/**
 * The keys of an INSERT or REPLACE that gave every key column as an integer literal within its
 * column's range, in the text form MySQL prints them: no read-back needed (one round trip less
 * per row write). Null when any key needs the read: other types (collations, decimals, dates
 * print their own way), ZEROFILL (pads), AUTO_INCREMENT (0 or NULL assigns an id), expressions.
 * The statement itself succeeded, and IGNORE and ON DUPLICATE KEY UPDATE are refused, so each
 * row now exists with exactly these keys.
 */
function integerKeys(pkCols: ColumnDef[], pkExprs: string[][]): SqlValue[][] | null {
  const ranges: [bigint, bigint][] = [];
  for (const c of pkCols) {
    const range = c.autoIncrement ? null : integerRange(c);
    if (!range) return null;
    ranges.push(range);
  }
  const out: SqlValue[][] = [];
  for (const row of pkExprs) {
    const key: SqlValue[] = [];
    for (let i = 0; i < row.length; i++) {
      if (!INTEGER_LITERAL.test(row[i])) return null;
      const v = BigInt(row[i]);
      if (v < ranges[i][0] || v > ranges[i][1]) return null;
      key.push(v.toString());
    }
    out.push(key);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// DDL

async function createTable(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, dryRun: boolean, limits: Limits): Promise<WriteOutcome> {
  const ast = write.ast;
  if (ast.query_expr || ast.as) {
    throw new WriteRefused('CREATE TABLE … SELECT is not supported by OurSQL v1; create the table, then insert the rows with VALUES');
  }
  if (ast.like?.table?.some((t: any) => t.db)) throw new WriteRefused('CREATE TABLE … LIKE may copy tables of the node\'s own database only');
  checkLiterals(ast);
  const sql = toCheckedSql(ast);
  await checkSessionSqlMode(exec, limits.session);
  const existing = await schema.get(exec, write.table);
  if (existing) {
    if (!ast.if_not_exists) throw new SqlExecError(1050, '42S01', `Table '${write.table}' already exists`);
    // a no-op (MySQL warns): nothing to undo
    let affectedRows = 0;
    if (!dryRun) affectedRows = (await exec.query(sql)).affectedRows;
    return { stmts: [sql], undo: [], refs: [tableRef(existing.name)], affectedRows, insertId: 0n, ddl: true };
  }
  let name = write.table;
  let affectedRows = 0;
  if (!dryRun) {
    try {
      affectedRows = (await exec.query(sql)).affectedRows;
    } finally {
      schema.invalidate(write.table);
    }
    name = (await schema.get(exec, write.table))?.name ?? name;
  } else {
    const lctn = await exec.query('SELECT @@lower_case_table_names');
    if (String(lctn.rows[0][0]) !== '0') name = name.toLowerCase();
  }
  return { stmts: [sql], undo: [`DROP TABLE ${quoteIdent(name)}`], refs: [tableRef(name)], affectedRows, insertId: 0n, ddl: true };
}

async function otherDdl(exec: SqlExecutor, write: WriteStatement, schema: SchemaCache, limits: Limits, dryRun: boolean): Promise<WriteOutcome> {
  const ast = write.ast;
  checkLiterals(ast);
  const sql = toCheckedSql(ast);
  await checkSessionSqlMode(exec, limits.session);
  schema.invalidate(write.table); // DDL is rare: read the definition fresh
  const info = await schema.get(exec, write.table);
  if (!info) {
    if (write.kind === 'drop-table' && /if exists/i.test(String(ast.prefix ?? ''))) {
      let affectedRows = 0;
      if (!dryRun) affectedRows = (await exec.query(sql)).affectedRows;
      return { stmts: [sql], undo: [], refs: [tableRef(write.table)], affectedRows, insertId: 0n, ddl: true };
    }
    if (write.kind === 'drop-table') throw new SqlExecError(1051, '42S02', `Unknown table '${write.table}'`);
    throw new SqlExecError(1146, '42S02', `Table '${write.table}' doesn't exist`);
  }
  if (info.tableType !== 'BASE TABLE') throw new WriteRefused(`\`${info.name}\` is a ${info.tableType.toLowerCase()}: OurSQL replicates DDL of ordinary tables only`);
  if (info.triggers > 0) throw new WriteRefused(`table \`${info.name}\` has triggers, which OurSQL could not restore if this ${write.kind.replace('-', ' ').toUpperCase()} is undone`);
  // (an ALTER or CREATE INDEX that only adds is undone by dropping what it added, below: no re-created table)
  const inverse = dropWhatItAdds(write, info);
  if (info.referencedBy.length > 0 && !inverse) {
    throw new WriteRefused(
      `table \`${info.name}\` is referenced by foreign key ${info.referencedBy[0].constraint} of \`${info.referencedBy[0].table}\`; ` +
      `OurSQL undoes ${write.kind.replace('-', ' ').toUpperCase()} by re-creating the table, which that foreign key forbids`,
    );
  }
  if (write.kind === 'alter-table') {
    for (const e of ast.expr ?? []) {
      if (e.action === 'rename' || e.resource === 'table') {
        throw new WriteRefused('ALTER TABLE … RENAME is not supported by OurSQL v1 (the refs of the rows would change name); create a new table and copy the rows');
      }
    }
  }

  const execute = async (): Promise<number> => {
    if (dryRun) return 0;
    try {
      return (await exec.query(sql)).affectedRows;
    } finally {
      schema.invalidate(info.name);
    }
  };
  // An ALTER or CREATE INDEX that only adds columns or named indexes is undone by dropping them
  // again: exact on every node, whatever rows it holds then. Other DDL carries a saved copy of the
  // origin's table (below); a peer, which may hold other rows, undoes it from its own copy (ddl-undo.ts).
  if (inverse) {
    if ((await exec.query(`SELECT 1 FROM ${quoteIdent(info.name)} LIMIT 1`)).rows.length) checkAlterDeterministic(ast, info);
    return { stmts: [sql], undo: [inverse], refs: [tableRef(info.name)], affectedRows: await execute(), insertId: 0n, ddl: true };
  }

  // the before-image: the definition and every row
  const undo = await tableImage(exec, info, limits.maxUndoBytes);
  if (!undo) {
    throw new WriteRefused(
      `${write.kind.replace('-', ' ').toUpperCase()} on \`${info.name}\` needs its definition and rows saved to be undoable, more than ${limits.maxUndoBytes} bytes ` +
      '(a transaction body is at most 1 MiB); empty the table with DELETEs in smaller steps first, or do this change outside OurSQL on every node',
      'limit',
    );
  }
  if (write.kind === 'alter-table' && undo.length > 2) checkAlterDeterministic(ast, info);
  return { stmts: [sql], undo, refs: [tableRef(info.name)], affectedRows: await execute(), insertId: 0n, ddl: true };
}

/**
 * The undo of a schema change that only adds, exact on any node whatever rows it holds:
 * `ALTER TABLE t DROP INDEX …, DROP COLUMN …` for an ALTER whose every action adds a named column
 * or index, or a CREATE INDEX; else null.
 */
export function dropWhatItAdds(write: WriteStatement, info: TableInfo): string | null {
  const ast = write.ast;
  if (write.kind === 'create-index') {
    return typeof ast.index === 'string' && ast.index ? `ALTER TABLE ${quoteIdent(info.name)} DROP INDEX ${quoteIdent(ast.index)}` : null;
  }
  if (write.kind !== 'alter-table') return null;
  const indexes: string[] = [];
  const columns: string[] = [];
  for (const e of ast.expr ?? []) {
    if (e.action !== 'add' || e.if_not_exists) return null;
    if (e.resource === 'column' && columnName(e.column)) columns.push(`DROP COLUMN ${quoteIdent(columnName(e.column))}`);
    else if (e.resource === 'index' && typeof e.index === 'string' && e.index) indexes.push(`DROP INDEX ${quoteIdent(e.index)}`);
    else return null;
  }
  if (indexes.length + columns.length === 0) return null;
  return `ALTER TABLE ${quoteIdent(info.name)} ${[...indexes, ...columns.reverse()].join(', ')}`;
}

/**
 * Undo that re-creates the table of `info` as it is now: DROP, its definition, then its rows in
 * INSERTs of at most 64 KiB. null when that is more than `maxBytes`.
 */
export async function tableImage(exec: SqlExecutor, info: TableInfo, maxBytes = Infinity): Promise<string[] | null> {
  const show = await exec.query(`SHOW CREATE TABLE ${quoteIdent(info.name)}`);
  const undo = [`DROP TABLE IF EXISTS ${quoteIdent(info.name)}`, withoutAutoIncrementOption(String(show.rows[0][1]))];
  let bytes = undo.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (bytes > maxBytes) return null;
  const cols = dataColumns(info);
  const order = info.primaryKey.length ? ` ORDER BY ${info.primaryKey.map(quoteIdent).join(', ')}` : '';
  for (let offset = 0; ; offset += READ_BATCH_ROWS) {
    const batch = await readRows(exec, info, (list) => `SELECT ${list} FROM ${quoteIdent(info.name)}${order} LIMIT ${READ_BATCH_ROWS} OFFSET ${offset} FOR UPDATE`);
    for (const stmt of chunkRows(info.name, cols, batch)) {
      bytes += Buffer.byteLength(stmt);
      if (bytes > maxBytes) return null;
      undo.push(stmt);
    }
    if (batch.length < READ_BATCH_ROWS) return undo;
  }
}

/** An ALTER that fills existing rows with NOW()/UUID()/… would give every peer other values. */
function checkAlterDeterministic(ast: any, info: TableInfo): void {
  walk(ast, (n) => {
    const name = n.type === 'function' ? funcName(n) : n.type === 'column_ref' && n.table == null && typeof n.column === 'string' ? n.column.toUpperCase() : '';
    if (/^(NOW|CURRENT_TIMESTAMP|LOCALTIME|LOCALTIMESTAMP|SYSDATE|UTC_TIMESTAMP|UTC_DATE|UTC_TIME|CURDATE|CURRENT_DATE|CURTIME|CURRENT_TIME|UNIX_TIMESTAMP|RAND|UUID|UUID_SHORT|SYS_GUID|RANDOM_BYTES|USER|CURRENT_USER|CONNECTION_ID)$/.test(name)) {
      throw new WriteRefused(
        `this ALTER TABLE gives the existing rows of \`${info.name}\` a value from ${name}, which would differ on every node; ` +
        'add the column with a constant default (or NULL), set the values with UPDATE, then change the default',
        'nonDeterministic',
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * SHOW CREATE TABLE without its `AUTO_INCREMENT=N` table option: the counter is not replicated
 * state (stmts carry explicit ids, nodes' counters differ anyway), and leaving it out makes the
 * undo the same on every node and between a client-signed step 1 and step 2.
 */
export function withoutAutoIncrementOption(create: string): string {
  const end = create.lastIndexOf('\n)');
  if (end < 0) return create.replace(/ AUTO_INCREMENT=\d+/, '');
  return create.slice(0, end) + create.slice(end).replace(/ AUTO_INCREMENT=\d+/, '');
}

/** Marks MySQL errors of reads done before the statement runs (a stale schema may explain them). */
async function beforeExecution<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof SqlExecError) (e as any).beforeExecution = true;
    throw e;
  }
}

/** The table definition changed since it was cached (another connection's DDL). */
class StaleSchema extends Error {
  readonly beforeExecution = true;
}

/**
 * A cached table definition turned out stale after the statement had run behind its before-image
 * read: the caller rolls back and runs it again (executeWrite reads the definition anew).
 */
export class RanBeforeStale extends Error {
  override name = 'RanBeforeStale';
}

/** The WHERE pins every primary key column to a literal (ANDed with anything): one row at most. */
function namesWholeKey(where: any, info: TableInfo): boolean {
  if (!where || info.primaryKey.length === 0) return false;
  const pinned = new Set<string>();
  const literal = (n: any) => n?.type === 'number' || n?.type === 'single_quote_string' || n?.type === 'string';
  const visit = (n: any): void => {
    if (n?.type !== 'binary_expr') return;
    if (n.operator === 'AND') {
      visit(n.left);
      visit(n.right);
    } else if (n.operator === '=') {
      const col = columnName(n.left) || columnName(n.right);
      if (col && (literal(n.left) || literal(n.right))) pinned.add(col.toLowerCase());
    }
  };
  visit(where);
  return info.primaryKey.every((k) => pinned.has(k.toLowerCase()));
}

/**
 * Reads rows for a before-image, as values of dataColumns(info) in order. The select list is
 * `*` (so a column added since the definition was cached shows: StaleSchema, read again), then
 * FLOAT columns through DOUBLE (their text form keeps 6 digits only) and INVISIBLE columns
 * (which `*` leaves out).
 */
async function readRows(exec: SqlExecutor, info: TableInfo, sql: (selectList: string) => string): Promise<SqlValue[][]> {
  const read = selectRows(info);
  return rowsRead(info, read, await beforeExecution(() => exec.query(sql(read.list))), false);
}

/** The select list readRows reads with. */
function selectRows(info: TableInfo) {
  const visible = info.columns.filter((c) => !c.invisible);
  const extra = dataColumns(info).filter((c) => c.invisible || c.dataType === 'float');
  const list = ['*', ...extra.map((c) => (c.dataType === 'float' ? `CAST(${quoteIdent(c.name)} AS DOUBLE)` : quoteIdent(c.name)))].join(', ');
  return { visible, extra, list };
}

/** The rows of a selectRows read, as values of dataColumns(info); `ran`: the statement went out behind the read. */
function rowsRead(info: TableInfo, { visible, extra }: ReturnType<typeof selectRows>, res: SqlResult, ran: boolean): SqlValue[][] {
  const names = res.columns.slice(0, res.columns.length - extra.length).map((c) => c.name);
  if (names.length !== visible.length || names.some((n, i) => n !== visible[i].name)) {
    const message = `the definition of \`${info.name}\` changed while it was in use; run the statement again`;
    throw ran ? new RanBeforeStale(message) : new StaleSchema(message);
  }
  const index = dataColumns(info).map((c) => {
    const e = extra.indexOf(c);
    return e >= 0 ? visible.length + e : visible.indexOf(c);
  });
  return res.rows.map((r) => index.map((i) => r[i]));
}

/**
 * `(<where>) AND <keys>`: the statement's own WHERE, limited to the given keys. A key list the
 * WHERE already ends with (the client's, or this form run again by client-signed step 2) is
 * replaced, so the form is its own fixpoint.
 */
function keyedWhere(where: any, info: TableInfo, keys: SqlValue[][]): any {
  const list = keyList(info, keys);
  const rest = !where || isKeyListOn(where, info) ? null : where.type === 'binary_expr' && where.operator === 'AND' && isKeyListOn(where.right, info) ? where.left : where;
  return rest ? { type: 'binary_expr', operator: 'AND', left: { ...rest, parentheses: true }, right: list } : list;
}

/** A list of keys over exactly the primary key's columns. */
export function isKeyListOn(n: any, info: TableInfo): boolean {
  const cols = keyListColumns(n);
  return cols !== null && cols.length === info.primaryKey.length && cols.every((c, i) => c.toLowerCase() === info.primaryKey[i].toLowerCase());
}

/** `pk IN (…)` or `(a, b) IN ((…), …)` over the given keys, as the parser would make it. */
function keyList(info: TableInfo, keys: SqlValue[][]): any {
  const col = (name: string) => ({ type: 'column_ref', table: null, column: name });
  // integer keys as numbers (MySQL prints them as text)
  const integer = info.primaryKey.map((k) => INTEGER_TYPES.has(findColumn(info, k)!.dataType));
  const lit = (v: SqlValue, i: number) => literalNode(integer[i] && typeof v === 'string' && /^-?[0-9]+$/.test(v) ? v : sqlLiteral(v));
  if (info.primaryKey.length === 1) {
    return { type: 'binary_expr', operator: 'IN', left: col(info.primaryKey[0]), right: { type: 'expr_list', value: keys.map((k) => lit(k[0], 0)) } };
  }
  return {
    type: 'binary_expr',
    operator: 'IN',
    left: { type: 'expr_list', value: info.primaryKey.map(col), parentheses: true },
    right: { type: 'expr_list', value: keys.map((k) => ({ type: 'expr_list', value: k.map(lit), parentheses: true })) },
  };
}
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/** The statement's ORDER BY with the primary key columns it lacks appended. */
function totalOrder(orderby: any[] | null | undefined, info: TableInfo, alias: string | null): any[] {
  const have = new Set((orderby ?? []).map((o: any) => columnName(o.expr).toLowerCase()).filter(Boolean));
  const missing = info.primaryKey.filter((k) => !have.has(k.toLowerCase()));
  return [...(orderby ?? []), ...missing.map((k) => ({ expr: { type: 'column_ref', table: alias, column: k }, type: 'ASC' }))];
}

function keyWhere(info: TableInfo, key: SqlValue[]): string {
  return info.primaryKey.map((k, i) => `${quoteIdent(k)} = ${sqlLiteral(key[i])}`).join(' AND ');
}

function insertSql(table: string, cols: ColumnDef[], rows: SqlValue[][]): string {
  return `INSERT INTO ${quoteIdent(table)} (${cols.map((c) => quoteIdent(c.name)).join(', ')}) VALUES ${rows.map((r) => `(${r.map(sqlLiteral).join(', ')})`).join(', ')}`;
}

/** Multi-row INSERTs of at most RESTORE_BATCH_BYTES each (one row may exceed it alone). */
function chunkRows(table: string, cols: ColumnDef[], rows: SqlValue[][]): string[] {
  const out: string[] = [];
  const head = `INSERT INTO ${quoteIdent(table)} (${cols.map((c) => quoteIdent(c.name)).join(', ')}) VALUES `;
  let parts: string[] = [];
  let size = head.length;
  for (const r of rows) {
    const t = `(${r.map(sqlLiteral).join(', ')})`;
    if (parts.length > 0 && size + t.length + 2 > RESTORE_BATCH_BYTES) {
      out.push(head + parts.join(', '));
      parts = [];
      size = head.length;
    }
    parts.push(t);
    size += t.length + 2;
  }
  if (parts.length) out.push(head + parts.join(', '));
  return out;
}

function checkUndoSize(undo: string[], limits: Limits, kind: string): void {
  const bytes = undo.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (bytes > limits.maxUndoBytes) {
    throw new WriteRefused(
      `undoing this ${kind.toUpperCase()} needs ${bytes} bytes of saved rows, more than ${limits.maxUndoBytes} (a transaction body is at most 1 MiB); touch fewer rows per statement`,
      'limit',
    );
  }
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

