/**
 * MySQL/MariaDB protocol constants the wire toolkit needs. Column type numbers come from mysql2's
 * exported `Types` so there is one source of truth; the rest are not exported by mysql2.
 */
import mysql from 'mysql2';

/** Capability flags (the 32 standard bits, shared by MySQL and MariaDB). */
export const Capability = {
  /** MariaDB reuses bit 0 as CLIENT_MYSQL: a MariaDB server leaves it unset in its greeting to
   *  say "I have extended capabilities"; a client leaves it unset to send its own. */
  LONG_PASSWORD: 0x1,
  CLIENT_MYSQL: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  NO_SCHEMA: 0x10,
  COMPRESS: 0x20,
  ODBC: 0x40,
  LOCAL_FILES: 0x80,
  IGNORE_SPACE: 0x100,
  PROTOCOL_41: 0x200,
  INTERACTIVE: 0x400,
  SSL: 0x800,
  IGNORE_SIGPIPE: 0x1000,
  TRANSACTIONS: 0x2000,
  RESERVED: 0x4000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  CAN_HANDLE_EXPIRED_PASSWORDS: 0x400000,
  SESSION_TRACK: 0x800000,
  DEPRECATE_EOF: 0x1000000,
  /** MySQL 8 only; changes the column-count packet. MariaDB never offers it. */
  OPTIONAL_RESULTSET_METADATA: 0x2000000,
  /** MySQL 8 only; changes COM_QUERY/COM_STMT_EXECUTE layouts. MariaDB never offers it. */
  QUERY_ATTRIBUTES: 0x8000000,
} as const;

/**
 * MariaDB's extended capabilities: the upper 32 bits of its 64-bit capability set, carried in the
 * last 4 bytes of the greeting's (and handshake response's) reserved filler. Only used when both
 * sides leave CLIENT_MYSQL (bit 0) unset.
 */
export const MariaDbCapability = {
  /** Server may send progress packets (0xFF + errno 0xFFFF) before a response. */
  PROGRESS: 0x1,
  /** COM_MULTI (0xFE command). */
  COM_MULTI: 0x2,
  /** COM_STMT_BULK_EXECUTE (0xFA): a write path the proxy must not let through blindly. */
  STMT_BULK_OPERATIONS: 0x4,
  /** Column definitions carry an extra length-encoded block after org_name. */
  EXTENDED_TYPE_INFO: 0x8,
  /** COM_STMT_EXECUTE result sets start with a "metadata follows" byte after the column count. */
  CACHE_METADATA: 0x10,
  /** COM_STMT_BULK_EXECUTE returns one result per row (11.5+). */
  BULK_UNIT_RESULTS: 0x40,
} as const;

/** Server status flags (OK/EOF packets and the greeting). */
export const ServerStatus = {
  IN_TRANS: 0x0001,
  AUTOCOMMIT: 0x0002,
  MORE_RESULTS_EXISTS: 0x0008,
  NO_GOOD_INDEX_USED: 0x0010,
  NO_INDEX_USED: 0x0020,
  CURSOR_EXISTS: 0x0040,
  LAST_ROW_SENT: 0x0080,
  DB_DROPPED: 0x0100,
  NO_BACKSLASH_ESCAPES: 0x0200,
  METADATA_CHANGED: 0x0400,
  QUERY_WAS_SLOW: 0x0800,
  PS_OUT_PARAMS: 0x1000,
  IN_TRANS_READONLY: 0x2000,
  SESSION_STATE_CHANGED: 0x4000,
} as const;

/** Command bytes (first payload byte of a client packet in command phase). */
export const Command = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
  /** MariaDB */
  STMT_BULK_EXECUTE: 0xfa,
  /** MariaDB (deprecated) */
  MULTI: 0xfe,
} as const;

/** Column types, from mysql2 (`Types.VAR_STRING === 253` etc.). */
export const ColumnType = {
  DECIMAL: mysql.Types.DECIMAL,
  TINY: mysql.Types.TINY,
  SHORT: mysql.Types.SHORT,
  LONG: mysql.Types.LONG,
  FLOAT: mysql.Types.FLOAT,
  DOUBLE: mysql.Types.DOUBLE,
  NULL: mysql.Types.NULL,
  TIMESTAMP: mysql.Types.TIMESTAMP,
  LONGLONG: mysql.Types.LONGLONG,
  INT24: mysql.Types.INT24,
  DATE: mysql.Types.DATE,
  TIME: mysql.Types.TIME,
  DATETIME: mysql.Types.DATETIME,
  YEAR: mysql.Types.YEAR,
  NEWDATE: mysql.Types.NEWDATE,
  VARCHAR: mysql.Types.VARCHAR,
  BIT: mysql.Types.BIT,
  JSON: mysql.Types.JSON,
  NEWDECIMAL: mysql.Types.NEWDECIMAL,
  ENUM: mysql.Types.ENUM,
  SET: mysql.Types.SET,
  TINY_BLOB: mysql.Types.TINY_BLOB,
  MEDIUM_BLOB: mysql.Types.MEDIUM_BLOB,
  LONG_BLOB: mysql.Types.LONG_BLOB,
  BLOB: mysql.Types.BLOB,
  VAR_STRING: mysql.Types.VAR_STRING,
  STRING: mysql.Types.STRING,
  GEOMETRY: mysql.Types.GEOMETRY,
} as const;

/** Column definition flags used by the encoders. */
export const ColumnFlag = {
  NOT_NULL: 0x1,
  PRI_KEY: 0x2,
  UNSIGNED: 0x20,
  BINARY: 0x80,
  NUM: 0x8000,
} as const;

/** Collation ids: utf8mb4_general_ci (mysql2 `Charsets.UTF8MB4_GENERAL_CI`) and binary. */
export const Charset = {
  UTF8MB4_GENERAL_CI: mysql.Charsets.UTF8MB4_GENERAL_CI,
  BINARY: mysql.Charsets.BINARY,
} as const;

/** The flags a relaying proxy must clear from the greeting: it does not speak TLS or compression. */
export const PROXY_CLEARED_CAPABILITIES = Capability.SSL | Capability.COMPRESS;

/**
 * MariaDB extended capabilities a proxy should clear (greeting and handshake response):
 * COM_STMT_BULK_EXECUTE would be a write path whose parameters this toolkit does not decode, and
 * COM_MULTI bundles commands the tracker cannot follow. Clients fall back to plain commands.
 */
export const PROXY_CLEARED_MARIADB_CAPABILITIES = MariaDbCapability.STMT_BULK_OPERATIONS | MariaDbCapability.COM_MULTI;

/** Largest payload of one physical packet; a payload this long continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;
