import { ConsensusError, type SqlAction, type SqlOp } from '../../consensus/index.ts';
import { astify, cleanCopy, Parser } from './ast.ts';
import { scanSql } from './lexer.ts';
import { READ_KEYWORDS } from './plain-read.ts';
import { ShapeCache } from './templates.ts';
import { SqlRefused } from './refused.ts';

export type WriteKind =
  | 'insert' | 'replace' | 'update' | 'delete' | 'truncate'
  | 'create-table' | 'drop-table' | 'alter-table' | 'create-index' | 'drop-index';

export type Classified =
  | { kind: 'read' }
  | { kind: 'empty' }
  | { kind: 'txn'; verb: 'begin' | 'commit' | 'rollback' | 'savepoint' }
  | { kind: 'write'; write: WriteStatement }
  | { kind: 'refused'; reason: string };

export interface WriteStatement {
  kind: WriteKind;
  table: string;
  /** The parsed statement (node-sql-parser AST). */
  ast: any;
  /**
   * Its shape was already printed and read back the same (see templates.ts): its canonical
   * text needs no read-back check, unless a rewrite changes more than literals.
   */
  printable?: boolean;
}

export { SqlRefused };

const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'WITH']);
const TXN: Record<string, 'begin' | 'commit' | 'rollback' | 'savepoint'> = {
  BEGIN: 'begin', START: 'begin', COMMIT: 'commit', ROLLBACK: 'rollback', SAVEPOINT: 'savepoint', RELEASE: 'savepoint',
};

const OP: Record<WriteKind, SqlOp> = {
  insert: 'insert', replace: 'insert', update: 'update', delete: 'delete', truncate: 'delete',
  'create-table': 'create', 'create-index': 'create', 'alter-table': 'alter', 'drop-index': 'alter', 'drop-table': 'drop',
};

const MAX_PREPARED = 256;
const ROW_KINDS = new Set<WriteKind>(['insert', 'replace', 'update', 'delete']);

/** Parses SQL with node-sql-parser; one instance per classifier (the parser keeps no shared state we rely on). */
export class SqlClassifier {
  private readonly parser = new Parser();
  private readonly shapes = new ShapeCache<WriteStatement>();
  /** Prepared statements' texts (with `?`, which shapes leave out): every connection prepares its own. */
  private readonly prepared = new Map<string, WriteStatement>();

  /** Classifies one COM_QUERY text (which may hold several statements). */
  classify(sql: string): Classified {
    const scan = scanSql(sql);
    if (scan.statements === 0) return { kind: 'empty' };
    if (scan.statements > 1) {
      const kinds = scan.parts.map((p) => this.classifyOne(p, scanSql(p).keyword));
      if (kinds.every((k) => k.kind === 'read' || k.kind === 'empty')) return { kind: 'read' };
      return { kind: 'refused', reason: 'a packet with several statements may only hold reads: send each update on its own' };
    }
    return this.classifyOne(scan.parts[0], scan.keyword);
  }

  private classifyOne(sql: string, keyword: string): Classified {
    if (READ_KEYWORDS.has(keyword)) return { kind: 'read' };
    if (keyword in TXN) return { kind: 'txn', verb: TXN[keyword] };
    if (keyword === '') return { kind: 'read' };
    if (!WRITES.has(keyword)) {
      return { kind: 'refused', reason: `${keyword} statements are not supported through OurSQL (they would change data without a blockchain transaction)` };
    }
    if (/^\s*(CREATE|DROP)\s+TEMPORARY\s+TABLE\b/i.test(sql)) return { kind: 'read' };
    return { kind: 'write', write: this.parseWrite(sql) };
  }

  /** Parses a replicated statement into its kind and table; refuses what cannot be replicated. */
  parseWrite(sql: string): WriteStatement {
    const known = this.shapes.lookup(sql, (text) => this.parseWriteText(text), (w) => w.ast, (w, ast) => ({ ...w, ast }));
    if (known) return { ...known.value, printable: known.printable };
    if (!sql.includes('?')) return this.parseWriteText(sql);
    // a connection per request (PHP, say) prepares the same text each time: parsed once, handed out as copies
    let w = this.prepared.get(sql);
    if (!w) {
      w = this.parseWriteText(sql);
      if (this.prepared.size >= MAX_PREPARED) this.prepared.clear();
      this.prepared.set(sql, { ...w, ast: cleanCopy(w.ast) });
      return w;
    }
    return { ...w, ast: cleanCopy(w.ast) };
  }

