// server/web/static.ts on its own (no browser): the built files with their headers, a page that
// says how to build when nothing is built, and every other request left to the routes after it.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { webSignerRouter } from '../../server/web/static.ts';

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oursql-web-static-'));
  await mkdir(join(dir, 'built/assets'), { recursive: true });
  await writeFile(join(dir, 'built/index.html'), '<!doctype html><oursql-app></oursql-app>');
  await writeFile(join(dir, 'built/assets/index-abc.js'), 'export {};');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The router in front of a stand-in for the routes mounted after it (/rpc, /p2p). */
function app(root: string): express.Express {
  const a = express();
  a.use(webSignerRouter(root));
  a.all('/{*rest}', (req, res) => {
    res.status(418).json({ reached: `${req.method} ${req.path}` });
  });
  return a;
}

test('the page and its assets are served with a strict CSP, no framing, and the right caching', async () => {
  const a = app(join(dir, 'built'));
  const page = await request(a).get('/');
  assert.equal(page.status, 200);
  assert.match(page.text, /<oursql-app>/);
  assert.match(page.headers['content-security-policy'], /default-src 'self'/);
  assert.match(page.headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.doesNotMatch(page.headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  assert.equal(page.headers['cache-control'], 'no-cache');
  const asset = await request(a).get('/assets/index-abc.js');
  assert.equal(asset.status, 200);
  assert.match(asset.headers['content-type'], /javascript/);
  assert.match(asset.headers['cache-control'], /immutable/);
  assert.equal((await request(a).head('/')).status, 200);
});

test('POSTs and paths that are not files go on to the next routes', async () => {
  const a = app(join(dir, 'built'));
  assert.deepEqual((await request(a).post('/rpc').send('{}')).body, { reached: 'POST /rpc' });
  assert.deepEqual((await request(a).post('/p2p').send('{}')).body, { reached: 'POST /p2p' });
  assert.deepEqual((await request(a).post('/').send('{}')).body, { reached: 'POST /' });
  assert.deepEqual((await request(a).get('/nothing-here.js')).body, { reached: 'GET /nothing-here.js' });
  assert.deepEqual((await request(a).get('/../package.json')).status, 418);
});

test('nothing built: / says how to build it', async () => {
  const page = await request(app(join(dir, 'missing'))).get('/');
  assert.equal(page.status, 503);
  assert.match(page.text, /npm run build:web/);
  assert.match(page.headers['content-security-policy'], /default-src 'self'/);
});
