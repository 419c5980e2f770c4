/**
 * Makes a replicated DML statement deterministic before it runs: what a peer replays must give the
 * same rows. Non-deterministic calls (NOW(), RAND(), UUID(), ...) and implicit values from the
 * table definition (DEFAULT CURRENT_TIMESTAMP, ON UPDATE CURRENT_TIMESTAMP, expression defaults)
 * become literals, evaluated in ONE `SELECT` on the same backend session (so its time zone and
 * settings apply). AUTO_INCREMENT ids are made explicit after execution (`withAutoIds`), from the
 * ids MySQL actually assigned. What cannot be made deterministic is refused (WriteRefused) before
 * anything is executed.
 */
import type { WriteStatement } from './classify.ts';
import { SqlExecError, type SqlExecutor } from './executor.ts';
import { checkLiterals, cleanCopy, columnName, funcName, isDefaultKeyword, literalNode, parseOne, toSql, walk } from './ast.ts';
import { sqlLiteral } from './literal.ts';
import { findColumn, isPkColumn, type ColumnDef, type SchemaCache, type TableInfo } from './schema.ts';
import { WriteRefused } from './write-refused.ts';

type TimeKind = 'datetime' | 'date' | 'time' | 'unix';
type RowKind = 'double' | 'string' | 'integer' | 'bytes';

/** Same value for the whole statement (MySQL evaluates them once per statement). */
const TIME_FUNCS: Record<string, TimeKind> = {
  NOW: 'datetime', CURRENT_TIMESTAMP: 'datetime', LOCALTIME: 'datetime', LOCALTIMESTAMP: 'datetime',
  SYSDATE: 'datetime', UTC_TIMESTAMP: 'datetime',
  CURDATE: 'date', CURRENT_DATE: 'date', UTC_DATE: 'date',
  CURTIME: 'time', CURRENT_TIME: 'time', UTC_TIME: 'time',
  UNIX_TIMESTAMP: 'unix',
};
/** The niladic ones MySQL also accepts without parentheses (node-sql-parser reads some as column names). */
const BARE_TIME = new Set(['CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_TIME', 'LOCALTIME', 'LOCALTIMESTAMP', 'UTC_DATE', 'UTC_TIME', 'UTC_TIMESTAMP']);
/** A new value for every row they are evaluated on. */
const ROW_FUNCS: Record<string, RowKind> = { RAND: 'double', UUID: 'string', SYS_GUID: 'string', UUID_SHORT: 'integer', RANDOM_BYTES: 'bytes' };
/** Depend on the session or the server, or act outside the statement: never in a replicated statement. */
const SESSION_FUNCS = new Set([
  'CONNECTION_ID', 'LAST_INSERT_ID', 'DATABASE', 'SCHEMA', 'USER', 'CURRENT_USER', 'SESSION_USER', 'SYSTEM_USER',
  'CURRENT_ROLE', 'FOUND_ROWS', 'ROW_COUNT', 'VERSION', 'BENCHMARK', 'SLEEP', 'GET_LOCK', 'RELEASE_LOCK',
  'RELEASE_ALL_LOCKS', 'IS_FREE_LOCK', 'IS_USED_LOCK', 'MASTER_POS_WAIT', 'MASTER_GTID_WAIT', 'BINLOG_GTID_POS',
  'LOAD_FILE', 'NEXTVAL', 'LASTVAL', 'SETVAL', 'ENCRYPT', 'DES_ENCRYPT', 'DES_DECRYPT', 'GET_FORMAT_LOCALE',
  'WSREP_LAST_SEEN_GTID', 'WSREP_LAST_WRITTEN_GTID', 'WSREP_SYNC_WAIT_UPTO_GTID',
]);

export interface AutoIncrementPlan {
  column: ColumnDef;
  /** Per row: MySQL assigns the id (column omitted, NULL, 0 or DEFAULT). */
  assigned: boolean[];
  /** The column is missing from the column list (stmts get it added). */
  omitted: boolean;
  increment: bigint;
  offset: bigint;
}

