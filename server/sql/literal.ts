/**
 * Values → SQL literals (escaped by mysql2's `escape`, never pasted) and → ref text.
 *
 * Values are what the text protocol returns (see executor.ts): strings for text and for numbers,
 * dates, DECIMAL, JSON, ENUM/SET; Buffers for binary columns (BINARY/VARBINARY/BLOB/BIT/GEOMETRY);
 * null for NULL. A string literal is converted by MySQL to the column's type exactly as the text
 * the server printed, so `UPDATE t SET d = '2024-01-01 00:00:00.000001'` restores a DATETIME(6),
 * `'18446744073709551615'` an unsigned BIGINT, `'1.50'` a DECIMAL. Literals assume the server's
 * default string escapes (sql_mode without NO_BACKSLASH_ESCAPES), as mysql2 itself does.
 */
import mysql from 'mysql2';

export type SqlValue = string | Buffer | null;

/** A value as an SQL literal: 'text' (backslash-escaped), X'hex' for bytes, NULL, or an integer. */
export function sqlLiteral(v: SqlValue | bigint | number): string {
  if (v === null) return 'NULL';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`sqlLiteral: ${v} is not a safe integer`);
    return String(v);
  }
  if (Buffer.isBuffer(v)) return v.length === 0 ? "X''" : mysql.escape(v);
  return mysql.escape(v);
}

/** An identifier in backticks (backticks inside doubled). */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/**
 * Ref text of a key: the values in MySQL's canonical text form joined with `,`. Bytes (a binary
 * key column) are written `0x` + lowercase hex, so every ref is printable text.
 */
export function refValue(values: readonly SqlValue[]): string {
  return values.map((v) => (v === null ? 'NULL' : Buffer.isBuffer(v) ? '0x' + v.toString('hex') : v)).join(',');
}

/** `table:<key>` */
export function rowRef(table: string, key: readonly SqlValue[]): string {
  return `${table}:${refValue(key)}`;
}

/** `table:*` (DDL) */
export function tableRef(table: string): string {
  return `${table}:*`;
}
