/**
 * RPC error codes (SPEC 7: JSON-RPC's own plus bitcoind's where they exist) and the one place that
 * turns any thrown error into a JSON-RPC error object.
 */
import { ConsensusError, type ConsensusErrorCode } from '../../consensus/index.ts';
import { ChainError, NotInPoolError } from '../chain/engine.ts';
import { SqlRefused } from '../sql/classify.ts';
import { ER, ReplicationError, toMysqlError } from '../sql/errors.ts';
import { SqlExecError } from '../sql/executor.ts';
import { WriteRefused } from '../sql/write-refused.ts';

const isSqlError = (e: unknown): boolean =>
  e instanceof ReplicationError || e instanceof SqlExecError || e instanceof SqlRefused || e instanceof WriteRefused;
import { DatadirError } from '../node/datadir.ts';
import { WalletError } from '../wallet/wallet.ts';

export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** bitcoind RPC_MISC_ERROR: the node cannot do it now (nothing to mine, no minter...). */
  MISC_ERROR: -1,
  /** bitcoind RPC_TYPE_ERROR: used for invalid amounts, as bitcoind does. */
  TYPE_ERROR: -3,
  /** bitcoind RPC_WALLET_ERROR: e.g. the address is not in this node's wallet. */
  WALLET_ERROR: -4,
  INVALID_ADDRESS_OR_KEY: -5,
  INSUFFICIENT_FUNDS: -6,
  INVALID_PARAMETER: -8,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  VERIFY_ALREADY_IN_CHAIN: -27,
} as const;

/** An error that reaches the caller as is: code, message and optional `data`. */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** Every consensus refusal has exactly one RPC code; a new ConsensusErrorCode must be added here. */
const CONSENSUS_CODES: Record<ConsensusErrorCode, number> = {
  'bad-encoding': RpcCode.DESERIALIZATION_ERROR,
  'bad-address': RpcCode.INVALID_ADDRESS_OR_KEY,
  'bad-key': RpcCode.INVALID_ADDRESS_OR_KEY,
  'bad-amount': RpcCode.TYPE_ERROR,
  'bad-signature': RpcCode.VERIFY_ERROR,
  'wrong-chain': RpcCode.VERIFY_REJECTED,
  'missing-input': RpcCode.VERIFY_REJECTED,
  'not-owner': RpcCode.VERIFY_REJECTED,
  'double-spend': RpcCode.VERIFY_REJECTED,
  unbalanced: RpcCode.VERIFY_REJECTED,
  'insufficient-funds': RpcCode.INSUFFICIENT_FUNDS,
  'duplicate-tx': RpcCode.VERIFY_ALREADY_IN_CHAIN,
  'bad-time': RpcCode.VERIFY_REJECTED,
  'sql-refused': RpcCode.VERIFY_REJECTED,
  'sql-unpaid': RpcCode.VERIFY_REJECTED,
  'stale-base': RpcCode.VERIFY_REJECTED,
  'bad-block': RpcCode.VERIFY_ERROR,
  'bad-pow': RpcCode.VERIFY_ERROR,
  'bad-config': RpcCode.MISC_ERROR,
};

/**
 * Maps anything thrown by a method to the error the caller sees. Expected errors keep their
 * message; unexpected ones are logged here and answered with -32603, whose message says nothing
 * of the internals to remote callers.
 */
export function toRpcError(e: unknown, log: (msg: string) => void = () => {}, exposeInternal = false): RpcError {
  if (e instanceof RpcError) return e;
  if (e instanceof ConsensusError) return new RpcError(CONSENSUS_CODES[e.code], e.message, { ...e.details, code: e.code });
  if (e instanceof WalletError) return new RpcError(RpcCode.WALLET_ERROR, e.message);
  if (e instanceof NotInPoolError) return new RpcError(RpcCode.INVALID_ADDRESS_OR_KEY, e.message, { txid: e.txid });
  if (e instanceof ChainError || e instanceof DatadirError) return new RpcError(RpcCode.MISC_ERROR, e.message);
  if (isSqlError(e)) {
    // SQL errors (MySQL's own or OurSQL's refusals) keep their MySQL errno for the caller.
    const m = toMysqlError(e);
    const code = m.errno === ER.REFUSED_BY_RULES || m.errno === ER.UNPAID ? RpcCode.VERIFY_REJECTED : RpcCode.MISC_ERROR;
    return new RpcError(code, m.message, { errno: m.errno, sqlState: m.sqlState });
  }
  log(`rpc: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  // In-process callers (the CLI on a stopped node) have no node log to look at: they get the message.
  if (exposeInternal) return new RpcError(RpcCode.INTERNAL_ERROR, `internal error: ${e instanceof Error ? e.message : String(e)}`);
  return new RpcError(RpcCode.INTERNAL_ERROR, 'internal error (details are in the node log)');
}
