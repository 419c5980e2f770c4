import { scanSql } from './lexer.ts';

/** First keywords of statements that never change data or schema: relayed to MySQL untouched. */
export const READ_KEYWORDS: ReadonlySet<string> = new Set([
  'SELECT', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'SET', 'USE', 'HELP', 'DO', 'CHECKSUM', 'CHECK',
  'ANALYZE', 'KILL', 'LOCK', 'UNLOCK', 'FLUSH', 'OPTIMIZE', 'VALUES', 'TABLE',
]);

/** Reads that change the session the write path keeps notes of (autocommit, database, time zone). */
const SESSION_KEYWORDS = new Set(['SET', 'USE']);

/**
 * One read statement that changes nothing the proxy tracks: no SET, no USE, no signing comment.
 * A lexical look only (no parse): a process that relays reads decides with it, and gives every
 * other statement to the node's main process, which classifies it in full (SqlClassifier).
 */
export function isPlainRead(sql: string): boolean {
  if (/PUBKEY|DATA/.test(sql)) return false;
  const scan = scanSql(sql);
  return scan.statements === 1 && READ_KEYWORDS.has(scan.keyword) && !SESSION_KEYWORDS.has(scan.keyword);
}
