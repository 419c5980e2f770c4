// Read-relay processes (server/proxy/relay/): a connection that only reads moves, sockets and
// all, to another process, and comes back at its first command that is not a plain read. The
// client sees one connection throughout: its answers, prepared statements, pipelined commands,
// errors and updates are those of a connection the main process never gave away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { sqlOf } from '../../consensus/index.ts';
import { sendPipelined } from '../../server/chain/pipelined.ts';
import { readNodeConfig, writeNodeConfig } from '../../server/node/datadir.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { HAND_OFF_AFTER } from '../../server/proxy/connection.ts';
import { until } from '../helpers/cluster.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('read-relay processes', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  const logs: string[] = [];
  const open: Connection[] = [];
  const connect = async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    c.on('error', () => {});
    open.push(c);
    return c;
  };
  const relayed = () => node.proxyConnections.relayedElsewhere;
  const poolSql = () => node.chain.pool.txs().flatMap((t) => sqlOf(t)?.stmts ?? []);
  /**
   * Plain reads until the connection has moved to a relay process. The pool alternates between
   * this process and the relay: a connection it keeps here is offered again after a non-read
   * (USE); a relay still starting is asked again at the next read.
   */
  const readUntilAway = async (c: Connection, expectAway: number) => {
    const end = Date.now() + 15_000;
    for (let i = 0; relayed() < expectAway; i++) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${expectAway} connection(s) relayed elsewhere`);
      const [rows] = await c.execute<RowDataPacket[]>('SELECT v FROM kv WHERE id = ?', [1 + (i % 2)]);
      assert.equal(rows[0].v, `v${1 + (i % 2)}`);
      if (i % (2 * HAND_OFF_AFTER) === 2 * HAND_OFF_AFTER - 1) {
        await c.query(`USE \`${env.db.name}\``);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    assert.equal(relayed(), expectAway);
  };

  before(async () => {
    env = await tempNodeDir('relay');
    await initNode({ datadir: env.datadir, mysql: env.db.url });
    const config = (await readNodeConfig(env.datadir))!;
    await writeNodeConfig(env.datadir, { ...config, proxyRelayProcesses: 1 });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: (m) => logs.push(m) });
    const c = await connect();
    await c.query('CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    await c.query("INSERT INTO kv VALUES (1, 'v1'), (2, 'v2'), (3, 'v3')");
    await c.end();
  });
  after(async () => {
    for (const c of open) c.destroy();
    await node?.stop();
    await env?.cleanup();
  });

  test('a reading connection moves to a relay process, reads there, and comes back for an update, which is replicated', async () => {
    // the pool alternates between this process and the relay: the second reader is the one that moves
    const here = await connect();
    const away = await connect();
    await readUntilAway(here, 0);
    for (let i = 0; i < HAND_OFF_AFTER + 2; i++) await here.execute('SELECT v FROM kv WHERE id = ?', [1]);
    assert.equal(relayed(), 0, 'the first connection offered stays in the main process');
    await readUntilAway(away, 1);

    // reads relayed there: results, a large result, an error, text queries; nothing comes back
    const [big] = await away.query<RowDataPacket[]>("SELECT REPEAT('x', 300000) AS big, 7 AS n");
    assert.equal(big[0].big.length, 300_000);
    await assert.rejects(away.query('SELECT nothing FROM no_such_table'), (e: any) => e.errno === 1146);
    const [[row]] = await away.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM kv');
    assert.equal(row.n, 3);
    await away.query('SELECT 1'); // mysql2 pings only when asked: ping through the relay too
    await away.ping();
    assert.equal(relayed(), 1, 'plain reads, errors and pings are relayed in the relay process');

    // an update comes back to the main process, which replicates it
    const before = poolSql().length;
    const [ins] = await away.query<any>("INSERT INTO kv VALUES (4, 'v4')");
    assert.equal(ins.affectedRows, 1);
    assert.match(ins.info, /txid [0-9a-f]{64}/);
    assert.equal(relayed(), 0);
    assert.deepEqual(poolSql().slice(before), ["INSERT INTO `kv` VALUES (4,'v4')"]);
    const [[back]] = await away.query<RowDataPacket[]>('SELECT v FROM kv WHERE id = 4');
    assert.equal(back.v, 'v4');
  });

  test('a statement prepared while away is prepared by the main process, and its executes go along next time', async () => {
    const c = await connect();
    await readUntilAway(c, relayed() + 1);
    const n = relayed();
    const [rows] = await c.execute<RowDataPacket[]>('SELECT id FROM kv WHERE v = ?', ['v2']); // new text: PREPARE comes back
    assert.equal(rows[0].id, 2);
    assert.equal(relayed(), n - 1);
    await readUntilAway(c, n);
    const [again] = await c.execute<RowDataPacket[]>('SELECT id FROM kv WHERE v = ?', ['v3']);
    assert.equal(again[0].id, 3);
    assert.equal(relayed(), n, 'the new statement executes in the relay process');

    // a prepared update is not relayed there: its execute comes back and is replicated
    const before = poolSql().length;
    await c.execute('UPDATE kv SET v = ? WHERE id = ?', ['v3b', 3]);
    assert.deepEqual(poolSql().slice(before), ["UPDATE `kv` SET `v` = 'v3b' WHERE `id` = 3"]);
    assert.equal(relayed(), n - 1);
  });

  test('commands pipelined to a relayed connection: reads answered there, the update and what follows it by the main process, in order', async () => {
    const c = await connect();
    await readUntilAway(c, relayed() + 1);
    const before = poolSql().length;
    const answers = await sendPipelined(c as unknown as PoolConnection, [
      { sql: 'SELECT 1 AS one' },
      { sql: "INSERT INTO kv VALUES (5, 'v5')" },
      { sql: 'SELECT v FROM kv WHERE id = 5' },
      { sql: 'SET @x = 5' },
      { sql: 'SELECT @x AS x' },
    ]);
    const values = answers.map((a) => ('value' in a ? a.value : a.error.message)) as any[];
    assert.equal(values[0][0].one, 1);
    assert.equal(values[1].affectedRows, 1);
    assert.equal(values[2][0].v, 'v5');
    assert.equal(values[4][0].x, 5);
    assert.deepEqual(poolSql().slice(before), ["INSERT INTO `kv` VALUES (5,'v5')"]);
  });

  test('transactions, USE and SET come back; BEGIN…COMMIT there is one tx', async () => {
    const c = await connect();
    await readUntilAway(c, relayed() + 1);
    const n = relayed();
    await c.query('SET autocommit = 1');
    assert.equal(relayed(), n - 1, 'SET is the main process\'s to see');
    await readUntilAway(c, n);
    const before = poolSql().length;
    await c.beginTransaction();
    assert.equal(relayed(), n - 1);
    await c.query("INSERT INTO kv VALUES (6, 'v6')");
    await c.query("UPDATE kv SET v = 'v6b' WHERE id = 6");
    await c.commit();
    const txs = node.chain.pool.txs().filter((t) => sqlOf(t)).slice(-1);
    assert.deepEqual(sqlOf(txs[0])!.stmts, ["INSERT INTO `kv` VALUES (6,'v6')", "UPDATE `kv` SET `v` = 'v6b' WHERE `id` = 6"]);
    assert.equal(poolSql().length, before + 2);
  });

  test('a client that quits or drops in a relay process frees its slot; node stop ends relayed connections', async () => {
    const c = await connect();
    await readUntilAway(c, relayed() + 1);
    const openBefore = node.proxyConnections.open;
    const n = relayed();
    await c.end();
    await until('the quit to be seen', () => node.proxyConnections.open === openBefore - 1 && relayed() === n - 1);
    const d = await connect();
    await readUntilAway(d, relayed() + 1);
    d.destroy();
    await until('the dropped client to be seen', () => node.proxyConnections.open === openBefore - 1 && relayed() === n - 1);
  });

  test('a relay process that dies takes only its connections; the next reader starts a new one', async () => {
    const c = await connect();
    await readUntilAway(c, relayed() + 1);
    const pids = await relayPids();
    assert.equal(pids.length, 1);
    const lost = new Promise<void>((r) => c.once('error', () => r()));
    process.kill(pids[0], 'SIGKILL');
    await lost;
    await until('its connections to be forgotten', () => relayed() === 0);
    assert.ok(logs.some((l) => /read-relay process exited \(SIGKILL\)/.test(l)), logs.join('\n'));
    const d = await connect();
    await readUntilAway(d, 1);
    const [[row]] = await d.query<RowDataPacket[]>('SELECT v FROM kv WHERE id = 1');
    assert.equal(row.v, 'v1');
    assert.notDeepEqual(await relayPids(), pids);
  });

  /** Relay processes of this test process's node (children running the relay entry). */
  async function relayPids(): Promise<number[]> {
    const { readdir, readFile } = await import('node:fs/promises');
    const out: number[] = [];
    for (const d of await readdir('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = await readFile(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const cmd = await readFile(`/proc/${d}/cmdline`, 'utf8');
        if (ppid === process.pid && cmd.includes('relay/worker-entry.js')) out.push(Number(d));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }
});
