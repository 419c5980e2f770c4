/**
 * Command-phase response packets: OK, ERR, EOF, column definitions, text rows, and a whole text
 * result set. Encoders build payloads (frame them with framing.ts); parsers take payloads.
 *
 * Only CLIENT_PROTOCOL_41 is supported (every client of the last 20 years).
 */
import { Capability, Charset, ColumnFlag, ColumnType, MariaDbCapability, ServerStatus } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { encodePackets } from './framing.ts';
import { PayloadReader, PayloadWriter, NULL_MARKER } from './lenenc.ts';

export const OK_HEADER = 0x00;
export const EOF_HEADER = 0xfe;
export const ERR_HEADER = 0xff;
export const LOCAL_INFILE_HEADER = 0xfb;

/** A classic EOF packet: 0xFE and at most 8 more bytes (a row starting with 0xFE is >= 9). */
export function isEofPacket(payload: Buffer): boolean {
  return payload.length > 0 && payload.length < 9 && payload[0] === EOF_HEADER;
}

/** An ERR packet. */
export function isErrPacket(payload: Buffer): boolean {
  return payload.length > 0 && payload[0] === ERR_HEADER;
}

/**
 * The packet that ends a result set's rows: a classic EOF, or with CLIENT_DEPRECATE_EOF an OK
 * packet with the 0xFE header. A row can start with 0xFE only when its first value is >= 16 MiB,
 * so its first physical packet is a full 0xFFFFFF: "0xFE and shorter than that" is unambiguous.
 */
export function isEndOfRows(payload: Buffer, capabilities: number): boolean {
  if (payload.length === 0 || payload[0] !== EOF_HEADER) return false;
  return capabilities & Capability.DEPRECATE_EOF ? payload.length < 0xffffff : payload.length < 9;
}

// ---------------------------------------------------------------- OK

export interface OkPacket {
  affectedRows: bigint;
  insertId: bigint;
  status: number;
  warnings: number;
  info: string;
  /** Raw session-state-change block (CLIENT_SESSION_TRACK + SERVER_SESSION_STATE_CHANGED). */
  sessionState: Buffer | null;
}

/** Parses an OK packet (header 0x00, or 0xFE when it stands in for an EOF). */
export function parseOk(payload: Buffer, capabilities: number): OkPacket {
  const r = new PayloadReader(payload, 0, 'OK packet');
  const header = r.u8();
  if (header !== OK_HEADER && header !== EOF_HEADER) throw new ProtocolError(`not an OK packet (header 0x${header.toString(16)})`);
  const affectedRows = r.lenencBig();
  const insertId = r.lenencBig();
  const status = r.u16();
  const warnings = r.u16();
  let info = '';
  let sessionState: Buffer | null = null;
  if (capabilities & Capability.SESSION_TRACK) {
    // With session tracking the info is length-encoded and omitted altogether when empty.
    if (r.remaining > 0) info = r.lenencString();
    if (status & ServerStatus.SESSION_STATE_CHANGED && r.remaining > 0) sessionState = Buffer.from(r.lenencBytes());
  } else {
    info = r.rest().toString('utf8');
  }
  return { affectedRows, insertId, status, warnings, info, sessionState };
}

export interface OkInit {
  affectedRows?: number | bigint;
  insertId?: number | bigint;
  /** Default SERVER_STATUS_AUTOCOMMIT: pass the backend's real status when the proxy knows it. */
  status?: number;
  warnings?: number;
  info?: string;
}

/**
 * Builds an OK payload. `asEof`: header 0xFE, for the end of a result set sent to a client with
 * CLIENT_DEPRECATE_EOF (callers normally use encodeEndOfRows instead).
 */
