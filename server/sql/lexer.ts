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
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      // /* ... */ (MySQL's /*! ... */ version comments are code, but for keyword detection we treat them as comments)
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      comments.push({ text: sql.slice(i + 2, end < 0 ? n : end), start: i, end: stop });
      i = stop;
      continue;
    }
    if ((c === 45 && sql.charCodeAt(i + 1) === 45 && (i + 2 >= n || isSpace(sql.charCodeAt(i + 2)))) || c === 35) {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end + 1;
      comments.push({ text: sql.slice(i + (c === 35 ? 1 : 2), end < 0 ? n : end), start: i, end: stop });
      i = stop;
      continue;
    }
    if (c === 39 || c === 34 || c === 96) {
      // '...', "...", `...` with backslash escapes (not in backticks) and doubled quotes
      partHasCode = true;
      let j = i + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (d === 92 && c !== 96) {
          j += 2;
          continue;
        }
        if (d === c) {
          if (sql.charCodeAt(j + 1) === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      i = j + 1;
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