/** An INSERT/REPLACE seen as rows of value expressions, whatever its form. */
export interface InsertRows {
  form: 'values' | 'set' | 'positional';
  /** Column names in row order (for 'positional', the table's visible columns). */
  columns: string[];
  /** Row count. */
  count: number;
  get(row: number, col: number): any;
  set(row: number, col: number, expr: any): void;
  /** Adds a column with one expression per row (not for 'positional'). */
  add(name: string, exprs: any[]): void;
}

export interface Determinized {
  /** The rewritten statement, to run now (auto-increment ids still left to MySQL). */
  ast: any;
  /** INSERT/REPLACE only. */
  rows: InsertRows | null;
  auto: AutoIncrementPlan | null;
  /** UPDATE: RAND()/UUID()… in SET were replaced by one value: allowed only when one row is touched. */
  perRowInSet: string | null;
  /** Expressions were replaced or columns added (more than the statement's own literals changed). */
  rewritten: boolean;
}

interface Pending {
  /** SQL evaluated in the values SELECT. */
  expr: string;
  /** Turns the value MySQL returned into a literal. */
  literal: (v: string | Buffer | null) => string;
  /** Where the literal goes. */
  put: (node: any) => void;
}

const isNullLiteral = (n: any) => n?.type === 'null';
const isZeroLiteral = (n: any) =>
  (n?.type === 'number' && Number(n.value) === 0) ||
  ((n?.type === 'single_quote_string' || n?.type === 'double_quote_string') && /^\s*[+-]?0*(\.0*)?\s*$/.test(String(n.value)) && String(n.value).trim() !== '');

/** Rewrites a DML statement (insert, replace, update, delete). */
/**
 * Session variables the determinizer needs, when the caller already knows them (the proxy reads
 * them once per connection and forgets them on SET / USE): saves a query per statement.
 */
export interface SessionVars {
  sqlMode: string;
  autoIncrementIncrement: string;
  autoIncrementOffset: string;
  /** Global and read-only: the same for every session of a server. */
  autoincLockMode: string;
}

/** The SELECT list that reads SessionVars, in field order. */
export const SESSION_VARS_SQL = '@@sql_mode, @@auto_increment_increment, @@auto_increment_offset, @@innodb_autoinc_lock_mode';
export function sessionVarsOf(row: readonly unknown[]): SessionVars {
  const [sqlMode, autoIncrementIncrement, autoIncrementOffset, autoincLockMode] = row.map((v) => String(v ?? ''));
  return { sqlMode, autoIncrementIncrement, autoIncrementOffset, autoincLockMode };
}

