import { isBinaryColumn, SqlExecError, type SqlExecutor, type SqlResult } from '../sql/executor.ts';
import type { BackendSession, QueryResult } from './wire/index.ts';

/**
 * SqlExecutor over the client's own backend session: the proxy's writes run with the client's
 * login, database, session variables and transaction. Remembers the server status of the last
 * result, so the OK the client gets carries true autocommit / in-transaction flags.
 */
export class SessionExecutor implements SqlExecutor {
  lastStatus = 0;
  constructor(private readonly session: BackendSession) {}

  async query(sql: string): Promise<SqlResult> {
    const r = this.toResult(await this.session.query(sql));
    if (r instanceof SqlExecError) throw r;
    return r;
  }

  async pipeline(sqls: readonly string[]): Promise<(SqlResult | SqlExecError)[]> {
    const all = await this.session.queryBatch(sqls);
    // as query(): a multi-statement's first error wins, else its first result
    return all.map((rs) => this.toResult(rs.find((r) => r.kind === 'error') ?? rs[0]));
  }

  private toResult(r: QueryResult): SqlResult | SqlExecError {
    if (r.kind === 'error') return new SqlExecError(r.errno, r.sqlState, r.message);
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
