/**
 * A cheap lexical look at SQL text: comments, string literals and statement boundaries, without
 * parsing. The read path uses it instead of a full parse (a parse costs ~200 µs per SELECT).
 */

export interface Comment { text: string; start: number; end: number }

export interface Scan {
  /** Upper-cased first keyword after whitespace and comments ('' when none). */
  keyword: string;
  /** Block and line comments outside string literals, in order. */
  comments: Comment[];
  /** Number of non-empty statements separated by `;` outside literals and comments. */
  statements: number;
  /** Statement texts (trimmed), split at top-level `;`. */
  parts: string[];
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
const isWord = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

export function scanSql(sql: string): Scan {
  const comments: Comment[] = [];
  const parts: string[] = [];
  let keyword = '';
  let partStart = 0;
  let partHasCode = false;
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const comment = commentAt(sql, i);
    if (comment) {
      comments.push(comment);
      i = comment.end;
      continue;
    }
    if (c === 39 || c === 34 || c === 96) {
      partHasCode = true;
      i = quotedEnd(sql, i);
      continue;
    }
    if (c === 59) {
      if (partHasCode) parts.push(sql.slice(partStart, i).trim());
      partStart = i + 1;
      partHasCode = false;
      i++;
      continue;
    }
    if (!isSpace(c)) {
      if (!keyword && isWord(c)) {
        let j = i;
        while (j < n && isWord(sql.charCodeAt(j))) j++;
        keyword = sql.slice(i, j).toUpperCase();
        partHasCode = true;
        i = j;
        continue;
      }
      partHasCode = true;
    }
    i++;
  }
  if (partHasCode) parts.push(sql.slice(partStart).trim());
  return { keyword, comments, statements: parts.length, parts };
}

/**
 * Where a statement's own `ORDER BY` or `LIMIT` starts: the first of them outside parentheses,
 * literals and comments; -1 when it has neither.
 */
export function orderLimitStart(sql: string): number {
  const n = sql.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const comment = commentAt(sql, i);
    if (comment) {
      i = comment.end;
    } else if (c === 39 || c === 34 || c === 96) {
      i = quotedEnd(sql, i);
    } else if (c === 40 || c === 41) {
      depth += c === 40 ? 1 : -1;
      i++;
    } else if (isWordPart(c)) {
      // a whole word (identifiers may hold digits and $): ORDER inside `reorder` is not a keyword
      let j = i;
      while (j < n && isWordPart(sql.charCodeAt(j))) j++;
      if (depth === 0) {
        const word = sql.slice(i, j).toUpperCase();
        if (word === 'LIMIT') return i;
        if (word === 'ORDER' && /^\s+BY\b/i.test(sql.slice(j, j + 16))) return i;
      }
      i = j;
    } else {
      i++;
    }
  }
  return -1;
}

const isWordPart = (c: number) => isWord(c) || (c >= 48 && c <= 57) || c === 36;

/** The comment starting at `i` (`/* … *\/`, `-- `, `#`), if one does. */
function commentAt(sql: string, i: number): Comment | null {
  const c = sql.charCodeAt(i);
  const n = sql.length;
  if (c === 47 && sql.charCodeAt(i + 1) === 42) {
    // /* ... */ (MySQL's /*! ... */ version comments are code, but for keyword detection we treat them as comments)
    const end = sql.indexOf('*/', i + 2);
    return { text: sql.slice(i + 2, end < 0 ? n : end), start: i, end: end < 0 ? n : end + 2 };
  }
  if ((c === 45 && sql.charCodeAt(i + 1) === 45 && (i + 2 >= n || isSpace(sql.charCodeAt(i + 2)))) || c === 35) {
    const end = sql.indexOf('\n', i);
    return { text: sql.slice(i + (c === 35 ? 1 : 2), end < 0 ? n : end), start: i, end: end < 0 ? n : end + 1 };
  }
  return null;
}

/**
 * The index after the '...', "..." or `...` starting at `i` (the text's end if it is not closed).
 * A doubled quote is a quote; a backslash escapes the next character in strings, not in backtick
 * names, nor under NO_BACKSLASH_ESCAPES.
 */
export function quotedEnd(sql: string, i: number, noBackslashEscapes = false): number {
  const c = sql.charCodeAt(i);
  const n = sql.length;
  let j = i + 1;
  while (j < n) {
    const d = sql.charCodeAt(j);
    if (d === 92 && c !== 96 && !noBackslashEscapes) {
      j += 2;
      continue;
    }
    if (d === c) {
      if (sql.charCodeAt(j + 1) === c) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return n;
}

/** The SQL with the given comments cut out (used to strip our PUBKEY/DATA/SIGN comments). */
export function removeComments(sql: string, which: readonly Comment[]): string {
  let out = '';
  let at = 0;
  for (const c of which) {
    out += sql.slice(at, c.start);
    at = c.end;
  }
  return (out + sql.slice(at)).trim();
}
