import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseTracker } from '../../server/proxy/wire/response.ts';
import { encodePacket, encodePackets } from '../../server/proxy/wire/framing.ts';
import {
  PayloadWriter,
  encodeColumnDefinition,
  encodeEndOfRows,
  encodeEof,
  encodeErr,
  encodeOk,
  encodeTextRow,
  resultSetPayloads,
} from '../../server/proxy/wire/codec.ts';
import { Capability as C, Command, MariaDbCapability, ServerStatus as St } from '../../server/proxy/wire/constants.ts';
import { ProtocolError, UnsupportedCommandError } from '../../server/proxy/wire/errors.ts';
import type { NegotiatedCapabilities } from '../../server/proxy/wire/handshake.ts';

const CLASSIC: NegotiatedCapabilities = { capabilities: C.PROTOCOL_41 | C.SESSION_TRACK };
const MODERN: NegotiatedCapabilities = { capabilities: C.PROTOCOL_41 | C.SESSION_TRACK | C.DEPRECATE_EOF };
const BOTH = [CLASSIC, MODERN];
const MORE = St.MORE_RESULTS_EXISTS | St.AUTOCOMMIT;

const err = (msg = 'boom') => encodeErr({ errno: 1064, sqlState: '42000', message: msg });
const ok = (caps: NegotiatedCapabilities, status: number = St.AUTOCOMMIT, affectedRows = 1) => encodeOk({ status, affectedRows, info: 'info' }, caps.capabilities);
const rs = (caps: NegotiatedCapabilities, rows: number, status: number = St.AUTOCOMMIT) =>
  resultSetPayloads(
    { columns: [{ name: 'a' }, { name: 'b' }], rows: Array.from({ length: rows }, (_, i) => [String(i), i % 2 ? null : 'x'.repeat(i)]) },
    { capabilities: caps.capabilities, status },
  );
const defs = (n: number) => Array.from({ length: n }, (_, i) => encodeColumnDefinition({ name: `c${i}` }));
const endRows = (caps: NegotiatedCapabilities, status: number = St.AUTOCOMMIT) => encodeEndOfRows({ status }, caps.capabilities);
const metaEof = (caps: NegotiatedCapabilities, status: number = St.AUTOCOMMIT) => (caps.capabilities & C.DEPRECATE_EOF ? [] : [encodeEof({ status })]);
const binaryRow = (v: number) => Buffer.from([0x00, 0x00, v, 0, 0, 0]);

interface Outcome {
  tracker: ResponseTracker;
  localInfileAt: number;
}

/**
 * Feeds `payloads` (framed from seq 1) plus trailing bytes of a next response, cut into `chunks`
 * by `cut`, and checks the tracker reports done exactly at the response's last byte.
 */
function track(caps: NegotiatedCapabilities, command: number, payloads: Buffer[], cut: (b: Buffer) => Buffer[]): Outcome {
  const { buffer } = encodePackets(payloads, 1);
  const stream = Buffer.concat([buffer, encodePacket(Buffer.from([0, 0, 0, 2, 0, 0, 0]), 1)]);
  const tracker = new ResponseTracker(caps);
  assert.equal(tracker.start(command), true);
  let total = 0;
  let doneAt = -1;
  let localInfileAt = -1;
  for (const c of cut(stream)) {
    let off = 0;
    while (off < c.length && doneAt < 0) {
      const r = tracker.feed(c, off);
      off += r.consumed;
      total += r.consumed;
      if (r.done) doneAt = total;
      else if (r.localInfile) localInfileAt = total;
      else assert.equal(off, c.length, 'an unfinished response consumes the whole chunk');
    }
  }
  assert.equal(doneAt, buffer.length, 'done exactly at the end of the response');
  assert.equal(tracker.idle, true);
  return { tracker, localInfileAt };
}

