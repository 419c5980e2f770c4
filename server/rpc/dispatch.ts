/**
 * The method table behind a JSON-RPC server: params validated per method, errors mapped once. Used
 * by HTTP (server.ts) and in-process by the CLI on a stopped node, so both give the same answers.
 */
import {
  createJSONRPCErrorResponse, isJSONRPCID, isJSONRPCRequest, JSONRPCServer, type JSONRPCID, type JSONRPCRequest, type JSONRPCResponse,
} from 'json-rpc-2.0';
import type { OursqlNode } from '../node/node.ts';
import { RpcCode, RpcError, toRpcError } from './errors.ts';
import { parseParams, type CallContext, type MethodTable } from './method.ts';
import { chainMethods } from './methods/chain.ts';
import { nodeMethods } from './methods/node.ts';
import { poolMethods } from './methods/pool.ts';
import { sqlMethods } from './methods/sql.ts';
import { walletMethods } from './methods/wallet.ts';
import { addressMethods } from './methods/address.ts';
import { peerMethods } from './methods/peers.ts';
import { twoStepMethods } from './methods/twostep.ts';

/** Every method the node serves; a new group of methods is one more spread here. */
export const METHODS: MethodTable = {
  ...chainMethods, ...poolMethods, ...walletMethods, ...addressMethods, ...twoStepMethods, ...nodeMethods, ...peerMethods, ...sqlMethods,
};

export function needsAuth(method: unknown): boolean {
  return typeof method === 'string' && Object.hasOwn(METHODS, method) && METHODS[method].auth;
}

/** `exposeInternal`: unexpected errors keep their message (in-process only, never over HTTP). */
export function buildJsonRpcServer(log: (msg: string) => void, exposeInternal = false): JSONRPCServer<CallContext> {
  // Errors are logged (when unexpected) by toRpcError, so the library's own listener stays quiet.
  const server = new JSONRPCServer<CallContext>({ errorListener: () => {} });
  for (const [name, m] of Object.entries(METHODS)) {
    server.addMethod(name, (raw, ctx) => m.run(parseParams(name, m, raw), ctx));
  }
  server.handleMethodNotFound = async (request: JSONRPCRequest) =>
    request.id === undefined ? null : createJSONRPCErrorResponse(request.id, RpcCode.METHOD_NOT_FOUND, `Method not found: ${request.method}`);
  server.mapErrorToJSONRPCErrorResponse = (id: JSONRPCID, e: unknown) => {
    const r = toRpcError(e, log, exposeInternal);
    return createJSONRPCErrorResponse(id, r.code, r.message, r.data);
  };
  return server;
}

/** One element of a request (single or batch) → its response, or null for a notification. */
export async function answer(server: JSONRPCServer<CallContext>, request: unknown, ctx: CallContext): Promise<JSONRPCResponse | null> {
  const isObject = typeof request === 'object' && request !== null && !Array.isArray(request);
  if (!isObject || !isJSONRPCRequest(request) || typeof request.method !== 'string') {
    const id = isObject && isJSONRPCID((request as { id?: unknown }).id) ? (request as { id: JSONRPCID }).id : null;
    return createJSONRPCErrorResponse(id, RpcCode.INVALID_REQUEST, 'Invalid Request: expected {"jsonrpc":"2.0","method":"...","params":...,"id":...}');
  }
  return server.receive(request, ctx);
}

/** In-process calls (the CLI on a stopped node): same methods and errors, no HTTP and no auth. */
export function createDispatcher(node: OursqlNode) {
  const server = buildJsonRpcServer(node.log, true);
  return async function call<T = unknown>(method: string, params?: unknown): Promise<T> {
    const after: (() => void)[] = [];
    const ctx: CallContext = { node, local: true, afterResponse: (fn) => after.push(fn) };
    const r = await answer(server, { jsonrpc: '2.0', id: 1, method, params }, ctx);
    for (const fn of after) fn();
    if (!r) throw new RpcError(RpcCode.INTERNAL_ERROR, `no answer to ${method}`);
    if (r.error) throw new RpcError(r.error.code, r.error.message, r.error.data);
    return r.result as T;
  };
}
