import { coinsToUnits } from './amount.ts';
import { sha256Hex } from './bytes.ts';
import { canonicalize } from './canonical.ts';
import { ConsensusError, fail } from './errors.ts';
import { isValidAddress } from './keys.ts';
import { isObject } from './tx.ts';

/** One price list (`TransactionCost`), in base units, gated by its own `ApplyAfterBlock`. */
export interface CostSet {
  default: bigint;
  rowDelete: bigint;
  rowUpdate: bigint;
  rowInsert: bigint;
  tableCreate: bigint;
  applyAfterBlock: number;
}

export interface TableRule {
  table: string;
  allowRowDelete: boolean;
  allowRowUpdate: boolean;
  allowRowInsert: boolean;
  allowTableCreate: boolean;
  allowTableDrop: boolean;
  cost: CostSet;
  applyAfterBlock: number;
}

export interface ConsensusConfig {
  application: { name: string; webSite: string; team: string };
  kind: 'proofofwork';
  coinsForBlockMade: bigint;
  complexity: number;
  complexityStep2: number;
  maxMinNumberTransactionInBlock: number;
  maxNumberTransactionInBlock: number;
  /** Ours: a block with ≥ 1 tx is valid this long after its parent (0 = off). */
  maxBlockIntervalSeconds: number;
  applyRulesAfterBlock: number;
  allowTableCreate: boolean;
  allowTableDrop: boolean;
  allowRowDelete: boolean;
  cost: CostSet;
  unmanagedTables: string[];
  tableRules: TableRule[];
  initNodes: string[];
  /** Where SQL costs go; null burns them. */
  paidTransactionsWallet: string | null;
  /** The config in the original's key names with every default filled in (what is hashed and served). */
  normalized: Record<string, unknown>;
  /** sha256 of the canonical normalized config without `InitNodesAddreses` (bootstrap nodes may change). */
  hash: string;
}

const COST_KEYS = ['Default', 'RowDelete', 'RowUpdate', 'RowInsert', 'TableCreate', 'ApplyAfterBlock'] as const;
const RULE_KEYS = ['Table', 'AllowRowDelete', 'AllowRowUpdate', 'AllowRowInsert', 'AllowTableCreate', 'AllowTableDrop', 'TransactionCost', 'ApplyAfterBlock'] as const;
const SETTINGS_KEYS = ['Complexity', 'ComplexityStep2', 'MaxMinNumberTransactionInBlock', 'MaxNumberTransactionInBlock', 'MaxBlockIntervalSeconds'] as const;
const TOP_KEYS = [
  'Application', 'Kind', 'CoinsForBlockMade', 'Settings', 'ApplyRulesAfterBlock', 'AllowTableCreate', 'AllowTableDrop',
  'AllowRowDelete', 'TransactionCost', 'UnmanagedTables', 'TableRules', 'InitNodesAddreses', 'PaidTransactionsWallet',
] as const;

/** Defaults of the original's documentation (SPEC 6). */
export const DEFAULTS = {
  CoinsForBlockMade: 10,
  Complexity: 16,
  ComplexityStep2: 24,
  MaxMinNumberTransactionInBlock: 1000,
  MaxNumberTransactionInBlock: 10000,
  MaxBlockIntervalSeconds: 0,
} as const;

class Reader {
  constructor(readonly obj: Record<string, unknown>, readonly path: string) {}
  private err(key: string, want: string): never {
    fail('bad-config', `consensus config: ${this.path}${key} must be ${want}, got ${JSON.stringify(this.obj[key])}`, { key: this.path + key });
  }
  only(keys: readonly string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!keys.includes(k)) fail('bad-config', `consensus config: unknown key ${this.path}${k}`, { key: this.path + k });
    }
  }
  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.err(key, 'true or false');
    return v;
  }
  uint(key: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) this.err(key, `a whole number from 0 to ${max}`);
    return v;
  }
  coins(key: string, dflt: number): bigint {
    const v = this.obj[key] ?? dflt;
    if (typeof v !== 'number' && typeof v !== 'string') this.err(key, 'an amount of coins');
    let units: bigint;
    try {
      units = coinsToUnits(v as number | string, this.path + key);
    } catch (e) {
      if (e instanceof ConsensusError) this.err(key, 'an amount of coins ≥ 0 with at most 8 decimals');
      throw e;
    }
    // The normalized (hashed, served) config writes amounts as JSON numbers: two different amounts
    // must never print as the same number, so refuse what a JSON number cannot carry exactly.
    if (!exactAsNumber(units)) this.err(key, 'an amount of coins a JSON number carries exactly (at most 15 significant digits)');
    return units;
  }
  str(key: string, dflt: string): string {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'string') this.err(key, 'a string');
    return v;
  }
  strings(key: string): string[] {
    const v = this.obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.err(key, 'a list of strings');
    return v as string[];
  }
  object(key: string): Reader {
    const v = this.obj[key];
    if (v === undefined || v === null) return new Reader({}, `${this.path}${key}.`);
    if (!isObject(v)) this.err(key, 'an object');
    return new Reader(v, `${this.path}${key}.`);
  }
}

