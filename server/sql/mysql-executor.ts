import type { Connection, FieldPacket, PoolConnection, QueryError, ResultSetHeader } from 'mysql2/promise';
import { isBinaryColumn, SqlExecError, type SqlExecutor, type SqlResult } from './executor.ts';


/**
 * SqlExecutor over a mysql2 connection of the node's own (the `oursql sql` command and RPC use it;
 * the proxy uses the client's backend session instead). Values stay as MySQL's text: strings,
 * Buffers for binary columns, null; never JS numbers or Dates.
 */
export function mysql2Executor(conn: Connection | PoolConnection): SqlExecutor {
  return {
    async query(sql: string): Promise<SqlResult> {
      try {
        const [result, fields] = await conn.query({
          sql,
          rowsAsArray: true,
          // Raw bytes for every value; the column metadata below decides text or bytes. (false, not
          // a function returning field.buffer(): that called the function, with a closure made for it, per value)
          typeCast: false,
        });
        if (!Array.isArray(result)) {
          const h = result as ResultSetHeader;
          return { columns: [], rows: [], affectedRows: h.affectedRows, insertId: BigInt(h.insertId ?? 0) };
        }
        const columns = ((fields as FieldPacket[] | undefined) ?? []).map((f) => ({
          name: f.name, type: f.type ?? 0, binary: isBinaryColumn(f.type ?? 0, f.characterSet ?? 0),
        }));
        const rows = (result as unknown as (Buffer | null)[][]).map((row) =>
          row.map((v, i) => (v === null || columns[i].binary ? v : v.toString('utf8'))),
        );
        return {
          columns,
          rows,
          affectedRows: 0,
          insertId: 0n,
        };
      } catch (e) {
        const q = e as QueryError & { sqlState?: string; sqlMessage?: string };
        if (typeof q.errno === 'number') throw new SqlExecError(q.errno, q.sqlState ?? 'HY000', q.sqlMessage ?? q.message);
        throw e;
      }
    },
  };
}
