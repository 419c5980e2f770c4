/**
 * The node's own tables, in `<db>_chain` beside the application database, so a block's SQL and
 * its chain bookkeeping commit in one InnoDB transaction.
 */
export const CHAIN_SCHEMA_VERSION = 1;

/** A MySQL identifier in backticks. */
export const quoteId = (name: string): string => '`' + name.replace(/`/g, '``') + '`';

/**
 * A SQL string literal for the node's own connections (utf8mb4, backslash escapes on, as mysql2's
 * escaping assumes): only \, ' and NUL need a backslash. For tx bodies ~4× faster than mysql2's
 * `format`, which escapes every special character and walks nested arrays value by value.
 */
export const sqlString = (s: string): string => `'${s.replace(/[\0\\']/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;

export const CHAIN_TABLES: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS meta (
     k VARCHAR(64) PRIMARY KEY,
     v MEDIUMTEXT NOT NULL
   ) ENGINE=InnoDB`,
  // Every block with a valid header we stored, on any branch. status: 0 stored, 1 connected once, 2 invalid.
  // sigs: the signature of each tx of txids, as the block has it (JSON; null for the coinbase): a
  // signature is not unique to its tx, and another block may carry the same tx with another one.
  `CREATE TABLE IF NOT EXISTS blocks (
     hash CHAR(64) CHARACTER SET ascii PRIMARY KEY,
     height INT UNSIGNED NOT NULL,
     prev CHAR(64) CHARACTER SET ascii NOT NULL,
     header TEXT NOT NULL,
     txids MEDIUMTEXT NOT NULL,
     sigs MEDIUMTEXT NULL,
     work VARCHAR(100) CHARACTER SET ascii NOT NULL,
     status TINYINT NOT NULL DEFAULT 0,
     seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE,
     KEY (height), KEY (prev)
   ) ENGINE=InnoDB`,
  // Bodies of every transaction in a stored block, with the first signature seen (a block's own
  // are in blocks.sigs); a connected block's pooled txs may be in the pool table still (index-backlog.ts).
  `CREATE TABLE IF NOT EXISTS txs (
     txid CHAR(64) CHARACTER SET ascii PRIMARY KEY,
     body MEDIUMTEXT NOT NULL,
     sig VARCHAR(200) CHARACTER SET ascii NULL
   ) ENGINE=InnoDB`,
  // The active branch.
  `CREATE TABLE IF NOT EXISTS chain (
     height INT UNSIGNED PRIMARY KEY,
     hash CHAR(64) CHARACTER SET ascii NOT NULL UNIQUE
   ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS txindex (
     txid CHAR(64) CHARACTER SET ascii PRIMARY KEY,
     height INT UNSIGNED NOT NULL,
     pos INT UNSIGNED NOT NULL,
     KEY (height)
   ) ENGINE=InnoDB`,
  // Which active-chain txs touch an address (its signer and every address paid): history lookups.
  `CREATE TABLE IF NOT EXISTS addr_txs (
     address VARCHAR(40) CHARACTER SET ascii NOT NULL,
     txid CHAR(64) CHARACTER SET ascii NOT NULL,
     PRIMARY KEY (address, txid)
   ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS utxo (
     txid CHAR(64) CHARACTER SET ascii NOT NULL,
     n INT UNSIGNED NOT NULL,
     address VARCHAR(40) CHARACTER SET ascii NULL,
     amount DECIMAL(30,0) NOT NULL,
     height INT UNSIGNED NOT NULL,
     PRIMARY KEY (txid, n),
     KEY (address)
   ) ENGINE=InnoDB`,
  // Latest tx on each row/table ref on the active branch (the "base" a new SQL tx names).
  `CREATE TABLE IF NOT EXISTS refs (
     ref VARBINARY(1024) NOT NULL PRIMARY KEY,
     txid CHAR(64) CHARACTER SET ascii NOT NULL
   ) ENGINE=InnoDB`,
  // Pending transactions in admission order, with their bodies, so the proxy persists one with one
  // INSERT (seq is given by the engine at admission: rows the proxy commits concurrently still
  // load in the order their SQL ran). Bodies move to txs when a block stores them; for a block
  // made of pooled txs, with its index rows, a moment later (rows of confirmed txs until then).
  `CREATE TABLE IF NOT EXISTS pool (
     seq BIGINT UNSIGNED NOT NULL PRIMARY KEY,
     txid CHAR(64) CHARACTER SET ascii NOT NULL UNIQUE,
     body MEDIUMTEXT NOT NULL,
     sig VARCHAR(200) CHARACTER SET ascii NULL,
     added BIGINT UNSIGNED NOT NULL
   ) ENGINE=InnoDB`,
  // Schema changes the proxy is running (MySQL commits DDL by itself, outside any transaction):
  // written before the DDL runs, removed once its pool entry commits. A row a crash leaves behind
  // is repaired at the next start: a tx neither pooled nor in a block has its undo run (SPEC 9).
  `CREATE TABLE IF NOT EXISTS ddl_journal (
     txid CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
     undo_sql MEDIUMTEXT NOT NULL,
     added BIGINT UNSIGNED NOT NULL
   ) ENGINE=InnoDB`,
  // This node's own undo of a peer's schema change, saved as it ran it (server/sql/ddl-undo.ts):
  // the tx's `undo` re-creates the origin's table, whose rows may not be this node's. One row per
  // statement (n from 0; a lone NULL stmt: nothing to undo); removed when the change is undone.
  `CREATE TABLE IF NOT EXISTS ddl_undo (
     txid CHAR(64) CHARACTER SET ascii NOT NULL,
     n INT UNSIGNED NOT NULL,
     stmt LONGTEXT NULL,
     PRIMARY KEY (txid, n)
   ) ENGINE=InnoDB`,
  // Pool txs a fork switch or pool rebuild dropped, written in the transaction that drops them
  // (`oursql pool` lists the latest). `rebase`: for this node's own writes it runs again (SPEC 8),
  // what became of that; NULL while still to do, so a re-base a stop or crash interrupted is
  // resumed at the next start. Rows older than 30 days are pruned.
  `CREATE TABLE IF NOT EXISTS dropped (
     txid CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
     body MEDIUMTEXT NOT NULL,
     sig VARCHAR(200) CHARACTER SET ascii NULL,
     reason TEXT NOT NULL,
     code VARCHAR(40) CHARACTER SET ascii NULL,
     at BIGINT UNSIGNED NOT NULL,
     rebase TEXT NULL,
     KEY (at)
   ) ENGINE=InnoDB`,
  // This node's re-based writes (SPEC 8): each re-run tx with the txid of the write it re-runs (the
  // first of its line). A dropped copy is not run again while any tx of its line is in the chain,
  // so a flip back to the branch that holds the original cannot apply the client's write twice.
  `CREATE TABLE IF NOT EXISTS rebased (
     txid CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
     origin CHAR(64) CHARACTER SET ascii NOT NULL,
     added BIGINT UNSIGNED NOT NULL,
     KEY (origin)
   ) ENGINE=InnoDB`,
  // State digest of each block this node connected (SPEC 9, server/sql/digest.ts): the hash of the
  // row images its SQL left. Peers compare them (hello) to see that their data diverged.
  `CREATE TABLE IF NOT EXISTS block_digests (
     hash CHAR(64) CHARACTER SET ascii PRIMARY KEY,
     digest CHAR(64) CHARACTER SET ascii NOT NULL
   ) ENGINE=InnoDB`,
  // Peers this node reached (learnt from peers or configured), so a restart finds the network
  // even when its configured peers are gone; `peers` above is the list the user keeps.
  `CREATE TABLE IF NOT EXISTS known_peers (
     addr VARCHAR(255) CHARACTER SET ascii PRIMARY KEY,
     last_seen BIGINT UNSIGNED NOT NULL
   ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS peers (
     addr VARCHAR(255) CHARACTER SET ascii PRIMARY KEY,
     added BIGINT UNSIGNED NOT NULL,
     last_seen BIGINT UNSIGNED NULL,
     score INT NOT NULL DEFAULT 0
   ) ENGINE=InnoDB`,
];

/** Columns added since a table was first made: [table, column, definition]; added where missing. */
export const CHAIN_COLUMNS: readonly [string, string, string][] = [
  ['blocks', 'sigs', 'MEDIUMTEXT NULL'],
];
