/**
 * node-sql-parser helpers: one parser, AST walking, literal nodes, and `toSql` — the canonical
 * text of a statement (`sqlify`, MariaDB dialect) with the fixes sqlify needs to print SQL that
 * MariaDB runs as parsed:
 *  - an INSERT's column list is printed unquoted by sqlify (`INSERT INTO t (order) ...` is a syntax
 *    error); we quote it.
 *  - the DEFAULT keyword parses as a column named DEFAULT and prints as `DEFAULT` (a column); we
 *    print the keyword.
 *  - index names in KEY/INDEX definitions and ALTER … ADD/DROP INDEX are printed unquoted; we
 *    quote them.
 *  - sqlify mutates the AST it prints (subquery wrappers); we print a copy.
 * Literals the parser cannot keep exactly (numbers beyond a double's precision, `1e3` read as a
 * column) are refused by `checkLiterals` instead of being silently changed.
 */
// The MariaDB build alone: the package's main file holds every dialect's parser (2.5 MB, with an
// 18 MB source map that tsx's source-map support reads), which took ~0.4 s of every process start.
import sqlParser from 'node-sql-parser/build/mariadb.js';
import { orderLimitStart, scanSql } from './lexer.ts';
import { WriteRefused } from './write-refused.ts';

export const { Parser } = sqlParser;
export type SqlParser = InstanceType<typeof Parser>;
export const DIALECT = { database: 'MariaDB' };
const parser = new Parser();

/** Parses exactly one statement. */
export function parseOne(sql: string): any {
  const ast = astify(parser, sql);
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw new Error(`expected one statement, got ${ast.length}`);
    return ast[0];
  }
  return ast;
}

/**
 * `parser.astify`, and UPDATE/DELETE with `ORDER BY` and/or `LIMIT`, which MariaDB runs but the
 * parser's MariaDB grammar does not read: the statement is read without them, they are read as a
 * SELECT's, and put into its AST (sqlify prints them). Throws the parser's own error otherwise.
 */
export function astify(p: SqlParser, sql: string): any {
  try {
    return p.astify(sql, DIALECT);
  } catch (e) {
    const keyword = scanSql(sql).keyword;
    const at = keyword === 'UPDATE' || keyword === 'DELETE' ? orderLimitStart(sql) : -1;
    const ast = at > 0 ? withOrderLimit(p, sql.slice(0, at), sql.slice(at)) : null;
    if (!ast) throw e;
    return ast;
  }
}

function withOrderLimit(p: SqlParser, head: string, tail: string): any {
  let stmt: any;
  let sel: any;
  try {
    stmt = single(p.astify(head, DIALECT));
    sel = single(p.astify(`SELECT 1 ${tail}`, DIALECT));
  } catch {
    return null;
  }
  if (stmt?.type !== (scanSql(head).keyword === 'UPDATE' ? 'update' : 'delete') || sel?.type !== 'select') return null;
  // the tail holds ORDER BY and LIMIT and nothing else (no FOR UPDATE, INTO, ...)
  const bare = single(p.astify('SELECT 1', DIALECT));
  bare.orderby = sel.orderby;
  bare.limit = sel.limit;
  if (!sameTree(cleanCopy(sel), cleanCopy(bare))) return null;
  stmt.orderby = sel.orderby;
  stmt.limit = sel.limit;
  return stmt;
}

const single = (ast: any): any => (Array.isArray(ast) ? (ast.length === 1 ? ast[0] : null) : ast);

/** Deep copy without location info and without the parser's derived table/column lists. */
export function cleanCopy<T>(node: T): T {
  return copyNode(node) as T;
}

/** What a JSON round trip keeps, without the text in between (several times faster on ASTs). */
function copyNode(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'number' && !Number.isFinite(v) ? null : v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = dropped(v[i]) ? null : copyNode(v[i]);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    if (k === 'loc' || k === 'tableList' || k === 'columnList') continue;
    const c = (v as Record<string, unknown>)[k];
    if (!dropped(c)) out[k] = copyNode(c);
  }
  return out;
}
const dropped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/** Visits every object in the tree (depth first, parents before children). */
export function walk(node: any, visit: (n: any, parent: any, key: string | number | null) => void | 'skip'): void {
  const go = (n: any, parent: any, key: string | number | null) => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach((c, i) => go(c, n, i));
      return;
    }
    if (visit(n, parent, key) === 'skip') return;
    for (const k of Object.keys(n)) if (k !== 'loc') go(n[k], n, k);
  };
  go(node, null, null);
}