/** `owned`: `write.ast` is the caller's own copy, to be rewritten in place (no copy made). */
export async function determinize(exec: SqlExecutor, write: WriteStatement, table: TableInfo, schema: SchemaCache, vars?: SessionVars, owned = false): Promise<Determinized> {
  const ast = owned ? write.ast : cleanCopy(write.ast);
  checkDmlShape(ast, write.kind);
  checkLiterals(ast);
  const functions = await schema.storedFunctions(exec);
  const multiRowStatement = write.kind === 'update' || write.kind === 'delete' || insertRowCount(ast) > 1;

  const pending: Pending[] = [];
  let perRowInSet: string | null = null;

  // explicit non-deterministic parts of the statement
  const visitExpr = (root: any, setRoot: (x: any) => void, where: 'set' | 'values' | 'filter') => {
    walk(root, (n, parent, k) => {
      refuseSessionDependence(n, table, functions);
      const put = parent ? (lit: any) => (parent[k!] = lit) : setRoot;
      const tk = timeKind(n, table);
      if (tk) {
        pending.push({ expr: timeExpr(n), literal: timeLiteral(tk), put });
        return 'skip';
      }
      const rk = rowKind(n);
      if (rk) {
        const name = funcName(n);
        if (where === 'filter' || (where === 'values' && multiRowStatement) || write.kind === 'delete') {
          throw new WriteRefused(
            `${name}() gives a new value for every row, which cannot be made deterministic in ${where === 'filter' ? 'a WHERE/ORDER BY clause' : 'a statement that may touch several rows'}; ` +
            'compute the value in the application, or write one row per statement',
            'nonDeterministic',
          );
        }
        if (where === 'set') perRowInSet = `${name}()`;
        pending.push({ expr: toExprSql(n), literal: rowLiteral(rk), put });
        return 'skip';
      }
    });
  };

  let rows: InsertRows | null = null;
  let auto: AutoIncrementPlan | null = null;

  if (write.kind === 'update') {
    for (const s of ast.set) {
      if (isPkColumn(table, s.column)) {
        throw new WriteRefused(
          `UPDATE of primary key column \`${s.column}\` is not supported by OurSQL v1 (refs and undo name rows by their key); ` +
          'delete the row and insert it with the new key instead',
        );
      }
      const col = findColumn(table, s.column);
      if (col && isDefaultKeyword(s.value)) {
        const imp = implicitValue(col, table, functions, false);
        if (imp) {
          if (imp.perRow) perRowInSet = `the DEFAULT of \`${col.name}\``;
          pending.push({ expr: imp.expr, literal: imp.literal, put: (lit) => (s.value = lit) });
          continue;
        }
      }
      visitExpr(s.value, (x) => (s.value = x), 'set');
    }
    for (const col of table.columns) {
      if (col.onUpdateNowPrecision === null || ast.set.some((s: any) => String(s.column).toLowerCase() === col.name.toLowerCase())) continue;
      const item = { column: col.name, value: null as any, table: null };
      ast.set.push(item);
      pending.push({ expr: nowExpr(col.onUpdateNowPrecision), literal: timeLiteral('datetime'), put: (lit) => (item.value = lit) });
    }
    if (ast.where) visitExpr(ast.where, (x) => (ast.where = x), 'filter');
    visitOrderLimit(ast, table, visitExpr);
  } else if (write.kind === 'delete') {
    if (ast.where) visitExpr(ast.where, (x) => (ast.where = x), 'filter');
    visitOrderLimit(ast, table, visitExpr);
  } else {
    rows = insertRows(ast, table);
    const present = new Set(rows.columns.map((c) => c.toLowerCase()));
    for (const c of rows.columns) {
      if (!findColumn(table, c)) throw new SqlExecError(1054, '42S22', `Unknown column '${c}' in 'INSERT INTO'`);
    }
    // values given (or DEFAULT)
    const autoAssigned: boolean[] = new Array(rows.count).fill(false);
    const autoIndex = table.autoIncrement ? rows.columns.findIndex((c) => c.toLowerCase() === table.autoIncrement!.name.toLowerCase()) : -1;
    for (let r = 0; r < rows.count; r++) {
      for (let c = 0; c < rows.columns.length; c++) {
        const col = findColumn(table, rows.columns[c])!;
        const v = rows.get(r, c);
        if (c === autoIndex && (isNullLiteral(v) || isDefaultKeyword(v) || isZeroLiteral(v))) {
          autoAssigned[r] = true;
          continue;
        }
        if (isDefaultKeyword(v)) {
          if (col.generated) continue;
          const imp = implicitValue(col, table, functions, multiRowStatement);
          if (imp) {
            const row = r, cc = c;
            pending.push({ expr: imp.expr, literal: imp.literal, put: (lit) => rows!.set(row, cc, lit) });
          }
          continue;
        }
        const row = r, cc = c;
        visitExpr(v, (x) => rows!.set(row, cc, x), 'values');
      }
    }
    // columns not given
    for (const col of table.columns) {
      if (present.has(col.name.toLowerCase()) || col.generated) continue;
      if (col.autoIncrement) {
        autoAssigned.fill(true);
        continue;
      }
      const imp = implicitValue(col, table, functions, multiRowStatement);
      if (!imp) continue;
      if (rows.form === 'positional') {
        throw new WriteRefused(`column \`${col.name}\` (invisible) gets a non-deterministic default; name the columns of this INSERT and give \`${col.name}\` a value`, 'nonDeterministic');
      }
      const exprs: any[] = new Array(rows.count).fill(null);
      rows.add(col.name, exprs);
      const ci = rows.columns.length - 1;
      pending.push({
        expr: imp.expr,
        literal: imp.literal,
        put: (lit) => {
          for (let r = 0; r < rows!.count; r++) rows!.set(r, ci, cleanCopy(lit));
        },
      });
    }
    if (table.autoIncrement && autoAssigned.some(Boolean)) {
      if (rows.count > 1 && !autoAssigned.every(Boolean)) {
        throw new WriteRefused(
          `some rows of this INSERT give \`${table.autoIncrement.name}\` a value and some let MySQL assign it; OurSQL cannot know the ids MySQL assigns then: give every row an id or none`,
          'nonDeterministic',
        );
      }
      auto = { column: table.autoIncrement, assigned: autoAssigned, omitted: autoIndex < 0, increment: 1n, offset: 1n };
    }
  }

  // one SELECT for every value, and the session's sql_mode and auto-increment settings unless known
  const exprs = pending.map((p) => p.expr);
  if (!vars) exprs.push(SESSION_VARS_SQL);
  const values = exprs.length ? (await exec.query(`SELECT ${exprs.join(', ')}`)).rows[0] : [];
  const n = pending.length;
  const session = vars ?? sessionVarsOf(values.slice(n));
  const sqlMode = checkSqlMode(session.sqlMode);
  pending.forEach((p, i) => p.put(literalNode(p.literal(values[i]))));
  if (auto) {
    auto.increment = BigInt(session.autoIncrementIncrement);
    auto.offset = BigInt(session.autoIncrementOffset);
    const lockMode = session.autoincLockMode;
    if (sqlMode.includes('NO_AUTO_VALUE_ON_ZERO')) {
      // 0 is a value then, not "assign one"
      const i = rows!.columns.findIndex((c) => c.toLowerCase() === auto!.column.name.toLowerCase());
      for (let r = 0; r < rows!.count; r++) if (i >= 0 && isZeroLiteral(rows!.get(r, i))) auto.assigned[r] = false;
      if (!auto.assigned.some(Boolean)) auto = null;
      else if (rows!.count > 1 && !auto.assigned.every(Boolean)) {
        throw new WriteRefused(`some rows of this INSERT give \`${auto.column.name}\` a value and some let MySQL assign it; give every row an id or none`, 'nonDeterministic');
      }
    }
    if (auto && lockMode === '2' && auto.assigned.filter(Boolean).length > 1) {
      throw new WriteRefused(
        'the server runs with innodb_autoinc_lock_mode=2, where the ids of a multi-row INSERT need not be consecutive; insert one row per statement, or give the ids',
        'nonDeterministic',
      );
    }
  }
  return { ast, rows, auto, perRowInSet, rewritten: pending.length > 0 };
}

