/**
 * Statement shapes: the updates an application sends mostly differ only in their literal values
 * (prepared statements with their `?` inlined, ORMs quoting values into the same text), and
 * parsing is the biggest cost of the write path (node-sql-parser: 65–200 µs a statement). So the
 * parse of each statement text with its simple literals taken out is kept, and a statement of a
 * known shape gets its AST by putting its own literals into a copy.
 *
 * Sound because a shape is parsed with sentinel literals of the same kinds in place of the real
 * ones: the parser makes the same node of a simple literal whatever its value, and each sentinel
 * must come back exactly once, as such a node, or the shape is not used (the statement is then
 * parsed in full). Simple literals: decimal integers of up to 15 digits without a leading zero,
 * and '...' strings without escapes, quotes or control characters, each standing on its own
 * (not after an identifier character, which would make it a charset introducer, N'', X'', 1e3...).
 */
import { cleanCopy, toCheckedSql, walk } from './ast.ts';

type Kind = 'n' | 's';
interface Literal { kind: Kind; text: string }
interface Slot { path: (string | number)[]; kind: Kind }

export interface Shape<T> {
  /** The parsed statement with sentinels (never handed out: callers get copies). */
  value: T;
  ast: any;
  slots: Slot[];
  /** toCheckedSql accepts it: printing it (with any simple literals in it) reads back the same. */
  printable: boolean;
}

const MAX_SHAPES = 512;
const MAX_DIGITS = 15;
const SENTINEL_NUMBER = 900_000_000_000_000;
const sentinelString = (i: number) => `\u0001oursql${i}`;

/** A statement's simple literals, where each stands in the text, and its shape key (the text with each literal as its kind). */
export interface Split { shapeKey: string; literals: Literal[]; starts: number[]; ends: number[] }

/** Splits a statement into its shape and its simple literals; null when it has none or holds comments or `?`. */
export function splitLiterals(sql: string): Split | null {
  const literals: Literal[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let key = '';
  let last = 0;
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    let lit: Literal | undefined;
    const start = i;
    if (c === 39 /* ' */ || c === 34 /* " */ || c === 96 /* ` */) {
      const end = quotedEnd(sql, i);
      if (end < 0) return null;
      if (c === 39 && !isWordChar(sql.charCodeAt(i - 1))) {
        const inner = sql.slice(i + 1, end - 1);
        if (isSimpleString(inner)) lit = { kind: 's', text: inner };
      }
      i = end;
    } else if ((c === 47 && sql.charCodeAt(i + 1) === 42) || (c === 45 && sql.charCodeAt(i + 1) === 45) || c === 35 || c === 63) {
      return null; // comments, ?
    } else if (c >= 48 && c <= 57) {
      let end = i;
      while (end < n && isDigit(sql.charCodeAt(end))) end++;
      const prev = sql.charCodeAt(i - 1);
      const simple = !isWordChar(prev) && prev !== 46 && prev !== 64 && !isWordChar(sql.charCodeAt(end)) && sql.charCodeAt(end) !== 46 &&
        end - i <= MAX_DIGITS && (c !== 48 || end - i === 1);
      if (simple) lit = { kind: 'n', text: sql.slice(i, end) };
      i = end;
    } else if (isWordChar(c)) {
      while (i < n && isWordChar(sql.charCodeAt(i))) i++;
      continue;
    } else {
      i++;
      continue;
    }
    if (!lit) continue;
    key += sql.slice(last, start) + (lit.kind === 'n' ? '\u0000n' : '\u0000s');
    literals.push(lit);
    starts.push(start);
    ends.push(i);
    last = i;
  }
  if (literals.length === 0) return null;
  return { shapeKey: key + sql.slice(last), literals, starts, ends };
}

/** The text of a split statement with sentinels in place of its literals: what a new shape is parsed from. */
function sentinelSqlOf(sql: string, split: Split): string {
  let out = '';
  let last = 0;
  split.literals.forEach((lit, k) => {
    out += sql.slice(last, split.starts[k]) + (lit.kind === 'n' ? String(SENTINEL_NUMBER + k) : `'${sentinelString(k)}'`);
    last = split.ends[k];
  });
  return out + sql.slice(last);
}

/** Parsed statement shapes of one parser user (bounded; forgotten all at once when full). */
export class ShapeCache<T> {
  private readonly shapes = new Map<string, Shape<T> | null>();

