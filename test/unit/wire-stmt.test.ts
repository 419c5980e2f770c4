import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeExecute,
  decodeSendLongData,
  parsePrepareOk,
  inlineParams,
  sqlLiteral,
  InlineParamsError,
  PayloadWriter,
  type ParamType,
} from '../../server/proxy/wire/codec.ts';
import { ColumnType as T, Command } from '../../server/proxy/wire/constants.ts';
import { ProtocolError } from '../../server/proxy/wire/errors.ts';

/** An independent COM_STMT_EXECUTE encoder: each param is (type, unsigned, raw value bytes). */
function execute(id: number, params: { type: number; unsigned?: boolean; bytes: Buffer | null }[], sendTypes = true): Buffer {
  const w = new PayloadWriter().u8(Command.STMT_EXECUTE).u32(id).u8(0).u32(1);
  if (params.length) {
    const bitmap = Buffer.alloc((params.length + 7) >> 3);
    params.forEach((p, i) => {
      if (p.bytes === null) bitmap[i >> 3] |= 1 << (i & 7);
    });
    w.bytes(bitmap).u8(sendTypes ? 1 : 0);
    if (sendTypes) for (const p of params) w.u8(p.type).u8(p.unsigned ? 0x80 : 0);
    for (const p of params) if (p.bytes) w.bytes(p.bytes);
  }
  return Buffer.from(w.finish());
}

const le = (n: number, size: number, signed = false) => {
  const b = Buffer.alloc(size);
  if (signed) b.writeIntLE(n, 0, size);
  else b.writeUIntLE(n, 0, size);
  return b;
};
const lenStr = (s: string | Buffer) => new PayloadWriter().lenencBytes(typeof s === 'string' ? Buffer.from(s) : s).finish();
const f32 = (v: number) => { const b = Buffer.alloc(4); b.writeFloatLE(v); return b; };
const f64 = (v: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(v); return b; };
const i64 = (v: bigint, unsigned = false) => { const b = Buffer.alloc(8); if (unsigned) b.writeBigUInt64LE(v); else b.writeBigInt64LE(v); return b; };
const dt = (...f: number[]) => {
  // [len, year, month, day, h, m, s, micro]
  const w = new PayloadWriter().u8(f[0]);
  if (f[0] >= 4) w.u16(f[1]).u8(f[2]).u8(f[3]);
  if (f[0] >= 7) w.u8(f[4]).u8(f[5]).u8(f[6]);
  if (f[0] === 11) w.u32(f[7]);
  return w.finish();
};
const tm = (len: number, neg: number, days: number, h: number, m: number, s: number, us = 0) => {
  const w = new PayloadWriter().u8(len);
  if (len) w.u8(neg).u32(days).u8(h).u8(m).u8(s);
  if (len === 12) w.u32(us);
  return w.finish();
};