/**
 * sql_mode flags that change how SQL text is read: the canonical text would mean something else
 * on peers (which replay with the default mode). Returns the mode's flags.
 */
const LEXICAL_MODES = ['ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES', 'PIPES_AS_CONCAT', 'ORACLE', 'MSSQL', 'DB2', 'POSTGRESQL', 'MAXDB'];
export function checkSqlMode(mode: string | Buffer | null): string[] {
  const flags = String(mode ?? '').toUpperCase().split(',').filter(Boolean);
  const bad = flags.filter((f) => LEXICAL_MODES.includes(f));
  if (bad.length) {
    throw new WriteRefused(
      `this session's sql_mode has ${bad.join(', ')}, which changes how SQL text is read; peers replay with the default mode: SET sql_mode without ${bad.join(', ')} for updates`,
      'nonDeterministic',
    );
  }
  return flags;
}

/** Refuses DDL in a session whose sql_mode reads SQL differently (see checkSqlMode). */
export async function checkSessionSqlMode(exec: SqlExecutor, vars?: SessionVars): Promise<void> {
  checkSqlMode(vars ? vars.sqlMode : (await exec.query('SELECT @@sql_mode')).rows[0][0]);
}

/** The statement to replicate: the executed one with the ids MySQL assigned written in. */
export function withAutoIds(det: Determinized, firstId: bigint): { ast: any; ids: (bigint | null)[]; needsCheck: boolean } {
  const ast = cleanCopy(det.ast);
  const ids: (bigint | null)[] = [];
  if (!det.auto || !det.rows) return { ast, ids, needsCheck: false };
  const rows = insertRows(ast, null, det.rows.columns);
  let col = rows.columns.findIndex((c) => c.toLowerCase() === det.auto!.column.name.toLowerCase());
  // a column added to a VALUES list prints quoted like the others; in the SET form, check the text
  const needsCheck = col < 0 && rows.form !== 'values';
  if (col < 0) {
    rows.add(det.auto.column.name, new Array(rows.count).fill(null));
    col = rows.columns.length - 1;
  }
  let next = firstId;
  for (let r = 0; r < rows.count; r++) {
    if (det.auto.assigned[r]) {
      rows.set(r, col, literalNode(next.toString()));
      ids.push(next);
      next += det.auto.increment;
    } else ids.push(null);
  }
  return { ast, ids, needsCheck };
}

