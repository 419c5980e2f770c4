/**
 * What a node checks before it replays a statement it did not plan itself (a peer's tx, a block's):
 * that every node replaying it gets the same rows, and that it changes only rows its tx names.
 *
 * Deterministic: the origin made every value literal (SPEC 4), so the statement must hold nothing
 * a node would work out for itself: NOW(), RAND(), UUID(), session functions and variables, stored
 * functions, SLEEP(), a column left to a DEFAULT CURRENT_TIMESTAMP or expression default, an ON
 * UPDATE CURRENT_TIMESTAMP column not set, an AUTO_INCREMENT id not given. The origin's own
 * determinizer (determinism.ts) is run on it and must find nothing to do.
 *
 * Its rows: a tx names the rows it changes in `refs`, and every node checks the `base` of those
 * rows only (SPEC 4, docs/sql.md "What peers replay"). A statement that reached further would
 * change rows without their base being checked, and its undo would not restore them, so the
 * nodes' databases would drift apart.
 *
 * The honest forms are proven from their text and the table's definition, with no query:
 *  - INSERT / REPLACE whose key columns are integer literals (AUTO_INCREMENT ids included, which
 *    the origin writes out): the new rows' keys are those literals, and a REPLACE (refused on
 *    tables with other UNIQUE keys) replaces only rows with the same keys;
 *  - UPDATE / DELETE whose WHERE pins the whole primary key to integer literals, or ends with a
 *    list of integer keys (`… AND id IN (3, 4)`, the form the origin limits a WHERE to).
 * Anything else is checked by MySQL on the same connection: an UPDATE / DELETE by reading, before
 * it runs and locked, the keys of every row its WHERE matches (without its ORDER BY … LIMIT, so a
 * superset); an INSERT / REPLACE by reading its rows' keys back after it ran, as the origin did.
 * Each key must be one the tx names. Keys in refs are MySQL's text form, so only integer literals
 * in integer columns are compared as text: a string key matches other text under its collation
 * ('abc' = 'ABC'), and a number matches a string column's '05'.
 *
 * An undo runs later (a fork switch), on rows that may be gone, so it cannot be checked by reading
 * them: each statement must name its rows by whole keys given as literals, and each such key must
 * be one the tx names, exactly. Integer keys are compared from their text; text and binary keys
 * as the server reads their literals (one SELECT of them), which is what an honest undo holds:
 * the values the origin read. Keys of other types (DECIMAL, dates, FLOAT...) are not compared, as
 * their literals may be written otherwise than the server prints them.
 */
import type { Connection } from 'mysql2/promise';
import { ConsensusError, sqlOf, type Tx } from '../../consensus/index.ts';
import type { Chain, ReplayChecker, StatementRowsCheck } from '../chain/engine.ts';
import type { SqlClassifier, WriteStatement } from './classify.ts';
import { cleanCopy, columnName, isLiteral, parseOne, toSql } from './ast.ts';
import { determinize, insertRows, type SessionVars } from './determinism.ts';
import { SqlExecError } from './executor.ts';
import { rowRef, type SqlValue } from './literal.ts';
import { mysql2Executor } from './mysql-executor.ts';
import { checkForeignKeys, integerRange, isKeyListOn, keyReads, keySelectList, keysRead, pkExpressions } from './plan.ts';
import { SqlRefused } from './refused.ts';
import { checkRowWritable, findColumn, isPkColumn, SchemaCache, type ColumnDef, type TableInfo } from './schema.ts';
import { WriteRefused } from './write-refused.ts';

const NO_SUCH_TABLE = 1146;
/** The engine's session as determinize sees it: its sql_mode and auto-increment settings play no part in a check. */
const ENGINE_SESSION: SessionVars = { sqlMode: '', autoIncrementIncrement: '1', autoIncrementOffset: '1', autoincLockMode: '1' };

export class ReplayCheck implements ReplayChecker {
  private readonly schema = new SchemaCache();

  constructor(private readonly classifier: SqlClassifier) {}

  /** Table definitions may have changed (a schema change ran or was undone): read them again. */
  forget(): void {
    this.schema.invalidate();
  }

  /**
   * Forgets table definitions whenever `chain` pools a schema change (a proxy client's too, which
   * the engine does not run itself) or takes its pool back; the engine calls forget() after
   * running a schema change or its undo.
   */
  watch(chain: Chain): void {
    chain.on('pool', (tx: Tx | null) => {
      if (!tx || sqlOf(tx)?.refs.some((r) => r.endsWith(':*'))) this.forget();
    });
  }

