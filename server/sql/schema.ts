/**
 * What the SQL layer needs to know about a table of the current database, read from
 * information_schema on the client's own connection, and a cache of it.
 */
import { SqlExecError, type SqlExecutor } from './executor.ts';
import { quoteIdent, sqlLiteral } from './literal.ts';
import { WriteRefused } from './write-refused.ts';

export interface ColumnDef {
  name: string;
  /** DATA_TYPE, lower case: 'int', 'varchar', 'timestamp', 'float', ... */
  dataType: string;
  /** COLUMN_TYPE: 'bigint(20) unsigned', "enum('a','b')", ... */
  columnType: string;
  nullable: boolean;
  /** COLUMN_DEFAULT as MariaDB prints it: a literal ('x', 5, NULL) or an expression (current_timestamp(), uuid()); null = no default. */
  default: string | null;
  /** The default is an expression evaluated at insert time (not a constant). */
  defaultIsExpression: boolean;
  /** DEFAULT CURRENT_TIMESTAMP[(p)]: p (0 without precision), else null. */
  defaultNowPrecision: number | null;
  /** ON UPDATE CURRENT_TIMESTAMP[(p)]: p, else null. */
  onUpdateNowPrecision: number | null;
  /** EXTRA, lower case ('auto_increment', 'on update current_timestamp()', 'virtual generated', 'invisible', ...). */
  extra: string;
  autoIncrement: boolean;
  /** VIRTUAL/STORED generated: never written, never restored. */
  generated: boolean;
  /** INVISIBLE: not returned by SELECT *, but data all the same. */
  invisible: boolean;
  /** Bytes, not text (BINARY, VARBINARY, BLOBs, BIT, geometry). */
  binary: boolean;
}

export interface ForeignKeyRef {
  /** The child table whose foreign key references this table. */
  table: string;
  constraint: string;
  onDelete: string;
  onUpdate: string;
}

export interface TableInfo {
  /** The table name as the server stores it (refs use this). */
  name: string;
  /** 'BASE TABLE', 'VIEW', 'SEQUENCE', 'SYSTEM VERSIONED', ... */
  tableType: string;
  columns: ColumnDef[];
  /** Primary key column names, in key order (empty: no primary key). */
  primaryKey: string[];
  /** UNIQUE indexes other than the primary key. */
  uniqueKeys: { name: string; columns: string[] }[];
  autoIncrement: ColumnDef | null;
  /** Number of triggers defined on the table. */
  triggers: number;
  /** Foreign keys of other tables that reference this one. */
  referencedBy: ForeignKeyRef[];
}

const BINARY_TYPES = new Set([
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit',
  'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection',
]);

const NOW_DEFAULT = /^current_timestamp(?:\((\d*)\))?$/i;
const NOW_ON_UPDATE = /on update current_timestamp(?:\((\d*)\))?/i;
const CONSTANT_DEFAULT = /^(?:NULL|'(?:[^']|'')*'|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|b'[01]*'|x'[0-9a-f]*'|0x[0-9a-f]+)$/i;

const text = (v: string | Buffer | null): string => (v === null ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : v);
const precision = (m: RegExpMatchArray | null): number | null => (m ? Number(m[1] || 0) : null);