/** Number of rows an INSERT/REPLACE writes (1 for the SET form). */
export function insertRowCount(ast: any): number {
  if (ast.type !== 'insert' && ast.type !== 'replace') return 0;
  if (ast.values?.type === 'values') return ast.values.values.length;
  return 1;
}

/** Rows of an INSERT/REPLACE (the AST is changed through set/add). */
export function insertRows(ast: any, table: TableInfo | null, knownColumns?: string[]): InsertRows {
  if (Array.isArray(ast.set) && ast.set.length > 0 && !ast.values) {
    const set = ast.set as any[];
    return {
      form: 'set',
      columns: set.map((s) => String(s.column)),
      count: 1,
      get: (_r, c) => set[c].value,
      set: (_r, c, e) => (set[c].value = e),
      add(name, exprs) {
        set.push({ column: name, value: exprs[0], table: null });
        this.columns.push(name);
      },
    };
  }
  const list = ast.values.values as any[];
  const positional = !Array.isArray(ast.columns);
  const columns: string[] = positional
    ? knownColumns ?? (table ? table.columns.filter((c) => !c.invisible).map((c) => c.name) : [])
    : ast.columns.map((c: any) => (typeof c === 'string' ? c : String(c.value)));
  list.forEach((row, i) => {
    if (row.value.length !== columns.length) throw new SqlExecError(1136, '21S01', `Column count doesn't match value count at row ${i + 1}`);
  });
  return {
    form: positional ? 'positional' : 'values',
    columns,
    count: list.length,
    get: (r, c) => list[r].value[c],
    set: (r, c, e) => (list[r].value[c] = e),
    add(name, exprs) {
      if (positional) {
        // name every column so one can be added
        ast.columns = [...columns];
        (this as InsertRows).form = 'values';
      }
      ast.columns.push(name);
      this.columns.push(name);
      list.forEach((row, r) => row.value.push(exprs[r]));
    },
  };
}