const literalCache = new Map<string, any>();
/** The AST node node-sql-parser makes of one literal (so our rewrites look like parsed SQL). */
export function literalNode(sqlText: string): any {
  // plain integers (auto-increment ids, mostly): the node the parser makes, without parsing
  if (/^(0|[1-9][0-9]{0,14})$/.test(sqlText)) return { type: 'number', value: Number(sqlText) };
  let n = literalCache.get(sqlText);
  if (!n) {
    n = cleanCopy(parseOne(`SELECT ${sqlText}`).columns[0].expr);
    if (literalCache.size > 1000) literalCache.clear();
    literalCache.set(sqlText, n);
  }
  return cleanCopy(n);
}

/** Name of a function call node, upper case ('' when not a plain function). */
export function funcName(n: any): string {
  if (n?.type !== 'function') return '';
  const parts = n.name?.name;
  if (!Array.isArray(parts) || parts.length === 0) return '';
  return parts.map((p: any) => String(p.value)).join('.').toUpperCase();
}

/** True for the DEFAULT keyword (which the parser reads as a column named DEFAULT). */
export function isDefaultKeyword(n: any): boolean {
  return (n?.type === 'column_ref' && n.table == null && typeof n.column === 'string' && n.column.toUpperCase() === 'DEFAULT') ||
    (n?.type === 'origin' && String(n.value).toUpperCase() === 'DEFAULT');
}

/** Column name of a column_ref ('' when the column is not a plain name). */
const LITERALS = new Set([
  'number', 'bigint', 'single_quote_string', 'double_quote_string', 'natural_string', 'hex_string', 'full_hex_string',
  'bit_string', 'timestamp', 'datetime', 'date', 'time', 'null', 'bool', 'boolean',
]);

/** A literal value (a negative number too). */
export function isLiteral(n: any): boolean {
  if (n && n.type === 'unary_expr' && n.operator === '-') return isLiteral(n.expr);
  return !!n && LITERALS.has(n.type);
}

/**
 * A list of keys, `c IN (literals)` or `(a, b) IN ((literals), …)`: its column names, else null.
 * (What the origin limits an UPDATE/DELETE to, plan.ts; what step 2 accepts in its place, match.ts.)
 */
export function keyListColumns(n: any): string[] | null {
  if (n?.type !== 'binary_expr' || n.operator !== 'IN' || n.right?.type !== 'expr_list' || !n.right.value?.length) return null;
  const cols: any[] | null = n.left?.type === 'column_ref' ? [n.left] : n.left?.type === 'expr_list' ? n.left.value : null;
  if (!cols?.length || !cols.every((c) => c?.type === 'column_ref' && columnName(c))) return null;
  const tupleOk = (v: any) => (cols.length === 1 ? isLiteral(v) : v?.type === 'expr_list' && v.value?.length === cols.length && v.value.every(isLiteral));
  return n.right.value.every(tupleOk) ? cols.map(columnName) : null;
}

export function columnName(n: any): string {
  if (n?.type !== 'column_ref') return '';
  const c = n.column;
  if (typeof c === 'string') return c;
  if (c?.expr && typeof c.expr.value === 'string') return c.expr.value;
  return '';
}

function fixForPrint(ast: any): any {
  const copy = cleanCopy(ast);
  walk(copy, (n, parent, key) => {
    if ((n.type === 'insert' || n.type === 'replace') && Array.isArray(n.columns)) {
      n.columns = n.columns.map((c: any) => (typeof c === 'string' ? { type: 'backticks_quote_string', value: c } : c));
    }
    if (parent && key !== null && n.type === 'column_ref' && isDefaultKeyword(n)) parent[key] = { type: 'origin', value: 'DEFAULT' };
    // index names of KEY/INDEX definitions and ALTER … ADD/DROP INDEX are printed unquoted
    // (`ADD INDEX order (a)` is a syntax error); names keep the parser's doubled backticks
    if (n.resource === 'index' && typeof n.index === 'string' && !n.index.startsWith('`')) n.index = '`' + n.index + '`';
  });
  return copy;
}