function readCost(r: Reader): CostSet {
  r.only(COST_KEYS);
  return {
    default: r.coins('Default', 0),
    rowDelete: r.coins('RowDelete', 0),
    rowUpdate: r.coins('RowUpdate', 0),
    rowInsert: r.coins('RowInsert', 0),
    tableCreate: r.coins('TableCreate', 0),
    applyAfterBlock: r.uint('ApplyAfterBlock', 0),
  };
}

/** Parses a consensus config (the original's JSON keys), filling defaults; errors name the key. */
export function parseConsensusConfig(input: unknown): ConsensusConfig {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (e) {
      fail('bad-config', `consensus config is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(json)) fail('bad-config', 'consensus config must be a JSON object');
  const r = new Reader(json, '');
  r.only(TOP_KEYS);
  const app = r.object('Application');
  app.only(['Name', 'WebSite', 'Team']);
  const kind = r.str('Kind', 'proofofwork');
  if (kind !== 'proofofwork') fail('bad-config', `consensus config: Kind must be "proofofwork", got ${JSON.stringify(kind)}`, { key: 'Kind' });
  const s = r.object('Settings');
  s.only(SETTINGS_KEYS);
  const rulesRaw = json.TableRules ?? [];
  if (!Array.isArray(rulesRaw)) fail('bad-config', 'consensus config: TableRules must be a list', { key: 'TableRules' });
  const tableRules = rulesRaw.map((raw, i): TableRule => {
    if (!isObject(raw)) fail('bad-config', `consensus config: TableRules[${i}] must be an object`, { key: `TableRules[${i}]` });
    const t = new Reader(raw, `TableRules[${i}].`);
    t.only(RULE_KEYS);
    const table = t.str('Table', '');
    if (!table) fail('bad-config', `consensus config: TableRules[${i}].Table must name a table`, { key: `TableRules[${i}].Table` });
    return {
      table,
      allowRowDelete: t.bool('AllowRowDelete', true),
      allowRowUpdate: t.bool('AllowRowUpdate', true),
      allowRowInsert: t.bool('AllowRowInsert', true),
      allowTableCreate: t.bool('AllowTableCreate', true),
      allowTableDrop: t.bool('AllowTableDrop', true),
      cost: readCost(t.object('TransactionCost')),
      applyAfterBlock: t.uint('ApplyAfterBlock', 0),
    };
  });
  const names = tableRules.map((t) => t.table);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail('bad-config', `consensus config: TableRules names table "${dup}" twice`, { key: 'TableRules' });
  const wallet = r.str('PaidTransactionsWallet', '');
  if (wallet && !isValidAddress(wallet)) fail('bad-config', `consensus config: PaidTransactionsWallet is not a valid address`, { key: 'PaidTransactionsWallet' });

  const cfg = {
    application: { name: app.str('Name', ''), webSite: app.str('WebSite', ''), team: app.str('Team', '') },
    kind: 'proofofwork' as const,
    coinsForBlockMade: r.coins('CoinsForBlockMade', DEFAULTS.CoinsForBlockMade),
    complexity: s.uint('Complexity', DEFAULTS.Complexity, 255),
    complexityStep2: s.uint('ComplexityStep2', DEFAULTS.ComplexityStep2, 255),
    maxMinNumberTransactionInBlock: s.uint('MaxMinNumberTransactionInBlock', DEFAULTS.MaxMinNumberTransactionInBlock),
    maxNumberTransactionInBlock: s.uint('MaxNumberTransactionInBlock', DEFAULTS.MaxNumberTransactionInBlock),
    maxBlockIntervalSeconds: s.uint('MaxBlockIntervalSeconds', DEFAULTS.MaxBlockIntervalSeconds),
    applyRulesAfterBlock: r.uint('ApplyRulesAfterBlock', 0),
    allowTableCreate: r.bool('AllowTableCreate', true),
    allowTableDrop: r.bool('AllowTableDrop', true),
    allowRowDelete: r.bool('AllowRowDelete', true),
    cost: readCost(r.object('TransactionCost')),
    unmanagedTables: r.strings('UnmanagedTables'),
    tableRules,
    initNodes: r.strings('InitNodesAddreses'),
    paidTransactionsWallet: wallet || null,
  };
  if (cfg.maxNumberTransactionInBlock < 1) fail('bad-config', 'consensus config: Settings.MaxNumberTransactionInBlock must be at least 1', { key: 'Settings.MaxNumberTransactionInBlock' });
  const normalized = normalize(cfg);
  const { InitNodesAddreses: _bootstrap, ...hashed } = normalized;
  return { ...cfg, normalized, hash: sha256Hex(canonicalize(hashed)) };
}

const coins = (u: bigint): string => {
  const whole = u / 100_000_000n;
  const frac = (u % 100_000_000n).toString().padStart(8, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
};
// Amounts are written as JSON numbers, as the original's files do; 8 decimals print exactly.
const num = (u: bigint): number => Number(coins(u));
const exactAsNumber = (u: bigint): boolean => {
  try {
    return coinsToUnits(num(u)) === u;
  } catch {
    return false;
  }
};

function normalizeCost(c: CostSet): Record<string, unknown> {
  return {
    Default: num(c.default), RowDelete: num(c.rowDelete), RowUpdate: num(c.rowUpdate), RowInsert: num(c.rowInsert),
    TableCreate: num(c.tableCreate), ApplyAfterBlock: c.applyAfterBlock,
  };
}

function normalize(c: Omit<ConsensusConfig, 'normalized' | 'hash'>): Record<string, unknown> {
  return {
    Application: { Name: c.application.name, WebSite: c.application.webSite, Team: c.application.team },
    Kind: c.kind,
    CoinsForBlockMade: num(c.coinsForBlockMade),
    Settings: {
      Complexity: c.complexity, ComplexityStep2: c.complexityStep2,
      MaxMinNumberTransactionInBlock: c.maxMinNumberTransactionInBlock,
      MaxNumberTransactionInBlock: c.maxNumberTransactionInBlock, MaxBlockIntervalSeconds: c.maxBlockIntervalSeconds,
    },
    ApplyRulesAfterBlock: c.applyRulesAfterBlock,
    AllowTableCreate: c.allowTableCreate, AllowTableDrop: c.allowTableDrop, AllowRowDelete: c.allowRowDelete,
    TransactionCost: normalizeCost(c.cost),
    UnmanagedTables: c.unmanagedTables,
    TableRules: c.tableRules.map((t) => ({
      Table: t.table, AllowRowDelete: t.allowRowDelete, AllowRowUpdate: t.allowRowUpdate, AllowRowInsert: t.allowRowInsert,
      AllowTableCreate: t.allowTableCreate, AllowTableDrop: t.allowTableDrop, TransactionCost: normalizeCost(t.cost),
      ApplyAfterBlock: t.applyAfterBlock,
    })),
    InitNodesAddreses: c.initNodes,
    PaidTransactionsWallet: c.paidTransactionsWallet ?? '',
  };
}

/** Proof-of-work difficulty (leading zero bits) a block at `height` must meet. */
export function bitsForHeight(cfg: ConsensusConfig, height: number): number {
  return height < cfg.maxMinNumberTransactionInBlock ? cfg.complexity : cfg.complexityStep2;
}

/** Fewest non-coinbase txs a block at `height` needs (the original's rule). */
export function minTxForHeight(cfg: ConsensusConfig, height: number): number {
  return Math.min(Math.max(height, 1), cfg.maxMinNumberTransactionInBlock);
}