/** Statement forms OurSQL v1 does not replicate (checked before anything is read). */
export function checkDmlShape(ast: any, kind: WriteStatement['kind']): void {
  if (ast.with) throw new WriteRefused('WITH (common table expressions) in updates is not supported by OurSQL v1; write the statement without WITH');
  if (ast.returning) throw new WriteRefused('RETURNING is not supported by OurSQL v1; read the rows with a SELECT after the update');
  if (kind === 'insert' || kind === 'replace') {
    const verb = kind.toUpperCase();
    if (ast.partition) throw new WriteRefused(`${verb} … PARTITION (…) is not supported by OurSQL v1; leave the partition to MySQL`);
    if (/\bignore\b/i.test(String(ast.prefix ?? ''))) {
      throw new WriteRefused('INSERT IGNORE is not supported by OurSQL v1 (which rows it skips is decided by the data); check for the row first, or use INSERT … and handle the duplicate-key error');
    }
    if (ast.on_duplicate_update) {
      throw new WriteRefused('INSERT … ON DUPLICATE KEY UPDATE is not supported by OurSQL v1; SELECT … FOR UPDATE the row, then INSERT or UPDATE it in the same transaction');
    }
    if (ast.values && ast.values.type !== 'values') {
      throw new WriteRefused(`${verb} … SELECT is not supported by OurSQL v1 (which rows and which ids it writes cannot be replicated exactly yet); select the rows and insert them with VALUES`);
    }
    if (!ast.values && !(Array.isArray(ast.set) && ast.set.length)) throw new WriteRefused(`this form of ${verb} is not supported by OurSQL; use VALUES or SET`);
    return;
  }
  if (kind === 'update') {
    const t = ast.table?.[0];
    if (t && String(t.table).toUpperCase() === 'IGNORE' && t.as) {
      throw new WriteRefused('UPDATE IGNORE is not supported by OurSQL v1 (which rows it skips is decided by the data); use a plain UPDATE');
    }
    if (ast.table?.length !== 1 || ast.from || ast.table[0].join) throw new WriteRefused('OurSQL replicates single-table UPDATE only; update one table per statement');
  }
  if (kind === 'delete') {
    const from = ast.from ?? [];
    if (from.length !== 1 || from[0].join) throw new WriteRefused('OurSQL replicates single-table DELETE only; delete from one table per statement');
    const name = String(from[0].table);
    const alias = from[0].as ? String(from[0].as) : null;
    for (const t of ast.table ?? []) {
      const n = String(t.table);
      if (n.toUpperCase() === 'IGNORE' || n.toUpperCase() === 'QUICK' || n.toUpperCase() === 'LOW_PRIORITY') {
        throw new WriteRefused(`DELETE ${n.toUpperCase()} is not supported by OurSQL v1; use a plain DELETE`);
      }
      if (n !== name && n !== alias) throw new WriteRefused('OurSQL replicates single-table DELETE only; delete from one table per statement');
    }
  }
  if (ast.limit?.value?.length) {
    if (!ast.orderby?.length) {
      throw new WriteRefused(
        `${kind.toUpperCase()} … LIMIT without ORDER BY touches rows in an order MySQL does not define, so peers could change other rows; add ORDER BY (OurSQL adds the primary key to make the order total)`,
        'nonDeterministic',
      );
    }
    if (ast.limit.value.length !== 1 || ast.limit.value[0].type !== 'number') throw new WriteRefused('LIMIT of a replicated statement must be one number');
  }
}

/** ORDER BY … LIMIT of UPDATE/DELETE: checked, and made total by adding the primary key. */
function visitOrderLimit(ast: any, table: TableInfo, visitExpr: (root: any, setRoot: (x: any) => void, where: 'filter') => void): void {
  if (!ast.orderby?.length) return;
  ast.orderby.forEach((o: any) => visitExpr(o.expr, (x) => (o.expr = x), 'filter'));
  if (!ast.limit?.value?.length) return;
  const alias = (ast.from ?? ast.table)?.[0]?.as ?? null;
  const have = new Set(ast.orderby.map((o: any) => columnName(o.expr).toLowerCase()).filter(Boolean));
  for (const k of table.primaryKey) {
    if (!have.has(k.toLowerCase())) ast.orderby.push({ expr: { type: 'column_ref', table: alias, column: k }, type: 'ASC' });
  }
}