  /**
   * How to check `stmt`, a statement of a tx naming `refs`: rejects with a ConsensusError when it
   * is not deterministic, or could change a row by a form OurSQL never replicates (a key column
   * updated, a REPLACE that may delete rows by another key, …); else resolves to null when its
   * text proves it changes only rows `refs` names, or to the reads that check it. `conn` reads the
   * table's definition.
   */
  async check(conn: Connection, stmt: string, refs: readonly string[]): Promise<StatementRowsCheck | null> {
    let w: WriteStatement;
    try {
      w = this.classifier.parseWrite(stmt);
    } catch (e) {
      if (e instanceof SqlRefused) throw new ConsensusError('sql-refused', e.message, { stmt });
      throw e;
    }
    if (w.kind !== 'insert' && w.kind !== 'replace' && w.kind !== 'update' && w.kind !== 'delete') return null;
    const exec = mysql2Executor(conn);
    let info: TableInfo;
    try {
      info = await this.schema.require(exec, w.table);
    } catch (e) {
      // no such table: the statement fails by itself, and its tx with it
      if (e instanceof SqlExecError && e.errno === NO_SUCH_TABLE) return null;
      throw e;
    }
    // (a ref `table:*` names the table's definition, not its rows: its base is the last schema change's)
    const named = new Set(refs);
    try {
      checkRowWritable(info);
      // refuses forms OurSQL never replicates, session state, SLEEP(), stored functions, a key column updated
      // in place (parseWrite's AST is ours): a statement it would change is refused, so one that goes on is as it came
      const det = await determinize(exec, w, info, this.schema, ENGINE_SESSION, true);
      if (det.rewritten || det.auto) {
        throw new WriteRefused(
          'it leaves a value for each node to work out (NOW(), RAND(), UUID(), a column left to a DEFAULT CURRENT_TIMESTAMP or expression default, ' +
          'an ON UPDATE CURRENT_TIMESTAMP column not set, an AUTO_INCREMENT id not given): every node would store another one',
        );
      }
      return w.kind === 'insert' || w.kind === 'replace' ? this.insertCheck(w, info, named, stmt) : this.updateDeleteCheck(w, info, named, stmt);
    } catch (e) {
      if (e instanceof WriteRefused || e instanceof SqlExecError) throw new ConsensusError('sql-refused', `a statement of this transaction cannot be replayed: ${e.message}`, { stmt });
      throw e;
    }
  }

  /**
   * Checks the `undo` of a row-change tx naming `refs` before the tx is taken: a node runs it as it
   * came if it undoes the tx (a fork switch). Each statement must be a deterministic INSERT, UPDATE
   * or DELETE of whole keys given as literals (the forms the origin writes), and a key of integer
   * literals (quoted or not) in integer columns must be one `refs` names. Rejects with a
   * ConsensusError. (Other key types cannot be compared as text: those are held to whole keys.)
   */
  async checkUndo(conn: Connection, undo: readonly string[], refs: readonly string[]): Promise<void> {
    const named = new Set(refs);
    const exec = mysql2Executor(conn);
    for (const stmt of undo) {
      try {
        const w = this.classifier.parseWrite(stmt);
        if (w.kind !== 'insert' && w.kind !== 'update' && w.kind !== 'delete') throw new WriteRefused(`${w.kind.toUpperCase()} is not a row's undo`);
        const info = await this.schema.get(exec, w.table);
        if (!info) continue; // its statements fail here, and the tx with them
        checkRowWritable(info);
        const det = await determinize(exec, w, info, this.schema, ENGINE_SESSION, true);
        if (det.rewritten || det.auto) throw new WriteRefused('it leaves a value for each node to work out');
        const cols = info.primaryKey.map((k) => findColumn(info, k)!);
        let keys: any[][] | null;
        if (w.kind === 'insert') {
          const rows = insertRows(w.ast, info);
          const at = cols.map((c) => rows.columns.findIndex((n) => n.toLowerCase() === c.name.toLowerCase()));
          keys = at.some((i) => i < 0) ? null : Array.from({ length: rows.count }, (_, r) => at.map((i) => rows.get(r, i)));
        } else {
          const entry = (w.kind === 'delete' ? w.ast.from : w.ast.table)[0];
          keys = pinnedKeys(w.ast.where, info, new Set([String(entry.table).toLowerCase(), ...(entry.as ? [String(entry.as).toLowerCase()] : [])]));
        }
        if (!keys || keys.some((k) => !k.every(isLiteral))) throw new WriteRefused('it does not name each row it changes by its whole primary key, given as literals');
        const read: { key: any[]; texts: (string | null)[] }[] = [];
        for (const key of keys) {
          const texts = key.map((v, i) => integerText(v, cols[i]) ?? quotedIntegerText(v, cols[i]));
          if (texts.every((t) => t !== null)) requireNamed(named, rowRef(info.name, texts as string[]), stmt);
          else if (cols.every((c, i) => texts[i] !== null || TEXT_OR_BYTES.has(c.dataType))) read.push({ key, texts });
        }
        if (read.length) {
          // the literals as the server reads them when the undo runs: a ref's key, to the byte
          const literals = read.flatMap(({ key, texts }) => key.filter((_, i) => texts[i] === null));
          const row: SqlValue[] = [];
          for (let i = 0; i < literals.length; i += SELECT_AT_MOST) row.push(...(await exec.query(selectOf(literals.slice(i, i + SELECT_AT_MOST)))).rows[0]);
          let at = 0;
          for (const { key, texts } of read) {
            const values: SqlValue[] = key.map((_, i) => texts[i] ?? (row[at++] as SqlValue));
            requireNamed(named, rowRef(info.name, values), stmt);
          }
        }
      } catch (e) {
        if (e instanceof WriteRefused || e instanceof SqlExecError || e instanceof SqlRefused) {
          throw new ConsensusError('sql-refused', `undo statement refused: ${e.message}`, { stmt });
        }
        if (e instanceof ConsensusError) throw new ConsensusError(e.code, `undo statement refused: ${e.message}`, e.details);
        throw e;
      }
    }
  }