/** Runs `track` with the stream whole, split at every position (small ones), byte by byte. */
function trackAllWays(caps: NegotiatedCapabilities, command: number, payloads: Buffer[]): Outcome {
  const first = track(caps, command, payloads, (b) => [b]);
  const size = encodePackets(payloads, 1).buffer.length;
  if (size < 600) {
    for (let k = 0; k <= size + 7; k++) track(caps, command, payloads, (b) => [b.subarray(0, k), b.subarray(k)]);
  }
  if (size < 200_000) track(caps, command, payloads, (b) => [...b].map((x) => Buffer.from([x])));
  track(caps, command, payloads, (b) => {
    const out: Buffer[] = [];
    for (let i = 0; i < b.length; i += 65536) out.push(b.subarray(i, i + 65536));
    return out;
  });
  return first;
}

test('tracker: COM_QUERY simple responses', () => {
  for (const caps of BOTH) {
    let o = trackAllWays(caps, Command.QUERY, [ok(caps, St.AUTOCOMMIT | St.IN_TRANS)]);
    assert.equal(o.tracker.error, false);
    assert.equal(o.tracker.status, St.AUTOCOMMIT | St.IN_TRANS);
    o = trackAllWays(caps, Command.QUERY, [err()]);
    assert.equal(o.tracker.error, true);
    o = trackAllWays(caps, Command.QUERY, rs(caps, 3, St.AUTOCOMMIT | St.IN_TRANS));
    assert.equal(o.tracker.rows, 3);
    assert.equal(o.tracker.resultSets, 1);
    assert.equal(o.tracker.status, St.AUTOCOMMIT | St.IN_TRANS);
    o = trackAllWays(caps, Command.QUERY, rs(caps, 0));
    assert.equal(o.tracker.rows, 0);
    // Big OK values: 9-byte affected rows / insert id before the status flags.
    o = trackAllWays(caps, Command.QUERY, [encodeOk({ affectedRows: 2n ** 62n, insertId: 2n ** 63n, status: 0x4003 }, caps.capabilities)]);
    assert.equal(o.tracker.status, 0x4003);
  }
});

test('tracker: multiple result sets and errors in the middle', () => {
  for (const caps of BOTH) {
    let o = trackAllWays(caps, Command.QUERY, [...rs(caps, 2, MORE), ok(caps, MORE), ...rs(caps, 5, MORE), ok(caps)]);
    assert.equal(o.tracker.resultSets, 2);
    assert.equal(o.tracker.rows, 7);
    assert.equal(o.tracker.error, false);
    // The second statement fails: the ERR ends the response.
    o = trackAllWays(caps, Command.QUERY, [ok(caps, MORE), err()]);
    assert.equal(o.tracker.error, true);
    // An ERR after some rows (e.g. a runtime error while sending).
    const partial = rs(caps, 4);
    o = trackAllWays(caps, Command.QUERY, [...partial.slice(0, -1), err('Query execution was interrupted')]);
    assert.equal(o.tracker.error, true);
    assert.equal(o.tracker.rows, 4);
  }
});

test('tracker: a row starting with 0xFE (value >= 16 MiB) is a row, not the end', () => {
  for (const caps of BOTH) {
    const big = Buffer.alloc(17 * 1024 * 1024, 0x61);
    const payloads = [
      new PayloadWriter().lenenc(2).finish(),
      ...defs(2),
      ...metaEof(caps),
      encodeTextRow([big, 'small']),
      encodeTextRow(['x', null]),
      endRows(caps),
    ];
    assert.equal(payloads[caps.capabilities & C.DEPRECATE_EOF ? 3 : 4][0], 0xfe);
    const o = trackAllWays(caps, Command.QUERY, payloads);
    assert.equal(o.tracker.rows, 2);
  }
});

test('tracker: LOCAL INFILE request is reported, then the OK completes it', () => {
  for (const caps of BOTH) {
    const request = Buffer.concat([Buffer.from([0xfb]), Buffer.from('/etc/passwd')]);
    const o = trackAllWays(caps, Command.QUERY, [request, ok(caps)]);
    assert.equal(o.localInfileAt, 4 + request.length);
    assert.equal(o.tracker.lastSeq, 2);
  }
});

