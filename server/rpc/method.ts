/** How an RPC method is declared: its params (named and positional), their schema, auth and body. */
import { z } from 'zod';
import type { OursqlNode } from '../node/node.ts';
import { RpcCode, RpcError } from './errors.ts';

/** What a method sees besides its params. */
export interface CallContext {
  node: OursqlNode;
  /** True when called in-process by the CLI on a stopped node (no HTTP server, no miner loop). */
  local: boolean;
  /** Runs `fn` once the response has been sent (e.g. `stop` must answer before it closes HTTP). */
  afterResponse(fn: () => void): void;
}

export interface RpcMethod<S extends z.ZodObject = z.ZodObject> {
  /** One line for docs and errors. */
  summary: string;
  /** Param names in positional order: `[h]` lets `getblockhash` take `[5]` or `{"h":5}` (bitcoind style). */
  params: readonly string[];
  schema: S;
  /** Needs HTTP Basic auth: the method uses node-held keys or changes the node (SPEC 7). */
  auth: boolean;
  /** What the result holds, in one line for the docs. */
  returns: string;
  /** The shape of the result: documented, and checked by the tests against real answers. */
  result: z.ZodType;
  /** Codes besides the JSON-RPC protocol ones (-32700 to -32600) this method answers with, and when. */
  errors?: Readonly<Record<number, string>>;
  /** One request and its answer for docs/rpc.md (checked against `schema` and `result`). */
  example: { params?: Record<string, unknown> | readonly unknown[]; result: unknown };
  run(params: z.infer<S>, ctx: CallContext): unknown;
}

/** Declares a method; a function so each method's params are typed from its own schema. */
export function method<S extends z.ZodObject>(m: RpcMethod<S>): RpcMethod<S> {
  return m;
}

export type MethodTable = Record<string, RpcMethod>;

/** Params as sent (absent, positional array or named object) → the method's params, validated. */
export function parseParams<S extends z.ZodObject>(name: string, m: RpcMethod<S>, raw: unknown): z.infer<S> {
  let named: unknown = raw ?? {};
  if (Array.isArray(raw)) {
    if (raw.length > m.params.length) {
      throw new RpcError(RpcCode.INVALID_PARAMS, `${name} takes at most ${m.params.length} parameter(s) (${m.params.join(', ') || 'none'}), got ${raw.length}`);
    }
    // A positional null means "use the default", as in bitcoind.
    named = Object.fromEntries(raw.map((v, i) => [m.params[i], v ?? undefined]).filter(([, v]) => v !== undefined));
  }
  const r = m.schema.strict().safeParse(named);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ param: i.path.join('.') || undefined, message: i.message }));
    const text = issues.map((i) => (i.param ? `${i.param}: ${i.message}` : i.message)).join('; ');
    throw new RpcError(RpcCode.INVALID_PARAMS, `invalid params for ${name}: ${text}`, { issues });
  }
  return r.data as z.infer<S>;
}

// Shared param shapes.
export const hex64 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters').transform((s) => s.toLowerCase());
/** An amount of coins as a person types it; converted exactly by the method (bad amount → -3). */
export const coinsParam = z.union([z.string(), z.number()]).describe('coins, up to 8 decimals ("1.5" or 1.5)');
/** An address as given; checked by the method (bad checksum → -5 `bad-address`). */
export const addressParam = z.string().describe('address (base58check)');
export const heightParam = z.number().int().min(0);
