// The proxy reads each client's commands into one reused buffer (server/proxy/socket-link.ts).
// Whatever the proxy still holds when the next bytes arrive (commands queued behind an update it
// signs, a packet that came in pieces) must not be overwritten by them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { sqlOf } from '../../consensus/index.ts';
import { sendPipelined } from '../../server/chain/pipelined.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('proxy client reads', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let c: Connection;
  const poolSql = () => node.chain.pool.txs().flatMap((t) => sqlOf(t)?.stmts ?? []);

  before(async () => {
    env = await tempNodeDir('clientbuf');
    await initNode({ datadir: env.datadir, mysql: env.db.url });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    await c.query('CREATE TABLE kv (id INT PRIMARY KEY, v LONGTEXT NOT NULL)');
  });
  after(async () => {
    await c?.end().catch(() => {});
    await node?.stop();
    await env?.cleanup();
  });

  // an overwritten command can leave the client waiting for an answer: fail, not hang
  const limit = { timeout: 30_000 };

  test('reads and updates pipelined in one write: each answered in order, each update one tx', limit, async () => {
    const steps: { sql: string }[] = [];
    for (let i = 1; i <= 40; i++) {
      steps.push({ sql: `SELECT ${i} AS n, REPEAT('r', ${i * 50}) AS pad` });
      if (i % 4 === 0) steps.push({ sql: `INSERT INTO kv VALUES (${i}, '${'w'.repeat(i * 30)}')` });
    }
    const before = poolSql().length;
    const answers = await sendPipelined(c as unknown as PoolConnection, steps);
    assert.equal(answers.length, steps.length);
    answers.forEach((a, k) => {
      assert.ok('value' in a, `step ${k} (${steps[k].sql.slice(0, 30)}) failed: ${'error' in a ? a.error.message : ''}`);
      const sql = steps[k].sql;
      if (sql.startsWith('SELECT')) {
        const n = Number(/SELECT (\d+)/.exec(sql)![1]);
        assert.deepEqual((a.value as RowDataPacket[])[0], { n, pad: 'r'.repeat(n * 50) });
      } else assert.equal((a.value as { affectedRows: number }).affectedRows, 1);
    });
    // as the pool holds them: the table quoted, no space after the comma
    const inserts = steps.filter((s) => s.sql.startsWith('INSERT')).map((s) => s.sql.replace('INSERT INTO kv', 'INSERT INTO `kv`').replace(', ', ','));
    assert.deepEqual(poolSql().slice(before), inserts);
  });

  test('an update whose packet arrives in pieces, with reads around it', limit, async () => {
    // a raw client on the same login, so the pieces and the pauses between them are ours
    const value = Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    const sql = `INSERT INTO kv VALUES (1000, '${value}')`;
    const packet = command(sql);
    const raw = await rawSession(c);
    for (let at = 0; at < packet.length; at += 70_001) {
      raw.write(packet.subarray(at, at + 70_001));
      await new Promise((r) => setTimeout(r, 20));
      // the reads of the pieces land in the buffer the earlier pieces came in, were it reused
      const [rows] = await c.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM kv WHERE id = 1000');
      assert.equal(rows[0].n, 0);
    }
    const reply = await raw.next();
    assert.equal(reply[4], 0x00, `OK expected, got ${reply.subarray(4).toString('latin1')}`);
    const [rows] = await c.query<RowDataPacket[]>('SELECT SHA2(v, 256) AS h FROM kv WHERE id = 1000');
    assert.equal(rows[0].h, createHash('sha256').update(value).digest('hex'));
    assert.equal(poolSql().at(-1), `INSERT INTO \`kv\` VALUES (1000,'${value}')`, 'the tx carries the whole statement');
    raw.socket.destroy();
  });

  test('commands that arrive while an update is being signed', limit, async () => {
    const raw = await rawSession(c);
    const before = poolSql().length;
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      // the update and a read in one write, the next read in another: it arrives while the
      // proxy signs the update and still holds the first read, queued
      raw.write(Buffer.concat([command(`INSERT INTO kv VALUES (${2000 + i}, 'v${i}')`), command(`SELECT 'mark-${i}-a' AS m`)]));
      await new Promise((r) => setImmediate(r));
      raw.write(command(`SELECT 'mark-${i}-b' AS m`));
    }
    const text = await raw.until(`mark-${rounds - 1}-b`);
    const marks = [...text.matchAll(/mark-\d+-[ab]/g)].map((m) => m[0]);
    assert.deepEqual(marks, Array.from({ length: rounds }, (_, i) => [`mark-${i}-a`, `mark-${i}-b`]).flat());
    assert.deepEqual(poolSql().slice(before), Array.from({ length: rounds }, (_, i) => `INSERT INTO \`kv\` VALUES (${2000 + i},'v${i}')`));
    raw.socket.destroy();
  });

  /** A COM_QUERY packet (sequence id 0). */
  function command(sql: string): Buffer {
    const payload = Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);
    return Buffer.concat([Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, 0]), payload]);
  }

  /** A second login of `like`'s user, over a plain socket: the handshake done by a mysql2 connection handing its socket over. */
  async function rawSession(like: Connection) {
    const cfg = (like as unknown as { config: { port: number; database: string } }).config;
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: cfg.port, user: 'root', database: cfg.database });
    const socket = (conn as unknown as { connection: { stream: Socket } }).connection.stream;
    socket.removeAllListeners('data');
    let buffered = Buffer.alloc(0);
    let wake = () => {};
    socket.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      wake();
    });
    return {
      socket,
      write: (b: Buffer) => socket.write(b),
      /** Everything received once it holds `text` (as latin1), consumed. */
      async until(text: string): Promise<string> {
        while (!buffered.toString('latin1').includes(text)) await new Promise<void>((r) => (wake = r));
        const all = buffered.toString('latin1');
        buffered = Buffer.alloc(0);
        return all;
      },
      /** The next whole packet from the proxy. */
      async next(): Promise<Buffer> {
        for (;;) {
          if (buffered.length >= 4) {
            const len = buffered[0] | (buffered[1] << 8) | (buffered[2] << 16);
            if (buffered.length >= 4 + len) {
              const p = buffered.subarray(0, 4 + len);
              buffered = buffered.subarray(4 + len);
              return p;
            }
          }
          await new Promise<void>((r) => (wake = r));
        }
      },
    };
  }
});
