/**
 * The wire toolkit against a real MariaDB, through a tiny relay built on it (the shape the
 * proxy will have): the handshake is relayed with SSL/COMPRESS cleared, commands and responses
 * are relayed as bytes while a ResponseTracker follows every response (fed in randomly cut
 * pieces), prepared EXECUTEs are decoded, and between client commands the relay can run its own
 * queries on the same backend connection with a BackendSession.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import mysqlCallback from 'mysql2';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';
import { PacketReader, encodePacket, type Packet } from '../../server/proxy/wire/framing.ts';
import {
  decodeExecute,
  decodeSendLongData,
  inlineParams,
  negotiate,
  parseGreeting,
  parseHandshakeResponse,
  withoutCapabilities,
  withoutClientCapabilities,
  type ExecuteRequest,
  type Greeting,
  type HandshakeResponse,
  type NegotiatedCapabilities,
  type ParamType,
} from '../../server/proxy/wire/codec.ts';
import { Capability, Command, ColumnType, PROXY_CLEARED_CAPABILITIES, PROXY_CLEARED_MARIADB_CAPABILITIES, ServerStatus } from '../../server/proxy/wire/constants.ts';
import { ResponseTracker, type PreparedInfo } from '../../server/proxy/wire/response.ts';
import { BackendSession, stringRows } from '../../server/proxy/wire/session.ts';
import { BackendSqlError } from '../../server/proxy/wire/errors.ts';

const run = promisify(execFile);
const TP = mysqlCallback.TypedParameter;

interface CommandRecord {
  command: number;
  error: boolean;
  rows: number;
  resultSets: number;
  status: number;
  localInfile: boolean;
  prepared: PreparedInfo | null;
}

/** Small deterministic PRNG so a failing cut pattern can be reproduced. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RelayOptions {
  /** Client capability bits cleared in the handshake response forwarded to the backend. */
  clearClientFlags?: number;
  /** MariaDB extended capabilities cleared in the greeting and in the handshake response. */
  clearMariaDb?: number;
}

class RelayConnection {
  greeting!: Greeting;
  response!: HandshakeResponse;
  /** The response as the client sent it (before the relay cleared anything). */
  clientResponse!: HandshakeResponse;
  caps!: NegotiatedCapabilities;
  tracker!: ResponseTracker;
  readonly records: CommandRecord[] = [];
  readonly executes: { sql: string; req: ExecuteRequest }[] = [];
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private phase: 'greeting' | 'auth' | 'command' = 'greeting';
  private readonly clientReader = new PacketReader();
  private readonly backendReader = new PacketReader();
  private readonly statements = new Map<number, { sql: string; paramCount: number; types: ParamType[] | null }>();
  private readonly longData = new Map<number, Map<number, Buffer>>();
  private prepareSql = '';
  private command = -1;
  private localInfile = false;
  private interleaving = false;
  private readonly held: Packet[] = [];
  private readonly rng: () => number;
  private readonly onBackend = (chunk: Buffer) => this.backendData(chunk);

