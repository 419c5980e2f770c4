/**
 * Turns a prepared statement plus its decoded parameter values into plain SQL text, so a write
 * sent as COM_STMT_PREPARE/EXECUTE is replicated like any COM_QUERY.
 */
import mysql from 'mysql2';
import { quotedEnd } from '../../sql/lexer.ts';
import { WireError } from './errors.ts';
import type { ParamValue } from './stmt.ts';

export class InlineParamsError extends WireError {
  override name = 'InlineParamsError';
}

export interface InlineOptions {
  /**
   * The session runs with sql_mode NO_BACKSLASH_ESCAPES (the server reports it as status flag
   * 0x0200): backslashes are plain characters in string literals, so strings are quoted by
   * doubling quotes only, and the lexer does not treat `\'` as an escaped quote.
   */
  noBackslashEscapes?: boolean;
}

/** A value as SQL literal text: NULL, a number, X'hex' for bytes, a quoted string otherwise. */
export function sqlLiteral(v: ParamValue, opts: InlineOptions = {}): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InlineParamsError(`cannot write ${v} as SQL`);
    // String(v) gives exponent notation for big/small magnitudes (1e+21, 5e-7): valid MySQL too.
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.length === 0 ? "X''" : `X'${v.toString('hex')}'`;
  if (opts.noBackslashEscapes) return `'${v.replace(/'/g, "''")}'`;
  // mysql2's escape: backslash escapes for \0 \n \r \b \t \x1a ' " \ (so it assumes the default
  // sql_mode, without NO_BACKSLASH_ESCAPES).
  return mysql.escape(v);
}

/**
 * Replaces each `?` placeholder with its value's literal. Like the server's lexer, `?` inside
 * '...' / "..." strings, `...` identifiers and comments (`-- `, `#`, `/* *\/`) is text, not a
 * placeholder; MySQL's executable comments (`/*! ... *\/`, `/*M! ... *\/`) are code, so a `?`
 * there counts. Throws InlineParamsError if the placeholder and value counts differ.
 */
export function inlineParams(sql: string, values: readonly ParamValue[], opts: InlineOptions = {}): string {
  const parts: string[] = [];
  let last = 0;
  let used = 0;
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0x3f /* ? */) {
      if (used >= values.length) throw new InlineParamsError(`statement has more placeholders than the ${values.length} value(s) given`);
      parts.push(sql.slice(last, i), sqlLiteral(values[used++], opts));
      last = ++i;
      continue;
    }
    if (c === 0x27 || c === 0x22 || c === 0x60) {
      i = quotedEnd(sql, i, opts.noBackslashEscapes === true);
      continue;
    }
    if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      const executable = sql.charCodeAt(i + 2) === 0x21 || (sql.charCodeAt(i + 2) === 0x4d && sql.charCodeAt(i + 3) === 0x21);
      if (executable) {
        // The body is SQL; its closing */ is passed over as ordinary text below.
        i += sql.charCodeAt(i + 2) === 0x21 ? 3 : 4;
        continue;
      }
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === 0x23 /* # */ || (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d && isDashCommentEnd(sql.charCodeAt(i + 2)))) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    i++;
  }
  if (used !== values.length) throw new InlineParamsError(`statement has ${used} placeholder(s) but ${values.length} value(s) were given`);
  parts.push(sql.slice(last));
  return parts.join('');
}

/** `--` starts a comment only when followed by whitespace, a control character or the end. */
function isDashCommentEnd(c: number): boolean {
  return Number.isNaN(c) || c <= 0x20;
}

