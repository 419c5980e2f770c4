/** Asking a peer: one HTTP POST per request, with a deadline, a size cap and a checked answer. */
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

export async function askPeer<T extends RequestType>(
  addr: string,
  request: Extract<Request, { type: T }>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(`http://${addr}/p2p`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const timeout = (e as Error).name === 'TimeoutError';
    throw new PeerRequestError(timeout ? 'timeout' : 'unreachable', addr, timeout ? `no answer to ${request.type} in ${timeoutMs} ms` : `cannot reach: ${causeOf(e)}`);
  }
  let text: string;
  try {
    text = await readCapped(res, MAX_MESSAGE_BYTES);
  } catch (e) {
    if (e instanceof PeerRequestError) throw e;
    const timeout = (e as Error).name === 'TimeoutError';
    throw new PeerRequestError(timeout ? 'timeout' : 'unreachable', addr, `answer to ${request.type} broke off: ${causeOf(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PeerRequestError('invalid', addr, `answer to ${request.type} is not JSON`);
  }
  if (!res.ok) {
    const err = errorSchema.safeParse(json);
    if (!err.success) throw new PeerRequestError('invalid', addr, `HTTP ${res.status} without a protocol error`);
    throw new PeerRequestError('refused', addr, err.data.error.message, err.data.error.code);
  }
  const parsed = answerSchemas[request.type].safeParse(json);
  if (!parsed.success) throw new PeerRequestError('invalid', addr, `bad answer to ${request.type}: ${parsed.error.issues[0]?.message ?? 'shape'}`);
  return parsed.data as Answer<T>;

  async function readCapped(r: Response, cap: number): Promise<string> {
    const declared = Number(r.headers.get('content-length') ?? '0');
    if (declared > cap) {
      await r.body?.cancel();
      throw new PeerRequestError('invalid', addr, `answer of ${declared} bytes is over the ${cap}-byte limit`);
    }
    if (!r.body) return '';
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > cap) throw new PeerRequestError('invalid', addr, `answer over the ${cap}-byte limit`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}
