// Logins through the proxy when the node reaches MariaDB over its Unix socket (`?socket=`): the
// node's own connections use the socket, but a client's login is relayed over TCP. Over the
// socket MariaDB's unix_socket plugin would have let any client in as an account named like the
// node's OS user (root on Debian, whatever password it sent).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection, TEST_MYSQL_HOST, TEST_MYSQL_PORT } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('proxy logins with a socket backend', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode | undefined;
  let socket = '';

  before(async () => {
    const root = await rootConnection();
    try {
      socket = String((await root.query<any[]>('SELECT @@socket AS s'))[0][0].s ?? '');
    } finally {
      await root.end();
    }
    env = await tempNodeDir('login');
    if (!existsSync(socket)) return; // MariaDB on another machine: no socket to test
    const url = `mysql://root@${TEST_MYSQL_HOST}:${TEST_MYSQL_PORT}/${env.db.name}?socket=${encodeURIComponent(socket)}`;
    await initNode({ datadir: env.datadir, mysql: url, consensusFile: env.consensusFile });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
  });

  after(async () => {
    await node?.stop();
    await env.cleanup();
  });

  test('the node itself runs on the socket; a wrong password is refused (1045), the right one works', async (t) => {
    if (!node) return t.skip(`MariaDB's socket ${socket || '(none)'} is not on this machine`);
    assert.equal(node.backend.socketPath, socket);
    const connectAs = (password: string) =>
      mysql.createConnection({ host: '127.0.0.1', port: node!.proxyPort, user: 'root', password, database: env.db.name });
    await assert.rejects(connectAs('not-the-password'), (e: { errno?: number; message: string }) => {
      assert.equal(e.errno, 1045, e.message);
      return true;
    });
    const c = await connectAs('');
    try {
      // Relayed over TCP: MariaDB saw a TCP client, not the node's socket.
      const [[{ host }]] = await c.query<any[]>("SELECT SUBSTRING_INDEX(HOST, ':', 1) AS host FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()");
      assert.notEqual(host, 'localhost', 'a socket login shows as plain localhost');
      await c.query('CREATE TABLE t (id INT PRIMARY KEY)');
      await c.query('INSERT INTO t VALUES (1)');
      assert.equal(node.chain.pool.size, 2, 'both updates pooled as txs');
    } finally {
      await c.end();
    }
  });
});
