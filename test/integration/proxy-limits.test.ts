// The proxy's connection limit, idle timeout and half-open cleanup, from the node's config.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { readNodeConfig, writeNodeConfig } from '../../server/node/datadir.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('proxy connection limits', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let root: Connection;
  const open: Connection[] = [];
  const connectProxy = async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    c.on('error', () => {}); // the idle test expects the proxy to close it
    open.push(c);
    return c;
  };
  /** Backend connections of this node's proxy logins (they use the app database). */
  const backendCount = async () =>
    Number((await root.query<any[]>('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?', [env.db.name]))[0][0].n);

  before(async () => {
    env = await tempNodeDir('limits');
    await initNode({ datadir: env.datadir, mysql: env.db.url });
    const config = (await readNodeConfig(env.datadir))!;
    await writeNodeConfig(env.datadir, { ...config, proxyMaxConnections: 3, proxyIdleTimeoutSeconds: 1 });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    root = await rootConnection();
  });
  after(async () => {
    for (const c of open) c.destroy();
    await root?.end().catch(() => {});
    await node?.stop();
    await env?.cleanup();
  });

  test('a client over the limit gets ER 1040; a freed slot takes a new client', async () => {
    const base = await backendCount();
    const cs = [await connectProxy(), await connectProxy(), await connectProxy()];
    await assert.rejects(connectProxy(), (e: any) => e.errno === 1040 && /Too many connections/.test(e.message));
    for (const c of cs) assert.deepEqual((await c.query<any[]>('SELECT 1 AS one'))[0], [{ one: 1 }]);
    await cs[0].end();
    await waitFor('the slot to free', async () => {
      try {
        await connectProxy();
        return true;
      } catch {
        return false;
      }
    });
    for (const c of open) c.destroy();
    await waitFor('backend connections to close', async () => (await backendCount()) === base);
  });

  test('an idle connection is closed; one busy in a long query is not', async () => {
    const idle = await connectProxy();
    const busy = await connectProxy();
    const closed = new Promise<void>((r) => idle.once('end', () => r()).once('error', () => r()));
    const [rows] = await busy.query<any[]>('SELECT SLEEP(1.5) AS s, 7 AS v'); // longer than the idle timeout
    assert.equal(rows[0].v, 7);
    await closed;
    await assert.rejects(idle.query('SELECT 1'));
    busy.destroy();
  });

  test('a half-open client (socket dropped mid-handshake) frees its slot and backend', async () => {
    const base = await backendCount();
    for (let i = 0; i < 3; i++) {
      const s = connect(node.proxyPort, '127.0.0.1');
      await new Promise<void>((r) => s.once('data', () => r())); // the server greeting
      s.destroy();
    }
    await waitFor('backend connections to close', async () => (await backendCount()) <= base);
    const c = await connectProxy();
    assert.deepEqual((await c.query<any[]>('SELECT 2 AS two'))[0], [{ two: 2 }]);
  });
});
