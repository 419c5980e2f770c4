/**
 * The state digest of a block (SPEC 9): a hash of the row images the block's transactions leave,
 * so peers at the same block can tell that their data diverged (a row changed behind the node's
 * back, a server that stores a value differently, a replay bug).
 *
 * Definition (docs/protocol.md, "State digest"): for every ref the block's SQL names, the image it
 * has once the block is applied: a row ref (`table:<pk>`) → the row's column names and values as
 * the server's text protocol prints them (bytes as hex), or absent (rows whose keys give the same
 * ref text, like ('a,b','c') and ('a','b,c'), all count); a table ref (`table:*`, and the rows of a
 * table without a primary key) → `SHOW CREATE TABLE` without its AUTO_INCREMENT counter, or absent. The digest is the SHA-256 of the canonical JSON of `[[ref, image], …]`
 * sorted by ref. A row several txs of the block touch counts once, as the last one left it.
 */
import { createHash } from 'node:crypto';
import { SqlExecError, type SqlExecutor } from './executor.ts';
import { quoteIdent, rowRef, sqlLiteral, type SqlValue } from './literal.ts';

/**
 * A ref's image as JSON text, ready to hash: `null` (absent), a table definition (a JSON string),
 * or its rows. Built as text, not as arrays for JSON.stringify: a block's digest reads ~1,000 rows,
 * and the nested arrays were most of its cost. The text is what JSON.stringify would print.
 */
type ImageJson = string;
const ABSENT: ImageJson = 'null';

/** Candidate keys tried for one composite ref whose values contain commas. */
const MAX_KEY_SPLITS = 64;
/** Keys per `WHERE (pk) IN (…)`. */
const KEYS_PER_SELECT = 500;
const NO_SUCH_TABLE = 1146;

/** Primary keys by table, for reads where no table can change in between (see `stateDigest`). */
export type KeyCache = Map<string, string[] | null>;

/**
 * The digest of the images `refs` have in the connection's current database now. `keys`: primary
 * keys already read, to be reused: only while no table's definition can change, e.g. within one
 * MySQL transaction that runs no DDL and has itself written the tables (metadata locks hold them).
 * When `keys` holds every table of `refs` (`loadPrimaryKeys`), all its queries are sent before
 * this returns: a caller may queue more work on the connection without waiting.
 */
export async function stateDigest(exec: SqlExecutor, refs: Iterable<string>, keys?: KeyCache): Promise<string> {
  const byTable = new Map<string, Set<string>>();
  for (const ref of refs) {
    const colon = ref.indexOf(':');
    if (colon <= 0) continue;
    const table = ref.slice(0, colon);
    let set = byTable.get(table);
    if (!set) byTable.set(table, (set = new Set()));
    set.add(ref);
  }
  const entries: [string, ImageJson][] = [];
  // every table's reads start now, in this order; each finds its primary key first if not in `keys`
  const images = await Promise.all([...byTable].map(([table, tableRefs]) => tableImages(exec, table, tableRefs, keys)));
  for (const found of images) for (const entry of found) entries.push(entry);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // JSON.stringify([[ref, image], …]) written out
  let text = '[';
  for (let i = 0; i < entries.length; i++) text += (i ? ',[' : '[') + JSON.stringify(entries[i][0]) + ',' + entries[i][1] + ']';
  return createHash('sha256').update(text + ']').digest('hex');
}

async function tableImages(exec: SqlExecutor, table: string, refs: Set<string>, keys?: KeyCache): Promise<Map<string, ImageJson>> {
  const out = new Map<string, ImageJson>();
  let pk = keys?.get(table);
  if (pk === undefined) {
    pk = await primaryKey(exec, table);
    keys?.set(table, pk);
  }
  const rowRefs = [...refs].filter((r) => !r.endsWith(':*'));
  // The table itself (DDL), or rows that cannot be named one by one: its definition stands for them.
  // Sent now with the row reads below, awaited after them.
  const definition = pk !== null && (pk.length === 0 || rowRefs.length < refs.size) ? tableDefinition(exec, table) : undefined;
  if (pk === null || pk.length === 0) {
    const def = JSON.stringify((await definition) ?? null);
    for (const r of refs) out.set(r, def);
    return out;
  }
  /** ref → the JSON of each of its rows (two rows can share a ref: ('a,b','c') and ('a','b,c')) */
  const found = new Map<string, string[]>();
  const candidates = rowRefs.flatMap((r) => keyCandidates(r.slice(table.length + 1), pk.length));
  const selects: string[] = [];
  for (let i = 0; i < candidates.length; i += KEYS_PER_SELECT) {
    const chunk = candidates.slice(i, i + KEYS_PER_SELECT);
    // One key column: a plain IN list, which MariaDB looks up by the index (a row constructor may scan).
    const where = pk.length === 1
      ? `${quoteIdent(pk[0])} IN (${chunk.map((k) => k[0]).join(', ')})`
      : `(${pk.map(quoteIdent).join(', ')}) IN (${chunk.map((k) => `(${k.join(', ')})`).join(', ')})`;
    selects.push(`SELECT * FROM ${quoteIdent(table)} WHERE ${where}`);
  }
  const reads = Promise.all(selects.map((q) => exec.query(q)));
  reads.catch(() => {}); // awaited below; a failed definition read first must not leave it unhandled
  if (definition) {
    const def = JSON.stringify(await definition);
    for (const r of refs) out.set(r, def);
  }
  for (const r of rowRefs) out.set(r, ABSENT);
  for (const r of await reads) {
    // each column's `["name",` once per result, not once per value
    const heads = r.columns.map((c) => '[' + JSON.stringify(c.name) + ',');
    const names = r.columns.map((c) => c.name);
    const at = pk.map((k) => names.indexOf(k));
    for (const row of r.rows) {
      const ref = rowRef(table, at.map((j) => row[j]));
      if (!out.has(ref)) continue;
      let json = '[';
      for (let j = 0; j < row.length; j++) json += (j ? ',' : '') + heads[j] + valueJson(row[j]) + ']';
      json += ']';
      const rows = found.get(ref);
      if (rows) rows.push(json);
      else found.set(ref, [json]);
    }
  }
  // rows sharing a ref in an order that does not depend on how the server returned them
  for (const [ref, rows] of found) out.set(ref, '[' + (rows.length === 1 ? rows[0] : rows.sort().join(',')) + ']');
  return out;
}

