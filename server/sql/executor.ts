/**
 * How the SQL layer runs statements: on the client's own backend connection (through the proxy's
 * BackendSession) or, in tests and the node's `oursql sql`, on a mysql2 connection. Values come
 * back as MySQL's text protocol gives them: strings, Buffers for binary columns, null.
 */
export interface ColumnInfo {
  name: string;
  /** Column type code (mysql2's Types). */
  type: number;
  /** charset 63: bytes, not text (BLOB, BINARY, VARBINARY, BIT). */
  binary: boolean;
}

export interface SqlResult {
  columns: ColumnInfo[];
  rows: (string | Buffer | null)[][];
  affectedRows: number;
  /** LAST_INSERT_ID of this statement (0 when none). */
  insertId: bigint;
}

export interface SqlExecutor {
  /** Runs one statement; throws SqlExecError for a MySQL error. */
  query(sql: string): Promise<SqlResult>;
  /**
   * Sends several statements in one round trip, if the executor can; each one runs even when an
   * earlier one failed. Returns each one's result or error, in order.
   */
  pipeline?(sqls: readonly string[]): Promise<(SqlResult | SqlExecError)[]>;
}

/** `exec.pipeline` where the executor has it, else the statements one after the other. */
export async function pipelined(exec: SqlExecutor, sqls: readonly string[]): Promise<(SqlResult | SqlExecError)[]> {
  if (exec.pipeline) return exec.pipeline(sqls);
  const out: (SqlResult | SqlExecError)[] = [];
  for (const sql of sqls) {
    try {
      out.push(await exec.query(sql));
    } catch (e) {
      if (!(e instanceof SqlExecError)) throw e;
      out.push(e);
    }
  }
  return out;
}

/** A MySQL error from the backend, with its real errno and SQLSTATE (relayed to the client as is). */
export class SqlExecError extends Error {
  override name = 'SqlExecError';
  constructor(readonly errno: number, readonly sqlState: string, message: string) {
    super(message);
  }
}

const BINARY_CHARSET = 63;
// String-like types: with the binary charset their values are bytes (BLOB, BINARY, VARBINARY, BIT).
// Numbers and dates also report charset 63, but their text is plain ASCII.
const BYTE_TYPES = new Set([15, 16, 249, 250, 251, 252, 253, 254, 255]);

export const isBinaryColumn = (type: number, charset: number): boolean => charset === BINARY_CHARSET && BYTE_TYPES.has(type);