  private insertCheck(w: WriteStatement, info: TableInfo, named: Set<string>, stmt: string): StatementRowsCheck | null {
    if (w.kind === 'replace') {
      if (info.uniqueKeys.length > 0) throw new WriteRefused(`REPLACE on \`${info.name}\`, which has UNIQUE keys besides its primary key, may delete rows by those keys`);
      checkForeignKeys(info, { kind: 'delete', ast: w.ast });
    }
    const rows = insertRows(w.ast, info);
    const pkCols = info.primaryKey.map((k) => findColumn(info, k)!);
    const at = pkCols.map((c) => rows.columns.findIndex((n) => n.toLowerCase() === c.name.toLowerCase()));
    const keys: string[][] = [];
    for (let r = 0; r < rows.count; r++) {
      const key = pkCols.map((c, i) => (at[i] < 0 ? null : integerText(rows.get(r, at[i]), c)));
      if (!key.every((k): k is string => k !== null)) break;
      keys.push(key);
    }
    if (keys.length === rows.count) {
      for (const k of keys) requireNamed(named, rowRef(info.name, k), stmt);
      return null;
    }
    // other key types: the keys as the server stored them, read back as the origin did
    const reads = keyReads(info, pkCols, pkExpressions(info, { rows, auto: null }, pkCols));
    return {
      after: async (conn) => {
        const exec = mysql2Executor(conn);
        const results = await Promise.all(reads.map((q) => exec.query(q)));
        let found: SqlValue[][];
        try {
          found = keysRead(results, rows.count);
        } catch (e) {
          throw new ConsensusError('sql-refused', `a peer's ${w.kind.toUpperCase()} wrote rows that cannot be read back by their keys: ${(e as Error).message}`, { stmt });
        }
        for (const k of found) requireNamed(named, rowRef(info.name, k), stmt);
      },
    };
  }

  private updateDeleteCheck(w: WriteStatement, info: TableInfo, named: Set<string>, stmt: string): StatementRowsCheck | null {
    const ast = w.ast;
    checkForeignKeys(info, w);
    const entry = (w.kind === 'delete' ? ast.from : ast.table)[0];
    const names = new Set([String(entry.table).toLowerCase(), ...(entry.as ? [String(entry.as).toLowerCase()] : [])]);
    const keys = candidateKeys(ast.where, info, names);
    if (keys && keys.every((k) => named.has(rowRef(info.name, k)))) return null;
    // Every row the WHERE matches, locked: a superset of the rows the statement changes (its ORDER BY … LIMIT left out).
    const sel = cleanCopy(selectForUpdate());
    sel.from = [{ db: null, table: entry.table, as: entry.as ?? null }];
    sel.where = ast.where ?? null;
    const select = toSql(sel).replace(/^SELECT \* /, `SELECT ${keySelectList(info.primaryKey.map((k) => findColumn(info, k)!))} `);
    return {
      before: async (conn) => {
        const res = await mysql2Executor(conn).query(select);
        for (const row of res.rows) requireNamed(named, rowRef(info.name, row), stmt);
      },
    };
  }
}

/** Key types whose literals an honest undo writes as the server prints them (text, or bytes as X'…'). */
const TEXT_OR_BYTES = new Set([
  'char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob',
]);

const SELECT_TEMPLATE = parseOne('SELECT 1');
/** Literals one SELECT reads at most (a long undo's keys go in several). */
const SELECT_AT_MOST = 1000;
/** `SELECT <each literal>`, printed as the statements are. */
function selectOf(literals: readonly any[]): string {
  const ast = cleanCopy(SELECT_TEMPLATE);
  ast.columns = literals.map((expr) => ({ expr: cleanCopy(expr), as: null }));
  return toSql(ast);
}

