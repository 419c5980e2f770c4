/**
 * The wire toolkit against a real MariaDB on connections it logs in itself, so the capability
 * combinations no stock client negotiates get covered: CLIENT_DEPRECATE_EOF (neither mysql2 nor
 * the mariadb CLI sets it) and MariaDB's extended capabilities (progress, metadata cache).
 * ResponseTracker follows raw commands (cursors, COM_STMT_FETCH, COM_FIELD_LIST, ...), and
 * BackendSession runs queries in both EOF modes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mysql from 'mysql2/promise';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';
import { PacketReader, encodePacket, type Packet } from '../../server/proxy/wire/framing.ts';
import {
  PayloadWriter,
  encodeHandshakeResponse,
  negotiate,
  parseErr,
  parseGreeting,
  parseHandshakeResponse,
  parsePrepareOk,
  type Greeting,
  type NegotiatedCapabilities,
} from '../../server/proxy/wire/codec.ts';
import { Capability as C, ColumnType, Command, MariaDbCapability, ServerStatus as St } from '../../server/proxy/wire/constants.ts';
import { ResponseTracker } from '../../server/proxy/wire/response.ts';
import { BackendSession, stringRows, type RowsResult } from '../../server/proxy/wire/session.ts';
import { BackendClosedError, BackendSqlError, SessionStateError } from '../../server/proxy/wire/errors.ts';

const BASE_CAPS =
  C.PROTOCOL_41 | C.SECURE_CONNECTION | C.PLUGIN_AUTH | C.PLUGIN_AUTH_LENENC_CLIENT_DATA | C.LONG_FLAG | C.TRANSACTIONS |
  C.MULTI_STATEMENTS | C.MULTI_RESULTS | C.PS_MULTI_RESULTS | C.SESSION_TRACK | C.CONNECT_WITH_DB;

interface Mode {
  name: string;
  caps: number;
  mariadb: number;
}
const MODES: Mode[] = [
  { name: 'classic EOF', caps: BASE_CAPS, mariadb: 0 },
  { name: 'DEPRECATE_EOF', caps: BASE_CAPS | C.DEPRECATE_EOF, mariadb: 0 },
  { name: 'classic EOF + MariaDB progress/metadata cache', caps: BASE_CAPS, mariadb: MariaDbCapability.PROGRESS | MariaDbCapability.CACHE_METADATA },
  { name: 'DEPRECATE_EOF + MariaDB progress/metadata cache', caps: BASE_CAPS | C.DEPRECATE_EOF, mariadb: MariaDbCapability.PROGRESS | MariaDbCapability.CACHE_METADATA },
];

interface Login {
  socket: net.Socket;
  caps: NegotiatedCapabilities;
  greeting: Greeting;
  rest: Buffer;
}

/** Logs in as root (empty password, mysql_native_password) with exactly the given capabilities. */
function login(mode: Mode, database: string): Promise<Login> {
  const socket = net.connect(TEST_MYSQL_PORT, TEST_MYSQL_HOST);
  socket.setNoDelay(true);
  const reader = new PacketReader();
  return new Promise((resolve, reject) => {
    let greeting: Greeting | null = null;
    let caps: NegotiatedCapabilities | null = null;
    const onData = (chunk: Buffer) => {
      for (const p of reader.push(chunk)) {
        if (!greeting) {
          greeting = parseGreeting(p.payload);
          const payload = encodeHandshakeResponse({
            capabilities: mode.caps, mariadbCapabilities: mode.mariadb, username: 'root', database, authPluginName: 'mysql_native_password',
          });
          caps = negotiate(greeting, parseHandshakeResponse(payload));
          socket.write(encodePacket(payload, p.seq + 1));
        } else if (p.payload[0] === 0x00) {
          socket.off('data', onData);
          socket.pause();
          resolve({ socket, caps: caps!, greeting, rest: reader.takePending() });
          return;
        } else if (p.payload[0] === 0xfe) {
          socket.write(encodePacket(Buffer.alloc(0), p.seq + 1)); // auth switch: empty password
        } else if (p.payload[0] === 0xff) {
          socket.destroy();
          reject(new Error(parseErr(p.payload).message));
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Sends raw commands and follows each response with a ResponseTracker. */
class RawConnection {
  readonly tracker: ResponseTracker;
  readonly problems: string[] = [];
  private pending: { resolve: (p: Packet[]) => void; chunks: Buffer[] } | null = null;
  private readonly onData = (chunk: Buffer) => this.data(chunk);
  private flip = 0;

  constructor(readonly login: Login) {
    this.tracker = new ResponseTracker(login.caps);
    if (login.rest.length) this.problems.push('bytes after login');
    login.socket.on('data', this.onData);
    login.socket.resume();
  }

  private data(chunk: Buffer): void {
    const p = this.pending;
    if (!p) return void this.problems.push(`${chunk.length} unexpected bytes`);
    // Alternate between whole chunks and chunks fed in two uneven pieces.
    const cut = this.flip++ % 2 ? Math.min(chunk.length, 5) : chunk.length;
    for (const piece of [chunk.subarray(0, cut), chunk.subarray(cut)]) {
      if (piece.length === 0) continue;
      if (this.tracker.idle) {
        this.problems.push('bytes after the response was done');
        continue;
      }
      const r = this.tracker.feed(piece);
      if (r.consumed !== piece.length) this.problems.push(`only ${r.consumed} of ${piece.length} bytes consumed`);
    }
    p.chunks.push(chunk);
    if (this.tracker.idle) {
      this.pending = null;
      p.resolve(new PacketReader().push(Buffer.concat(p.chunks)));
    }
  }

  /** Sends one command; resolves with the response packets (none for commands without one). */
  command(payload: Buffer): Promise<Packet[]> {
    assert.equal(this.pending, null);
    const expects = this.tracker.start(payload[0]);
    this.login.socket.write(encodePacket(payload, 0));
    if (!expects) return Promise.resolve([]);
    return new Promise((resolve) => (this.pending = { resolve, chunks: [] }));
  }

  query(sql: string): Promise<Packet[]> {
    return this.command(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]));
  }

  /** Hands the socket to someone else (a BackendSession). */
  release(): net.Socket {
    this.login.socket.pause();
    this.login.socket.off('data', this.onData);
    return this.login.socket;
  }
}

const executePayload = (id: number, flags: number, params: { type: number; bytes: Buffer }[] | null) => {
  const w = new PayloadWriter().u8(Command.STMT_EXECUTE).u32(id).u8(flags).u32(1);
  if (params && params.length) {
    w.zeros((params.length + 7) >> 3).u8(1);
    for (const p of params) w.u8(p.type).u8(0);
    for (const p of params) w.bytes(p.bytes);
  }
  return Buffer.from(w.finish());
};
const i64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return b;
};

const db = testDatabase('wire_s');
let admin: mysql.Connection;
const open: net.Socket[] = [];

before(async () => {
  admin = await mysql.createConnection({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root' });
  await admin.query(`CREATE DATABASE \`${db.name}\``);
  await admin.query(`CREATE TABLE \`${db.name}\`.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL DEFAULT 'n/a', price DECIMAL(10,2), note TEXT)`);
});

after(async () => {
  for (const s of open) s.destroy();
  await admin?.end();
  await db.drop();
});

async function connectMode(mode: Mode): Promise<Login> {
  const l = await login(mode, db.name);
  open.push(l.socket);
  return l;
}

for (const mode of MODES) {
  test(`tracker on raw commands (${mode.name})`, async () => {
    const l = await connectMode(mode);
    assert.equal(l.caps.capabilities & C.DEPRECATE_EOF, mode.caps & C.DEPRECATE_EOF);
    assert.equal(l.caps.mariadbCapabilities, l.greeting.isMariaDB ? mode.mariadb & l.greeting.mariadbCapabilities : 0);
    const raw = new RawConnection(l);
    const t = raw.tracker;

    await raw.query('SELECT 1');
    assert.deepEqual([t.rows, t.resultSets, t.error], [1, 1, false]);
    await raw.query('DO 1');
    assert.equal(t.resultSets, 0);
    await raw.query("SELECT 1; SELECT 2, 3; INSERT INTO items (name) VALUES ('a'); SELECT seq FROM seq_1_to_1000");
    assert.deepEqual([t.rows, t.resultSets, t.error], [1002, 3, false]);
    await raw.query('SELECT 1; SELECT * FROM nope; SELECT 2');
    assert.deepEqual([t.resultSets, t.error], [1, true]);
    await raw.query('SET autocommit = 0');
    assert.equal(t.status & St.AUTOCOMMIT, 0);
    await raw.query("INSERT INTO items (name) VALUES ('b')");
    assert.equal(t.status & St.IN_TRANS, St.IN_TRANS);
    await raw.query('ROLLBACK');
    await raw.query('SET autocommit = 1');
    assert.equal(t.status & St.AUTOCOMMIT, St.AUTOCOMMIT);

    await raw.command(Buffer.concat([Buffer.from([Command.INIT_DB]), Buffer.from(db.name)]));
    assert.equal(t.error, false);
    await raw.command(Buffer.from([Command.PING]));
    const stats = await raw.command(Buffer.from([Command.STATISTICS]));
    assert.match(stats[0].payload.toString(), /^Uptime: /);
    await raw.command(Buffer.from([Command.SET_OPTION, 0, 0]));
    assert.equal(t.error, false);
    const fields = await raw.command(Buffer.concat([Buffer.from([Command.FIELD_LIST]), Buffer.from('items\0')]));
    assert.equal(fields.length, 4 + 1);
    assert.equal(t.error, false);
    await raw.command(Buffer.concat([Buffer.from([Command.FIELD_LIST]), Buffer.from('nope\0')]));
    assert.equal(t.error, true);

    // Prepared statements: PREPARE, EXECUTE twice (types sent once), a cursor with FETCH.
    const prep = await raw.command(Buffer.concat([Buffer.from([Command.STMT_PREPARE]), Buffer.from('SELECT seq, ? AS p FROM seq_1_to_10 WHERE seq > ?')]));
    const ok = parsePrepareOk(prep[0].payload);
    assert.deepEqual(t.prepared, { statementId: ok.statementId, columnCount: 2, paramCount: 2 });
    const id = ok.statementId;
    const params = [{ type: ColumnType.LONGLONG, bytes: i64(7n) }, { type: ColumnType.LONGLONG, bytes: i64(0n) }];
    await raw.command(executePayload(id, 0, params));
    assert.deepEqual([t.rows, t.resultSets, t.error], [10, 1, false]);
    // Again without types; with MariaDB's metadata cache the column definitions are omitted now.
    const again = new PayloadWriter().u8(Command.STMT_EXECUTE).u32(id).u8(0).u32(1).u8(0).u8(0).bytes(i64(8n)).bytes(i64(5n)).finish();
    const second = await raw.command(Buffer.from(again));
    assert.deepEqual([t.rows, t.error], [5, false]);
    if (l.caps.mariadbCapabilities! & MariaDbCapability.CACHE_METADATA) {
      assert.deepEqual([...second[0].payload], [2, 0], 'column count, then "metadata follows" = 0');
    }
    await raw.command(executePayload(id, 1 /* CURSOR_TYPE_READ_ONLY */, params));
    assert.equal(t.status & St.CURSOR_EXISTS, St.CURSOR_EXISTS);
    assert.equal(t.rows, 0);
    const fetch = (n: number) => Buffer.from(new PayloadWriter().u8(Command.STMT_FETCH).u32(id).u32(n).finish());
    const counts: number[] = [];
    for (let k = 0; k < 3; k++) {
      await raw.command(fetch(4));
      counts.push(t.rows);
    }
    assert.deepEqual(counts, [4, 4, 2]);
    assert.equal(t.status & St.LAST_ROW_SENT, St.LAST_ROW_SENT);
    await raw.command(fetch(4));
    assert.equal(t.error, true, 'fetching past the end of a closed cursor is an error');

    // Long data, then reset and close (no response to SEND_LONG_DATA and CLOSE).
    const prep2 = await raw.command(Buffer.concat([Buffer.from([Command.STMT_PREPARE]), Buffer.from('SELECT LENGTH(?)')]));
    const id2 = parsePrepareOk(prep2[0].payload).statementId;
    for (let k = 0; k < 3; k++) {
      assert.deepEqual(await raw.command(Buffer.concat([Buffer.from([Command.STMT_SEND_LONG_DATA, ...new Uint8Array(new Uint32Array([id2]).buffer), 0, 0]), Buffer.from('abc')])), []);
    }
    const withLong = Buffer.from(new PayloadWriter().u8(Command.STMT_EXECUTE).u32(id2).u8(0).u32(1).u8(0).u8(1).u8(ColumnType.BLOB).u8(0).finish());
    const res = await raw.command(withLong);
    assert.equal(t.rows, 1);
    // Binary row: 0x00 header, NULL bitmap, then LENGTH() = 9 as a little-endian int.
    assert.ok(res.some((p) => p.payload[0] === 0x00 && p.payload[1] === 0x00 && p.payload[2] === 9), 'binary row with LENGTH = 9');
    await raw.command(Buffer.from(new PayloadWriter().u8(Command.STMT_RESET).u32(id2).finish()));
    assert.equal(t.error, false);
    await raw.command(Buffer.from(new PayloadWriter().u8(Command.STMT_CLOSE).u32(id2).finish()));
    await raw.command(Buffer.from(new PayloadWriter().u8(Command.STMT_CLOSE).u32(id).finish()));
    await raw.command(Buffer.from([Command.RESET_CONNECTION]));
    assert.equal(t.error, false);
    await raw.query('SELECT seq FROM seq_1_to_3');
    assert.equal(t.rows, 3);
    assert.deepEqual(raw.problems, []);
  });

  test(`BackendSession (${mode.name})`, async () => {
    const l = await connectMode(mode);
    const s = new BackendSession(l.caps);
    s.attach(l.socket, l.rest);

    const r = (await s.queryOrThrow("SELECT 1 AS one, NULL AS n, 'héllo' AS s, 2.50 AS d, CAST('2024-01-02' AS DATE) AS dt")) as RowsResult;
    assert.equal(r.kind, 'rows');
    assert.deepEqual(r.columns.map((c) => c.name), ['one', 'n', 's', 'd', 'dt']);
    assert.deepEqual(r.columns.map((c) => c.type), [ColumnType.LONG, ColumnType.NULL, ColumnType.VAR_STRING, ColumnType.NEWDECIMAL, ColumnType.DATE]);
    assert.deepEqual(stringRows(r), [['1', null, 'héllo', '2.50', '2024-01-02']]);
    assert.equal(r.status & St.AUTOCOMMIT, St.AUTOCOMMIT);

    const empty = (await s.queryOrThrow('SELECT * FROM items WHERE 1 = 0')) as RowsResult;
    assert.deepEqual([empty.columns.length, empty.rows.length], [4, 0]);
    assert.equal(empty.columns[0].orgTable, 'items');
    assert.equal(empty.columns[0].schema, db.name);

    const [x, y] = [`x ${mode.name}`, `y ${mode.name}`];
    const ins = await s.queryOrThrow(`INSERT INTO items (name, price) VALUES ('${x}', 1.5), ('${y}', 2)`);
    assert.equal(ins.kind, 'ok');
    assert.equal(ins.kind === 'ok' && ins.affectedRows, 2n);
    assert.ok(ins.kind === 'ok' && ins.insertId > 0n);
    const upd = await s.queryOrThrow(`UPDATE items SET price = price + 1 WHERE name IN ('${x}', '${y}')`);
    assert.equal(upd.kind === 'ok' && upd.info, 'Rows matched: 2  Changed: 2  Warnings: 0');

    const bad = await s.query('SELECT * FROM nope');
    assert.deepEqual(bad, { kind: 'error', errno: 1146, sqlState: '42S02', message: `Table '${db.name}.nope' doesn't exist` });
    await assert.rejects(s.queryOrThrow('SELECT * FROM nope'), (e: unknown) => e instanceof BackendSqlError && e.errno === 1146 && e.sqlState === '42S02');

    const all = await s.queryAll(`SELECT 1 AS a; UPDATE items SET note = 'n' WHERE name = '${x}'; SELECT name FROM items WHERE name = '${y}'`);
    assert.deepEqual(all.map((r) => r.kind), ['rows', 'ok', 'rows']);
    assert.deepEqual(stringRows(all[2] as RowsResult), [[y]]);
    // An error in a later statement wins in query(): it must not look like success.
    const mixed = await s.query('SELECT 1; SELECT * FROM nope');
    assert.equal(mixed.kind === 'error' && mixed.errno, 1146);

    // Session tracking: USE sends a session-state change; the OK still parses.
    const use = await s.queryOrThrow(`USE \`${db.name}\``);
    assert.equal(use.kind, 'ok');

    // Queries run one at a time, in call order.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => s.queryOrThrow(`SELECT ${i} AS i, REPEAT('z', ${i * 100})`)));
    assert.deepEqual(many.map((x) => stringRows(x as RowsResult)[0][0]), Array.from({ length: 20 }, (_, i) => String(i)));

    // A pipelined batch: one write, each statement its own results, in order; a failed statement
    // does not stop the next; big results split across chunks; queries queued behind it still work.
    const batch = s.queryBatch(['START TRANSACTION', 'SELECT * FROM nope', `SELECT REPEAT('b', 70000) AS big`, 'SELECT @@in_transaction', 'ROLLBACK']);
    const after = s.queryOrThrow('SELECT 42');
    const results = await batch;
    assert.deepEqual(results.map((rs) => rs.map((r) => r.kind)), [['ok'], ['error'], ['rows'], ['rows'], ['ok']]);
    assert.equal(results[1][0].kind === 'error' && results[1][0].errno, 1146);
    assert.equal(stringRows(results[2][0] as RowsResult)[0][0], 'b'.repeat(70000));
    assert.deepEqual(stringRows(results[3][0] as RowsResult), [['1']]);
    assert.deepEqual(stringRows((await after) as RowsResult), [['42']]);

    // LOAD DATA LOCAL through the session: refused with an empty file, the connection goes on.
    if (l.caps.capabilities & C.LOCAL_FILES) await s.query("LOAD DATA LOCAL INFILE '/x' INTO TABLE items");

    // Attach/detach rules.
    assert.throws(() => s.attach(l.socket), SessionStateError);
    const busy = s.query('SELECT SLEEP(0.05)');
    assert.throws(() => s.detach(), SessionStateError);
    await busy;
    await s.idle();
    assert.equal(s.detach().length, 0);
    await assert.rejects(s.query('SELECT 1'), SessionStateError);
    // The socket goes back to raw use and then to a new session.
    const raw = new RawConnection({ ...l, rest: Buffer.alloc(0) });
    await raw.query('SELECT 2');
    assert.equal(raw.tracker.rows, 1);
    assert.deepEqual(raw.problems, []);
    const s2 = new BackendSession(l.caps);
    s2.attach(raw.release());
    assert.deepEqual(stringRows((await s2.queryOrThrow('SELECT 3')) as RowsResult), [['3']]);
  });
}

test('BackendSession: the connection dies under a query', async () => {
  const l = await connectMode(MODES[1]);
  const s = new BackendSession(l.caps);
  s.attach(l.socket);
  const sleeping = s.query('SELECT SLEEP(20)').then(
    (r) => r,
    (e: unknown) => e,
  );
  // Settled-state capture right away: the rejection may come before we get to look at it.
  const queued = s.query('SELECT 1').then(
    () => null,
    (e: unknown) => e,
  );
  await new Promise((r) => setTimeout(r, 100));
  await admin.query(`KILL ${l.greeting.connectionId}`);
  // MariaDB may answer the killed query with an ERR before closing, or just close.
  const first = await sleeping;
  assert.ok(first instanceof BackendClosedError || (typeof first === 'object' && first !== null && 'kind' in first && first.kind === 'error'), String(first));
  assert.ok((await queued) instanceof BackendClosedError);
  await assert.rejects(s.query('SELECT 1'), BackendClosedError);
  assert.equal(s.closed, true);

  // A socket closed locally while a query waits.
  const l2 = await connectMode(MODES[0]);
  const s2 = new BackendSession(l2.caps);
  s2.attach(l2.socket);
  const pending = s2.query('SELECT SLEEP(20)');
  l2.socket.destroy();
  await assert.rejects(pending, (e: unknown) => e instanceof BackendClosedError && /closed/.test(e.message));
  // Attaching a dead socket fails at once.
  assert.throws(() => new BackendSession(l2.caps).attach(l2.socket), BackendClosedError);
});