function refuseSessionDependence(n: any, table: TableInfo, functions: Set<string>): void {
  if (n.type === 'var') {
    const name = `${n.prefix ?? '@'}${n.name}${n.members?.length ? '.' + n.members.join('.') : ''}`;
    throw new WriteRefused(
      n.prefix === '@@'
        ? `system variable ${name} in a replicated statement could differ between nodes; put its value in the statement`
        : `user variable ${name} in a replicated statement is not supported: its value is session state that peers do not have; put the value in the statement`,
      'nonDeterministic',
    );
  }
  if (n.type === 'function') {
    const name = funcName(n);
    if (name.includes('.')) throw new WriteRefused(`stored function ${name}() is not allowed in a replicated statement (it may read or change other data)`, 'nonDeterministic');
    if (SESSION_FUNCS.has(name)) {
      throw new WriteRefused(`${name}() depends on the session or the server, so peers would get another value; put the value in the statement`, 'nonDeterministic');
    }
    if (functions.has(name)) throw new WriteRefused(`stored function ${name}() is not allowed in a replicated statement (it may read or change other data)`, 'nonDeterministic');
    if (name === 'DEFAULT') {
      const arg = n.args?.value?.[0];
      const col = arg ? findColumn(table, columnName(arg)) : undefined;
      if (col && (col.defaultIsExpression || col.autoIncrement)) {
        throw new WriteRefused(`DEFAULT(${col.name}) is not deterministic (its default is ${col.default ?? 'AUTO_INCREMENT'}); put the value in the statement`, 'nonDeterministic');
      }
    }
  }
  if (n.type === 'column_ref' && n.table == null && typeof n.column === 'string' && n.column.toUpperCase() === 'CURRENT_USER') {
    throw new WriteRefused('CURRENT_USER depends on the session; put the value in the statement', 'nonDeterministic');
  }
  if (n.type === 'select' && Array.isArray(n.from)) {
    for (const f of n.from) {
      if (f.db) throw new WriteRefused(`a replicated statement may read tables of its own database only (not ${f.db}.${f.table})`, 'nonDeterministic');
    }
  }
}

function timeKind(n: any, table: TableInfo): TimeKind | null {
  if (n.type === 'function') {
    const name = funcName(n);
    const k = TIME_FUNCS[name];
    if (!k) return null;
    if (k === 'unix' && n.args?.value?.length) return null; // UNIX_TIMESTAMP(expr) is deterministic (its argument is rewritten)
    return k;
  }
  if (n.type === 'column_ref' && n.table == null && typeof n.column === 'string' && BARE_TIME.has(n.column.toUpperCase())) {
    if (findColumn(table, n.column)) {
      throw new WriteRefused(`\`${n.column}\` is both a column of \`${table.name}\` and a MySQL function; OurSQL's parser cannot tell them apart: rename the column`);
    }
    return TIME_FUNCS[n.column.toUpperCase()];
  }
  return null;
}

function rowKind(n: any): RowKind | null {
  if (n.type !== 'function') return null;
  const name = funcName(n);
  if (name === 'RAND' && n.args?.value?.length) {
    // RAND(column): seeded with the row's value at each call, so the same on every node
    let seededByRow = false;
    walk(n.args, (x) => void (x.type === 'column_ref' && (seededByRow = true)));
    if (seededByRow) return null;
  }
  return ROW_FUNCS[name] ?? null;
}

/** SQL that evaluates a time call (bare names get their parentheses). */
function timeExpr(n: any): string {
  if (n.type === 'column_ref') return `${String(n.column).toUpperCase()}()`;
  return toExprSql(n);
}

function nowExpr(precision: number): string {
  return precision > 0 ? `CURRENT_TIMESTAMP(${precision})` : 'CURRENT_TIMESTAMP()';
}

