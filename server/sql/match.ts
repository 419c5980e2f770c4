/**
 * Client-signed step 2 (SPEC 5): "Step 2 is refused if the SQL differs from the body's". The
 * body's statement is the determinized form of the client's SQL from step 1, so the two are
 * compared as parsed statements (spacing, comments, keyword case and location info do not count),
 * allowing exactly what the determinizer adds:
 *  (a) a non-deterministic call (NOW(), CURRENT_TIMESTAMP, RAND(), UUID(), ...) or the DEFAULT
 *      keyword in the client's statement may be a literal in the body's; in an INSERT's values a
 *      NULL / 0 (an AUTO_INCREMENT id MySQL assigns) may be a number;
 *  (b) the body's INSERT/REPLACE may carry extra trailing columns with literal values in every row
 *      (AUTO_INCREMENT ids, DEFAULT CURRENT_TIMESTAMP columns);
 *  (c) the body's UPDATE may set extra trailing columns to literals (ON UPDATE CURRENT_TIMESTAMP);
 *  (d) the body's ORDER BY (of UPDATE/DELETE … LIMIT) may end with extra columns (the primary key
 *      that makes the order total);
 *  (e) the body's UPDATE/DELETE WHERE may be the client's limited to a list of keys
 *      (`(<where>) AND pk IN (…)`, or `(a, b) IN ((…), …)`; a key list the client's WHERE ends with
 *      may only lose keys): the origin limits any WHERE that does not pin one row by its whole
 *      primary key to the rows it touched. A body may so touch fewer rows than the client's
 *      statement would, never others; step 2 runs the body's statement and refuses it unless it
 *      touches the same rows, with the same before-images, as the body says.
 * Anything else different → false.
 */
import { cleanCopy, funcName, isLiteral, keyListColumns, parseOne, walk } from './ast.ts';

const NONDETERMINISTIC_CALLS = new Set([
  'NOW', 'CURRENT_TIMESTAMP', 'LOCALTIME', 'LOCALTIMESTAMP', 'SYSDATE', 'UTC_TIMESTAMP', 'CURDATE', 'CURRENT_DATE',
  'UTC_DATE', 'CURTIME', 'CURRENT_TIME', 'UTC_TIME', 'UNIX_TIMESTAMP', 'RAND', 'UUID', 'UUID_SHORT', 'SYS_GUID', 'RANDOM_BYTES',
]);
const BARE_CALLS = new Set(['CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_TIME', 'LOCALTIME', 'LOCALTIMESTAMP', 'UTC_DATE', 'UTC_TIME', 'UTC_TIMESTAMP']);

/** True when the body's statement is the client's SQL, determinized. */
export function bodyMatchesSql(bodyStmt: string, clientSql: string): boolean {
  let body: any;
  let client: any;
  try {
    body = prepare(parseOne(bodyStmt));
    client = prepare(parseOne(clientSql));
  } catch {
    return false;
  }
  if (body?.type !== client?.type) return false;
  switch (client.type) {
    case 'insert':
    case 'replace':
      return matchInsert(body, client);
    case 'update':
      return matchExcept(body, client, ['set', 'orderby', 'where']) && matchWhere(body.where, client.where) &&
        matchSet(body.set, client.set) && matchOrder(body.orderby, client.orderby);
    case 'delete':
      return matchExcept(body, client, ['orderby', 'where']) && matchWhere(body.where, client.where) && matchOrder(body.orderby, client.orderby);
    default:
      return same(body, client, false);
  }
}

/** A comparable copy: no locations; function names upper case; column names lower case (MySQL ignores their case); ASC spelled out. */
function prepare(ast: any): any {
  const copy = cleanCopy(ast);
  walk(copy, (n, parent, key) => {
    if (n.type === 'function' && Array.isArray(n.name?.name)) {
      for (const p of n.name.name) if (typeof p.value === 'string') p.value = p.value.toUpperCase();
      if (n.name.name[0]) n.name.name[0].type = 'default';
    }
    if (n.type === 'column_ref' && typeof n.column === 'string') {
      if (parent && key !== null && n.table == null && n.column.toUpperCase() === 'DEFAULT') {
        parent[key] = { type: 'keyword', value: 'DEFAULT' };
        return 'skip';
      }
      n.column = n.column.toLowerCase();
      if (n.table && typeof n.table === 'object' && n.table.type === 'backticks_quote_string') n.table = n.table.value;
    }
    if ((n.type === 'insert' || n.type === 'replace') && Array.isArray(n.columns)) {
      n.columns = n.columns.map((c: any) => String(typeof c === 'string' ? c : c.value).toLowerCase());
    }
    if (Array.isArray(n.set)) for (const s of n.set) if (typeof s.column === 'string') s.column = s.column.toLowerCase();
    // parentheses the parse tree already shows (the body's `(<where>) AND <keys>`)
    if (n.type !== 'expr_list') delete n.parentheses;
    // ORDER BY x is ORDER BY x ASC (the body's statement spells it out)
    if (Array.isArray(n.orderby)) for (const o of n.orderby) if (o && o.type == null) o.type = 'ASC';
  });
  return copy;
}

function isNondeterministicCall(n: any): boolean {
  if (n?.type === 'function') return NONDETERMINISTIC_CALLS.has(funcName(n));
  if (n?.type === 'column_ref' && n.table == null && typeof n.column === 'string') return BARE_CALLS.has(n.column.toUpperCase());
  return false;
}

