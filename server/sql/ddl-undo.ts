/**
 * The undo of a schema change as this node is about to run it. A tx's own `undo` of DROP TABLE,
 * TRUNCATE or most ALTERs is the origin's copy of the table: a node holding other rows of it then
 * (txs the origin had not seen, another branch) would get the origin's rows back from it. So every
 * node that runs a peer's schema change saves its own copy first, and undoes from that.
 */
import type { PoolConnection } from 'mysql2/promise';
import { SqlClassifier } from './classify.ts';
import type { SqlExecutor } from './executor.ts';
import { quoteIdent } from './literal.ts';
import { mysql2Executor } from './mysql-executor.ts';
import { dropWhatItAdds, tableImage } from './plan.ts';
import { readTableInfo } from './schema.ts';

/**
 * What undoes `stmts` (one DDL statement) run on the database as `exec` sees it now; null when
 * `stmts` is not one schema change (the tx's own undo then stands).
 */
export async function ddlUndoHere(exec: SqlExecutor, classifier: SqlClassifier, stmts: readonly string[]): Promise<string[] | null> {
  if (stmts.length !== 1) return null;
  const write = classifier.parseWrite(stmts[0]);
  if (write.kind === 'insert' || write.kind === 'replace' || write.kind === 'update' || write.kind === 'delete') return null;
  const info = await readTableInfo(exec, write.table);
  // no table here: what a CREATE makes goes again; DROP … IF EXISTS changes nothing (anything else fails)
  if (!info) return write.kind === 'create-table' ? [`DROP TABLE IF EXISTS ${quoteIdent(write.table)}`] : [];
  if (write.kind === 'create-table') return []; // the table is here: a no-op (IF NOT EXISTS) or it fails
  const inverse = dropWhatItAdds(write, info);
  return inverse ? [inverse] : await tableImage(exec, info);
}

/** The chain's `ddlUndo` (ChainOptions) over the node's own connections. */
export function chainDdlUndo(): (conn: PoolConnection, stmts: readonly string[]) => Promise<string[] | null> {
  const classifier = new SqlClassifier();
  return (conn, stmts) => ddlUndoHere(mysql2Executor(conn), classifier, stmts);
}
