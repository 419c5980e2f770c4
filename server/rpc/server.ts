/**
 * The node's HTTP app. `POST /rpc` speaks JSON-RPC 2.0 (single and batch requests). HTTP status is
 * 200 for every JSON-RPC answer, errors included; 401 when auth is missing or wrong, 413 for a body
 * over the limit, 204 when a request holds only notifications. Other routes (peers, web signer)
 * mount next to it.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createJSONRPCErrorResponse, type JSONRPCResponse } from 'json-rpc-2.0';
import type { OursqlNode } from '../node/node.ts';
import { webSignerRouter } from '../web/static.ts';
import { authState } from './auth.ts';
import { answer, buildJsonRpcServer, needsAuth } from './dispatch.ts';
import { RpcCode } from './errors.ts';
import type { CallContext } from './method.ts';

/**
 * Largest request body accepted on /rpc: room for `submitsigned` of the largest transaction body
 * (1 MiB of canonical JSON, sent as hex: 2 MiB) with its signature.
 */
export const MAX_RPC_BODY_BYTES = 3 * 1024 * 1024;

export function createRpcApp(node: OursqlNode): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // A bigint that slips into a result prints as a decimal string instead of failing the response.
  app.set('json replacer', (_key: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  app.use('/rpc', rpcRouter(node));
  app.use(webSignerRouter());
  return app;
}

const rpcError = (code: number, message: string): JSONRPCResponse => createJSONRPCErrorResponse(null, code, message);

function rpcRouter(node: OursqlNode): express.Router {
  const server = buildJsonRpcServer(node.log);
  const router = express.Router();

  router.post('/', express.text({ type: () => true, limit: MAX_RPC_BODY_BYTES }), async (req: Request, res: Response) => {
    let payload: unknown;
    try {
      payload = JSON.parse(typeof req.body === 'string' ? req.body : '');
    } catch {
      res.json(rpcError(RpcCode.PARSE_ERROR, 'Parse error: the request body is not valid JSON'));
      return;
    }
    const requests: unknown[] = Array.isArray(payload) ? payload : [payload];
    const auth = authState(req.headers.authorization, node);
    const protectedMethod = requests.map((r) => (r as { method?: unknown } | null)?.method).find(needsAuth);
    if (auth === 'bad' || (auth === 'none' && protectedMethod !== undefined)) {
      const why = auth === 'bad'
        ? 'wrong RPC credentials'
        : `method ${String(protectedMethod)} needs auth: HTTP Basic with the contents of <datadir>/rpc.cookie (user:password) or rpcUser/rpcPassword`;
      res.status(401).set('WWW-Authenticate', 'Basic realm="oursql"').json(rpcError(RpcCode.INVALID_REQUEST, why));
      return;
    }

    const after: (() => void)[] = [];
    const ctx: CallContext = { node, local: false, afterResponse: (fn) => after.push(fn) };
    res.on('finish', () => after.forEach((fn) => fn()));
    if (Array.isArray(payload) && payload.length === 0) {
      res.json(rpcError(RpcCode.INVALID_REQUEST, 'Invalid Request: empty batch'));
      return;
    }
    // Batch elements run one after another, as bitcoind does: later calls see earlier effects.
    const responses: JSONRPCResponse[] = [];
    for (const r of requests) {
      const out = await answer(server, r, ctx);
      if (out) responses.push(out);
    }
    if (responses.length === 0) res.status(204).end();
    else res.json(Array.isArray(payload) ? responses : responses[0]);
  });

  router.all('/', (_req: Request, res: Response) => {
    res.status(405).set('Allow', 'POST').json(rpcError(RpcCode.INVALID_REQUEST, 'use POST /rpc with a JSON-RPC 2.0 body'));
  });

  // Body-reading failures (too large, bad encoding, aborted) still answer in JSON-RPC form.
  router.use((err: { type?: string; status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') {
      res.status(413).json(rpcError(RpcCode.INVALID_REQUEST, `request body is larger than ${MAX_RPC_BODY_BYTES} bytes`));
      return;
    }
    if (err.status && err.status >= 400 && err.status < 500) {
      res.status(err.status).json(rpcError(RpcCode.PARSE_ERROR, `cannot read the request body: ${err.message ?? err.type}`));
      return;
    }
    node.log(`rpc: unexpected HTTP error: ${err.message ?? String(err)}`);
    res.status(500).json(rpcError(RpcCode.INTERNAL_ERROR, 'internal error (details are in the node log)'));
  });
  return router;
}
