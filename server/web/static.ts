/**
 * The web signer at `/` on the node's HTTP port: the files `vite build` made from web-signer/ (in
 * dist/web-signer, built by `npm install`'s prepare step). Only GET and HEAD of files that exist are
 * answered here; everything else (POST /rpc, POST /p2p, unknown paths) goes on to the other routes.
 * The page may talk to its own origin only and never be framed (a wallet must not be clickjacked).
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';

/** Where `vite build` (vite.config.ts) writes the web signer. */
export const WEB_SIGNER_DIR = fileURLToPath(new URL('../../dist/web-signer/', import.meta.url));

export const WEB_SIGNER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': WEB_SIGNER_CSP,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>OurSQL web signer</title>
<h1>The web signer is not built</h1>
<p>Run <code>npm run build:web</code> in the OurSQL folder (<code>npm install</code> does it), then reload.</p>`;

/** Serves the built web signer from `dir`; a missing build gets a page that says how to build it. */
export function webSignerRouter(dir: string = WEB_SIGNER_DIR): express.Router {
  const router = express.Router();
  const assets = join(dir, 'assets') + sep;
  const files = express.static(dir, {
    index: 'index.html',
    fallthrough: true,
    setHeaders: (res, path) => {
      securityHeaders(res);
      // Built assets carry a content hash in their name; the page itself is checked every time.
      res.set('Cache-Control', path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/' && !existsSync(join(dir, 'index.html'))) {
      securityHeaders(res);
      res.status(503).type('html').send(NOT_BUILT);
      return;
    }
    files(req, res, next);
  });
  return router;
}