/** Canonical SQL text of a statement AST. */
export function toSql(ast: any): string {
  return parser.sqlify(fixForPrint(ast), DIALECT);
}

/** Same shape for comparing: no locations, INSERT column lists as plain names, DEFAULT and ASC as one form. */
export function normalized(ast: any): any {
  const copy = cleanCopy(ast);
  walk(copy, (n, parent, key) => {
    if ((n.type === 'insert' || n.type === 'replace') && Array.isArray(n.columns)) {
      n.columns = n.columns.map((c: any) => (typeof c === 'string' ? c : c.value));
    }
    if (parent && key !== null && isDefaultKeyword(n)) parent[key] = { type: 'keyword', value: 'DEFAULT' };
    // sqlify prints some ORDER BYs (UPDATE's, DELETE's, subqueries') with ASC spelled out
    if (Array.isArray(n.orderby)) for (const o of n.orderby) if (o && o.type == null) o.type = 'ASC';
    // `t`.`c` keeps the quoted table as an object, t.c as a string
    if (n.type === 'column_ref' && n.table && typeof n.table === 'object' && n.table.type === 'backticks_quote_string') n.table = n.table.value;
  });
  return copy;
}

/** Structural equality of two normalized ASTs (key order and undefined vs absent ignored). */
export function sameTree(a: any, b: any): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    // the parser keeps numbers as JS numbers or as text depending on size; 1 and "1" are the same literal
    if ((typeof a === 'number' || typeof a === 'string') && (typeof b === 'number' || typeof b === 'string')) return String(a) === String(b);
    return (a ?? null) === (b ?? null);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => sameTree(x, b[i]));
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!sameTree(a[k] ?? null, b[k] ?? null)) return false;
  return true;
}

/**
 * The canonical text, checked: it must parse back to the same statement. Throws WriteRefused
 * when sqlify would print something that means another statement.
 */
export function toCheckedSql(ast: any): string {
  const text = toSql(ast);
  let back: any;
  try {
    back = parseOne(text);
  } catch (e) {
    throw new WriteRefused(`OurSQL cannot print this statement in a form its parser reads back (${(e as Error).message.split('\n')[0]}); please simplify it`);
  }
  if (!sameTree(normalized(back), normalized(ast))) {
    throw new WriteRefused('OurSQL cannot print this statement in canonical form without changing it; please simplify it');
  }
  return text;
}

const DIGITS_DOUBLE_KEEPS = 15;
const EXPONENT_AS_COLUMN = /^[0-9]+e[0-9]*$/i;

/**
 * Refuses literals node-sql-parser does not keep exactly: it reads numbers with a fraction (and
 * negative integers) through a JS double, so `0.1234567890123456789` would be replayed as
 * `0.1234567890123456774`; and it reads `1e3` / `1e-3` as a column named `1e3` / `1e`.
 */
export function checkLiterals(ast: any): void {
  walk(ast, (n) => {
    if (n.type === 'number') {
      const v = n.value;
      if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) throw lossy(String(v));
      if (typeof v === 'string' && /^[+-]?[0-9]*\.?[0-9]*$/.test(v)) {
        const digits = v.replace(/[^0-9]/g, '').replace(/^0+/, '');
        if (digits.length > DIGITS_DOUBLE_KEEPS) throw lossy(v);
      }
    }
    if (n.type === 'column_ref' && n.table == null && typeof n.column === 'string' && EXPONENT_AS_COLUMN.test(n.column)) {
      throw new WriteRefused(`OurSQL's SQL parser reads the number ${n.column}… as a column name; write it with a decimal point (for example 1.0e3) or quote it`);
    }
  });
}

function lossy(v: string): WriteRefused {
  return new WriteRefused(`the number ${v} has more digits than OurSQL's SQL parser keeps exactly; write it as a quoted string ('…') so it is stored exactly`);
}
