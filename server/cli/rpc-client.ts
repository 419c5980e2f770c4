/** Talks to a running node's JSON-RPC with the cookie credentials (SPEC 7). */
import { readFile } from 'node:fs/promises';
import { datadirPaths } from '../node/datadir.ts';
import { RpcError } from '../rpc/errors.ts';
import { rpcUrl, type PidInfo } from './daemon.ts';
import { CliError } from './errors.ts';

export type Call = <T = unknown>(method: string, params?: unknown) => Promise<T>;

/** Mining a block through RPC may take a while at high difficulty; reads answer at once. */
const CALL_TIMEOUT_MS = 10 * 60_000;

export async function readCookie(datadir: string): Promise<string> {
  try {
    return (await readFile(datadirPaths(datadir).cookie, 'utf8')).trim();
  } catch {
    throw new CliError(`cannot read ${datadirPaths(datadir).cookie}: is the node running as another user?`);
  }
}

export function rpcClient(info: PidInfo, cookie: string, timeoutMs = CALL_TIMEOUT_MS): Call {
  const url = rpcUrl(info);
  const authorization = `Basic ${Buffer.from(cookie).toString('base64')}`;
  let id = 0;
  return async <T>(method: string, params?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: params ?? [] }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new CliError(`the node (pid ${info.pid}) does not answer on ${url} (${cause})`);
    }
    if (res.status === 401) throw new CliError(`the node at ${url} refused the credentials of its rpc.cookie`);
    let body: { result?: T; error?: { code: number; message: string; data?: unknown } };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new CliError(`the node at ${url} answered HTTP ${res.status} without JSON`);
    }
    if (body.error) throw new RpcError(body.error.code, body.error.message, body.error.data);
    return body.result as T;
  };
}
