/**
 * Consecutive one-row INSERTs into the same table and columns, replayed as one multi-row INSERT:
 * MariaDB runs 30 one-row INSERTs in ~4× the time of one 30-row INSERT (measured on this kind of
 * machine: 6,000 rows in 150 ms as single statements in multi-statement packets, 35 ms merged),
 * and a block's SQL is mostly such rows.
 *
 * Only a row of plain literals is merged, so the merged text cannot read differently from the
 * statements it stands for, whatever the session's sql_mode: numbers, NULL, TRUE, FALSE, hex
 * (X'..', 0x..) and '...' strings without a backslash (NO_BACKSLASH_ESCAPES changes how those
 * read) or a double-quoted string (ANSI_QUOTES makes it a name). No function, so no NOW(),
 * DEFAULT or LAST_INSERT_ID() can tell the rows apart from one-row statements. The batch checks
 * MySQL's answer besides (sql-batch.ts): a merged INSERT must add exactly its rows, without a
 * warning (a non-strict table would turn a one-row error into a multi-row warning); a head whose
 * rows drew a warning is not merged again.
 */

/** A statement to send, and how many of the given statements it stands for; `head` when merged (one row each). */
export interface MergedStatement {
  sql: string;
  rows: number;
  head?: string;
}

/** At most this many rows in one merged INSERT. */
export const MAX_MERGED_ROWS = 1000;

/**
 * `stmts` with each run of mergeable INSERTs of one head (`INSERT INTO t (cols) VALUES`) as one
 * statement; heads in `unmerged` (their rows drew warnings before) are left one row a statement.
 */
export function mergeInserts(stmts: readonly string[], unmerged: ReadonlySet<string> = new Set()): MergedStatement[] {
  const out: MergedStatement[] = [];
  let head: string | undefined;
  let rows: string[] = [];
  let single = '';
  const close = () => {
    if (head === undefined) return;
    out.push(rows.length === 1 ? { sql: single, rows: 1 } : { sql: `${head}${rows.join(',')}`, rows: rows.length, head });
    head = undefined;
    rows = [];
  };
  for (const stmt of stmts) {
    const split = splitInsert(stmt);
    if (!split || unmerged.has(split.head)) {
      close();
      out.push({ sql: stmt, rows: 1 });
      continue;
    }
    if (split.head !== head || rows.length >= MAX_MERGED_ROWS) {
      close();
      head = split.head;
      single = stmt;
    }
    rows.push(split.row);
  }
  close();
  return out;
}

/** `INSERT INTO name [(names)] VALUES (literals)` as its head (up to the row) and its row; null for anything else. */
export function splitInsert(stmt: string): { head: string; row: string } | null {
  if (stmt.includes('\\')) return null; // (in a string it reads differently under NO_BACKSLASH_ESCAPES)
  const s = new Scanner(stmt);
  s.space();
  if (!s.word('INSERT') || !s.space(true) || !s.word('INTO') || !s.space(true) || !s.name()) return null;
  if (s.take('.') && !s.name()) return null;
  s.space();
  if (s.peek('(')) {
    if (!s.list(() => s.name())) return null;
    s.space();
  }
  if (!s.word('VALUES')) return null;
  s.space();
  const rowStart = s.at;
  if (!s.list(() => s.literal())) return null;
  const rowEnd = s.at;
  s.space();
  if (!s.done()) return null;
  return { head: stmt.slice(0, rowStart), row: stmt.slice(rowStart, rowEnd) };
}

const isWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

class Scanner {
  at = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.at === this.s.length;
  }

  peek(ch: string): boolean {
    return this.s[this.at] === ch;
  }

  take(ch: string): boolean {
    if (this.s[this.at] !== ch) return false;
    this.at++;
    return true;
  }

  /** `(item, item, …)`, with spaces around each item. */
  list(item: () => boolean): boolean {
    if (!this.take('(')) return false;
    do {
      this.space();
      if (!item()) return false;
      this.space();
    } while (this.take(','));
    return this.take(')');
  }

  /** Whitespace; with `needed`, at least one character of it. */
  space(needed = false): boolean {
    const from = this.at;
    for (let c = this.s.charCodeAt(this.at); c === 32 || (c >= 9 && c <= 13); c = this.s.charCodeAt(this.at)) this.at++;
    return !needed || this.at > from;
  }

  /** A keyword (any case) not followed by a word character. */
  word(w: string): boolean {
    const end = this.at + w.length;
    for (let i = 0; i < w.length; i++) {
      if ((this.s.charCodeAt(this.at + i) & ~32) !== w.charCodeAt(i)) return false; // (w is upper-case letters)
    }
    if (isWordChar(this.s.charCodeAt(end))) return false;
    this.at = end;
    return true;
  }

  /** A `quoted` name (`` doubled inside) or a bare one. */
  name(): boolean {
    if (this.take('`')) {
      const from = this.at;
      for (;;) {
        const end = this.s.indexOf('`', this.at);
        if (end < 0) return false;
        this.at = end + 1;
        if (!this.take('`')) return end > from; // (`` inside stands for one backtick)
      }
    }
    const from = this.at;
    while (this.at < this.s.length && isWordChar(this.s.charCodeAt(this.at))) this.at++;
    return this.at > from;
  }

  /** One plain literal (see the module comment). */
  literal(): boolean {
    const c = this.s.charCodeAt(this.at);
    if (c === 39 /* ' */) return this.string();
    if ((c === 88 || c === 120) /* X x */ && this.s[this.at + 1] === "'") {
      this.at++;
      const from = this.at;
      if (!this.string()) return false;
      const digits = this.s.slice(from + 1, this.at - 1);
      return digits.length % 2 === 0 && [...digits].every((d) => isHex(d.charCodeAt(0)));
    }
    if (c === 48 && (this.s[this.at + 1] === 'x')) {
      this.at += 2;
      const from = this.at;
      while (isHex(this.s.charCodeAt(this.at))) this.at++;
      return this.at > from && !isWordChar(this.s.charCodeAt(this.at));
    }
    if (c === 45 || c === 43 || isDigit(c)) return this.number();
    return this.word('NULL') || this.word('TRUE') || this.word('FALSE');
  }

  /** '...' with '' for a quote (splitInsert took no statement with a backslash). */
  private string(): boolean {
    this.at++;
    for (;;) {
      const end = this.s.indexOf("'", this.at);
      if (end < 0) return false;
      this.at = end + 1;
      if (!this.take("'")) return true;
    }
  }

  /** [-+]digits[.digits][e[-+]digits], not followed by a word character or a dot. */
  private number(): boolean {
    if (this.s[this.at] === '-' || this.s[this.at] === '+') this.at++;
    if (!this.digits()) return false;
    if (this.take('.') && !this.digits()) return false;
    if (this.s[this.at] === 'e' || this.s[this.at] === 'E') {
      this.at++;
      if (this.s[this.at] === '-' || this.s[this.at] === '+') this.at++;
      if (!this.digits()) return false;
    }
    return !isWordChar(this.s.charCodeAt(this.at)) && this.s[this.at] !== '.';
  }

  private digits(): boolean {
    const from = this.at;
    while (isDigit(this.s.charCodeAt(this.at))) this.at++;
    return this.at > from;
  }
}
