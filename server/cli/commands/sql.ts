/** oursql sql "STATEMENT" [--from ADDR]: an update signed with a node-held key, or a read's rows. */
import type { CommonOptions } from '../options.ts';
import { emit } from '../output.ts';
import { withNode } from '../session.ts';

type SqlResult = { txid: string | null; affectedRows: number; insertId: string; from: string } | { columns: string[]; rows: (string | null)[][] };

export async function sqlCommand(statement: string, opts: CommonOptions & { from?: string }): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const r = await call<SqlResult>('sql', { sql: statement, ...(opts.from && { from: opts.from }) });
    emit(opts, r, () => {
      if ('rows' in r) return [r.columns.join('\t'), ...r.rows.map((row) => row.map((v) => v ?? 'NULL').join('\t'))].join('\n');
      return `${r.affectedRows} row(s) affected${r.txid ? `, txid ${r.txid} (signed by ${r.from})` : ''}`;
    });
  });
}
