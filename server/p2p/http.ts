/**
 * `POST /p2p`: peer requests in, answers out (the JSON body is checked before the service sees it).
 *
 * A plain node:http handler in front of the node's express app, not an express route: express and
 * its body parser cost about 130 µs of CPU per request here (measured), and peers send thousands
 * (every relayed tx is announced and fetched).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConsensusError } from '../../consensus/index.ts';
import { BodyTooLarge, readBody } from './body.ts';
import { MAX_MESSAGE_BYTES, requestSchema, type ErrorCode } from './protocol.ts';
import { JsonText, P2pRefusal, type P2pService } from './service.ts';

const STATUS: Record<ErrorCode, number> = { 'bad-request': 400, 'wrong-chain': 409, 'not-found': 404, busy: 503, internal: 500 };

export interface P2pHttpOptions {
  log: (m: string) => void;
  misbehaved: (from: string | null, why: string) => void;
}

/** Whether a request is for the peer endpoint (`/p2p`, any query string). */
export function isP2pRequest(req: IncomingMessage): boolean {
  const path = req.url?.split('?', 1)[0];
  return path === '/p2p' || path === '/p2p/';
}

/** The handler for requests `isP2pRequest` accepts. */
export function p2pHandler(service: P2pService, opts: P2pHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(res, 405, errorBody('bad-request', 'use POST /p2p with a JSON body'));
    }
    void readBody(req, MAX_MESSAGE_BYTES).then(
      (text) => answer(text, res),
      (e: Error) => {
        if (!(e instanceof BodyTooLarge)) return; // the peer hung up
        // over the limit: answered, then the connection is closed instead of reading the rest
        res.setHeader('connection', 'close');
        fail(res, 'bad-request', `message over the ${e.limit}-byte limit`);
      },
    );
  };

  async function answer(text: string, res: ServerResponse): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail(res, 'bad-request', 'the body is not JSON');
    }
    const parsed = requestSchema.safeParse(json);
    const from = typeof (json as { from?: unknown } | null)?.from === 'string' ? (json as { from: string }).from : null;
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const why = `invalid ${String((json as { type?: unknown } | null)?.type ?? 'message')}: ${issue?.path.join('.') || 'message'}: ${issue?.message}`;
      opts.misbehaved(from, why);
      return fail(res, 'bad-request', why);
    }
    try {
      const out = await service.handle(parsed.data);
      send(res, 200, out instanceof JsonText ? out.text : JSON.stringify(out));
    } catch (e) {
      if (e instanceof P2pRefusal) return fail(res, e.code, e.message);
      if (e instanceof ConsensusError) return fail(res, 'bad-request', e.message);
      opts.log(`p2p: ${parsed.data.type} failed: ${(e as Error).stack ?? e}`);
      return fail(res, 'internal', 'the node could not answer');
    }
  }
}

function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

function fail(res: ServerResponse, code: ErrorCode, message: string): void {
  send(res, STATUS[code], errorBody(code, message));
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