const isDefault = (n: any) => n?.type === 'keyword' && n.value === 'DEFAULT';
const isAutoPlaceholder = (n: any) =>
  n?.type === 'null' || (n?.type === 'number' && Number(n.value) === 0) || (n?.type === 'single_quote_string' && n.value === '0');
const isInteger = (n: any) => (n?.type === 'number' || n?.type === 'bigint') && /^[0-9]+$/.test(String(n.value));

/** Deep equality with allowance (a): `inValues` also lets NULL/0 become an id. */
function same(body: any, client: any, inValues: boolean): boolean {
  if (body === client) return true;
  if (client !== null && typeof client === 'object' && !Array.isArray(client)) {
    if ((isNondeterministicCall(client) || isDefault(client)) && isLiteral(body)) return true;
    if (inValues && isAutoPlaceholder(client) && isInteger(body)) return true;
  }
  if (body === null || client === null || typeof body !== 'object' || typeof client !== 'object') {
    if ((typeof body === 'number' || typeof body === 'string') && (typeof client === 'number' || typeof client === 'string')) return String(body) === String(client);
    return (body ?? null) === (client ?? null);
  }
  if (Array.isArray(body) !== Array.isArray(client)) return false;
  if (Array.isArray(body)) return body.length === client.length && body.every((b, i) => same(b, client[i], inValues));
  const keys = new Set([...Object.keys(body), ...Object.keys(client)]);
  for (const k of keys) if (!same(body[k] ?? null, client[k] ?? null, inValues)) return false;
  return true;
}

function matchExcept(body: any, client: any, skip: string[]): boolean {
  const b = { ...body };
  const c = { ...client };
  for (const k of skip) {
    delete b[k];
    delete c[k];
  }
  return same(b, c, false);
}

/** Allowance (e): the client's WHERE, or the client's WHERE limited to a list of keys. */
function matchWhere(body: any, client: any): boolean {
  body ??= null;
  client ??= null;
  if (same(body, client, false)) return true;
  const [rest, keys] = splitKeys(body);
  if (!keys) return false;
  if (same(rest, client, false)) return true;
  const [clientRest, clientKeys] = splitKeys(client);
  return !!clientKeys && same(rest, clientRest, false) && same(keys.left, clientKeys.left, false) &&
    keys.right.value.every((k: any) => clientKeys.right.value.some((c: any) => same(k, c, false)));
}

/** A WHERE as [what is left, its trailing key list]: `X AND <keys>` → [X, keys], `<keys>` → [null, keys]. */
function splitKeys(where: any): [any, any] {
  if (isKeyList(where)) return [null, where];
  if (where?.type === 'binary_expr' && where.operator === 'AND' && isKeyList(where.right)) return [where.left, where.right];
  return [where, null];
}

const isKeyList = (n: any): boolean => keyListColumns(n) !== null;

function matchSet(body: any[] | null, client: any[] | null): boolean {
  body ??= [];
  client ??= [];
  if (body.length < client.length) return false;
  for (let i = 0; i < client.length; i++) if (!same(body[i], client[i], false)) return false;
  const given = new Set(client.map((s) => s.column));
  return body.slice(client.length).every((s) => !given.has(s.column) && s.table == null && isLiteral(s.value));
}

function matchOrder(body: any[] | null, client: any[] | null): boolean {
  body ??= [];
  client ??= [];
  if (body.length < client.length) return false;
  for (let i = 0; i < client.length; i++) if (!same(body[i], client[i], false)) return false;
  if (body.length > client.length && client.length === 0) return false; // only an existing ORDER BY is extended
  return body.slice(client.length).every((o) => o.expr?.type === 'column_ref' && (o.type == null || String(o.type).toUpperCase() === 'ASC'));
}

function matchInsert(body: any, client: any): boolean {
  if (!matchExcept(body, client, ['columns', 'values', 'set'])) return false;
  const clientSet = Array.isArray(client.set) && client.set.length > 0 && !client.values;
  const bodySet = Array.isArray(body.set) && body.set.length > 0 && !body.values;
  if (clientSet !== bodySet) return false;
  if (clientSet) {
    const extra = body.set.slice(client.set.length);
    return body.set.length >= client.set.length &&
      client.set.every((s: any, i: number) => same(body.set[i], s, true)) &&
      extra.every((s: any) => !client.set.some((c: any) => c.column === s.column) && isLiteral(s.value));
  }
  if (body.values?.type !== 'values' || client.values?.type !== 'values') return false;
  const cRows = client.values.values;
  const bRows = body.values.values;
  if (cRows.length !== bRows.length) return false;
  const cCols: string[] | null = client.columns ?? null;
  const bCols: string[] | null = body.columns ?? null;
  if ((cCols === null) !== (bCols === null)) return false;
  const width = cCols ? cCols.length : null;
  if (cCols && bCols) {
    if (bCols.length < cCols.length || cCols.some((c, i) => bCols[i] !== c)) return false;
    if (new Set(bCols).size !== bCols.length) return false;
  }
  for (let r = 0; r < cRows.length; r++) {
    const c = cRows[r].value;
    const b = bRows[r].value;
    if (width === null) {
      if (b.length !== c.length) return false;
    } else if (c.length !== width || b.length !== bCols!.length) return false;
    for (let i = 0; i < c.length; i++) if (!same(b[i], c[i], true)) return false;
    for (let i = c.length; i < b.length; i++) if (!isLiteral(b[i])) return false;
  }
  return true;
}
