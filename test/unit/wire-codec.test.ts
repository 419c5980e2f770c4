import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PayloadReader,
  PayloadWriter,
  encodeLenencInt,
  lenencIntLength,
  readLenencInt,
  parseGreeting,
  withoutCapabilities,
  parseHandshakeResponse,
  encodeHandshakeResponse,
  withoutClientCapabilities,
  isSslRequest,
  negotiate,
  encodeOk,
  parseOk,
  encodeErr,
  parseErr,
  encodeEof,
  parseEof,
  isEofPacket,
  isEndOfRows,
  encodeEndOfRows,
  parseEndOfRows,
  encodeColumnDefinition,
  parseColumnDefinition,
  encodeTextRow,
  parseTextRow,
  resultSetPayloads,
  encodeResultSet,
} from '../../server/proxy/wire/codec.ts';
import { Capability, Charset, ColumnType, MariaDbCapability, ServerStatus } from '../../server/proxy/wire/constants.ts';
import { ProtocolError } from '../../server/proxy/wire/errors.ts';
import { PacketReader } from '../../server/proxy/wire/framing.ts';

const C = Capability;

test('lenenc ints: every width, boundaries both sides', () => {
  const cases: [number | bigint, number][] = [
    [0, 1], [250, 1], [251, 3], [0xffff, 3], [0x10000, 4], [0xffffff, 4], [0x1000000, 9],
    [Number.MAX_SAFE_INTEGER, 9], [0xffffffffffffffffn, 9], [2n ** 60n, 9],
  ];
  for (const [v, size] of cases) {
    const b = encodeLenencInt(v);
    assert.equal(b.length, size, `size of ${v}`);
    assert.equal(lenencIntLength(v), size);
    assert.equal(new PayloadReader(b).lenencBig(), BigInt(v));
    const r = readLenencInt(b, 0)!;
    assert.equal(r.size, size);
    assert.equal(BigInt(r.value), BigInt(v));
    // Values beyond 2^53 stay exact as bigint.
    if (BigInt(v) > BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(typeof r.value, 'bigint');
    else assert.equal(typeof r.value, 'number');
    // Truncated: readLenencInt says "not yet", the cursor throws.
    if (size > 1) {
      assert.equal(readLenencInt(b.subarray(0, size - 1), 0), null);
      assert.throws(() => new PayloadReader(b.subarray(0, size - 1)).lenencBig(), ProtocolError);
    }
  }
  assert.deepEqual([...encodeLenencInt(251)], [0xfc, 251, 0]);
  assert.deepEqual([...encodeLenencInt(0x10000)], [0xfd, 0, 0, 1]);
  assert.throws(() => readLenencInt(Buffer.from([0xff]), 0), ProtocolError);
  assert.throws(() => new PayloadReader(Buffer.from([0xfb])).lenenc(), ProtocolError);
  assert.throws(() => lenencIntLength(-1), RangeError);
  assert.throws(() => lenencIntLength(2n ** 64n), RangeError);
});

test('lenenc strings, NUL strings and NULL markers', () => {
  const long = 'x'.repeat(70000);
  const b = new PayloadWriter(4).lenencString('héllo').lenencString('').lenencString(long).nulString('db').u8(0xfb).finish();
  const r = new PayloadReader(b);
  assert.equal(r.lenencString(), 'héllo');
  assert.equal(r.lenencString(), '');
  assert.equal(r.lenencString(), long);
  assert.equal(r.nulString(), 'db');
  assert.equal(r.lenencBytesOrNull(), null);
  assert.equal(r.remaining, 0);
  assert.throws(() => new PayloadReader(Buffer.from('abc')).nulString(), ProtocolError);
  assert.equal(new PayloadReader(Buffer.from('abc')).nulString(true), 'abc');
});

/** A HandshakeV10 as MariaDB 10.11 sends it (built here independently of the parser). */
function greeting(opts: { caps: number; ext?: number; plugin?: string }): Buffer {
  const scramble = Buffer.from('0123456789abcdefghij');
  return new PayloadWriter()
    .u8(10)
    .nulString('5.5.5-10.11.19-MariaDB-0+deb12u1')
    .u32(77)
    .bytes(scramble.subarray(0, 8))
    .u8(0)
    .u16(opts.caps & 0xffff)
    .u8(45)
    .u16(ServerStatus.AUTOCOMMIT)
    .u16(opts.caps >>> 16)
    .u8(21)
    .zeros(6)
    .u32(opts.ext ?? 0)
    .bytes(scramble.subarray(8))
    .u8(0)
    .nulString(opts.plugin ?? 'mysql_native_password')
    .finish();
}

const SERVER_CAPS =
  (C.FOUND_ROWS | C.LONG_FLAG | C.CONNECT_WITH_DB | C.NO_SCHEMA | C.COMPRESS | C.ODBC | C.LOCAL_FILES | C.IGNORE_SPACE |
    C.PROTOCOL_41 | C.INTERACTIVE | C.SSL | C.IGNORE_SIGPIPE | C.TRANSACTIONS | C.RESERVED | C.SECURE_CONNECTION |
    C.MULTI_STATEMENTS | C.MULTI_RESULTS | C.PS_MULTI_RESULTS | C.PLUGIN_AUTH | C.CONNECT_ATTRS |
    C.PLUGIN_AUTH_LENENC_CLIENT_DATA | C.CAN_HANDLE_EXPIRED_PASSWORDS | C.SESSION_TRACK | C.DEPRECATE_EOF | 0x80000000) >>> 0;

test('greeting: parse MariaDB and MySQL flavours, clear capability bits', () => {
  const ext = MariaDbCapability.PROGRESS | MariaDbCapability.STMT_BULK_OPERATIONS | MariaDbCapability.CACHE_METADATA;
  const g = parseGreeting(greeting({ caps: SERVER_CAPS, ext }));
  assert.equal(g.protocolVersion, 10);
  assert.equal(g.serverVersion, '5.5.5-10.11.19-MariaDB-0+deb12u1');
  assert.equal(g.connectionId, 77);
  assert.equal(g.capabilities, SERVER_CAPS);
  assert.equal(g.charset, 45);
  assert.equal(g.status, ServerStatus.AUTOCOMMIT);
  assert.equal(g.authPluginName, 'mysql_native_password');
  assert.equal(g.authPluginData.toString(), '0123456789abcdefghij');
  assert.equal(g.isMariaDB, true);
  assert.equal(g.mariadbCapabilities, ext);

  const stripped = withoutCapabilities(greeting({ caps: SERVER_CAPS, ext }), C.SSL | C.COMPRESS, MariaDbCapability.STMT_BULK_OPERATIONS);
  const g2 = parseGreeting(stripped);
  assert.equal(g2.capabilities, (SERVER_CAPS & ~(C.SSL | C.COMPRESS)) >>> 0);
  assert.equal(g2.mariadbCapabilities, ext & ~MariaDbCapability.STMT_BULK_OPERATIONS);
  assert.equal(g2.authPluginName, g.authPluginName);
  assert.equal(stripped.length, greeting({ caps: SERVER_CAPS, ext }).length);
  // Upper-half bits clear too.
  assert.equal(parseGreeting(withoutCapabilities(greeting({ caps: SERVER_CAPS }), C.DEPRECATE_EOF)).capabilities & C.DEPRECATE_EOF, 0);

  // A MySQL server sets CLIENT_MYSQL (bit 0): the reserved bytes are not extended capabilities.
  const my = parseGreeting(greeting({ caps: SERVER_CAPS | C.CLIENT_MYSQL, ext: 0xffffffff, plugin: 'caching_sha2_password' }));
  assert.equal(my.isMariaDB, false);
  assert.equal(my.mariadbCapabilities, 0);
  assert.equal(my.authPluginName, 'caching_sha2_password');

  assert.throws(() => parseGreeting(encodeErr({ errno: 1040, sqlState: '08004', message: 'Too many connections' })), ProtocolError);
});

test('handshake response: round trip over the capability variants', () => {
  const attrs = new Map([['_client_name', 'test'], ['_pid', '42']]);
  const variants = [
    C.PROTOCOL_41 | C.SECURE_CONNECTION | C.PLUGIN_AUTH | C.PLUGIN_AUTH_LENENC_CLIENT_DATA | C.CONNECT_WITH_DB | C.CONNECT_ATTRS,
    C.PROTOCOL_41 | C.SECURE_CONNECTION | C.PLUGIN_AUTH,
    C.PROTOCOL_41 | C.LONG_PASSWORD | C.CONNECT_WITH_DB,
  ];
  for (const caps of variants) {
    const auth = caps & C.SECURE_CONNECTION ? Buffer.from('0123456789abcdefghij\0\x01') : Buffer.from('scrambled');
    const payload = encodeHandshakeResponse({
      capabilities: caps,
      maxPacketSize: 1 << 24,
      charset: 45,
      mariadbCapabilities: MariaDbCapability.PROGRESS,
      username: 'root',
      authResponse: auth,
      database: 'shop',
      authPluginName: 'mysql_native_password',
      connectAttributes: attrs,
    });
    const r = parseHandshakeResponse(payload);
    assert.equal(r.capabilities, caps);
    assert.equal(r.maxPacketSize, 1 << 24);
    assert.equal(r.charset, 45);
    assert.equal(r.username, 'root');
    assert.deepEqual(r.authResponse, auth);
    assert.equal(r.database, caps & C.CONNECT_WITH_DB ? 'shop' : null);
    assert.equal(r.authPluginName, caps & C.PLUGIN_AUTH ? 'mysql_native_password' : null);
    assert.deepEqual(r.connectAttributes, caps & C.CONNECT_ATTRS ? attrs : null);
    // Extended capabilities only count when the client left CLIENT_MYSQL unset.
    assert.equal(r.mariadbCapabilities, caps & C.CLIENT_MYSQL ? 0 : MariaDbCapability.PROGRESS);
  }
  // Clearing client bits keeps every other field.
  const full = encodeHandshakeResponse({
    capabilities: variants[0] | C.LOCAL_FILES, mariadbCapabilities: MariaDbCapability.STMT_BULK_OPERATIONS | MariaDbCapability.PROGRESS,
    username: 'root', authResponse: Buffer.from('x'), database: 'd', authPluginName: 'p', connectAttributes: attrs,
  });
  const cleared = parseHandshakeResponse(withoutClientCapabilities(full, C.LOCAL_FILES, MariaDbCapability.STMT_BULK_OPERATIONS));
  assert.equal(cleared.capabilities, variants[0]);
  assert.equal(cleared.mariadbCapabilities, MariaDbCapability.PROGRESS);
  assert.deepEqual({ ...cleared, capabilities: 0, mariadbCapabilities: 0 }, { ...parseHandshakeResponse(full), capabilities: 0, mariadbCapabilities: 0 });

  const ssl = new PayloadWriter().u32(C.PROTOCOL_41 | C.SSL).u32(0).u8(45).zeros(23).finish();
  assert.equal(isSslRequest(ssl), true);
  assert.throws(() => parseHandshakeResponse(ssl), ProtocolError);

  const g = parseGreeting(greeting({ caps: SERVER_CAPS, ext: MariaDbCapability.PROGRESS | MariaDbCapability.CACHE_METADATA }));
  const resp = parseHandshakeResponse(
    encodeHandshakeResponse({ capabilities: C.PROTOCOL_41 | C.DEPRECATE_EOF | C.QUERY_ATTRIBUTES, mariadbCapabilities: MariaDbCapability.PROGRESS, username: 'u' }),
  );
  assert.deepEqual(negotiate(g, resp), { capabilities: C.PROTOCOL_41 | C.DEPRECATE_EOF, mariadbCapabilities: MariaDbCapability.PROGRESS });
});

test('OK packets: round trip with and without session tracking, OK-as-EOF', () => {
  for (const caps of [C.PROTOCOL_41, C.PROTOCOL_41 | C.SESSION_TRACK]) {
    const init = { affectedRows: 3, insertId: 2n ** 63n + 5n, status: ServerStatus.IN_TRANS, warnings: 2, info: 'Rows matched: 3  Changed: 3  txid ab' };
    const ok = parseOk(encodeOk(init, caps), caps);
    assert.deepEqual(ok, { affectedRows: 3n, insertId: 2n ** 63n + 5n, status: ServerStatus.IN_TRANS, warnings: 2, info: init.info, sessionState: null });
    const empty = encodeOk({}, caps);
    assert.deepEqual([...empty], [0, 0, 0, ServerStatus.AUTOCOMMIT, 0, 0, 0]);
    assert.equal(parseOk(empty, caps).info, '');
    const asEof = encodeOk({ status: ServerStatus.MORE_RESULTS_EXISTS }, caps, true);
    assert.equal(asEof[0], 0xfe);
    assert.equal(parseOk(asEof, caps).status, ServerStatus.MORE_RESULTS_EXISTS);
  }
  // Session state block (as MariaDB sends it with SESSION_TRACK and SESSION_STATE_CHANGED).
  const caps = C.PROTOCOL_41 | C.SESSION_TRACK;
  const state = new PayloadWriter().u8(1).lenencBytes(new PayloadWriter().lenencString('shop').finish()).finish();
  const p = new PayloadWriter().u8(0).lenenc(0).lenenc(0).u16(ServerStatus.SESSION_STATE_CHANGED).u16(0).lenencString('').lenencBytes(state).finish();
  assert.deepEqual(parseOk(p, caps).sessionState, state);
  assert.throws(() => parseOk(Buffer.from([0xff, 1, 2]), caps), ProtocolError);
});

test('ERR and EOF packets: round trip', () => {
  const e = { errno: 4100, sqlState: 'HY000', message: 'OurSQL: needs a signature — add /* PUBKEY:<hex>; */' };
  const b = encodeErr(e);
  assert.equal(b[0], 0xff);
  assert.equal(b[3], 0x23);
  assert.deepEqual(parseErr(b), e);
  // Without the '#' marker (some connection-phase errors): generic SQLSTATE.
  assert.deepEqual(parseErr(Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('Too many connections')])), {
    errno: 1040, sqlState: 'HY000', message: 'Too many connections',
  });
  assert.throws(() => encodeErr({ errno: 1, sqlState: 'bad', message: '' }), RangeError);

  const eof = encodeEof({ warnings: 1, status: ServerStatus.MORE_RESULTS_EXISTS | ServerStatus.AUTOCOMMIT });
  assert.deepEqual([...eof], [0xfe, 1, 0, 0x0a, 0]);
  assert.equal(isEofPacket(eof), true);
  assert.deepEqual(parseEof(eof), { warnings: 1, status: 0x0a });
  const classic = encodeEndOfRows({ status: 2 }, C.PROTOCOL_41);
  const modern = encodeEndOfRows({ status: 2 }, C.PROTOCOL_41 | C.DEPRECATE_EOF);
  assert.equal(classic.length, 5);
  assert.equal(modern[0], 0xfe);
  assert.deepEqual(parseEndOfRows(classic, C.PROTOCOL_41), { warnings: 0, status: 2 });
  assert.deepEqual(parseEndOfRows(modern, C.PROTOCOL_41 | C.DEPRECATE_EOF), { warnings: 0, status: 2 });
  // A row whose first value is >= 16 MiB starts with 0xFE too: only a short packet ends rows.
  const bigRowStart = Buffer.alloc(0xffffff);
  bigRowStart[0] = 0xfe;
  assert.equal(isEndOfRows(bigRowStart, C.DEPRECATE_EOF), false);
  assert.equal(isEndOfRows(Buffer.from([0xfe, 0, 0, 2, 0, 0, 0, 0, 0]), C.PROTOCOL_41), false);
  assert.equal(isEndOfRows(Buffer.from([0xfe, 0, 0, 2, 0, 0, 0, 0, 0]), C.DEPRECATE_EOF), true);
});

