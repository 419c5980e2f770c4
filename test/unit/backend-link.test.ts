// The proxy's backend link reads into one reused buffer: a view the receiver keeps must survive
// the next read, and without keep() no new buffer is made per read.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { BackendLink } from '../../server/proxy/backend-link.ts';

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
  const link = new BackendLink({ host: '127.0.0.1', port: (server.address() as { port: number }).port, user: 'x', database: 'x' });
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
  return { link, send };
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