  constructor(
    readonly client: net.Socket,
    readonly backend: net.Socket,
    private readonly problems: string[],
    private readonly opts: RelayOptions,
    seed: number,
  ) {
    this.rng = mulberry32(seed);
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    client.setNoDelay(true);
    backend.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.clientData(chunk));
    backend.on('data', this.onBackend);
    client.on('close', () => backend.destroy());
    backend.on('close', () => client.destroy());
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.destroy());
  }

  private problem(msg: string): void {
    this.problems.push(msg);
  }

  private backendData(chunk: Buffer): void {
    if (this.phase !== 'command') return this.handshakeFromBackend(chunk);
    if (this.tracker.idle) {
      this.problem(`backend sent ${chunk.length} bytes with no response pending`);
      this.client.write(chunk);
      return;
    }
    // Cut the chunk at random places: the tracker must not care where chunks end.
    const cuts = [0, ...Array.from({ length: Math.floor(this.rng() * 4) }, () => Math.floor(this.rng() * chunk.length)).sort((a, b) => a - b), chunk.length];
    for (let k = 0; k + 1 < cuts.length; k++) {
      const piece = chunk.subarray(cuts[k], cuts[k + 1]);
      let off = 0;
      while (off < piece.length) {
        if (this.tracker.idle) {
          this.problem(`response to 0x${this.command.toString(16)} reported done ${chunk.length - cuts[k] - off} bytes early`);
          break;
        }
        const r = this.tracker.feed(piece, off);
        off += r.consumed;
        if (r.localInfile) this.localInfile = true;
        if (r.done) this.finished();
      }
    }
    this.client.write(chunk);
  }

  private finished(): void {
    const t = this.tracker;
    this.records.push({
      command: this.command, error: t.error, rows: t.rows, resultSets: t.resultSets, status: t.status, localInfile: this.localInfile, prepared: t.prepared,
    });
    if (this.command === Command.STMT_PREPARE && t.prepared) {
      this.statements.set(t.prepared.statementId, { sql: this.prepareSql, paramCount: t.prepared.paramCount, types: null });
    }
  }

  private handshakeFromBackend(chunk: Buffer): void {
    for (const p of this.backendReader.push(chunk)) {
      if (this.phase === 'greeting') {
        this.greeting = parseGreeting(p.payload);
        this.client.write(encodePacket(withoutCapabilities(p.payload, PROXY_CLEARED_CAPABILITIES, this.opts.clearMariaDb ?? 0), p.seq));
        this.phase = 'auth';
        continue;
      }
      if (p.payload[0] === 0x00) {
        this.caps = negotiate(this.greeting, this.response);
        this.tracker = new ResponseTracker(this.caps);
        this.phase = 'command';
        if (this.backendReader.pendingBytes) this.problem('bytes after the login OK');
        this.markReady();
      } else if (p.payload[0] === 0xff) {
        this.problem(`login failed: ${p.payload.subarray(9).toString()}`);
      }
      this.client.write(p.raw);
    }
  }

  private clientData(chunk: Buffer): void {
    for (const p of this.clientReader.push(chunk)) {
      if (this.phase !== 'command') this.handshakeFromClient(p);
      else this.clientPacket(p);
    }
  }

  private handshakeFromClient(p: Packet): void {
    if (this.response) return void this.backend.write(p.raw); // auth switch answers etc.
    let raw = p.raw;
    let payload = p.payload;
    this.clientResponse = parseHandshakeResponse(payload);
    if (this.opts.clearClientFlags || this.opts.clearMariaDb) {
      payload = withoutClientCapabilities(p.payload, this.opts.clearClientFlags ?? 0, this.opts.clearMariaDb ?? 0);
      raw = encodePacket(payload, p.seq);
    }
    this.response = parseHandshakeResponse(payload);
    this.backend.write(raw);
  }

  private clientPacket(p: Packet): void {
    if (this.interleaving) return void this.held.push(p);
    if (!this.tracker.idle) {
      // Only an auth exchange (COM_CHANGE_USER) or LOCAL INFILE data may come mid-response.
      if (this.command !== Command.CHANGE_USER && !this.localInfile) this.problem(`client packet while the response to 0x${this.command.toString(16)} is incomplete`);
      return void this.backend.write(p.raw);
    }
    const cmd = p.payload[0];
    this.inspect(cmd, p.payload);
    this.command = cmd;
    this.localInfile = false;
    if (!this.tracker.start(cmd)) {
      this.records.push({ command: cmd, error: false, rows: 0, resultSets: 0, status: 0, localInfile: false, prepared: null });
    }
    this.backend.write(p.raw);
  }

  /** What a proxy would look at: prepared statements and the values of their executions. */
  private inspect(cmd: number, payload: Buffer): void {
    try {
      if (cmd === Command.STMT_PREPARE) this.prepareSql = payload.subarray(1).toString('utf8');
      else if (cmd === Command.STMT_EXECUTE) {
        const id = payload.readUInt32LE(1);
        const st = this.statements.get(id);
        if (!st) return this.problem(`EXECUTE of unknown statement ${id}`);
        const req = decodeExecute(payload, { paramCount: st.paramCount, previousTypes: st.types, longData: this.longData.get(id) });
        st.types = req.types;
        this.longData.delete(id);
        this.executes.push({ sql: st.sql, req });
      } else if (cmd === Command.STMT_SEND_LONG_DATA) {
        const d = decodeSendLongData(payload);
        const m = this.longData.get(d.statementId) ?? new Map<number, Buffer>();
        m.set(d.paramId, Buffer.concat([m.get(d.paramId) ?? Buffer.alloc(0), d.data]));
        this.longData.set(d.statementId, m);
      } else if (cmd === Command.STMT_CLOSE) this.statements.delete(payload.readUInt32LE(1));
      else if (cmd === Command.STMT_RESET) this.longData.delete(payload.readUInt32LE(1));
    } catch (e) {
      this.problem(`inspecting 0x${cmd.toString(16)}: ${(e as Error).message}`);
    }
  }

  /** Runs `fn` with a BackendSession on this connection's backend socket between client commands. */
  async interleave<T>(fn: (s: BackendSession) => Promise<T>): Promise<T> {
    assert.equal(this.tracker.idle, true, 'interleave only between commands');
    this.interleaving = true;
    this.backend.off('data', this.onBackend);
    const session = new BackendSession(this.caps);
    session.attach(this.backend);
    try {
      return await fn(session);
    } finally {
      await session.idle();
      const rest = session.detach();
      if (rest.length) this.problem(`session left ${rest.length} unconsumed bytes`);
      this.backend.on('data', this.onBackend);
      this.backend.resume();
      this.interleaving = false;
      for (const p of this.held.splice(0)) this.clientPacket(p);
    }
  }
}

