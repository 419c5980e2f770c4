/** HTTP Basic auth for the RPC (SPEC 7): the `rpc.cookie` credentials or rpcUser/rpcPassword. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { OursqlNode } from '../node/node.ts';

export type AuthState = 'none' | 'ok' | 'bad';

/** `user:password` from an `Authorization: Basic ...` header, or undefined when there is none. */
function basicCredentials(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  return m ? Buffer.from(m[1], 'base64').toString('utf8') : header ? '' : undefined;
}

// Hashing first gives equal lengths, so the comparison takes the same time whatever the guess.
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** 'none': no credentials sent; 'ok': they match the cookie or the configured user; 'bad': they do not. */
export function authState(header: string | undefined, node: OursqlNode): AuthState {
  const given = basicCredentials(header);
  if (given === undefined) return 'none';
  const { rpcUser, rpcPassword } = node.config;
  const accepted = [node.cookie, ...(rpcUser && rpcPassword ? [`${rpcUser}:${rpcPassword}`] : [])];
  // Check every candidate (no early exit), again so timing does not tell which one was close.
  return accepted.map((a) => same(given, a)).includes(true) ? 'ok' : 'bad';
}