/** Reads one table's definition; null when the current database has no such table. */
export async function readTableInfo(exec: SqlExecutor, table: string): Promise<TableInfo | null> {
  const found = await exec.query(
    'SELECT TABLE_NAME, TABLE_TYPE, DATABASE(), @@lower_case_table_names FROM information_schema.TABLES ' +
    `WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${sqlLiteral(table)}`,
  );
  if (found.rows.length === 0) {
    const db = await exec.query('SELECT DATABASE()');
    if (db.rows[0]?.[0] === null) throw new SqlExecError(1046, '3D000', 'No database selected');
    return null;
  }
  // information_schema compares names case-insensitively; the server does so only with lower_case_table_names
  const exact = found.rows.find((r) => text(r[0]) === table);
  const lctn = text(found.rows[0][3]);
  const row = exact ?? (lctn !== '0' && found.rows.length === 1 ? found.rows[0] : undefined);
  if (!row) return null;
  const name = text(row[0]);
  const tableType = text(row[1]);
  const where = `TABLE_SCHEMA = DATABASE() AND TABLE_NAME = BINARY ${sqlLiteral(name)}`;

  const cols = await exec.query(
    'SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, IS_GENERATED ' +
    `FROM information_schema.COLUMNS WHERE ${where} ORDER BY ORDINAL_POSITION`,
  );
  const columns: ColumnDef[] = cols.rows.map((r) => {
    const dataType = text(r[1]).toLowerCase();
    const def = r[4] === null ? null : text(r[4]);
    const extra = text(r[5]).toLowerCase();
    return {
      name: text(r[0]),
      dataType,
      columnType: text(r[2]),
      nullable: text(r[3]) === 'YES',
      default: def,
      defaultIsExpression: def !== null && !CONSTANT_DEFAULT.test(def),
      defaultNowPrecision: def === null ? null : precision(def.match(NOW_DEFAULT)),
      onUpdateNowPrecision: precision(extra.match(NOW_ON_UPDATE)),
      extra,
      autoIncrement: extra.includes('auto_increment'),
      generated: text(r[6]) === 'ALWAYS' || /\bgenerated\b/.test(extra),
      invisible: /\binvisible\b/.test(extra),
      binary: BINARY_TYPES.has(dataType),
    };
  });

  const idx = await exec.query(
    'SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS ' +
    `WHERE ${where} AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
  );
  const primaryKey: string[] = [];
  const unique = new Map<string, string[]>();
  for (const r of idx.rows) {
    const index = text(r[0]);
    if (index === 'PRIMARY') primaryKey.push(text(r[1]));
    else unique.set(index, [...(unique.get(index) ?? []), text(r[1])]);
  }

  const other = await exec.query(
    `SELECT 'trigger', COUNT(*), NULL, NULL, NULL FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = BINARY ${sqlLiteral(name)} ` +
    'UNION ALL SELECT \'fk\', TABLE_NAME, CONSTRAINT_NAME, DELETE_RULE, UPDATE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS ' +
    `WHERE UNIQUE_CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = BINARY ${sqlLiteral(name)}`,
  );
  let triggers = 0;
  const referencedBy: ForeignKeyRef[] = [];
  for (const r of other.rows) {
    if (text(r[0]) === 'trigger') triggers = Number(text(r[1]));
    else referencedBy.push({ table: text(r[1]), constraint: text(r[2]), onDelete: text(r[3]), onUpdate: text(r[4]) });
  }

  return {
    name,
    tableType,
    columns,
    primaryKey,
    uniqueKeys: [...unique].map(([n, c]) => ({ name: n, columns: c })),
    autoIncrement: columns.find((c) => c.autoIncrement) ?? null,
    triggers,
    referencedBy,
  };
}

/**
 * Table definitions of one database as one MySQL account sees them, shared by its connections.
 * Invalidate after DDL (executeWrite does so for the DDL it runs), and when blocks or undo lists
 * run DDL on the same database through another connection.
 */
export class SchemaCache {
  private readonly tables = new Map<string, Promise<TableInfo | null>>();
  private functions: Promise<Set<string>> | null = null;

  /**
   * The table's definition, or null when it does not exist (absence is not cached). A read another
   * caller started (on its own connection) that fails is read again on `exec`.
   */
  async get(exec: SqlExecutor, table: string): Promise<TableInfo | null> {
    let p = this.tables.get(table);
    const mine = !p;
    if (!p) {
      p = readTableInfo(exec, table);
      this.tables.set(table, p);
    }
    try {
      const info = await p;
      if (!info && this.tables.get(table) === p) this.tables.delete(table);
      return info;
    } catch (e) {
      if (this.tables.get(table) === p) this.tables.delete(table);
      if (!mine) return this.get(exec, table);
      throw e;
    }
  }

  /** Like get, but a missing table is MySQL's own error 1146. */
  async require(exec: SqlExecutor, table: string): Promise<TableInfo> {
    const info = await this.get(exec, table);
    if (!info) throw new SqlExecError(1146, '42S02', `Table '${table}' doesn't exist`);
    return info;
  }

  /** Names (upper case) of the stored functions of the current database. */
  async storedFunctions(exec: SqlExecutor): Promise<Set<string>> {
    if (!this.functions) {
      this.functions = exec
        .query("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'FUNCTION'")
        .then((r) => new Set(r.rows.map((x) => text(x[0]).toUpperCase())));
      this.functions.catch(() => (this.functions = null));
    }
    return this.functions;
  }

  /** Forgets one table (or everything). */
  invalidate(table?: string): void {
    this.functions = null;
    if (table === undefined) this.tables.clear();
    else for (const k of [...this.tables.keys()]) if (k.toLowerCase() === table.toLowerCase()) this.tables.delete(k);
  }
}

/** Refuses row writes to a table OurSQL cannot replicate row by row. */
export function checkRowWritable(t: TableInfo): void {
  if (t.tableType === 'VIEW') {
    throw new WriteRefused(`\`${t.name}\` is a view: OurSQL replicates row changes of base tables only; write to the table itself`);
  }
  if (t.tableType !== 'BASE TABLE') {
    throw new WriteRefused(`\`${t.name}\` is a ${t.tableType.toLowerCase()}: OurSQL replicates row changes of ordinary tables only`);
  }
  if (t.primaryKey.length === 0) {
    throw new WriteRefused(
      `table \`${t.name}\` has no PRIMARY KEY: OurSQL needs a primary key to replicate row changes ` +
      `(refs and undo name each row by it); add one, e.g. ALTER TABLE ${quoteIdent(t.name)} ADD PRIMARY KEY (...)`,
    );
  }
  if (t.triggers > 0) {
    throw new WriteRefused(`table \`${t.name}\` has triggers: their changes would not be replicated or undone; OurSQL does not write to tables with triggers`);
  }
}

/** Column lookup by name, case-insensitively as MySQL does. */
export function findColumn(t: TableInfo, name: string): ColumnDef | undefined {
  const lower = name.toLowerCase();
  return t.columns.find((c) => c.name.toLowerCase() === lower);
}

/** Columns that hold data (what undo restores): all but generated ones. */
export function dataColumns(t: TableInfo): ColumnDef[] {
  return t.columns.filter((c) => !c.generated);
}

export function isPkColumn(t: TableInfo, name: string): boolean {
  const lower = name.toLowerCase();
  return t.primaryKey.some((k) => k.toLowerCase() === lower);
}
