/** `POST /p2p`: peer requests in, answers out (the JSON body is checked before the service sees it). */
import express, { type NextFunction, type Request as HttpRequest, type Response } from 'express';
import { ConsensusError } from '../../consensus/index.ts';
import { MAX_MESSAGE_BYTES, requestSchema, type ErrorCode } from './protocol.ts';
import { JsonText, P2pRefusal, type P2pService } from './service.ts';

const STATUS: Record<ErrorCode, number> = { 'bad-request': 400, 'wrong-chain': 409, 'not-found': 404, busy: 503, internal: 500 };

export function p2pRouter(service: P2pService, opts: { log: (m: string) => void; misbehaved: (from: string | null, why: string) => void }): express.Router {
  const router = express.Router();
  const fail = (res: Response, code: ErrorCode, message: string) => res.status(STATUS[code]).json({ error: { code, message } });

  router.post('/', express.text({ type: () => true, limit: MAX_MESSAGE_BYTES }), async (req: HttpRequest, res: Response) => {
    let json: unknown;
    try {
      json = JSON.parse(typeof req.body === 'string' ? req.body : '');
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
      const answer = await service.handle(parsed.data);
      if (answer instanceof JsonText) res.type('application/json').send(answer.text);
      else res.json(answer);
    } catch (e) {
      if (e instanceof P2pRefusal) return fail(res, e.code, e.message);
      if (e instanceof ConsensusError) return fail(res, 'bad-request', e.message);
      opts.log(`p2p: ${parsed.data.type} failed: ${(e as Error).stack ?? e}`);
      return fail(res, 'internal', 'the node could not answer');
    }
  });
  // a body over the limit, or any other error before the handler
  router.use((err: Error & { type?: string; status?: number }, _req: HttpRequest, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large') return fail(res, 'bad-request', `message over the ${MAX_MESSAGE_BYTES}-byte limit`);
    return fail(res, 'bad-request', err.message);
  });
  return router;
}
