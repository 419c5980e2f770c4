/**
 * SqlExecutor over a mysql2/promise connection, as the SQL layer expects it: rows as arrays of
 * strings (text columns, numbers, dates — exactly the text MySQL sent), Buffers (binary columns)
 * and null; insertId as bigint; MySQL errors as SqlExecError.
 */
import mysql from 'mysql2/promise';
import { SqlExecError, type ColumnInfo, type SqlExecutor, type SqlResult } from '../../server/sql/executor.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT } from './mysql.ts';

const BINARY_CHARSET = 63;
/** Column types whose charset 63 means bytes (numbers and dates also come with charset 63, as ASCII text). */
const BYTE_TYPES = new Set([
  15, // VARCHAR
  16, // BIT
  249, 250, 251, 252, // TINY/MEDIUM/LONG/BLOB
  253, // VAR_STRING (VARBINARY)
  254, // STRING (BINARY)
  255, // GEOMETRY
]);

export function isBinaryField(f: { characterSet?: number; columnType?: number }): boolean {
  return f.characterSet === BINARY_CHARSET && BYTE_TYPES.has(f.columnType ?? -1);
}

export class Mysql2Executor implements SqlExecutor {
  constructor(readonly conn: mysql.Connection) {}

  async query(sql: string): Promise<SqlResult> {
    let res: any;
    let fields: any;
    try {
      [res, fields] = await this.conn.query({ sql, rowsAsArray: true, typeCast: false } as any);
    } catch (e) {
      const err = e as { errno?: number; sqlState?: string; sqlMessage?: string; message: string };
      if (typeof err.errno === 'number') throw new SqlExecError(err.errno, err.sqlState ?? 'HY000', err.sqlMessage ?? err.message);
      throw e;
    }
    if (!Array.isArray(res)) {
      return { columns: [], rows: [], affectedRows: Number(res.affectedRows ?? 0), insertId: BigInt(String(res.insertId ?? 0)) };
    }
    const columns: ColumnInfo[] = (fields ?? []).map((f: any) => ({ name: f.name, type: f.columnType, binary: isBinaryField(f) }));
    const rows = (res as (Buffer | null)[][]).map((r) => r.map((v, i) => (v === null ? null : columns[i].binary ? v : v.toString('utf8'))));
    return { columns, rows, affectedRows: 0, insertId: 0n };
  }
}

/** A connection to the test server (utf8mb4, no multiple statements), optionally in a database. */
export async function connectExecutor(database?: string): Promise<{ exec: Mysql2Executor; conn: mysql.Connection; close: () => Promise<void> }> {
  const conn = await mysql.createConnection({
    host: TEST_MYSQL_HOST,
    port: TEST_MYSQL_PORT,
    user: 'root',
    database,
    charset: 'utf8mb4_general_ci',
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  return { exec: new Mysql2Executor(conn), conn, close: () => conn.end() };
}
