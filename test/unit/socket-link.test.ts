// The proxy's socket links read into one reused buffer: a view the receiver keeps must survive
// the next read, and without keep() no new buffer is made per read.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { SocketLink } from '../../server/proxy/socket-link.ts';

let server: Server;
const peers: Socket[] = [];
before(async () => {
  server = createServer((s) => peers.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
});
after(async () => {
  for (const p of peers) p.destroy();
  await new Promise((r) => server.close(r));
});

/** A link to the test server, and the views it delivered, in order. */
async function open(keepWhen: (view: Buffer) => boolean = () => false) {
  const link = SocketLink.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, user: 'x', database: 'x' });
  const views: Buffer[] = [];
  let wake = () => {};
  link.onChunk = (v) => {
    views.push(v);
    // as the proxy does: keep() while the view is in hand (a queued write of it)
    if (keepWhen(v)) link.keep();
    wake();
  };
  await new Promise((r) => link.socket.once('connect', r));
  while (peers.length === 0) await new Promise((r) => setImmediate(r));
  const peer = peers.shift()!;
  const send = async (text: string) => {
    const n = views.length;
    const arrived = new Promise<void>((r) => (wake = r));
    peer.write(text);
    await arrived;
    assert.equal(views.length, n + 1);
    return views[n];
  };
  return { link, send, peer };
}

test('without keep() every read lands in the same buffer', async () => {
  const { link, send } = await open();
  const a = await send('first');
  const b = await send('second');
  assert.ok(a.buffer === b.buffer, 'one buffer for both reads');
  assert.equal(b.toString(), 'second');
  link.socket.destroy();
});

test('a kept view survives the next read', async () => {
  const { link, send } = await open((v) => v.toString() === 'kept bytes');
  const a = await send('kept bytes');
  const b = await send('overwriting');
  assert.ok(a.buffer !== b.buffer, 'the read after keep() went to a new buffer');
  assert.equal(a.toString(), 'kept bytes');
  assert.equal(b.toString(), 'overwriting');
  link.socket.destroy();
});

test('a link starts with a small buffer and moves to 64 KiB ones once a read fills it', async () => {
  const { link, peer } = await open();
  const sizes: number[] = [];
  let got = 0;
  let wake = () => {};
  link.onChunk = (v) => {
    sizes.push(v.buffer.byteLength);
    got += v.length;
    wake();
  };
  // a small answer: the first buffer, 4 KiB
  const small = new Promise<void>((r) => (wake = r));
  peer.write('x'.repeat(100));
  await small;
  assert.equal(sizes[0], 4096);
  // 200 KiB: the first read fills the small buffer, the reads after it get 64 KiB
  const want = got + 200 * 1024;
  peer.write(Buffer.alloc(200 * 1024, 1));
  while (got < want) await new Promise<void>((r) => (wake = r));
  assert.ok(sizes.includes(65536), `buffer sizes ${[...new Set(sizes)].join(', ')}`);
  assert.equal(sizes.at(-1), 65536);
  link.socket.destroy();
});

test('an accepted socket moves to a link that reads into one reused buffer; the server gets its count back', async () => {
  const views: Buffer[] = [];
  let wake = () => {};
  let link: SocketLink | undefined;
  const srv = createServer({ pauseOnConnect: true }, (s) => {
    link = SocketLink.accepted(s);
    link.onChunk = (v) => {
      views.push(v);
      if (v.toString() === 'keep me') link!.keep();
      wake();
    };
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const send = async (text: string) => {
    const n = views.length;
    const arrived = new Promise<void>((r) => (wake = r));
    client.write(text);
    await arrived;
    return views[n];
  };
  const a = await send('first');
  const b = await send('second');
  assert.ok(a.buffer === b.buffer, 'one buffer for both reads');
  const c = await send('keep me');
  const d = await send('next');
  assert.ok(c.buffer !== d.buffer, 'the read after keep() went to a new buffer');
  assert.equal(c.toString(), 'keep me');
  // writes go out on the new socket, and its close is the connection's close
  const echoed = new Promise<string>((r) => client.once('data', (x) => r(x.toString())));
  link!.socket.write('pong');
  assert.equal(await echoed, 'pong');
  assert.equal(await new Promise<number>((r, j) => srv.getConnections((e, n) => (e ? j(e) : r(n)))), 0, 'the husk was given back');
  const closed = new Promise((r) => client.once('close', r));
  link!.socket.destroy();
  await closed;
  await new Promise((r) => srv.close(r));
});