test('column definitions and text rows: round trip', () => {
  const def = parseColumnDefinition(encodeColumnDefinition({ name: 'Key', table: 't', schema: 's' }, 12));
  assert.deepEqual(def, {
    catalog: 'def', schema: 's', table: 't', orgTable: 't', name: 'Key', orgName: 'Key',
    charset: Charset.UTF8MB4_GENERAL_CI, length: 12, type: ColumnType.VAR_STRING, flags: 0, decimals: 0x1f,
  });
  const num = parseColumnDefinition(encodeColumnDefinition({ name: 'n', type: ColumnType.LONGLONG }));
  assert.equal(num.charset, Charset.BINARY);
  assert.equal(num.type, ColumnType.LONGLONG);
  assert.equal(num.flags & 0x8000, 0x8000);
  assert.equal(parseColumnDefinition(encodeColumnDefinition({ name: 'b', type: ColumnType.BLOB })).charset, Charset.BINARY);

  // MariaDB extended type info sits between org_name and the fixed block.
  const ext = new PayloadWriter().u8(0).lenencString('json').finish();
  const withExt = new PayloadWriter()
    .lenencString('def').lenencString('s').lenencString('t').lenencString('t').lenencString('j').lenencString('j')
    .lenencBytes(ext).lenenc(0x0c).u16(45).u32(100).u8(ColumnType.BLOB).u16(0x10).u8(0).u16(0).finish();
  const d = parseColumnDefinition(withExt, { mariadbCapabilities: MariaDbCapability.EXTENDED_TYPE_INFO });
  assert.deepEqual(d.extendedTypeInfo, ext);
  assert.equal(d.type, ColumnType.BLOB);
  assert.equal(d.length, 100);
  // COM_FIELD_LIST appends the default value.
  const fl = Buffer.concat([encodeColumnDefinition({ name: 'c' }), encodeLenencInt(1), Buffer.from('7')]);
  assert.deepEqual(parseColumnDefinition(fl).defaultValue, Buffer.from('7'));

  const row = encodeTextRow(['a', null, Buffer.from([0xfb, 0]), '', 'é'.repeat(200)]);
  assert.deepEqual(parseTextRow(row, 5), [Buffer.from('a'), null, Buffer.from([0xfb, 0]), Buffer.alloc(0), Buffer.from('é'.repeat(200))]);
  assert.throws(() => parseTextRow(row, 4), ProtocolError);
});

