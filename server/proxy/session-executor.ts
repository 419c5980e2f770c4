import { isBinaryColumn, SqlExecError, type SqlExecutor, type SqlResult } from '../sql/executor.ts';
import type { BackendSession } from './wire/index.ts';

/**
 * SqlExecutor over the client's own backend session: the proxy's writes run with the client's
 * login, database, session variables and transaction. Remembers the server status of the last
 * result, so the OK the client gets carries true autocommit / in-transaction flags.
 */
export class SessionExecutor implements SqlExecutor {
  lastStatus = 0;
  constructor(private readonly session: BackendSession) {}

  async query(sql: string): Promise<SqlResult> {
    const r = await this.session.query(sql);
    if (r.kind === 'error') throw new SqlExecError(r.errno, r.sqlState, r.message);
    this.lastStatus = r.status;
    if (r.kind === 'ok') return { columns: [], rows: [], affectedRows: Number(r.affectedRows), insertId: r.insertId };
    const columns = r.columns.map((c) => ({ name: c.name, type: c.type, binary: isBinaryColumn(c.type, c.charset) }));
    return {
      columns,
      // Copies: the session's rows are views into received chunks.
      rows: r.rows.map((row) => row.map((v, i) => (v === null ? null : columns[i].binary ? Buffer.from(v) : v.toString('utf8')))),
      affectedRows: 0,
      insertId: 0n,
    };
  }
}
