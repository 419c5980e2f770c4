import type { ConsensusConfig, CostSet } from './config.ts';
import { fail } from './errors.ts';

/** What one replicated statement does, as the SQL classifier reports it. */
export type SqlOp = 'insert' | 'update' | 'delete' | 'create' | 'drop' | 'alter';
export interface SqlAction {
  op: SqlOp;
  table: string;
  /** A schema change (CREATE/ALTER/DROP TABLE, CREATE/DROP INDEX, TRUNCATE), not a change of rows. */
  schema: boolean;
}

/** A gate `ApplyAfterBlock: N` switches on for transactions mined in blocks after N (height > N). */
const active = (applyAfterBlock: number, height: number): boolean => height > applyAfterBlock;

export function isUnmanagedTable(cfg: ConsensusConfig, table: string): boolean {
  return cfg.unmanagedTables.includes(table);
}

function ruleFor(cfg: ConsensusConfig, table: string) {
  return cfg.tableRules.find((r) => r.table === table);
}

/** Whether `action` is permitted at `height`; a table rule decides alone for its table. */
export function isAllowed(cfg: ConsensusConfig, action: SqlAction, height: number): boolean {
  const rule = ruleFor(cfg, action.table);
  if (rule) {
    if (!active(rule.applyAfterBlock, height)) return true;
    switch (action.op) {
      case 'insert': return rule.allowRowInsert;
      case 'update': return rule.allowRowUpdate;
      case 'delete': return rule.allowRowDelete;
      case 'create': case 'alter': return rule.allowTableCreate;
      case 'drop': return rule.allowTableDrop;
    }
  }
  if (!active(cfg.applyRulesAfterBlock, height)) return true;
  switch (action.op) {
    case 'insert': case 'update': return true;
    case 'delete': return cfg.allowRowDelete;
    case 'create': case 'alter': return cfg.allowTableCreate;
    case 'drop': return cfg.allowTableDrop;
  }
}

export function checkAllowed(cfg: ConsensusConfig, action: SqlAction, height: number): void {
  if (!isAllowed(cfg, action, height)) {
    const what = { insert: 'inserting rows into', update: 'updating rows of', delete: 'deleting rows from', create: 'creating', alter: 'altering', drop: 'dropping' }[action.op];
    fail('sql-refused', `the consensus rules do not allow ${what} table ${action.table}`, { op: action.op, table: action.table, height });
  }
}

function price(cost: CostSet, op: SqlOp): bigint {
  const specific = { insert: cost.rowInsert, update: cost.rowUpdate, delete: cost.rowDelete, create: cost.tableCreate, alter: 0n, drop: 0n }[op];
  return specific > 0n ? specific : cost.default;
}

/** Cost in base units of one statement at `height` (0 when its cost set is not active yet). */
export function actionCost(cfg: ConsensusConfig, action: SqlAction, height: number): bigint {
  const cost = ruleFor(cfg, action.table)?.cost ?? cfg.cost;
  return active(cost.applyAfterBlock, height) ? price(cost, action.op) : 0n;
}

/** Total cost of a transaction's statements (one price per statement). */
export function sqlCost(cfg: ConsensusConfig, actions: readonly SqlAction[], height: number): bigint {
  return actions.reduce((sum, a) => sum + actionCost(cfg, a, height), 0n);
}
