/**
 * What the node's main process and its read-relay processes say to each other over the IPC
 * channel. A connection moves with two messages, one per socket (Node passes one handle per
 * message); both carry the connection's id.
 */
import { z } from 'zod';
import type { NegotiatedCapabilities } from '../wire/index.ts';

/** Main → relay: take this client connection (its socket comes with this message). */
export interface Adopt {
  t: 'adopt';
  id: number;
  caps: NegotiatedCapabilities;
  /** Prepared statements of the connection that read (only their executes may be relayed there). */
  reads: number[];
  /** The last response's bytes, to send the client before anything else. */
  reply: Uint8Array;
  idleTimeoutMs: number;
}
/** Main → relay: the same connection's backend socket. */
export interface AdoptBackend { t: 'adopt-backend'; id: number }
export type ToRelay = Adopt | AdoptBackend;

/** Relay → main: the client sent something other than a plain read; here is the client socket and the bytes not relayed. */
export interface Return { t: 'return'; id: number; pending: Uint8Array }
export interface ReturnBackend { t: 'return-backend'; id: number }
/** Relay → main: the connection ended there (client quit or went away, idle timeout, error). */
export interface Closed { t: 'closed'; id: number }
export interface Ready { t: 'ready' }
export interface Log { t: 'log'; msg: string }
export type FromRelay = Return | ReturnBackend | Closed | Ready | Log;

const id = z.number().int().positive();
const bytes = z.instanceof(Uint8Array);
const toRelay = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('adopt'), id, reply: bytes, reads: z.array(z.number().int()), idleTimeoutMs: z.number().int().positive(),
    caps: z.object({ capabilities: z.number().int(), mariadbCapabilities: z.number().int().optional() }),
  }),
  z.object({ t: z.literal('adopt-backend'), id }),
]);
const fromRelay = z.discriminatedUnion('t', [
  z.object({ t: z.literal('return'), id, pending: bytes }),
  z.object({ t: z.literal('return-backend'), id }),
  z.object({ t: z.literal('closed'), id }),
  z.object({ t: z.literal('ready') }),
  z.object({ t: z.literal('log'), msg: z.string() }),
]);

/** Messages come from our own child or parent, but a bad one must fail loudly, not half-work. */
export function parseToRelay(m: unknown): ToRelay {
  const r = toRelay.safeParse(m);
  if (!r.success) throw new Error(`relay: unexpected message ${JSON.stringify(m)?.slice(0, 200)}`);
  return r.data as ToRelay;
}

export function parseFromRelay(m: unknown): FromRelay {
  const r = fromRelay.safeParse(m);
  if (!r.success) throw new Error(`relay: unexpected message ${JSON.stringify(m)?.slice(0, 200)}`);
  return r.data as FromRelay;
}