function requireNamed(named: ReadonlySet<string>, ref: string, stmt: string): void {
  if (!named.has(ref)) {
    throw new ConsensusError('sql-refused', `a statement of this transaction changes row ${ref}, which its refs do not name: a transaction may change only the rows it names`, { stmt, ref });
  }
}

/**
 * The keys a WHERE limits its rows to, as the expression each primary key column is pinned to:
 * `a = 1 AND b = 2 AND …` (other conditions besides), several such joined by OR, or ending with a
 * list of keys (`… AND id IN (3, 4)`). Null when it does not limit its rows to whole keys.
 */
function pinnedKeys(where: any, info: TableInfo, tableNames: ReadonlySet<string>): any[][] | null {
  if (!where) return null;
  const list = isKeyListOn(where, info) ? where
    : where.type === 'binary_expr' && where.operator === 'AND' && isKeyListOn(where.right, info) ? where.right : null;
  if (list) return list.right.value.map((v: any) => (info.primaryKey.length === 1 ? [v] : v.value));
  if (where.type === 'binary_expr' && where.operator === 'OR') {
    const left = pinnedKeys(where.left, info, tableNames);
    const right = left && pinnedKeys(where.right, info, tableNames);
    return left && right ? [...left, ...right] : null;
  }
  const pinned = new Map<string, any>();
  const visit = (n: any): void => {
    if (n?.type !== 'binary_expr') return;
    if (n.operator === 'AND') {
      visit(n.left);
      visit(n.right);
      return;
    }
    if (n.operator !== '=') return;
    const [colNode, value] = n.left?.type === 'column_ref' ? [n.left, n.right] : [n.right, n.left];
    const qualifier = typeof colNode?.table === 'string' ? colNode.table : colNode?.table?.value;
    if (qualifier != null && !tableNames.has(String(qualifier).toLowerCase())) return;
    const c = findColumn(info, columnName(colNode));
    if (!c || !isPkColumn(info, c.name) || pinned.has(c.name.toLowerCase())) return;
    pinned.set(c.name.toLowerCase(), value);
  };
  visit(where);
  const key = info.primaryKey.map((k) => pinned.get(k.toLowerCase()));
  return key.every((v) => v !== undefined) ? [key] : null;
}

/** pinnedKeys, each as MySQL prints it, when every one is an integer literal in an integer column; else null. */
function candidateKeys(where: any, info: TableInfo, tableNames: ReadonlySet<string>): string[][] | null {
  const keys = pinnedKeys(where, info, tableNames);
  const cols = info.primaryKey.map((k) => findColumn(info, k)!);
  const out: string[][] = [];
  for (const key of keys ?? []) {
    const texts = key.map((v, i) => integerText(v, cols[i]));
    if (texts.some((t) => t === null)) return null;
    out.push(texts as string[]);
  }
  return keys ? out : null;
}

/** An integer literal as an integer column prints it, or null (another literal, another type, out of range). */
function integerText(n: any, c: ColumnDef): string | null {
  const range = integerRange(c);
  const v = range ? integerLiteral(n) : null;
  if (v === null || v < range![0] || v > range![1]) return null;
  // AUTO_INCREMENT: 0 has MySQL assign an id (unless NO_AUTO_VALUE_ON_ZERO): the key is not 0
  if (v === 0n && c.autoIncrement) return null;
  return v.toString();
}

/** `'5'`: a quoted integer as MySQL prints it (the origin quotes every value of an undo), read into an integer column. */
function quotedIntegerText(n: any, c: ColumnDef): string | null {
  if (n?.type !== 'single_quote_string' || !/^-?(0|[1-9][0-9]*)$/.test(String(n.value)) || n.value === '-0') return null;
  const range = integerRange(c);
  const v = BigInt(n.value);
  return range && v >= range[0] && v <= range[1] ? v.toString() : null;
}

function integerLiteral(n: any): bigint | null {
  if (n?.type === 'number' && typeof n.value === 'number' && Number.isSafeInteger(n.value)) return BigInt(n.value);
  if (n?.type === 'bigint' && /^-?[0-9]+$/.test(String(n.value))) return BigInt(String(n.value));
  if (n?.type === 'unary_expr' && n.operator === '-') {
    const v = integerLiteral(n.expr);
    return v === null ? null : -v;
  }
  return null;
}

let selectForUpdateAst: any;
const selectForUpdate = () => (selectForUpdateAst ??= parseOne('SELECT * FROM t WHERE 1 FOR UPDATE'));
