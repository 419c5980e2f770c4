import { ConsensusError, type ConsensusErrorCode } from '../../consensus/index.ts';
import { SqlRefused } from './refused.ts';
import { SqlExecError } from './executor.ts';
import { WriteRefused } from './write-refused.ts';

/**
 * OurSQL's own MySQL errors (docs/errors.md). Numbers are in the 4100s (the user range) so clients can
 * tell them from the server's; SQLSTATE HY000 (general error) as MySQL uses for most of its own.
 */
export const ER = {
  /** generic, as MySQL's ER_UNKNOWN_ERROR */
  UNKNOWN: 1105,
  /** MySQL's ER_LOCK_DEADLOCK (SQLSTATE 40001): the update was rolled back; drivers and ORMs retry it */
  LOCK_DEADLOCK: 1213,
  /** MySQL's ER_LOCK_WAIT_TIMEOUT */
  LOCK_WAIT_TIMEOUT: 1205,
  NEEDS_SIGNATURE: 4100,
  REFUSED_BY_RULES: 4101,
  UNPAID: 4102,
  NOT_REPLICATED: 4103,
  BAD_SIGNATURE: 4104,
  SQL_MISMATCH: 4105,
  STALE: 4106,
  BAD_TRANSACTION: 4107,
  LIMIT: 4108,
  NOT_POOLED: 4109,
  CLIENT_SIGNED_IN_TXN: 4110,
  NON_DETERMINISTIC: 4111,
  CONFLICT: 4112,
} as const;

/** A deadlock or lock wait timeout: the statement was rolled back and can simply run again. */
export const isLockError = (errno: number | undefined): boolean => errno === ER.LOCK_DEADLOCK || errno === ER.LOCK_WAIT_TIMEOUT;

export class ReplicationError extends Error {
  override name = 'ReplicationError';
  constructor(readonly errno: number, message: string, readonly sqlState = 'HY000') {
    super(message);
  }
}

/**
 * An update gave way to the chain's own SQL on its rows (error 1213): it was rolled back before
 * any of it committed, so it can run again as it was.
 */
export class WriteGaveWay extends ReplicationError {
  override name = 'WriteGaveWay';
  constructor(message: string) {
    super(ER.LOCK_DEADLOCK, message, '40001');
  }
}

const CONSENSUS_ERRNO: Record<ConsensusErrorCode, number> = {
  'bad-encoding': ER.BAD_TRANSACTION,
  'bad-address': ER.BAD_TRANSACTION,
  'bad-key': ER.BAD_TRANSACTION,
  'bad-amount': ER.BAD_TRANSACTION,
  'bad-signature': ER.BAD_SIGNATURE,
  'wrong-chain': ER.BAD_TRANSACTION,
  'missing-input': ER.UNPAID,
  'not-owner': ER.BAD_TRANSACTION,
  'double-spend': ER.UNPAID,
  unbalanced: ER.BAD_TRANSACTION,
  'insufficient-funds': ER.UNPAID,
  'duplicate-tx': ER.BAD_TRANSACTION,
  'bad-time': ER.STALE,
  'sql-refused': ER.REFUSED_BY_RULES,
  'sql-unpaid': ER.UNPAID,
  'stale-base': ER.STALE,
  'bad-block': ER.NOT_POOLED,
  'bad-pow': ER.NOT_POOLED,
  'bad-config': ER.UNKNOWN,
};

/** Every error the proxy can meet, mapped once to (errno, SQLSTATE, message). */
export function toMysqlError(e: unknown): { errno: number; sqlState: string; message: string } {
  if (e instanceof ReplicationError) return { errno: e.errno, sqlState: e.sqlState, message: e.message };
  if (e instanceof SqlExecError) return { errno: e.errno, sqlState: e.sqlState, message: e.message };
  if (e instanceof ConsensusError) return { errno: CONSENSUS_ERRNO[e.code], sqlState: 'HY000', message: `OurSQL: ${e.message}` };
  if (e instanceof SqlRefused) return { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: `OurSQL: ${e.message}` };
  if (e instanceof WriteRefused) return { errno: e.errno, sqlState: 'HY000', message: `OurSQL: ${e.message}` };
  return { errno: ER.UNKNOWN, sqlState: 'HY000', message: `OurSQL internal error: ${(e as Error)?.message ?? String(e)}` };
}