/** Reads the primary keys of `tables` not yet in `keys` into it (all at once), so digests of their refs need no wait. */
export async function loadPrimaryKeys(exec: SqlExecutor, tables: Iterable<string>, keys: KeyCache): Promise<void> {
  const missing = [...new Set(tables)].filter((t) => !keys.has(t));
  const found = await Promise.all(missing.map((t) => primaryKey(exec, t)));
  missing.forEach((t, i) => keys.set(t, found[i]));
}

/** Primary key columns in key order; [] when the table has none; null when there is no such table. */
async function primaryKey(exec: SqlExecutor, table: string): Promise<string[] | null> {
  try {
    const r = await exec.query(`SHOW KEYS FROM ${quoteIdent(table)} WHERE Key_name = 'PRIMARY'`);
    const name = r.columns.findIndex((c) => c.name === 'Column_name');
    const seq = r.columns.findIndex((c) => c.name === 'Seq_in_index');
    return r.rows
      .map((row) => ({ name: String(row[name]), seq: Number(String(row[seq])) }))
      .sort((a, b) => a.seq - b.seq)
      .map((k) => k.name);
  } catch (e) {
    if (e instanceof SqlExecError && e.errno === NO_SUCH_TABLE) return null;
    throw e;
  }
}

async function tableDefinition(exec: SqlExecutor, table: string): Promise<string> {
  const r = await exec.query(`SHOW CREATE TABLE ${quoteIdent(table)}`);
  // The counter is not data: undo and fork switches leave it where each node's history put it.
  return String(r.rows[0][1]).replace(/ AUTO_INCREMENT=\d+/, '');
}

/** A value as the text protocol prints it (bytes as `x:<hex>`), as JSON. */
function valueJson(v: SqlValue): string {
  if (v === null) return 'null';
  return JSON.stringify(Buffer.isBuffer(v) ? 'x:' + v.toString('hex') : v);
}

/**
 * SQL literals of the keys whose ref text is `text`. Values are joined with `,` in a ref, so a
 * composite key with commas in a value can be split several ways; bytes are written `0x…` in refs,
 * so such a part is tried as bytes and as text. Rows found are matched by their exact ref after.
 */
export function keyCandidates(text: string, columns: number): string[][] {
  if (columns === 1) {
    // the common case: the whole text is the one value
    const hex = /^0x((?:[0-9a-f]{2})*)$/.exec(text);
    return hex ? [[sqlLiteral(text)], [hex[1] === '' ? "X''" : `X'${hex[1]}'`]] : [[sqlLiteral(text)]];
  }
  const parts = text.split(',');
  const splits: string[][] = [];
  const place = (from: number, acc: string[]) => {
    if (splits.length >= MAX_KEY_SPLITS) return;
    const left = columns - acc.length;
    if (left === 1) {
      splits.push([...acc, parts.slice(from).join(',')]);
      return;
    }
    for (let end = from + 1; end <= parts.length - left + 1; end++) place(end, [...acc, parts.slice(from, end).join(',')]);
  };
  if (parts.length >= columns) place(0, []);
  const out: string[][] = [];
  for (const split of splits) {
    let forms: string[][] = [[]];
    for (const v of split) {
      const lits = [sqlLiteral(v)];
      const hex = /^0x((?:[0-9a-f]{2})*)$/.exec(v);
      if (hex) lits.push(hex[1] === '' ? "X''" : `X'${hex[1]}'`);
      forms = forms.flatMap((f) => lits.map((l) => [...f, l]));
    }
    out.push(...forms);
    if (out.length >= MAX_KEY_SPLITS) break;
  }
  return out.slice(0, MAX_KEY_SPLITS);
}
