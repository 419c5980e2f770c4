/**
 * Prepared statements on the wire: the COM_STMT_PREPARE OK, COM_STMT_EXECUTE requests with their
 * binary-protocol parameter values, and COM_STMT_SEND_LONG_DATA. The proxy decodes an EXECUTE to
 * see (and replicate) the values of a prepared write; reads are relayed without decoding.
 */
import { isUtf8 } from 'node:buffer';
import { ColumnType, Command } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { PayloadReader } from './lenenc.ts';

export interface PrepareOk {
  statementId: number;
  columnCount: number;
  paramCount: number;
  warnings: number;
}

/** Parses the first packet of a successful COM_STMT_PREPARE response (header 0x00). */
export function parsePrepareOk(payload: Buffer): PrepareOk {
  const r = new PayloadReader(payload, 0, 'COM_STMT_PREPARE OK');
  if (r.u8() !== 0x00) throw new ProtocolError('not a COM_STMT_PREPARE OK packet');
  const statementId = r.u32();
  const columnCount = r.u16();
  const paramCount = r.u16();
  let warnings = 0;
  if (r.remaining >= 3) {
    r.skip(1);
    warnings = r.u16();
  }
  return { statementId, columnCount, paramCount, warnings };
}

/** A parameter's binary-protocol type as bound by the client. */
export interface ParamType {
  type: number;
  unsigned: boolean;
}

/**
 * A decoded parameter value:
 * - integers: number (TINY/SHORT/YEAR/INT24/LONG), bigint (LONGLONG)
 * - FLOAT/DOUBLE: number (a FLOAT is widened to the double the server itself would use)
 * - DECIMAL/NEWDECIMAL: string, as sent
 * - DATE/DATETIME/TIMESTAMP/TIME: canonical MySQL text ('2024-01-02 03:04:05.000006', '-838:59:59')
 * - text types (VARCHAR, VAR_STRING, STRING, ENUM, SET, JSON): string when valid UTF-8 and
 *   `textAsString` is on, else Buffer
 * - BLOB types, BIT, GEOMETRY: Buffer
 */
export type ParamValue = null | number | bigint | string | Buffer;

export interface ExecuteRequest {
  statementId: number;
  /** Cursor flags (CURSOR_TYPE_READ_ONLY = 1 ...). */
  flags: number;
  iterationCount: number;
  /** The client sent types in this packet (else the previously bound ones apply). */
  newParamsBound: boolean;
  /** The types in force for this execution: keep them as `previousTypes` for the next one. */
  types: ParamType[];
  values: ParamValue[];
}

export interface DecodeExecuteOptions {
  /** From the statement's PREPARE OK; the packet does not carry it. */
  paramCount: number;
  /** Types bound by an earlier execution of the same statement (clients send them only once). */
  previousTypes?: readonly ParamType[] | null;
  /**
   * Values sent with COM_STMT_SEND_LONG_DATA since the last execute/reset, by parameter index:
   * those parameters have no value bytes in the EXECUTE packet.
   */
  longData?: ReadonlyMap<number, Buffer>;
  /**
   * Decode text-typed values as UTF-8 strings (default true). Keep on for utf8/utf8mb4
   * connections: inlining a text value as a hex literal would make comparisons binary
   * (case-sensitive), changing what a replicated WHERE matches.
   */
  textAsString?: boolean;
}

const TEXT_TYPES: ReadonlySet<number> = new Set([
  ColumnType.VARCHAR, ColumnType.VAR_STRING, ColumnType.STRING, ColumnType.ENUM, ColumnType.SET, ColumnType.JSON,
]);
const BYTES_TYPES: ReadonlySet<number> = new Set([
  ColumnType.TINY_BLOB, ColumnType.MEDIUM_BLOB, ColumnType.LONG_BLOB, ColumnType.BLOB, ColumnType.GEOMETRY, ColumnType.BIT,
]);