test('COM_STMT_EXECUTE: every common parameter type decodes', () => {
  const cases: { type: number; unsigned?: boolean; bytes: Buffer | null; want: unknown }[] = [
    { type: T.TINY, bytes: le(-5, 1, true), want: -5 },
    { type: T.TINY, unsigned: true, bytes: le(250, 1), want: 250 },
    { type: T.SHORT, bytes: le(-30000, 2, true), want: -30000 },
    { type: T.SHORT, unsigned: true, bytes: le(65535, 2), want: 65535 },
    { type: T.YEAR, bytes: le(2024, 2), want: 2024 },
    { type: T.LONG, bytes: le(-2147483648, 4, true), want: -2147483648 },
    { type: T.LONG, unsigned: true, bytes: le(4294967295, 4), want: 4294967295 },
    { type: T.INT24, bytes: le(-8388608, 4, true), want: -8388608 },
    { type: T.LONGLONG, bytes: i64(-9223372036854775808n), want: -9223372036854775808n },
    { type: T.LONGLONG, unsigned: true, bytes: i64(18446744073709551615n, true), want: 18446744073709551615n },
    { type: T.FLOAT, bytes: f32(1.5), want: 1.5 },
    { type: T.FLOAT, bytes: f32(1.1), want: Math.fround(1.1) },
    { type: T.DOUBLE, bytes: f64(-0.1), want: -0.1 },
    { type: T.DECIMAL, bytes: lenStr('-12.3400'), want: '-12.3400' },
    { type: T.NEWDECIMAL, bytes: lenStr('99999999999999999999.5'), want: '99999999999999999999.5' },
    { type: T.VARCHAR, bytes: lenStr('a'), want: 'a' },
    { type: T.VAR_STRING, bytes: lenStr("it's é"), want: "it's é" },
    { type: T.STRING, bytes: lenStr(''), want: '' },
    { type: T.ENUM, bytes: lenStr('red'), want: 'red' },
    { type: T.JSON, bytes: lenStr('{"a":1}'), want: '{"a":1}' },
    // Invalid UTF-8 in a text type stays bytes rather than being mangled.
    { type: T.VAR_STRING, bytes: lenStr(Buffer.from([0xff, 0x00, 0x80])), want: Buffer.from([0xff, 0x00, 0x80]) },
    { type: T.BLOB, bytes: lenStr(Buffer.from([0, 1, 2, 0xff])), want: Buffer.from([0, 1, 2, 0xff]) },
    { type: T.TINY_BLOB, bytes: lenStr('text in a blob'), want: Buffer.from('text in a blob') },
    { type: T.MEDIUM_BLOB, bytes: lenStr(Buffer.alloc(70000, 7)), want: Buffer.alloc(70000, 7) },
    { type: T.LONG_BLOB, bytes: lenStr(Buffer.alloc(0)), want: Buffer.alloc(0) },
    { type: T.BIT, bytes: lenStr(Buffer.from([5])), want: Buffer.from([5]) },
    { type: T.DATE, bytes: dt(4, 2024, 1, 2), want: '2024-01-02' },
    { type: T.DATE, bytes: dt(0), want: '0000-00-00' },
    { type: T.DATETIME, bytes: dt(11, 2024, 1, 2, 3, 4, 5, 6), want: '2024-01-02 03:04:05.000006' },
    { type: T.DATETIME, bytes: dt(11, 2024, 12, 31, 23, 59, 59, 0), want: '2024-12-31 23:59:59' },
    { type: T.DATETIME, bytes: dt(7, 1999, 9, 9, 9, 9, 9), want: '1999-09-09 09:09:09' },
    { type: T.DATETIME, bytes: dt(4, 2000, 2, 29), want: '2000-02-29 00:00:00' },
    { type: T.DATETIME, bytes: dt(0), want: '0000-00-00 00:00:00' },
    { type: T.TIMESTAMP, bytes: dt(11, 2038, 1, 19, 3, 14, 7, 123456), want: '2038-01-19 03:14:07.123456' },
    { type: T.TIME, bytes: tm(8, 0, 0, 12, 30, 0), want: '12:30:00' },
    { type: T.TIME, bytes: tm(12, 1, 34, 22, 59, 59, 500000), want: '-838:59:59.500000' },
    { type: T.TIME, bytes: tm(0, 0, 0, 0, 0, 0), want: '00:00:00' },
    { type: T.VAR_STRING, bytes: null, want: null },
    { type: T.NULL, bytes: null, want: null },
    { type: T.LONG, bytes: null, want: null },
  ];
  const payload = execute(0x01020304, cases);
  const req = decodeExecute(payload, { paramCount: cases.length });
  assert.equal(req.statementId, 0x01020304);
  assert.equal(req.iterationCount, 1);
  assert.equal(req.newParamsBound, true);
  assert.equal(req.values.length, cases.length);
  cases.forEach((c, i) => assert.deepEqual(req.values[i], c.want, `param ${i} (type ${c.type})`));
  assert.deepEqual(req.types[1], { type: T.TINY, unsigned: true });

  // Raw bytes when the connection charset is not UTF-8.
  const raw = decodeExecute(execute(1, [{ type: T.VAR_STRING, bytes: lenStr('é') }]), { paramCount: 1, textAsString: false });
  assert.deepEqual(raw.values, [Buffer.from('é')]);
});

test('COM_STMT_EXECUTE: later executes reuse the previously bound types; long data; errors', () => {
  const params = [
    { type: T.LONGLONG, bytes: i64(7n) },
    { type: T.VAR_STRING, bytes: lenStr('x') },
  ];
  const first = decodeExecute(execute(9, params), { paramCount: 2 });
  const again = execute(9, [{ type: T.LONGLONG, bytes: i64(8n) }, { type: T.VAR_STRING, bytes: null }], false);
  const second = decodeExecute(again, { paramCount: 2, previousTypes: first.types });
  assert.equal(second.newParamsBound, false);
  assert.deepEqual(second.values, [8n, null]);
  assert.deepEqual(second.types, first.types);
  assert.throws(() => decodeExecute(again, { paramCount: 2 }), ProtocolError);

  // No parameters: nothing after the iteration count.
  assert.deepEqual(decodeExecute(execute(3, []), { paramCount: 0 }).values, []);

  // A parameter sent with COM_STMT_SEND_LONG_DATA has no bytes in the EXECUTE packet.
  const withLong = new PayloadWriter().u8(Command.STMT_EXECUTE).u32(4).u8(0).u32(1)
    .u8(0).u8(1).u8(T.BLOB).u8(0).u8(T.TINY).u8(0).u8(42).finish();
  const long = decodeSendLongData(Buffer.concat([Buffer.from([Command.STMT_SEND_LONG_DATA, 4, 0, 0, 0, 0, 0]), Buffer.from('big')]));
  assert.deepEqual(long, { statementId: 4, paramId: 0, data: Buffer.from('big') });
  assert.deepEqual(decodeExecute(withLong, { paramCount: 2, longData: new Map([[0, long.data]]) }).values, [Buffer.from('big'), 42]);

  assert.throws(() => decodeExecute(Buffer.from([Command.QUERY]), { paramCount: 0 }), ProtocolError);
  assert.throws(() => decodeExecute(execute(1, [{ type: 0x99, bytes: Buffer.from([1]) }]), { paramCount: 1 }), ProtocolError);
  const truncated = execute(1, [{ type: T.LONGLONG, bytes: i64(1n) }]);
  assert.throws(() => decodeExecute(truncated.subarray(0, truncated.length - 1), { paramCount: 1 }), ProtocolError);
  const types: ParamType[] = [{ type: T.TIME, unsigned: false }];
  assert.throws(() => decodeExecute(execute(1, [{ type: T.TIME, bytes: Buffer.from([5, 0, 0, 0, 0, 0]) }], false), { paramCount: 1, previousTypes: types }), ProtocolError);
});

