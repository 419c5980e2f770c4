// askPeer against a real HTTP server on loopback: answers checked, every failure classified
// (the peer manager backs off on network failures and scores protocol ones), kept-alive
// connections reused and, when the peer closed one meanwhile, replaced without an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { askPeer, PeerRequestError } from '../../server/p2p/client.ts';
import { MAX_MESSAGE_BYTES } from '../../server/p2p/protocol.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function withPeer(handler: Handler, run: (addr: string, sockets: () => number) => Promise<void>): Promise<void> {
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await run(`127.0.0.1:${(server.address() as AddressInfo).port}`, () => connections);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};

async function failure(p: Promise<unknown>): Promise<PeerRequestError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof PeerRequestError, `expected a PeerRequestError, got ${String(e)}`);
  return e;
}

test('p2p client: sends the request as JSON and returns the checked answer, over one kept-alive connection', async () => {
  const seen: unknown[] = [];
  await withPeer((req, body, res) => {
    seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body: JSON.parse(body) });
    json(res, 200, { txids: ['ab'.repeat(32)] });
  }, async (addr, sockets) => {
    for (let i = 0; i < 5; i++) assert.deepEqual(await askPeer(addr, { type: 'getmempool' }), { txids: ['ab'.repeat(32)] });
    assert.equal(sockets(), 1);
  });
  assert.deepEqual(seen[0], { method: 'POST', url: '/p2p', type: 'application/json', body: { type: 'getmempool' } });
  assert.equal(seen.length, 5);
});

test('p2p client: a kept-alive connection the peer closed as it was reused is replaced without an error', async () => {
  let n = 0;
  await withPeer((req, _body, res) => {
    // the second request arrives on the kept connection and finds it closed (a peer's idle timeout racing it)
    if (++n === 2) return req.socket.destroy();
    json(res, 200, { peers: [] });
  }, async (addr, sockets) => {
    assert.deepEqual(await askPeer(addr, { type: 'getpeers' }), { peers: [] });
    assert.deepEqual(await askPeer(addr, { type: 'getpeers' }), { peers: [] });
    assert.equal(n, 3);
    assert.equal(sockets(), 2);
  });
});

test('p2p client: when the retry finds a closed connection too, the peer is unreachable (not another kind of error)', async () => {
  let n = 0;
  await withPeer((req, _body, res) => {
    // two connections answer once each, then every request is dropped
    if (++n > 2) return req.socket.destroy();
    setTimeout(() => json(res, 200, { peers: [] }), 20);
  }, async (addr, sockets) => {
    await Promise.all([askPeer(addr, { type: 'getpeers' }), askPeer(addr, { type: 'getpeers' })]);
    assert.equal(sockets(), 2);
    const e = await failure(askPeer(addr, { type: 'getpeers' }));
    assert.equal(e.failure, 'unreachable');
    assert.equal(n, 4, 'sent on one kept connection, then once more on the other');
  });
});

test('p2p client: error answers are refusals with their code; anything else off-protocol is invalid', async () => {
  await withPeer((_req, body, res) => {
    const { type } = JSON.parse(body) as { type: string };
    if (type === 'getpeers') return json(res, 409, { error: { code: 'wrong-chain', message: 'another chain' } });
    if (type === 'getmempool') return json(res, 500, { oops: true });
    if (type === 'getconsensus') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{not json');
    }
    json(res, 200, { txids: ['not a hash'] });
  }, async (addr) => {
    const refused = await failure(askPeer(addr, { type: 'getpeers' }));
    assert.equal(refused.failure, 'refused');
    assert.equal(refused.code, 'wrong-chain');
    assert.match(refused.message, /another chain/);
    const noError = await failure(askPeer(addr, { type: 'getmempool' }));
    assert.equal(noError.failure, 'invalid');
    assert.match(noError.message, /HTTP 500 without a protocol error/);
    const notJson = await failure(askPeer(addr, { type: 'getconsensus' }));
    assert.equal(notJson.failure, 'invalid');
    assert.match(notJson.message, /not JSON/);
    const badShape = await failure(askPeer(addr, { type: 'gettxs', ids: ['ab'.repeat(32)] }));
    assert.equal(badShape.failure, 'invalid');
  });
});

test('p2p client: answers over the size limit are cut off, declared or streamed', async () => {
  await withPeer((_req, body, res) => {
    const { type } = JSON.parse(body) as { type: string };
    if (type === 'getpeers') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_MESSAGE_BYTES + 1) });
      return res.end();
    }
    // no length given: chunks until the client hangs up
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const more = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', more);
    };
    res.on('error', () => {});
    more();
  }, async (addr) => {
    const declared = await failure(askPeer(addr, { type: 'getpeers' }));
    assert.equal(declared.failure, 'invalid');
    assert.match(declared.message, /over the .*-byte limit/);
    const streamed = await failure(askPeer(addr, { type: 'getmempool' }));
    assert.equal(streamed.failure, 'invalid');
    assert.match(streamed.message, /over the .*-byte limit/);
  });
});

test('p2p client: a peer that does not answer in time is a timeout; one that cannot be reached is unreachable', async () => {
  await withPeer(() => {
    // never answers
  }, async (addr) => {
    const t0 = Date.now();
    const slow = await failure(askPeer(addr, { type: 'getpeers' }, 150));
    assert.equal(slow.failure, 'timeout');
    assert.match(slow.message, /no answer to getpeers in 150 ms/);
    assert.ok(Date.now() - t0 < 5000);
  });
  // a port nothing listens on: the server above is closed
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const down = await failure(askPeer(`127.0.0.1:${port}`, { type: 'getpeers' }));
  assert.equal(down.failure, 'unreachable');
  assert.match(down.message, /ECONNREFUSED/);
});

test('p2p client: an answer that breaks off midway is a network failure', async () => {
  await withPeer((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write('{"peers":[');
    setTimeout(() => res.socket?.destroy(), 20);
  }, async (addr) => {
    const cut = await failure(askPeer(addr, { type: 'getpeers' }));
    assert.equal(cut.failure, 'unreachable');
    assert.match(cut.message, /broke off/);
  });
});
