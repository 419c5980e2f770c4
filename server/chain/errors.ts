/** The chain's errors, in a module of their own: the CLI and RPC map them without loading the engine. */

export class ChainError extends Error {
  override name = 'ChainError';
}

/**
 * The engine's SQL could not take a row lock (MySQL's lock wait timeout or deadlock): a client's
 * transaction holds the rows. Nothing is wrong with the block or tx; it is tried again later.
 * A proxy write that had to make way for the engine gets it too (MySQL error 1213: retry).
 */
export class ChainBusyError extends ChainError {
  override name = 'ChainBusyError';
}

/**
 * A peer's statement ran longer at pool admission than this node allows (`peerStatementSeconds`):
 * not pooled here. Not invalid: how long SQL runs depends on the machine, and a block holding
 * the tx runs it without a limit.
 */
export class SlowSqlError extends ChainError {
  override name = 'SlowSqlError';
}

export class NotInPoolError extends ChainError {
  override name = 'NotInPoolError';
  constructor(readonly txid: string) {
    super(`transaction ${txid} is not in the pool`);
  }
}