  private parseWriteText(sql: string): WriteStatement {
    // MySQL runs the text of /*! … */ and /*M! … */ as SQL, the parser reads it as a comment: a
    // statement could then do what its parse does not show (and what the rules did not check).
    if (scanSql(sql).comments.some((c) => /^(M?!)/.test(c.text))) {
      throw new SqlRefused('an update may not hold executable comments (/*! … */): OurSQL could not check what they do; write the SQL plainly');
    }
    let ast: any;
    try {
      ast = astify(this.parser, sql);
    } catch (e) {
      throw new SqlRefused(`OurSQL could not parse this statement to replicate it: ${(e as Error).message.split('\n')[0]}`);
    }
    if (Array.isArray(ast)) {
      if (ast.length !== 1) throw new SqlRefused('send one update per query');
      ast = ast[0];
    }
    const kind = writeKind(ast);
    const tables = tablesOf(ast, kind);
    if (tables.length !== 1) throw new SqlRefused(`an update must touch exactly one table (this one names ${tables.length})`);
    const [t] = tables;
    if (t.db) throw new SqlRefused(`name the table without its database (${t.db}.${t.table}): updates go to the node's database`);
    return { kind, table: t.table, ast };
  }

  /** What a replicated statement does, for the consensus rules (every node runs this on every tx). */
  action(stmt: string): SqlAction {
    // literals name no table: a known shape's kind and table are this statement's (no AST copy)
    const known = this.shapes.lookup(stmt, (text) => this.parseWriteText(text), (w) => w.ast, null);
    const w = known ? known.value : this.parseWriteText(stmt);
    return { op: OP[w.kind], table: w.table, schema: !ROW_KINDS.has(w.kind) };
  }
}

function writeKind(ast: any): WriteKind {
  switch (ast.type) {
    case 'insert': return 'insert';
    case 'replace': return 'replace';
    case 'update': return 'update';
    case 'delete': return 'delete';
    case 'truncate': return 'truncate';
    case 'alter': return 'alter-table';
    case 'create':
      if (ast.keyword === 'table') return 'create-table';
      if (ast.keyword === 'index') return 'create-index';
      break;
    case 'drop':
      if (ast.keyword === 'table') return 'drop-table';
      if (ast.keyword === 'index') return 'drop-index';
      break;
  }
  throw new SqlRefused(`${String(ast.type).toUpperCase()} ${ast.keyword ? String(ast.keyword).toUpperCase() + ' ' : ''}is not replicated by OurSQL`);
}

function tablesOf(ast: any, kind: WriteKind): { db: string | null; table: string }[] {
  const one = (t: any) => ({ db: t.db ?? null, table: t.table });
  switch (kind) {
    case 'insert': case 'replace': return ast.table.map(one);
    case 'update': return ast.table.map(one);
    case 'delete': {
      if (ast.table?.length && ast.from?.length && ast.table.length !== ast.from.length) return [...ast.table, ...ast.from].map(one);
      return (ast.from ?? ast.table).map(one);
    }
    case 'create-table': return ast.table.map(one);
    case 'drop-table': return ast.name.map(one);
    case 'truncate': return ast.name.map(one);
    case 'alter-table': return ast.table.map(one);
    case 'create-index': return [one(ast.table)];
    case 'drop-index': return [one(ast.table)];
  }
}

/** The classifier the chain's validity checks use: refusals become consensus errors. */
export function consensusClassifier(): (stmt: string) => SqlAction {
  const c = new SqlClassifier();
  // A tx's statements are parsed at admission, at block apply and on each re-admission: remember them.
  const seen = new Map<string, SqlAction | SqlRefused>();
  return (stmt) => {
    let r = seen.get(stmt);
    if (!r) {
      try {
        r = c.action(stmt);
      } catch (e) {
        if (!(e instanceof SqlRefused)) throw e;
        r = e;
      }
      if (seen.size >= 20_000) seen.clear();
      seen.set(stmt, r);
    }
    if (r instanceof SqlRefused) throw new ConsensusError('sql-refused', r.message, { stmt });
    return r;
  };
}