  /**
   * `parse` makes the caller's value (which holds the AST) from SQL text; `astOf` finds the AST
   * in it and `withAst` makes a value around a new AST. Returns null when the statement has no
   * usable shape: the caller parses it itself. `withAst` null: the caller reads only what literals
   * cannot change (kind, table) and gets the shape's own value, no AST made.
   */
  lookup(sql: string, parse: (sql: string) => T, astOf: (v: T) => any, withAst: ((v: T, ast: any) => T) | null): { value: T; printable: boolean } | null {
    const split = splitLiterals(sql);
    if (!split) return null;
    let shape = this.shapes.get(split.shapeKey);
    if (shape === undefined) {
      shape = makeShape(sentinelSqlOf(sql, split), split.literals, parse, astOf);
      if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
      this.shapes.set(split.shapeKey, shape);
    }
    if (!shape) return null;
    if (!withAst) return { value: shape.value, printable: shape.printable };
    const ast = cleanCopy(shape.ast);
    shape.slots.forEach((slot, i) => {
      const node = at(ast, slot.path);
      const lit = split.literals[i];
      node.value = lit.kind === 'n' ? Number(lit.text) : lit.text;
    });
    return { value: withAst(shape.value, ast), printable: shape.printable };
  }
}

function makeShape<T>(sentinelSql: string, literals: Literal[], parse: (sql: string) => T, astOf: (v: T) => any): Shape<T> | null {
  let value: T;
  try {
    value = parse(sentinelSql);
  } catch {
    return null; // the caller's own parse of the real text gives the real error
  }
  const ast = cleanCopy(astOf(value));
  const found: (Slot | undefined)[] = Array.from({ length: literals.length }, () => undefined);
  let stray = false;
  const visit = (node: any, path: (string | number)[]) => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((c, i) => visit(c, [...path, i]));
    const i = sentinelIndex(node);
    if (i !== null) {
      if (i < 0 || i >= literals.length || found[i] || (node.type === 'number') !== (literals[i].kind === 'n')) stray = true;
      else found[i] = { path, kind: literals[i].kind };
      return;
    }
    for (const k of Object.keys(node)) visit(node[k], [...path, k]);
  };
  visit(ast, []);
  if (stray || found.some((s) => !s)) return null;
  let printable = true;
  try {
    toCheckedSql(ast);
  } catch {
    printable = false;
  }
  // no sentinel may survive anywhere else (e.g. folded into an identifier or a data type)
  let leftover = false;
  walk(ast, (n) => {
    for (const v of Object.values(n)) {
      if (typeof v === 'string' && v.includes('\u0001oursql') && n.type !== 'single_quote_string') leftover = true;
      if (typeof v === 'number' && v >= SENTINEL_NUMBER && v < SENTINEL_NUMBER + literals.length && n.type !== 'number') leftover = true;
    }
  });
  if (leftover) return null;
  return { value, ast, slots: found as Slot[], printable };
}

/** The literal's index when `node` is a sentinel literal node, else null. */
function sentinelIndex(node: any): number | null {
  if (node.type === 'number' && typeof node.value === 'number' && node.value >= SENTINEL_NUMBER && node.value < SENTINEL_NUMBER + 1_000_000) {
    return node.value - SENTINEL_NUMBER;
  }
  if (node.type === 'single_quote_string' && typeof node.value === 'string' && node.value.startsWith('\u0001oursql')) {
    const i = Number(node.value.slice('\u0001oursql'.length));
    return Number.isInteger(i) && node.value === sentinelString(i) ? i : -1;
  }
  return null;
}

function at(root: any, path: (string | number)[]): any {
  let n = root;
  for (const k of path) n = n[k];
  return n;
}

/** Index just past the closing quote of the quoted text starting at `start` (-1: unterminated). */
function quotedEnd(sql: string, start: number): number {
  const q = sql.charCodeAt(start);
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (c === 92 /* \ */ && q !== 96) i++;
    else if (c === q) {
      if (sql.charCodeAt(i + 1) === q) i++;
      else return i + 1;
    }
  }
  return -1;
}

function isSimpleString(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 39 || c === 92 || c === 127) return false;
  }
  return true;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
/** Characters that continue an identifier (or make a literal part of one: 1e3, 0x1f, _utf8'x', N'x'). */
const isWordChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 127;
