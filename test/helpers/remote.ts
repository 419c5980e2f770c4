// Runs the real `oursql-remote` binary as a user would, and a node's JSON-RPC with its cookie.
import { join } from 'node:path';
import { runBin, type Run } from './cli.ts';

export const REMOTE_BIN = join(import.meta.dirname, '../../bin/oursql-remote.js');

export function oursqlRemote(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runBin(REMOTE_BIN, args, env);
}

/** A JSON-RPC caller for `url`; `cookie` (user:password) for the methods that need auth. */
export function rpcCaller(url: string, cookie?: string) {
  return async (method: string, params: unknown = []): Promise<any> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cookie) headers.authorization = `Basic ${Buffer.from(cookie).toString('base64')}`;
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message} (${body.error.code})`);
    return body.result;
  };
}
