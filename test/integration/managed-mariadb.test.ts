// The embedded default backend against the real MariaDB binaries: when the configured MySQL does
// not answer, the node starts a private, socket-only mariadbd under its datadir, and its data
// survives a stop/start. Also the two cases where it must NOT fall back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { pingMysql, resolveBackend } from '../../server/mysql/backend.ts';
import { ManagedMariaDB } from '../../server/mysql/managed.ts';
import type { MysqlTarget } from '../../server/mysql/url.ts';

/** A port on 127.0.0.1 where nothing listens: bind port 0, note it, close. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function connect(t: MysqlTarget) {
  return mysql.createConnection({ socketPath: t.socketPath, host: t.host, port: t.port, user: t.user, password: t.password });
}

describe('managed local MariaDB', () => {
  let tmp = '';
  let deadUrl = '';
  const started: ManagedMariaDB[] = [];
  const db = `oursql_test_${randomBytes(4).toString('hex')}`;

  before(async () => {
    tmp = await realpath(await mkdtemp(join(tmpdir(), 'oursql-managed-')));
    deadUrl = `mysql://root@127.0.0.1:${await freePort()}/${db}`;
  });

  after(async () => {
    // Stop every server this file started before deleting its datadir.
    for (const m of started) await m.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  test('comes up on a private, socket-only mariadbd under the datadir when MySQL does not answer', async () => {
    const datadir = join(tmp, 'node1');
    // MariaDB deletes every #sql* file in its tmpdir as it starts: in the shared temp dir, those
    // are another server's temporary tables (the system MariaDB's, failing its queries)
    const otherServers = join(tmpdir(), `#sql-oursql-test-${randomBytes(4).toString('hex')}.MAD`);
    await writeFile(otherServers, '');
    let survived = false;
    const { target, managed } = await resolveBackend(deadUrl, { datadir }).finally(async () => {
      survived = existsSync(otherServers);
      await rm(otherServers, { force: true });
    });
    assert.ok(survived, 'a temporary file of another server was deleted');
    assert.ok(managed, 'a managed server was started');
    started.push(managed);
    assert.equal(target.user, 'root');
    assert.equal(target.database, db, 'database name comes from the URL');
    assert.equal(target.host, undefined);
    assert.equal(target.socketPath, join(datadir, 'mysql', 'mysqld.sock'));
    assert.equal(await managed.isRunning(), true);
    assert.equal(await pingMysql(target), 'ok');

    const conn = await connect(target);
    try {
      const [[vars]] = (await conn.query('SELECT @@skip_networking AS skip, @@datadir AS datadir, @@tmpdir AS tmpdir')) as any;
      assert.equal(Number(vars.skip), 1, 'no TCP listener');
      assert.ok(String(vars.datadir).startsWith(join(datadir, 'mysql', 'data')), `datadir ${vars.datadir} is under the temp dir`);
      assert.equal(vars.tmpdir, join(datadir, 'mysql', 'tmp'), 'temporary files in a folder of its own');
      await conn.query(`CREATE DATABASE \`${db}\``);
      await conn.query(`CREATE TABLE \`${db}\`.t (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB`);
      await conn.query(`INSERT INTO \`${db}\`.t VALUES (1, 'kept')`);
      // The proxy relays client logins over this socket: the OS user the node runs as must not
      // log anyone in (unix_socket is off, so an account cannot even be made to use it).
      await assert.rejects(conn.query("CREATE USER 'oursql_peer_probe'@'localhost' IDENTIFIED VIA unix_socket"), /unix_socket/i);
      const [[plugin]] = (await conn.query("SELECT COUNT(*) AS n FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'unix_socket' AND PLUGIN_STATUS = 'ACTIVE'")) as any;
      assert.equal(Number(plugin.n), 0, 'unix_socket authentication is not active');
    } finally {
      await conn.end();
    }

    await managed.stop();
    assert.equal(await managed.isRunning(), false);
    assert.equal(await pingMysql(target), 'down', 'socket no longer answers');
    assert.equal(existsSync(managed.pidFile), false, 'clean shutdown removed the pid file');
  });

  test('a restart on the same datadir keeps the data; a second instance reuses the running server; stop twice is harmless', async () => {
    const datadir = join(tmp, 'node1');
    const { target, managed } = await resolveBackend(deadUrl, { datadir });
    assert.ok(managed);
    started.push(managed);
    const conn = await connect(target);
    try {
      const [rows] = (await conn.query(`SELECT id, name FROM \`${db}\`.t`)) as any;
      assert.deepEqual(rows.map((r: any) => [r.id, r.name]), [[1, 'kept']]);
    } finally {
      await conn.end();
    }

    // E.g. a node restarted after a crash that left the server up: adopt it, do not start another.
    const pid = readFileSync(managed.pidFile, 'utf8').trim();
    const again = new ManagedMariaDB({ dir: join(datadir, 'mysql') });
    started.push(again);
    assert.deepEqual(await again.start(), { socketPath: target.socketPath });
    assert.equal(readFileSync(managed.pidFile, 'utf8').trim(), pid, 'same server process');

    await managed.stop();
    await managed.stop();
    await again.stop();
    assert.equal(await managed.isRunning(), false);
    assert.equal(await again.isRunning(), false);
  });

  test('access denied on a running server is an error, not a fallback', async () => {
    const datadir = join(tmp, 'denied');
    await assert.rejects(
      resolveBackend('mysql://no_such_user_oursql:wrong-password@127.0.0.1:3306/oursql_test_denied', { datadir }),
      (e: Error) => {
        assert.match(e.message, /127\.0\.0\.1:3306 refused the connection as no_such_user_oursql/);
        assert.match(e.message, /Access denied/);
        return true;
      },
    );
    assert.equal(existsSync(join(datadir, 'mysql')), false, 'no managed server was started');
  });

  test('nothing answers and no mariadbd installed: a clear error', async () => {
    const datadir = join(tmp, 'nobinary');
    await assert.rejects(resolveBackend(deadUrl, { datadir, binary: null }), (e: Error) => {
      assert.match(e.message, /MySQL at 127\.0\.0\.1:\d+ does not answer and mariadbd is not installed/);
      assert.match(e.message, /apt-get install mariadb-server/);
      assert.match(e.message, /--mysql/);
      return true;
    });
    await assert.rejects(resolveBackend(deadUrl, { datadir, allowManaged: false }), /does not answer/);
    assert.equal(existsSync(join(datadir, 'mysql')), false);
  });

  test('a datadir too deep for a unix socket path gets a short socket under the temp dir', () => {
    const deep = join(tmp, 'x'.repeat(120), 'mysql');
    const m = new ManagedMariaDB({ dir: deep, binary: '/nonexistent' });
    assert.ok(Buffer.byteLength(m.socketPath) <= 107);
    assert.match(m.socketPath, /oursql-[0-9a-f]{16}\.sock$/);
    assert.equal(new ManagedMariaDB({ dir: deep }).socketPath, m.socketPath, 'stable for the same dir');
    assert.ok(ManagedMariaDB.findBinary(), 'mariadbd is installed on this machine');
  });
});
