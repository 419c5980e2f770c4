/**
 * JSON-RPC 2.0 calls to the node; every answer is checked against the shape it must have. Pure
 * (fetch only): the web signer uses it too.
 */
import type { z } from 'zod';
import { utf8ToBytes } from '../consensus/index.ts';
import { NodeError, RemoteError, TamperError } from './errors.ts';

const TIMEOUT_MS = 60_000;

export type Call = <S extends z.ZodType>(method: string, params: unknown, shape: S) => Promise<z.infer<S>>;

export interface ClientOptions {
  /** Said after "cannot reach the node at URL (why): is it running?"; the CLI names `setnode`. */
  unreachableHint?: string;
}

const base64 = (bytes: Uint8Array): string => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));

/** A caller for the node at `url` (absolute); credentials in the URL become HTTP Basic auth. */
export function nodeClient(url: string, opts: ClientOptions = {}): Call {
  const hint = opts.unreachableHint ?? ' (setnode URL changes the node)';
  const target = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.username || target.password) {
    const creds = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers.authorization = `Basic ${base64(utf8ToBytes(creds))}`;
    target.username = '';
    target.password = '';
  }
  const shown = target.toString();
  let id = 0;
  return async (method, params, shape) => {
    const callId = ++id;
    let res: Response;
    try {
      res = await fetch(target, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: callId, method, params }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new RemoteError(`cannot reach the node at ${shown} (${cause}): is it running?${hint}`);
    }
    if (res.status === 401) throw new RemoteError(`the node at ${shown} asks for credentials for ${method}`);
    let body: { id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new RemoteError(`the node at ${shown} answered HTTP ${res.status} without JSON: is this an OurSQL node?`);
    }
    if (body?.error) {
      const { code, message, data } = body.error;
      throw new NodeError(typeof code === 'number' ? code : 0, typeof message === 'string' ? message : 'error without message', data);
    }
    if (body?.id !== callId) throw new TamperError(`the node answered ${method} with another request's id`);
    const r = shape.safeParse(body.result);
    if (!r.success) {
      throw new TamperError(`the node's answer to ${method} is not what an OurSQL node answers: ${r.error.issues.map((i) => `${i.path.join('.') || 'result'}: ${i.message}`).join('; ')}`);
    }
    return r.data;
  };
}