class TestRelay {
  readonly problems: string[] = [];
  readonly connections: RelayConnection[] = [];
  private server!: net.Server;
  port = 0;
  private seed = 1;

  constructor(private readonly opts: RelayOptions = {}) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      const backend = net.connect(TEST_MYSQL_PORT, TEST_MYSQL_HOST);
      this.connections.push(new RelayConnection(client, backend, this.problems, this.opts, this.seed++));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  last(): RelayConnection {
    return this.connections[this.connections.length - 1];
  }

  async stop(): Promise<void> {
    for (const c of this.connections) {
      c.client.destroy();
      c.backend.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const db = testDatabase('wire');
let relay: TestRelay;
let admin: mysql.Connection;
let oldMaxPacket = 0;
const BIG = 20 * 1024 * 1024;

before(async () => {
  admin = await mysql.createConnection({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root' });
  await admin.query(`CREATE DATABASE \`${db.name}\``);
  // A 20 MiB value needs a packet limit above MariaDB's 16 MiB default. It is a global,
  // read-only per session, and only read at connect: raise it for this file, restore in after().
  const [rows] = await admin.query('SELECT @@global.max_allowed_packet AS m');
  oldMaxPacket = Number((rows as { m: number }[])[0].m);
  if (oldMaxPacket < 3 * BIG) await admin.query(`SET GLOBAL max_allowed_packet = ${64 * 1024 * 1024}`);
  relay = await new TestRelay().start();
});

after(async () => {
  await relay?.stop();
  if (oldMaxPacket && oldMaxPacket < 3 * BIG) await admin.query(`SET GLOBAL max_allowed_packet = ${oldMaxPacket}`);
  await admin?.end();
  await db.drop();
});

function connect(extra: mysql.ConnectionOptions = {}) {
  return mysql.createConnection({
    host: '127.0.0.1', port: relay.port, user: 'root', database: db.name, timezone: 'Z', dateStrings: true,
    supportBigNumbers: true, bigNumberStrings: true, ...extra,
  });
}

/** Every response the tracker followed ended exactly at its last byte, and nothing else went wrong. */
function assertClean(r: TestRelay = relay): void {
  assert.deepEqual(r.problems, []);
}

test('relay: login through the relayed handshake; SSL/COMPRESS not offered', async () => {
  const c = await connect();
  try {
    const conn = relay.last();
    await conn.ready;
    assert.equal(conn.response.username, 'root');
    assert.equal(conn.response.database, db.name);
    assert.equal(conn.response.capabilities & (Capability.SSL | Capability.COMPRESS), 0);
    assert.equal(conn.caps.capabilities & Capability.PROTOCOL_41, Capability.PROTOCOL_41);
    const [rows] = await c.query('SELECT CONNECTION_ID() AS id');
    assert.equal(Number((rows as { id: number }[])[0].id), conn.greeting.connectionId);
  } finally {
    await c.end();
  }
  assertClean();
});

test('relay: text queries with 0, 1 and 10,000 rows, multiple statements, an error', async () => {
  const c = await connect({ multipleStatements: true });
  try {
    const conn = relay.last();
    await c.query('CREATE TABLE kv (k INT PRIMARY KEY, v VARCHAR(100), b BLOB)');
    let [rows] = await c.query('SELECT * FROM kv');
    assert.deepEqual(rows, []);
    assert.deepEqual(conn.records.at(-1), { command: Command.QUERY, error: false, rows: 0, resultSets: 1, status: conn.records.at(-1)!.status, localInfile: false, prepared: null });
    [rows] = await c.query("SELECT 1 AS one, NULL AS n, 'x' AS s");
    assert.deepEqual(rows, [{ one: 1, n: null, s: 'x' }]);
    [rows] = await c.query("SELECT seq, REPEAT('ab', seq % 40) AS pad FROM seq_1_to_10000");
    assert.equal((rows as unknown[]).length, 10000);
    assert.equal(conn.records.at(-1)!.rows, 10000);

    const [multi] = await c.query('SELECT 1 AS a; SELECT 2 AS b; INSERT INTO kv (k, v) VALUES (1, "one"); SELECT 3 AS c');
    assert.deepEqual((multi as unknown[]).length, 4);
    assert.deepEqual((multi as unknown[][])[1], [{ b: 2 }]);
    assert.equal(conn.records.at(-1)!.resultSets, 3);
    assert.equal(conn.records.at(-1)!.rows, 3);

    await assert.rejects(c.query('SELECT * FROM no_such_table'), /doesn't exist/);
    assert.equal(conn.records.at(-1)!.error, true);
    // A failing statement in the middle of a multi-statement ends the response.
    await assert.rejects(c.query('SELECT 1; SELECT * FROM nope; SELECT 2'), /doesn't exist/);
    // Still usable after errors.
    [rows] = await c.query('SELECT v FROM kv WHERE k = 1');
    assert.deepEqual(rows, [{ v: 'one' }]);
    // Other commands: ping, init db, field list-ish, reset connection.
    await c.ping();
    await c.changeUser({ user: 'root', database: db.name });
    assert.equal(conn.records.at(-1)!.command, Command.CHANGE_USER);
    [rows] = await c.query('SELECT DATABASE() AS d');
    assert.deepEqual(rows, [{ d: db.name }]);
  } finally {
    await c.end();
  }
  assertClean();
});

test('relay: prepared statements with parameters of many types, decoded and inlined', async () => {
  const c = await connect();
  const conn = relay.last();
  try {
    const cols = `id INT PRIMARY KEY, t TINYINT, tu TINYINT UNSIGNED, s SMALLINT, m MEDIUMINT, i INT, iu INT UNSIGNED,
      b BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec1 DECIMAL(30,6), vc VARCHAR(50), ch CHAR(5), tx TEXT, bl BLOB,
      dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), yr YEAR, js LONGTEXT, n INT, e ENUM('a','b')`;
    await c.query(`CREATE TABLE typed (${cols})`);
    await c.query(`CREATE TABLE typed_inline (${cols})`);
    const sql = `INSERT INTO typed VALUES (${Array(24).fill('?').join(', ')}) /* ? in a comment */`;
    const params = [
      TP.LONG(1), TP.TINY(-128), TP.TINY.unsigned(255), TP.SHORT(-32768), TP.INT24(-8388608), TP.LONG(-2147483648), TP.LONG.unsigned(4294967295),
      TP.LONGLONG(-9223372036854775808n), TP.LONGLONG.unsigned(18446744073709551615n), TP.FLOAT(1.5), TP.DOUBLE(-2.25e-7),
      TP.DECIMAL('123456789012345678901234.123456'), TP.VARCHAR("it's \\ \"quoted\" ?"), TP.STRING('abc'), TP.VAR_STRING('héllo wörld ✓'),
      TP.BLOB(Buffer.from([0, 1, 0x27, 0x5c, 0xff])), TP.DATE(new Date(Date.UTC(2024, 0, 2))),
      TP.DATETIME(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), TP.TIMESTAMP(new Date(Date.UTC(2030, 5, 7, 8, 9, 10))),
      TP.TIME('-838:59:59.5'), TP.YEAR(2024), TP.JSON({ a: [1, 'x'] }), TP.NULL(), TP.ENUM('b'),
    ];
    const [res] = await c.execute(sql, params);
    assert.equal((res as mysql.ResultSetHeader).affectedRows, 1);
    const exec = conn.executes.at(-1)!;
    assert.equal(exec.sql, sql);
    assert.deepEqual(exec.req.values, [
      1, -128, 255, -32768, -8388608, -2147483648, 4294967295, -9223372036854775808n, 18446744073709551615n, 1.5, -2.25e-7,
      '123456789012345678901234.123456', "it's \\ \"quoted\" ?", 'abc', 'héllo wörld ✓', Buffer.from([0, 1, 0x27, 0x5c, 0xff]),
      '2024-01-02', '2024-01-02 03:04:05.006000', '2030-06-07 08:09:10', '-838:59:59.500000', 2024, '{"a":[1,"x"]}', null, 'b',
    ]);
    assert.deepEqual(exec.req.types.slice(0, 3), [{ type: ColumnType.LONG, unsigned: false }, { type: ColumnType.TINY, unsigned: false }, { type: ColumnType.TINY, unsigned: true }]);

    // The decoded values inlined into text SQL store exactly what the prepared statement stored.
    const text = inlineParams(sql.replace('INTO typed', 'INTO typed_inline'), exec.req.values);
    await admin.query(`USE \`${db.name}\``);
    await admin.query("SET time_zone = '+00:00'");
    await admin.query(text);
    const [a] = await admin.query('SELECT * FROM typed');
    const [b] = await admin.query('SELECT * FROM typed_inline');
    assert.deepEqual(b, a);

    // Re-executing the cached statement: mysql2 sends the types again each time; a second
    // statement and a prepare error; close.
    await c.execute('SELECT * FROM typed WHERE id = ? AND vc = ?', [1, "it's \\ \"quoted\" ?"]).then(([rows]) => assert.equal((rows as unknown[]).length, 1));
    await c.execute('SELECT * FROM typed WHERE id = ? AND vc = ?', [2, 'x']).then(([rows]) => assert.equal((rows as unknown[]).length, 0));
    assert.deepEqual(conn.executes.at(-1)!.req.values, [2, 'x']);
    await assert.rejects(c.execute('SELEKT ?', [1]), /syntax/);
    const prepares = conn.records.filter((r) => r.command === Command.STMT_PREPARE && !r.error);
    assert.ok(prepares.some((r) => r.prepared?.paramCount === 24 && r.prepared.columnCount === 0));
    assert.ok(prepares.some((r) => r.prepared?.paramCount === 2 && r.prepared.columnCount === 24));
    const stmt = await c.prepare('SELECT ? + 1 AS x');
    const [rows] = await stmt.execute([41]);
    assert.deepEqual(rows, [{ x: 42 }]);
    await stmt.close();
    const [again] = await c.query('SELECT 7 AS y');
    assert.deepEqual(again, [{ y: 7 }]);
    // COM_STMT_CLOSE has no response: the tracker stays idle and the next query is tracked.
    assert.deepEqual(conn.records.slice(-2).map((r) => r.command), [Command.STMT_CLOSE, Command.QUERY]);
  } finally {
    await c.end();
  }
  assertClean();
});

test('relay: a 20 MiB BLOB both ways (continuation packets), text and prepared', async () => {
  const c = await connect({ maxPreparedStatements: 4 });
  const conn = relay.last();
  try {
    await c.query('CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)');
    const blob = Buffer.alloc(BIG);
    for (let i = 0; i < BIG; i += 997) blob[i] = i & 0xff;
    blob[BIG - 1] = 0xfe;
    // Text protocol: the query is X'...' hex, ~40 MiB, three physical packets from the client.
    await c.query('INSERT INTO big VALUES (1, ?)', [blob]);
    // Binary protocol: a 20 MiB parameter, decoded by the relay.
    await c.execute('INSERT INTO big VALUES (?, ?)', [2, blob]);
    const exec = conn.executes.at(-1)!;
    assert.equal(exec.req.values[0], 2);
    assert.ok(Buffer.isBuffer(exec.req.values[1]) && (exec.req.values[1] as Buffer).equals(blob));
    // The row starts with 0xFE (an 8-byte length): a row, not an EOF.
    const [rows] = await c.query('SELECT b FROM big WHERE id = 1');
    assert.ok(((rows as { b: Buffer }[])[0].b).equals(blob));
    const [rows2] = await c.execute('SELECT b, id FROM big WHERE id = ?', [2]);
    assert.ok(((rows2 as { b: Buffer }[])[0].b).equals(blob));
    // The proxy's own session reads it too.
    const got = await conn.interleave((s) => s.queryOrThrow('SELECT b FROM big WHERE id = 2'));
    assert.equal(got.kind, 'rows');
    assert.ok((got as { rows: (Buffer | null)[][] }).rows[0][0]!.equals(blob));
    const [n] = await c.query('SELECT COUNT(*) AS n FROM big');
    assert.deepEqual(n, [{ n: '2' }]);
  } finally {
    await c.end();
  }
  assertClean();
});

test('relay: the proxy interleaves its own queries on the client\'s backend connection', async () => {
  const c = await connect({ multipleStatements: true });
  const conn = relay.last();
  try {
    await c.query('CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, who VARCHAR(20))');
    await c.query('SET @mine = 42');
    const seen = await conn.interleave(async (s) => {
      const id = await s.queryOrThrow('SELECT CONNECTION_ID() AS id');
      const ac = await s.query('SELECT @@autocommit AS ac, @mine AS mine');
      const ins = await s.queryOrThrow("INSERT INTO audit (who) VALUES ('proxy'), ('proxy2')");
      const bad = await s.query('SELECT * FROM nope');
      await assert.rejects(s.queryOrThrow('SELEKT 1'), (e: unknown) => e instanceof BackendSqlError && e.errno === 1064 && e.sqlState === '42000');
      const all = await s.queryAll('SELECT 1; SELECT 2');
      return { id, ac, ins, bad, all };
    });
    assert.equal(seen.id.kind, 'rows');
    assert.deepEqual(stringRows(seen.id as never), [[String(conn.greeting.connectionId)]]);
    assert.equal(seen.ac.kind, 'rows');
    // Same session: the client's user variable is visible to the proxy.
    assert.deepEqual(stringRows(seen.ac as never), [['1', '42']]);
    assert.equal((seen.ac as { columns: { name: string }[] }).columns[1].name, 'mine');
    assert.deepEqual(seen.ins, { kind: 'ok', affectedRows: 2n, insertId: 1n, status: seen.ins.status, warnings: 0, info: 'Records: 2  Duplicates: 0  Warnings: 0' });
    assert.equal(seen.ins.status & ServerStatus.AUTOCOMMIT, ServerStatus.AUTOCOMMIT);
    assert.deepEqual(seen.bad.kind === 'error' && [seen.bad.errno, seen.bad.sqlState], [1146, '42S02']);
    assert.equal(seen.all.length, 2);

    // The client goes on as if nothing happened, and sees the proxy's insert and its insert id.
    const [rows] = await c.query('SELECT who, LAST_INSERT_ID() AS lid FROM audit ORDER BY id');
    assert.deepEqual(rows, [{ who: 'proxy', lid: '1' }, { who: 'proxy2', lid: '1' }]);
    const [more] = await c.query('SELECT 1 AS a; SELECT 2 AS b');
    assert.equal((more as unknown[]).length, 2);
    // And again, between prepared statement uses.
    await c.execute('INSERT INTO audit (who) VALUES (?)', ['client']);
    await conn.interleave((s) => s.queryOrThrow("INSERT INTO audit (who) VALUES ('proxy3')"));
    await c.execute('INSERT INTO audit (who) VALUES (?)', ['client2']);
    const [all] = await c.query('SELECT who FROM audit ORDER BY id');
    assert.deepEqual((all as { who: string }[]).map((r) => r.who), ['proxy', 'proxy2', 'client', 'proxy3', 'client2']);
  } finally {
    await c.end();
  }
  assertClean();
});

test('relay: LOAD DATA LOCAL INFILE is tracked, and refused when the relay clears CLIENT_LOCAL_FILES', async () => {
  const c = await connect();
  const conn = relay.last();
  try {
    await c.query('CREATE TABLE li (a INT)');
    // mysql2 without an infile stream factory answers the request with an empty file.
    await c.query({ sql: "LOAD DATA LOCAL INFILE '/nonexistent.csv' INTO TABLE li" }).catch(() => undefined);
    const rec = conn.records.at(-1)!;
    assert.equal(rec.command, Command.QUERY);
    assert.equal(rec.localInfile, true);
    const [rows] = await c.query('SELECT 5 AS five');
    assert.deepEqual(rows, [{ five: 5 }]);
  } finally {
    await c.end();
  }
  assertClean();

  const strict = await new TestRelay({ clearClientFlags: Capability.LOCAL_FILES, clearMariaDb: PROXY_CLEARED_MARIADB_CAPABILITIES }).start();
  const c2 = await mysql.createConnection({ host: '127.0.0.1', port: strict.port, user: 'root', database: db.name });
  try {
    await assert.rejects(c2.query("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE li"), (e: { errno?: number; message?: string }) =>
      // 1148 (MySQL, older MariaDB) or 4166 (MariaDB 10.5+): "...disabled the local infile capability".
      e.errno === 1148 || e.errno === 4166);
    assert.equal(strict.last().records.at(-1)!.localInfile, false);
    const [rows] = await c2.query('SELECT COUNT(*) AS n FROM li');
    assert.deepEqual(rows, [{ n: 0 }]);
    // The mariadb CLI does not ask for the MariaDB capabilities the greeting no longer offers.
    if (existsSync('/usr/bin/mariadb')) {
      const { stdout } = await run('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${strict.port}`, '-uroot', '-N', '-e', 'SELECT 6*7'], { timeout: 20000 });
      assert.equal(stdout.trim(), '42');
      const cli = strict.last();
      if (cli.greeting.isMariaDB) {
        assert.ok(cli.clientResponse.mariadbCapabilities !== 0, 'the CLI uses MariaDB extended capabilities');
        assert.equal(cli.clientResponse.mariadbCapabilities & PROXY_CLEARED_MARIADB_CAPABILITIES, 0);
      }
    }
  } finally {
    await c2.end();
    await strict.stop();
  }
  assertClean(strict);
});

test('relay: the mariadb command-line client', { skip: !existsSync('/usr/bin/mariadb') && 'no /usr/bin/mariadb' }, async () => {
  const [want] = await admin.query('SELECT @@version_comment AS v');
  const comment = (want as { v: string }[])[0].v;
  const { stdout } = await run('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${relay.port}`, '-uroot', '-e', 'SELECT @@version_comment; SHOW DATABASES'], { timeout: 20000 });
  const lines = stdout.split('\n');
  assert.equal(lines[0], '@@version_comment');
  assert.equal(lines[1], comment);
  assert.equal(lines[2], 'Database');
  assert.ok(lines.includes('information_schema'));
  assert.ok(lines.includes(db.name));
  const conn = relay.last();
  assert.ok(conn.records.filter((r) => r.command === Command.QUERY).length >= 2);
  // Table output, a prepared-free interactive-ish run with several statements and an error.
  const r2 = await run('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${relay.port}`, '-uroot', db.name, '-t', '-e', 'SELECT 1 AS x, NULL AS y; SELECT seq FROM seq_1_to_3'], { timeout: 20000 });
  assert.match(r2.stdout, /\| x \| y +\|/);
  assert.match(r2.stdout, /\| +3 \|/);
  await assert.rejects(run('/usr/bin/mariadb', ['--no-defaults', '-h127.0.0.1', `-P${relay.port}`, '-uroot', '-e', 'SELECT * FROM nope.nope'], { timeout: 20000 }), /ERROR 1146|ERROR 1049/);
  await new Promise((r) => setTimeout(r, 50));
  assertClean();
});
