/**
 * The checks of a prepared update (verify.ts has the common ones): the statement is the one asked
 * for, made deterministic, and nothing else is touched or paid. Uses the node's own SQL parser and
 * matcher, so client and node agree on what "the same statement" means.
 */
import { addressOf, sqlCost, type ConsensusConfig } from '../consensus/index.ts';
import type { SqlClassifier } from '../server/sql/classify.ts';
import { bodyMatchesSql } from '../server/sql/match.ts';
import { TamperError } from './errors.ts';
import { checkCommon, checkOutputs, type Common, type Decoded } from './verify.ts';

/**
 * An update: from this key, on the pinned chain, one statement that is the one asked for (made
 * deterministic), undo and refs about its table only, and no coins moved but its exact cost (at the
 * next height, by the pinned consensus config) to `PaidTransactionsWallet` or burned.
 */
export function checkSqlUpdate(
  d: Decoded,
  want: Common & { sql: string; consensus: ConsensusConfig; height: number; classifier: SqlClassifier },
): { cost: bigint; table: string } {
  checkCommon(d.body, want);
  const sql = d.body.sql;
  if (!sql) throw new TamperError('an update was asked for, the body carries no SQL');
  if (sql.stmts.length !== 1) throw new TamperError(`the body carries ${sql.stmts.length} statements, one was asked for`);
  if (!bodyMatchesSql(sql.stmts[0], want.sql)) throw new TamperError(`the body's statement is not the one asked for: ${sql.stmts[0]}`);
  const action = want.classifier.action(sql.stmts[0]);
  const table = action.table.toLowerCase();
  for (const u of sql.undo) {
    if (undoTable(u, want.classifier) !== table) throw new TamperError(`the body's undo touches something else than table ${action.table}: ${u}`);
  }
  for (const r of sql.refs) {
    if (!r.toLowerCase().startsWith(`${table}:`)) throw new TamperError(`the body names row ${r}, not of table ${action.table}`);
  }
  const cost = sqlCost(want.consensus, [action], want.height + 1);
  checkOutputs(d.body, addressOf(want.pubkey), cost > 0n ? [{ to: want.consensus.paidTransactionsWallet, units: cost }] : []);
  return { cost, table: action.table };
}

/**
 * The table an undo statement changes. The saved definition a DROP's undo re-creates may use
 * syntax the parser does not know: then its leading `CREATE TABLE name` is read as such.
 */
function undoTable(stmt: string, classifier: SqlClassifier): string | undefined {
  try {
    return classifier.parseWrite(stmt).table.toLowerCase();
  } catch {
    const m = /^\s*CREATE\s+TABLE\s+`((?:[^`]|``)+)`/i.exec(stmt);
    return m?.[1].replace(/``/g, '`').toLowerCase();
  }
}