test('COM_STMT_PREPARE OK parses', () => {
  const p = new PayloadWriter().u8(0).u32(17).u16(3).u16(2).u8(0).u16(1).finish();
  assert.deepEqual(parsePrepareOk(p), { statementId: 17, columnCount: 3, paramCount: 2, warnings: 1 });
  assert.throws(() => parsePrepareOk(Buffer.from([0xff, 0, 0])), ProtocolError);
});

test('inlineParams: placeholders only in code', () => {
  assert.equal(inlineParams('INSERT INTO t VALUES (?, ?, ?)', [1, 'a', null]), "INSERT INTO t VALUES (1, 'a', NULL)");
  assert.equal(
    inlineParams("SELECT '?', \"?\", `a?b`, ? -- ?\n, ? # ?\n, /* ? */ ?", [1, 2, 3]),
    "SELECT '?', \"?\", `a?b`, 1 -- ?\n, 2 # ?\n, /* ? */ 3",
  );
  // Escaped quotes inside literals do not end them.
  assert.equal(inlineParams("SELECT 'it\\'s ?', 'x''?', `q``?`, ?", [5]), "SELECT 'it\\'s ?', 'x''?', `q``?`, 5");
  // `--` without a following space is minus minus, not a comment.
  assert.equal(inlineParams('SELECT 1--?', [2]), 'SELECT 1--2');
  // Executable comments are code.
  assert.equal(inlineParams('SELECT /*! ? */ 1, /*M!100000 ? */ 2', [7, 8]), 'SELECT /*! 7 */ 1, /*M!100000 8 */ 2');
  // An unterminated literal swallows the rest (the server will reject the statement anyway).
  assert.equal(inlineParams("SELECT 'unterminated ?", []), "SELECT 'unterminated ?");
  assert.throws(() => inlineParams('SELECT ?, ?', [1]), InlineParamsError);
  assert.throws(() => inlineParams('SELECT ?', [1, 2]), InlineParamsError);
});

test('inlineParams: literal escaping', () => {
  assert.equal(sqlLiteral("it's"), "'it\\'s'");
  assert.equal(sqlLiteral('back\\slash'), "'back\\\\slash'");
  assert.equal(sqlLiteral('nul\0byte'), "'nul\\0byte'");
  assert.equal(sqlLiteral('line\nbreak\r\x1a"'), "'line\\nbreak\\r\\Z\\\"'");
  assert.equal(sqlLiteral(Buffer.from([0, 0x27, 0x5c, 0xff])), "X'00275cff'");
  assert.equal(sqlLiteral(Buffer.alloc(0)), "X''");
  assert.equal(sqlLiteral(-12.5), '-12.5');
  assert.equal(sqlLiteral(1e21), '1e+21');
  assert.equal(sqlLiteral(-9223372036854775808n), '-9223372036854775808');
  assert.equal(sqlLiteral('2024-01-02 03:04:05.000006'), "'2024-01-02 03:04:05.000006'");
  assert.equal(sqlLiteral(null), 'NULL');
  assert.throws(() => sqlLiteral(NaN), InlineParamsError);
  assert.throws(() => sqlLiteral(Infinity), InlineParamsError);
  // A value containing `?` or quotes does not confuse later placeholders.
  assert.equal(inlineParams('VALUES (?, ?)', ["'?", '?']), "VALUES ('\\'?', '?')");
  // NO_BACKSLASH_ESCAPES: quotes doubled, backslashes literal (also when lexing the statement).
  assert.equal(inlineParams("SELECT 'a\\', ?", ["x'\\y"], { noBackslashEscapes: true }), "SELECT 'a\\', 'x''\\y'");
});