test('text result set: encoder output parses back, EOF or OK-as-EOF per CLIENT_DEPRECATE_EOF', () => {
  const rs = {
    columns: [{ name: 'Key' }, { name: 'Value' }, { name: 'n', type: ColumnType.LONGLONG }],
    rows: [['Transaction', 'ab01', '1'], ['TxID', null, '2']],
  };
  for (const caps of [C.PROTOCOL_41, C.PROTOCOL_41 | C.DEPRECATE_EOF, C.PROTOCOL_41 | C.DEPRECATE_EOF | C.SESSION_TRACK]) {
    const eof = !(caps & C.DEPRECATE_EOF);
    const payloads = resultSetPayloads(rs, { capabilities: caps, status: ServerStatus.AUTOCOMMIT | ServerStatus.IN_TRANS });
    assert.equal(payloads.length, 1 + 3 + (eof ? 1 : 0) + 2 + 1);
    const r = new PayloadReader(payloads[0]);
    assert.equal(r.lenenc(), 3);
    const defs = payloads.slice(1, 4).map((p) => parseColumnDefinition(p));
    assert.deepEqual(defs.map((d) => d.name), ['Key', 'Value', 'n']);
    assert.equal(defs[0].length, Buffer.byteLength('Transaction'));
    let at = 4;
    if (eof) assert.equal(isEofPacket(payloads[at++]), true);
    assert.deepEqual(parseTextRow(payloads[at++]), [Buffer.from('Transaction'), Buffer.from('ab01'), Buffer.from('1')]);
    assert.deepEqual(parseTextRow(payloads[at++]), [Buffer.from('TxID'), null, Buffer.from('2')]);
    assert.equal(isEndOfRows(payloads[at], caps), true);
    assert.equal(parseEndOfRows(payloads[at], caps).status, ServerStatus.AUTOCOMMIT | ServerStatus.IN_TRANS);

    // Framed: sequence ids count up from the given one, and the frames parse back.
    const { buffer, nextSeq } = encodeResultSet(rs, { capabilities: caps, seq: 1 });
    const pkts = new PacketReader().push(buffer);
    assert.deepEqual(pkts.map((p) => p.seq), payloads.map((_, i) => i + 1));
    assert.equal(nextSeq, payloads.length + 1);
  }
  assert.throws(() => resultSetPayloads({ columns: [], rows: [] }, { capabilities: 0 }), RangeError);
  assert.throws(() => resultSetPayloads({ columns: [{ name: 'a' }], rows: [['x', 'y']] }, { capabilities: 0 }), RangeError);
});
