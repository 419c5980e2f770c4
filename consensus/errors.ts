/** Why a piece of consensus data was refused. `code` is stable and mapped once to MySQL/RPC/CLI errors. */
export type ConsensusErrorCode =
  | 'bad-encoding' // not parseable, not canonical, wrong shape
  | 'bad-address'
  | 'bad-key'
  | 'bad-amount'
  | 'bad-signature'
  | 'wrong-chain'
  | 'missing-input' // input unknown or already spent on this branch
  | 'not-owner'
  | 'double-spend'
  | 'unbalanced' // sum(in) != sum(out)
  | 'insufficient-funds'
  | 'duplicate-tx'
  | 'bad-time'
  | 'sql-refused' // not permitted by the consensus rules
  | 'sql-unpaid' // missing or wrong payment for paid SQL
  | 'stale-base' // a ref moved on since the tx was prepared
  | 'bad-block'
  | 'bad-pow'
  | 'bad-config';

export class ConsensusError extends Error {
  override name = 'ConsensusError';
  constructor(
    readonly code: ConsensusErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function fail(code: ConsensusErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new ConsensusError(code, message, details);
}
