/**
 * Asking a peer: one HTTP POST per request, with a deadline, a size cap and a checked answer.
 *
 * node:http with a keep-alive agent, not `fetch`: fetch (undici, web streams) costs about 300 µs of
 * CPU per request against about 40 µs here (measured on this kind of machine), and a node sends
 * thousands (every relayed tx is announced and fetched); its first call also loads ~35 ms of code.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { BodyTooLarge, readBody } from './body.ts';
import { answerSchemas, errorSchema, MAX_MESSAGE_BYTES, type Answer, type Request, type RequestType } from './protocol.ts';

/**
 * unreachable / timeout: the network (back off, no blame); refused: the peer answered with an
 * error (e.g. another chain); invalid: the answer broke the protocol (the peer is scored).
 */
export type PeerFailure = 'unreachable' | 'timeout' | 'refused' | 'invalid';

export class PeerRequestError extends Error {
  override name = 'PeerRequestError';
  constructor(readonly failure: PeerFailure, readonly addr: string, message: string, readonly code?: string) {
    super(`peer ${addr}: ${message}`);
  }
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Connections to peers are kept open between requests (a node asks the same few peers all the
 * time). Idle ones do not keep the process alive (the agent unrefs them). Shared by every node in
 * the process, as fetch's dispatcher was: it holds sockets, nothing a node's behaviour depends on.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export async function askPeer<T extends RequestType>(
  addr: string,
  request: Extract<Request, { type: T }>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Answer<T>> {
  const { status, text } = await post(addr, JSON.stringify(request), request.type, timeoutMs);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PeerRequestError('invalid', addr, `answer to ${request.type} is not JSON`);
  }
  if (status < 200 || status > 299) {
    const err = errorSchema.safeParse(json);
    if (!err.success) throw new PeerRequestError('invalid', addr, `HTTP ${status} without a protocol error`);
    throw new PeerRequestError('refused', addr, err.data.error.message, err.data.error.code);
  }
  const parsed = answerSchemas[request.type].safeParse(json);
  if (!parsed.success) throw new PeerRequestError('invalid', addr, `bad answer to ${request.type}: ${parsed.error.issues[0]?.message ?? 'shape'}`);
  return parsed.data as Answer<T>;
}

/** The answer's status and body text, within `timeoutMs` for the whole exchange. */
async function post(addr: string, body: string, type: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + timeoutMs;
  try {
    return await postOnce(addr, body, type, timeoutMs);
  } catch (e) {
    // The peer closed a kept-alive connection just as it was reused: one new connection
    // (the retry Node's http docs give for `reusedSocket`; a request changes nothing twice).
    if (!(e instanceof StaleSocket)) throw e;
  }
  try {
    return await postOnce(addr, body, type, Math.max(1, deadline - Date.now()));
  } catch (e) {
    if (e instanceof StaleSocket) throw new PeerRequestError('unreachable', addr, `cannot reach: the connection closed (${type})`);
    throw e;
  }
}

class StaleSocket extends Error {}

function postOnce(addr: string, body: string, type: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const fail = (e: Error) => finish(() => {
      req.destroy();
      reject(e);
    });
    const timer = setTimeout(() => fail(new PeerRequestError('timeout', addr, `no answer to ${type} in ${timeoutMs} ms`)), timeoutMs);
    timer.unref(); // the request's socket keeps the process alive while it is open, not its deadline
    const req = httpRequest(`http://${addr}/p2p`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => readCapped(res, addr, type).then((text) => finish(() => resolve({ status: res.statusCode ?? 0, text })), fail));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) return fail(new StaleSocket());
      fail(new PeerRequestError('unreachable', addr, `cannot reach: ${e.code ?? e.message}`));
    });
    req.end(body);
  });
}

/** The answer's text; over the limit the connection is dropped (the rest is not read). */
async function readCapped(res: IncomingMessage, addr: string, type: string): Promise<string> {
  try {
    return await readBody(res, MAX_MESSAGE_BYTES);
  } catch (e) {
    if (e instanceof BodyTooLarge) {
      res.destroy();
      throw new PeerRequestError('invalid', addr, `answer ${e.declared === undefined ? '' : `of ${e.declared} bytes `}is over the ${e.limit}-byte limit`);
    }
    throw new PeerRequestError('unreachable', addr, `answer to ${type} broke off: ${(e as Error).message}`);
  }
}