/** An expression as SQL text (printed by sqlify inside a SELECT). */
export function toExprSql(n: any): string {
  const sel = parseOne('SELECT 1');
  sel.columns = [{ expr: cleanCopy(n), as: null }];
  return toSql(sel).replace(/^SELECT /, '');
}

const TEMPORAL = /^-?[0-9]{1,6}(?:-[0-9]{2}-[0-9]{2})?(?: ?[0-9]{1,3}:[0-9]{2}:[0-9]{2})?(?:\.[0-9]{1,6})?$/;
const NUMBER = /^-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$/i;

function timeLiteral(kind: TimeKind): (v: string | Buffer | null) => string {
  return (v) => {
    if (v === null) return 'NULL';
    const s = String(v);
    if (kind === 'unix') {
      if (!NUMBER.test(s)) throw new Error(`unexpected UNIX_TIMESTAMP() value ${s}`);
      return s;
    }
    if (!TEMPORAL.test(s)) throw new Error(`unexpected ${kind} value ${s}`);
    return `${kind === 'datetime' ? 'TIMESTAMP' : kind === 'date' ? 'DATE' : 'TIME'} '${s}'`;
  };
}

function rowLiteral(kind: RowKind): (v: string | Buffer | null) => string {
  return (v) => {
    if (v === null) return 'NULL';
    if (Buffer.isBuffer(v)) return sqlLiteral(v);
    if (kind === 'double') {
      if (!NUMBER.test(v)) throw new Error(`unexpected double ${v}`);
      // a DOUBLE literal (not DECIMAL), and a mantissa with a point so the parser reads a number
      const [m, e] = v.toLowerCase().split('e');
      return `${m.includes('.') ? m : m + '.0'}e${e ?? '0'}`;
    }
    if (kind === 'integer') {
      if (!/^[0-9]+$/.test(v)) throw new Error(`unexpected integer ${v}`);
      return v;
    }
    return sqlLiteral(v);
  };
}

/** The literal an implicit value of a column gets (DEFAULT CURRENT_TIMESTAMP, expression defaults); null when constant. */
function implicitValue(col: ColumnDef, table: TableInfo, functions: Set<string>, multiRow: boolean):
  { expr: string; literal: (v: string | Buffer | null) => string; perRow: boolean } | null {
  if (col.defaultNowPrecision !== null) return { expr: nowExpr(col.defaultNowPrecision), literal: timeLiteral('datetime'), perRow: false };
  if (!col.defaultIsExpression || col.default === null) return null;
  let expr: any;
  try {
    expr = parseOne(`SELECT ${col.default}`).columns[0].expr;
  } catch {
    throw new WriteRefused(`the DEFAULT of column \`${col.name}\` (${col.default}) is an expression OurSQL cannot check; give \`${col.name}\` a value`, 'nonDeterministic');
  }
  let nondeterministic = false;
  let perRow = false;
  walk(expr, (n) => {
    refuseSessionDependence(n, table, functions);
    if (n.type === 'column_ref' && !(n.table == null && typeof n.column === 'string' && BARE_TIME.has(n.column.toUpperCase()))) {
      throw new WriteRefused(`the DEFAULT of column \`${col.name}\` (${col.default}) refers to other columns; give \`${col.name}\` a value`, 'nonDeterministic');
    }
    if (timeKind(n, table)) nondeterministic = true;
    if (rowKind(n)) nondeterministic = perRow = true;
  });
  if (!nondeterministic) return null;
  if (perRow && multiRow) {
    throw new WriteRefused(
      `column \`${col.name}\` defaults to ${col.default}, a new value for every row, which cannot be made deterministic for several rows; give \`${col.name}\` a value or insert one row per statement`,
      'nonDeterministic',
    );
  }
  return { expr: `(${col.default})`, literal: (v) => sqlLiteral(v), perRow };
}