export function encodeOk(init: OkInit, capabilities: number, asEof = false): Buffer {
  const info = init.info ?? '';
  const w = new PayloadWriter(16 + info.length * 3)
    .u8(asEof ? EOF_HEADER : OK_HEADER)
    .lenenc(init.affectedRows ?? 0)
    .lenenc(init.insertId ?? 0)
    .u16(init.status ?? ServerStatus.AUTOCOMMIT)
    .u16(init.warnings ?? 0);
  if (capabilities & Capability.SESSION_TRACK) {
    if (info) w.lenencString(info);
  } else {
    w.string(info);
  }
  return w.finish();
}

// ---------------------------------------------------------------- ERR

export interface ErrPacket {
  errno: number;
  /** 5 characters; 'HY000' when the server sent none (some connection-phase errors). */
  sqlState: string;
  message: string;
}

/** errno MariaDB uses for progress-report packets (0xFF header, not an error). */
export const PROGRESS_ERRNO = 0xffff;

/** A MariaDB progress report (MARIADB_CLIENT_PROGRESS): looks like ERR, is not one. */
export function isProgressPacket(payload: Buffer): boolean {
  return payload.length >= 3 && payload[0] === ERR_HEADER && payload.readUInt16LE(1) === PROGRESS_ERRNO;
}

export function parseErr(payload: Buffer): ErrPacket {
  const r = new PayloadReader(payload, 0, 'ERR packet');
  if (r.u8() !== ERR_HEADER) throw new ProtocolError('not an ERR packet');
  const errno = r.u16();
  let sqlState = 'HY000';
  if (r.remaining >= 6 && payload[r.pos] === 0x23 /* '#' */) {
    r.skip(1);
    sqlState = r.bytes(5).toString('latin1');
  }
  return { errno, sqlState, message: r.rest().toString('utf8') };
}

export function encodeErr(err: ErrPacket): Buffer {
  if (!/^[0-9A-Z]{5}$/.test(err.sqlState)) throw new RangeError(`SQLSTATE must be 5 characters [0-9A-Z]: ${err.sqlState}`);
  return new PayloadWriter(16 + err.message.length * 3)
    .u8(ERR_HEADER)
    .u16(err.errno)
    .u8(0x23)
    .string(err.sqlState)
    .string(err.message)
    .finish();
}

// ---------------------------------------------------------------- EOF

export interface EofPacket {
  warnings: number;
  status: number;
}

export function parseEof(payload: Buffer): EofPacket {
  if (!isEofPacket(payload)) throw new ProtocolError('not an EOF packet');
  const r = new PayloadReader(payload, 1, 'EOF packet');
  // A 4.1 EOF always has both fields; be lenient with a bare 0xFE.
  const warnings = r.remaining >= 2 ? r.u16() : 0;
  const status = r.remaining >= 2 ? r.u16() : 0;
  return { warnings, status };
}

export function encodeEof(init: { warnings?: number; status?: number } = {}): Buffer {
  return new PayloadWriter(5)
    .u8(EOF_HEADER)
    .u16(init.warnings ?? 0)
    .u16(init.status ?? ServerStatus.AUTOCOMMIT)
    .finish();
}

/** The packet ending a result set's rows: an OK with 0xFE header (CLIENT_DEPRECATE_EOF) or an EOF. */
export function encodeEndOfRows(init: { warnings?: number; status?: number }, capabilities: number): Buffer {
  return capabilities & Capability.DEPRECATE_EOF
    ? encodeOk({ status: init.status, warnings: init.warnings }, capabilities, true)
    : encodeEof(init);
}

/** Status and warnings of whatever ended a result set (EOF or OK-as-EOF). */
export function parseEndOfRows(payload: Buffer, capabilities: number): EofPacket {
  if (isEofPacket(payload) && !(capabilities & Capability.DEPRECATE_EOF)) return parseEof(payload);
  const ok = parseOk(payload, capabilities);
  return { warnings: ok.warnings, status: ok.status };
}

// ---------------------------------------------------------------- column definitions

