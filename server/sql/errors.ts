/**
 * OurSQL's own MySQL errors (docs/errors.md). Numbers are in the 4xxx user range so clients can
 * tell them from the server's; SQLSTATE HY000 (general error) as MySQL uses for most of its own.
 */
export const ER = {
  /** generic, as MySQL's ER_UNKNOWN_ERROR */
  UNKNOWN: 1105,
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

export class ReplicationError extends Error {
  override name = 'ReplicationError';
  constructor(readonly errno: number, message: string, readonly sqlState = 'HY000') {
    super(message);
  }
}
