import { removeComments, scanSql } from './lexer.ts';

/**
 * The client-signed flow's comments (SPEC 5): `/* PUBKEY:<hex>; *\/` asks for the data to sign;
 * `/* DATA:<hex>; SIGN:<hex>; *\/` executes. Only comments outside string literals count.
 */
export type SigningRequest =
  | { mode: 'plain'; sql: string }
  | { mode: 'prepare'; sql: string; pubkey: string }
  | { mode: 'signed'; sql: string; data: string; sign: string };

const FIELD = /\b(PUBKEY|DATA|SIGN)\s*:\s*([0-9a-fA-F]*)\s*;?/g;

export class SigningCommentError extends Error {
  override name = 'SigningCommentError';
}

export function parseSigningComments(text: string): SigningRequest {
  const scan = scanSql(text);
  const ours = scan.comments.filter((c) => /\b(PUBKEY|DATA|SIGN)\s*:/.test(c.text));
  if (ours.length === 0) return { mode: 'plain', sql: text };
  const fields: Record<string, string> = {};
  for (const c of ours) {
    for (const m of c.text.matchAll(FIELD)) {
      if (fields[m[1]] !== undefined) throw new SigningCommentError(`${m[1]} is given twice`);
      fields[m[1]] = m[2].toLowerCase();
    }
  }
  const sql = removeComments(text, ours);
  if (fields.PUBKEY !== undefined) {
    if (fields.DATA !== undefined || fields.SIGN !== undefined) throw new SigningCommentError('use PUBKEY alone in step 1, DATA and SIGN together in step 2');
    if (!fields.PUBKEY) throw new SigningCommentError('PUBKEY needs your public key in hex');
    return { mode: 'prepare', sql, pubkey: fields.PUBKEY };
  }
  if (!fields.DATA || !fields.SIGN) throw new SigningCommentError('step 2 needs both DATA:<Transaction hex>; and SIGN:<signature hex>;');
  return { mode: 'signed', sql, data: fields.DATA, sign: fields.SIGN };
}