export interface ColumnDefinition {
  catalog: string;
  schema: string;
  /** Table alias. */
  table: string;
  orgTable: string;
  /** Column alias (what clients show). */
  name: string;
  orgName: string;
  /** Collation id (63 = binary). */
  charset: number;
  /** Maximum length in bytes. */
  length: number;
  type: number;
  flags: number;
  decimals: number;
  /** MariaDB extended type info block (MARIADB_CLIENT_EXTENDED_TYPE_INFO), raw. */
  extendedTypeInfo?: Buffer;
  /** COM_FIELD_LIST only: the column's default value. */
  defaultValue?: Buffer | null;
}

export interface ColumnParseOptions {
  /** Negotiated MariaDB extended capabilities: decides whether extended type info is present. */
  mariadbCapabilities?: number;
}

export function parseColumnDefinition(payload: Buffer, opts: ColumnParseOptions = {}): ColumnDefinition {
  const r = new PayloadReader(payload, 0, 'column definition');
  const catalog = r.lenencString();
  const schema = r.lenencString();
  const table = r.lenencString();
  const orgTable = r.lenencString();
  const name = r.lenencString();
  const orgName = r.lenencString();
  let extendedTypeInfo: Buffer | undefined;
  if ((opts.mariadbCapabilities ?? 0) & MariaDbCapability.EXTENDED_TYPE_INFO) extendedTypeInfo = Buffer.from(r.lenencBytes());
  const fixedLength = r.lenenc();
  const fixedStart = r.pos;
  const charset = r.u16();
  const length = r.u32();
  const type = r.u8();
  const flags = r.u16();
  const decimals = r.u8();
  r.pos = fixedStart + fixedLength;
  const def: ColumnDefinition = { catalog, schema, table, orgTable, name, orgName, charset, length, type, flags, decimals };
  if (extendedTypeInfo) def.extendedTypeInfo = extendedTypeInfo;
  if (r.remaining > 0) def.defaultValue = r.lenencBytesOrNull();
  return def;
}

/** What the result-set encoder needs to know about a column; everything but the name is optional. */
export interface ResultColumn {
  name: string;
  /** Default VAR_STRING. */
  type?: number;
  /** Default utf8mb4_general_ci (45) for text types, binary (63) for numeric/blob types. */
  charset?: number;
  flags?: number;
  /** Default: longest value in bytes (at least 1). */
  length?: number;
  decimals?: number;
  table?: string;
  schema?: string;
}

const NUMERIC_TYPES: ReadonlySet<number> = new Set([
  ColumnType.DECIMAL, ColumnType.NEWDECIMAL, ColumnType.TINY, ColumnType.SHORT, ColumnType.LONG, ColumnType.FLOAT,
  ColumnType.DOUBLE, ColumnType.LONGLONG, ColumnType.INT24, ColumnType.YEAR,
]);
const BINARY_TYPES: ReadonlySet<number> = new Set([
  ColumnType.TINY_BLOB, ColumnType.MEDIUM_BLOB, ColumnType.LONG_BLOB, ColumnType.BLOB, ColumnType.GEOMETRY, ColumnType.BIT,
]);

export function encodeColumnDefinition(col: ResultColumn, maxValueLength = 0, extendedTypeInfo = false): Buffer {
  const type = col.type ?? ColumnType.VAR_STRING;
  const numeric = NUMERIC_TYPES.has(type);
  const charset = col.charset ?? (numeric || BINARY_TYPES.has(type) ? Charset.BINARY : Charset.UTF8MB4_GENERAL_CI);
  let flags = col.flags ?? 0;
  if (col.flags === undefined) {
    if (numeric) flags |= ColumnFlag.NUM;
    if (charset === Charset.BINARY) flags |= ColumnFlag.BINARY;
  }
  const w = new PayloadWriter(32 + col.name.length * 6)
    .lenencString('def')
    .lenencString(col.schema ?? '')
    .lenencString(col.table ?? '')
    .lenencString(col.table ?? '')
    .lenencString(col.name)
    .lenencString(col.name);
  // MariaDB's extended type info: an (empty) block of {id, value} pairs when negotiated.
  if (extendedTypeInfo) w.lenenc(0);
  return w
    .lenenc(0x0c)
    .u16(charset)
    .u32(col.length ?? Math.max(1, maxValueLength))
    .u8(type)
    .u16(flags)
    .u8(col.decimals ?? (numeric ? 0 : 0x1f))
    .u16(0)
    .finish();
}