test('tracker: COM_STMT_PREPARE reports the statement and skips its definitions', () => {
  const prepOk = (id: number, cols: number, params: number) => new PayloadWriter().u8(0).u32(id).u16(cols).u16(params).u8(0).u16(0).finish();
  for (const caps of BOTH) {
    const eof = metaEof(caps);
    let o = trackAllWays(caps, Command.STMT_PREPARE, [prepOk(7, 3, 2), ...defs(2), ...eof, ...defs(3), ...eof]);
    assert.deepEqual(o.tracker.prepared, { statementId: 7, columnCount: 3, paramCount: 2 });
    o = trackAllWays(caps, Command.STMT_PREPARE, [prepOk(8, 0, 1), ...defs(1), ...eof]);
    assert.deepEqual(o.tracker.prepared, { statementId: 8, columnCount: 0, paramCount: 1 });
    o = trackAllWays(caps, Command.STMT_PREPARE, [prepOk(9, 0, 0)]);
    assert.deepEqual(o.tracker.prepared, { statementId: 9, columnCount: 0, paramCount: 0 });
    o = trackAllWays(caps, Command.STMT_PREPARE, [err()]);
    assert.equal(o.tracker.prepared, null);
    assert.equal(o.tracker.error, true);
  }
});

test('tracker: COM_STMT_EXECUTE binary rows (0x00 headers), cursors, COM_STMT_FETCH', () => {
  for (const caps of BOTH) {
    const head = [new PayloadWriter().lenenc(1).finish(), ...defs(1)];
    let o = trackAllWays(caps, Command.STMT_EXECUTE, [...head, ...metaEof(caps), binaryRow(1), binaryRow(2), endRows(caps)]);
    assert.equal(o.tracker.rows, 2);
    o = trackAllWays(caps, Command.STMT_EXECUTE, [ok(caps)]);
    assert.equal(o.tracker.resultSets, 0);
    // A cursor was opened: the metadata ends the response (EOF or OK-as-EOF with CURSOR_EXISTS).
    o = trackAllWays(caps, Command.STMT_EXECUTE, [...head, endRows(caps, St.CURSOR_EXISTS | St.AUTOCOMMIT)]);
    assert.equal(o.tracker.status & St.CURSOR_EXISTS, St.CURSOR_EXISTS);
    o = trackAllWays(caps, Command.STMT_FETCH, [binaryRow(1), binaryRow(2), endRows(caps, St.CURSOR_EXISTS)]);
    assert.equal(o.tracker.rows, 2);
    o = trackAllWays(caps, Command.STMT_FETCH, [binaryRow(3), endRows(caps, St.LAST_ROW_SENT)]);
    o = trackAllWays(caps, Command.STMT_FETCH, [err()]);
    assert.equal(o.tracker.error, true);
  }
  // MariaDB's metadata cache: a 0 "metadata follows" byte means no column definitions.
  for (const base of BOTH) {
    const caps = { ...base, mariadbCapabilities: MariaDbCapability.CACHE_METADATA };
    const o = trackAllWays(caps, Command.STMT_EXECUTE, [Buffer.from([1, 0]), ...metaEof(caps), binaryRow(1), endRows(caps)]);
    assert.equal(o.tracker.rows, 1);
    trackAllWays(caps, Command.STMT_EXECUTE, [Buffer.from([1, 1]), ...defs(1), ...metaEof(caps), binaryRow(1), endRows(caps)]);
    // Text result sets are not affected by it.
    trackAllWays(caps, Command.QUERY, rs(caps, 2));
  }
});

