/**
 * The peer protocol (SPEC 8, docs/protocol.md): JSON over HTTP, `POST /p2p` on the node port.
 * One request, one answer; every message is checked against its schema and size limits here,
 * before anything else looks at it. Transactions and blocks travel in their wire form and are
 * checked by consensus/ when decoded.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

/** Largest request or answer body: a full block of 10,000 small txs, or 50 blocks in a batch. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
export const MAX_LOCATOR = 64;
export const MAX_HEADERS = 2000;
export const MAX_BLOCKS_PER_REQUEST = 50;
export const MAX_TXS_PER_REQUEST = 2000;
export const MAX_INV = 5000;
export const MAX_PEERS_ANSWER = 100;
export const MAX_HELLO_DIGESTS = 8;

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
/** `host:port` a peer listens on. */
export const peerAddr = z.string().max(255).regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/, 'must be HOST:PORT');
const work = z.string().regex(/^[0-9]{1,80}$/, 'must be a decimal integer');

const wireTx = z.object({ body: z.unknown(), sig: z.unknown().optional() });
const wireBlock = z.object({ header: z.unknown(), txs: z.array(wireTx) });
/** A block as header, coinbase and txids (the receiver has most txs pooled already). */
const compactBlock = z.object({ header: z.unknown(), coinbase: wireTx, txids: z.array(hash).max(100_000) });

const hello = z.object({
  type: z.literal('hello'),
  version: z.number().int(),
  genesis: hash,
  consensus: hash,
  height: z.number().int().min(0),
  work,
  /** The sender's tip: at equal work the lower hash wins, so a peer on another tip of equal work syncs too. */
  tip: hash.optional(),
  /** Where the sender accepts peers (null: it is not reachable, e.g. behind NAT). */
  listen: peerAddr.nullable(),
  /** Random per node: a node that reaches itself drops the connection. */
  nonce: z.string().regex(/^[0-9a-f]{16,64}$/),
  /** State digests (SPEC 9) of the sender's latest active blocks that have one: a peer compares those it has too. */
  digests: z.array(z.object({ hash, digest: hash })).max(MAX_HELLO_DIGESTS).optional(),
});

export const requestSchema = z.discriminatedUnion('type', [
  hello,
  z.object({ type: z.literal('getheaders'), locator: z.array(hash).min(1).max(MAX_LOCATOR), limit: z.number().int().min(1).max(MAX_HEADERS) }),
  z.object({ type: z.literal('getblocks'), hashes: z.array(hash).min(1).max(MAX_BLOCKS_PER_REQUEST) }),
  /** A block with only its txids and coinbase: the receiver has most txs in its pool already. */
  z.object({ type: z.literal('getcompact'), hash }),
  z.object({ type: z.literal('gettxs'), ids: z.array(hash).min(1).max(MAX_TXS_PER_REQUEST) }),
  z.object({ type: z.literal('getmempool') }),
  z.object({
    type: z.literal('inv'), txs: z.array(hash).max(MAX_INV).default([]), blocks: z.array(hash).max(16).default([]), from: peerAddr.nullable().default(null),
    /** The newest announced block as `getcompact` answers it, so the receiver need not ask (BIP 152's high-bandwidth mode). */
    compact: z.array(compactBlock.extend({ hash })).max(1).default([]),
  }),
  z.object({ type: z.literal('getpeers') }),
  /** From a node no one can reach (its `listen` is null): its new txs and blocks, whole. */
  z.object({ type: z.literal('pushtxs'), txs: z.array(wireTx).min(1).max(MAX_TXS_PER_REQUEST) }),
  z.object({ type: z.literal('pushblock'), block: wireBlock }),
  z.object({ type: z.literal('getconsensus') }),
]);
export type Request = z.infer<typeof requestSchema>;
export type Hello = z.infer<typeof hello>;
export type RequestType = Request['type'];

const storedHeader = z.object({ hash, header: z.unknown() });

/** The answer schema of each request type. */
export const answerSchemas = {
  hello: hello.omit({ type: true }),
  getheaders: z.object({ headers: z.array(storedHeader).max(MAX_HEADERS) }),
  // each block is decoded by consensus (blockFromWire), which checks its whole shape: copying
  // 1,500 txs through a schema first only doubled the work
  getblocks: z.object({ blocks: z.array(z.unknown()).max(MAX_BLOCKS_PER_REQUEST) }),
  getcompact: compactBlock,
  gettxs: z.object({ txs: z.array(wireTx).max(MAX_TXS_PER_REQUEST) }),
  getmempool: z.object({ txids: z.array(hash).max(200_000) }),
  inv: z.object({ ok: z.literal(true) }),
  getpeers: z.object({ peers: z.array(peerAddr).max(MAX_PEERS_ANSWER) }),
  pushtxs: z.object({ ok: z.literal(true) }),
  pushblock: z.object({ ok: z.literal(true) }),
  getconsensus: z.object({ consensus: z.string().max(1024 * 1024), genesis: wireBlock }),
} satisfies Record<RequestType, z.ZodType>;
export type Answer<T extends RequestType> = z.infer<(typeof answerSchemas)[T]>;
export type CompactBlock = z.infer<typeof compactBlock>;

/** Error answers (HTTP 4xx/5xx): `{ error: { code, message } }`. */
export type ErrorCode = 'bad-request' | 'wrong-chain' | 'not-found' | 'busy' | 'internal';
export const errorSchema = z.object({ error: z.object({ code: z.string().max(40), message: z.string().max(2000) }) });
