import { ConsensusError, type ConsensusErrorCode } from '../../consensus/index.ts';
import { SqlRefused } from '../sql/classify.ts';
import { SqlExecError } from '../sql/executor.ts';
import { ER, ReplicationError } from '../sql/errors.ts';

export { ER, ReplicationError };

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
  const named = e as { name?: string; message?: string; errno?: number };
  if (named?.name === 'WriteRefused') return { errno: named.errno ?? ER.NON_DETERMINISTIC, sqlState: 'HY000', message: `OurSQL: ${named.message}` };
  return { errno: ER.UNKNOWN, sqlState: 'HY000', message: `OurSQL internal error: ${named?.message ?? String(e)}` };
}