test('tracker: other commands', () => {
  for (const caps of BOTH) {
    trackAllWays(caps, Command.FIELD_LIST, [...defs(3), endRows(caps)]);
    assert.equal(trackAllWays(caps, Command.FIELD_LIST, [err()]).tracker.error, true);
    trackAllWays(caps, Command.PING, [ok(caps)]);
    assert.equal(trackAllWays(caps, Command.INIT_DB, [ok(caps, St.AUTOCOMMIT | St.IN_TRANS)]).tracker.status, St.AUTOCOMMIT | St.IN_TRANS);
    trackAllWays(caps, Command.RESET_CONNECTION, [ok(caps)]);
    trackAllWays(caps, Command.STMT_RESET, [err()]);
    trackAllWays(caps, Command.SET_OPTION, [encodeEndOfRows({ status: 2 }, caps.capabilities)]);
    trackAllWays(caps, Command.STATISTICS, [Buffer.from('Uptime: 1  Threads: 1  Questions: 2')]);
    // COM_CHANGE_USER: an auth switch and more data before the final OK.
    const sw = Buffer.concat([Buffer.from([0xfe]), Buffer.from('mysql_native_password\0'), Buffer.alloc(21, 1)]);
    trackAllWays(caps, Command.CHANGE_USER, [sw, Buffer.from([0x01, 0x03]), ok(caps)]);
    assert.equal(trackAllWays(caps, Command.CHANGE_USER, [sw, err()]).tracker.error, true);
  }
  const t = new ResponseTracker(MODERN);
  for (const cmd of [Command.STMT_CLOSE, Command.STMT_SEND_LONG_DATA, Command.QUIT]) {
    assert.equal(t.start(cmd), false);
    assert.equal(t.idle, true);
    assert.deepEqual(t.feed(Buffer.from([1, 0, 0, 0, 0])), { consumed: 0, done: true, localInfile: false });
  }
  assert.throws(() => t.start(Command.BINLOG_DUMP), UnsupportedCommandError);
  assert.throws(() => t.start(Command.MULTI), UnsupportedCommandError);
  t.start(Command.QUERY);
  assert.throws(() => t.start(Command.QUERY), ProtocolError);
  t.reset();
  assert.equal(t.idle, true);
});

test('tracker: MariaDB progress reports are skipped when negotiated', () => {
  const progress = new PayloadWriter().u8(0xff).u16(0xffff).u8(1).u8(1).u8(3).u24(12345).lenencString('stage').finish();
  for (const base of BOTH) {
    const caps = { ...base, mariadbCapabilities: MariaDbCapability.PROGRESS };
    const o = trackAllWays(caps, Command.QUERY, [progress, progress, ok(caps)]);
    assert.equal(o.tracker.error, false);
    // Without the capability, 0xFF is an ERR.
    assert.equal(trackAllWays(base, Command.QUERY, [progress]).tracker.error, true);
  }
});

test('tracker: malformed responses throw ProtocolError', () => {
  const t = new ResponseTracker(CLASSIC);
  t.start(Command.QUERY);
  assert.throws(() => t.feed(encodePacket(Buffer.alloc(0), 1)), ProtocolError);
  const t2 = new ResponseTracker(CLASSIC);
  t2.start(Command.QUERY);
  t2.feed(encodePackets([Buffer.from([1]), ...defs(1)], 1).buffer);
  assert.throws(() => t2.feed(encodePacket(Buffer.from([0x03, 0x64]), 3)), ProtocolError);
  const t3 = new ResponseTracker(CLASSIC);
  t3.start(Command.STMT_EXECUTE);
  assert.throws(() => t3.feed(encodePacket(Buffer.from([0xfb]), 1)), ProtocolError);
});

test('tracker: throughput on a 100k-row stream stays far above a relay\'s needs', () => {
  const caps = MODERN;
  const row = encodeTextRow(['12345', 'a fairly typical varchar value', null, '2024-01-02 03:04:05']);
  const payloads = [new PayloadWriter().lenenc(4).finish(), ...defs(4)];
  for (let i = 0; i < 100_000; i++) payloads.push(row);
  payloads.push(endRows(caps));
  const { buffer } = encodePackets(payloads, 1);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += 65536) chunks.push(buffer.subarray(i, i + 65536));
  const t = new ResponseTracker(caps);
  const t0 = process.hrtime.bigint();
  for (let rep = 0; rep < 5; rep++) {
    t.start(Command.QUERY);
    let done = false;
    for (const c of chunks) done = t.feed(c).done;
    assert.equal(done, true);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // ~8 MB x 5; a pure header scan does this in well under a second.
  assert.ok(ms < 3000, `tracking took ${ms} ms`);
});