/** Decodes a COM_STMT_EXECUTE payload (command byte included). Stateless: see the options. */
export function decodeExecute(payload: Buffer, opts: DecodeExecuteOptions): ExecuteRequest {
  const r = new PayloadReader(payload, 0, 'COM_STMT_EXECUTE');
  if (r.u8() !== Command.STMT_EXECUTE) throw new ProtocolError('not a COM_STMT_EXECUTE packet');
  const statementId = r.u32();
  const flags = r.u8();
  const iterationCount = r.u32();
  const n = opts.paramCount;
  const req: ExecuteRequest = { statementId, flags, iterationCount, newParamsBound: false, types: [], values: [] };
  if (n === 0) return req;

  const nullBitmap = r.bytes((n + 7) >> 3);
  req.newParamsBound = r.u8() === 1;
  if (req.newParamsBound) {
    for (let i = 0; i < n; i++) {
      const type = r.u8();
      req.types.push({ type, unsigned: (r.u8() & 0x80) !== 0 });
    }
  } else {
    const prev = opts.previousTypes;
    if (!prev || prev.length !== n) {
      throw new ProtocolError(`COM_STMT_EXECUTE for statement ${statementId} sends no parameter types and none were bound before`);
    }
    req.types = prev.map((t) => ({ ...t }));
  }
  const textAsString = opts.textAsString ?? true;
  for (let i = 0; i < n; i++) {
    const long = opts.longData?.get(i);
    if (long !== undefined) {
      req.values.push(long);
      continue;
    }
    if (nullBitmap[i >> 3] & (1 << (i & 7))) {
      req.values.push(null);
      continue;
    }
    req.values.push(readBinaryValue(r, req.types[i], textAsString));
  }
  return req;
}

/** Reads one binary-protocol value of the given type. */
export function readBinaryValue(r: PayloadReader, t: ParamType, textAsString = true): ParamValue {
  switch (t.type) {
    case ColumnType.NULL:
      return null;
    case ColumnType.TINY: {
      const v = r.u8();
      return t.unsigned ? v : (v << 24) >> 24;
    }
    case ColumnType.SHORT:
    case ColumnType.YEAR: {
      const v = r.u16();
      return t.unsigned ? v : (v << 16) >> 16;
    }
    case ColumnType.LONG:
    case ColumnType.INT24: {
      const v = r.u32();
      return t.unsigned ? v : v | 0;
    }
    case ColumnType.LONGLONG: {
      const v = r.u64();
      return t.unsigned ? v : BigInt.asIntN(64, v);
    }
    case ColumnType.FLOAT:
      return r.bytes(4).readFloatLE(0);
    case ColumnType.DOUBLE:
      return r.bytes(8).readDoubleLE(0);
    case ColumnType.DECIMAL:
    case ColumnType.NEWDECIMAL:
      return r.lenencBytes().toString('latin1');
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
      return readDateTime(r, true);
    case ColumnType.DATETIME:
    case ColumnType.TIMESTAMP:
      return readDateTime(r, false);
    case ColumnType.TIME:
      return readTime(r);
    default:
      if (TEXT_TYPES.has(t.type)) {
        const b = r.lenencBytes();
        return textAsString && isUtf8(b) ? b.toString('utf8') : Buffer.from(b);
      }
      if (BYTES_TYPES.has(t.type)) return Buffer.from(r.lenencBytes());
      throw new ProtocolError(`unsupported parameter type ${t.type}`);
  }
}

const pad = (v: number, width: number) => String(v).padStart(width, '0');

/** Fraction as MySQL prints it: 6 digits, and only when non-zero. */
const fraction = (micros: number) => (micros ? `.${pad(micros, 6)}` : '');

function readDateTime(r: PayloadReader, dateOnly: boolean): string {
  const len = r.u8();
  if (len !== 0 && len !== 4 && len !== 7 && len !== 11) throw new ProtocolError(`bad DATETIME length ${len}`);
  let year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micros = 0;
  if (len >= 4) {
    year = r.u16();
    month = r.u8();
    day = r.u8();
  }
  if (len >= 7) {
    hour = r.u8();
    minute = r.u8();
    second = r.u8();
  }
  if (len === 11) micros = r.u32();
  const date = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  if (dateOnly) return date;
  return `${date} ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction(micros)}`;
}

function readTime(r: PayloadReader): string {
  const len = r.u8();
  if (len !== 0 && len !== 8 && len !== 12) throw new ProtocolError(`bad TIME length ${len}`);
  if (len === 0) return '00:00:00';
  const negative = r.u8() === 1;
  const days = r.u32();
  const hour = r.u8();
  const minute = r.u8();
  const second = r.u8();
  const micros = len === 12 ? r.u32() : 0;
  const hours = days * 24 + hour;
  return `${negative ? '-' : ''}${pad(hours, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction(micros)}`;
}

export interface SendLongData {
  statementId: number;
  paramId: number;
  data: Buffer;
}

/** Decodes COM_STMT_SEND_LONG_DATA (command byte included); chunks for one param concatenate. */
export function decodeSendLongData(payload: Buffer): SendLongData {
  const r = new PayloadReader(payload, 0, 'COM_STMT_SEND_LONG_DATA');
  if (r.u8() !== Command.STMT_SEND_LONG_DATA) throw new ProtocolError('not a COM_STMT_SEND_LONG_DATA packet');
  const statementId = r.u32();
  const paramId = r.u16();
  return { statementId, paramId, data: Buffer.from(r.rest()) };
}