// ---------------------------------------------------------------- text rows

export type TextValue = string | Buffer | null;

/** Splits a text-protocol row into its values (views into the payload; NULL is 0xFB). */
export function parseTextRow(payload: Buffer, columnCount?: number): (Buffer | null)[] {
  const r = new PayloadReader(payload, 0, 'text row');
  const out: (Buffer | null)[] = [];
  while (r.remaining > 0) out.push(r.lenencBytesOrNull());
  if (columnCount !== undefined && out.length !== columnCount) {
    throw new ProtocolError(`text row has ${out.length} values, expected ${columnCount}`);
  }
  return out;
}

export function encodeTextRow(values: readonly TextValue[]): Buffer {
  const w = new PayloadWriter(16 * values.length + 16);
  for (const v of values) {
    if (v === null) w.u8(NULL_MARKER);
    else if (typeof v === 'string') w.lenencString(v);
    else w.lenencBytes(v);
  }
  return w.finish();
}

// ---------------------------------------------------------------- result sets

export interface TextResultSet {
  columns: readonly ResultColumn[];
  rows: readonly (readonly TextValue[])[];
}

export interface ResultSetOptions {
  /** The client's capabilities: CLIENT_DEPRECATE_EOF decides EOF vs OK-as-EOF. */
  capabilities: number;
  /** Negotiated MariaDB capabilities: EXTENDED_TYPE_INFO adds a block to each column definition. */
  mariadbCapabilities?: number;
  /** Status in the final packet (default AUTOCOMMIT). Set MORE_RESULTS_EXISTS to chain another. */
  status?: number;
  warnings?: number;
}

/** The payloads of a complete text result set, in order. */
export function resultSetPayloads(rs: TextResultSet, opts: ResultSetOptions): Buffer[] {
  const n = rs.columns.length;
  if (n === 0) throw new RangeError('a result set needs at least one column (send an OK packet instead)');
  const maxLen = new Array<number>(n).fill(0);
  const rows: Buffer[] = [];
  for (const row of rs.rows) {
    if (row.length !== n) throw new RangeError(`row has ${row.length} values, expected ${n}`);
    for (let i = 0; i < n; i++) {
      const v = row[i];
      if (v !== null) maxLen[i] = Math.max(maxLen[i], typeof v === 'string' ? Buffer.byteLength(v) : v.length);
    }
    rows.push(encodeTextRow(row));
  }
  const status = opts.status ?? ServerStatus.AUTOCOMMIT;
  const out: Buffer[] = [new PayloadWriter(9).lenenc(n).finish()];
  const extended = ((opts.mariadbCapabilities ?? 0) & MariaDbCapability.EXTENDED_TYPE_INFO) !== 0;
  for (let i = 0; i < n; i++) out.push(encodeColumnDefinition(rs.columns[i], maxLen[i], extended));
  if (!(opts.capabilities & Capability.DEPRECATE_EOF)) out.push(encodeEof({ status }));
  out.push(...rows);
  out.push(encodeEndOfRows({ status, warnings: opts.warnings }, opts.capabilities));
  return out;
}

/** A complete text result set framed from sequence id `seq` (1 when answering a command). */
export function encodeResultSet(rs: TextResultSet, opts: ResultSetOptions & { seq: number }): { buffer: Buffer; nextSeq: number } {
  return encodePackets(resultSetPayloads(rs, opts), opts.seq);
}
