/**
 * RPC error codes (SPEC 7: JSON-RPC's own plus bitcoind's where they exist) and the one place that
 * turns any thrown error into a JSON-RPC error object.
 */
import { ConsensusError, type ConsensusErrorCode } from '../../consensus/index.ts';
import { ChainError, NotInPoolError } from '../chain/errors.ts';
import { SqlRefused } from '../sql/refused.ts';
import { ER, ReplicationError, toMysqlError } from '../sql/errors.ts';
import { SqlExecError } from '../sql/executor.ts';
import { WriteRefused } from '../sql/write-refused.ts';

import { DatadirError } from '../node/datadir.ts';
import { PeerError } from '../chain/peers.ts';
import { WalletError } from '../wallet/wallet.ts';

const isSqlError = (e: unknown): boolean =>
  e instanceof ReplicationError || e instanceof SqlExecError || e instanceof SqlRefused || e instanceof WriteRefused;

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
  /** bitcoind RPC_CLIENT_NODE_ALREADY_ADDED */
  NODE_ALREADY_ADDED: -23,
  /** bitcoind RPC_CLIENT_NODE_NOT_ADDED */
  NODE_NOT_ADDED: -24,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  VERIFY_ALREADY_IN_CHAIN: -27,
} as const;

/** What each code means and when it is raised: the errors table of docs/rpc.md. */
export const RPC_CODE_DOCS: Readonly<Record<number, { meaning: string; raisedFor: string }>> = {
  [RpcCode.PARSE_ERROR]: { meaning: 'parse error', raisedFor: 'body is not JSON' },
  [RpcCode.INVALID_REQUEST]: { meaning: 'invalid request', raisedFor: 'not a JSON-RPC 2.0 request, empty batch, auth refused (HTTP 401), body too large (HTTP 413)' },
  [RpcCode.METHOD_NOT_FOUND]: { meaning: 'method not found', raisedFor: '' },
  [RpcCode.INVALID_PARAMS]: { meaning: 'invalid params', raisedFor: "params do not fit the method's schema; `data.issues` lists `{param, message}`" },
  [RpcCode.INTERNAL_ERROR]: { meaning: 'internal error', raisedFor: 'anything unexpected; details only in the node log' },
  [RpcCode.MISC_ERROR]: { meaning: 'misc', raisedFor: 'the node cannot do it now: `mine` with too few pool transactions (`data.reason`), no minter; SQL errors (`data: {errno, sqlState}`)' },
  [RpcCode.TYPE_ERROR]: { meaning: 'invalid amount', raisedFor: '`bad-amount`: not coins with ≤ 8 decimals, ≤ 0, too large' },
  [RpcCode.WALLET_ERROR]: { meaning: 'wallet error', raisedFor: 'the address is not in the node wallet; the wallet is empty' },
  [RpcCode.INVALID_ADDRESS_OR_KEY]: { meaning: 'invalid address or key / not found', raisedFor: '`bad-address` (checksum), `bad-key`; unknown block or transaction; txid not in the pool' },
  [RpcCode.INSUFFICIENT_FUNDS]: { meaning: 'insufficient funds', raisedFor: '`insufficient-funds`' },
  [RpcCode.INVALID_PARAMETER]: { meaning: 'invalid parameter', raisedFor: 'block height out of range; a statement that is not a replicated update' },
  [RpcCode.DESERIALIZATION_ERROR]: { meaning: 'decode failed', raisedFor: '`bad-encoding`; SQL errno 4107 (not a transaction step 1 made)' },
  [RpcCode.NODE_ALREADY_ADDED]: { meaning: 'peer already added', raisedFor: '`addnode` of a peer in the list' },
  [RpcCode.NODE_NOT_ADDED]: { meaning: 'peer not added', raisedFor: '`removenode` of a peer not in the list' },
  [RpcCode.VERIFY_ERROR]: { meaning: 'verify failed', raisedFor: '`bad-signature`, `bad-block`, `bad-pow`; SQL errno 4104' },
  [RpcCode.VERIFY_REJECTED]: { meaning: 'rejected by consensus rules', raisedFor: '`wrong-chain`, `bad-time`, `missing-input`, `not-owner`, `double-spend`, `unbalanced`, `sql-refused`, `sql-unpaid`, `stale-base`; SQL errnos 4101, 4102, 4106 (run step 1 again)' },
  [RpcCode.VERIFY_ALREADY_IN_CHAIN]: { meaning: 'already known', raisedFor: '`duplicate-tx`' },
};

/** SQL errors (docs/errors.md) whose meaning has its own RPC code; the rest answer -1. */
const SQL_ERRNO_CODES: Readonly<Record<number, number>> = {
  [ER.REFUSED_BY_RULES]: RpcCode.VERIFY_REJECTED,
  [ER.UNPAID]: RpcCode.VERIFY_REJECTED,
  [ER.STALE]: RpcCode.VERIFY_REJECTED,
  [ER.BAD_SIGNATURE]: RpcCode.VERIFY_ERROR,
  [ER.BAD_TRANSACTION]: RpcCode.DESERIALIZATION_ERROR,
};

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
  if (e instanceof PeerError) {
    return new RpcError(e.code === 'already-added' ? RpcCode.NODE_ALREADY_ADDED : RpcCode.NODE_NOT_ADDED, e.message, { addr: e.addr, code: e.code });
  }
  if (e instanceof ChainError || e instanceof DatadirError) return new RpcError(RpcCode.MISC_ERROR, e.message);
  if (isSqlError(e)) {
    // SQL errors (MySQL's own or OurSQL's refusals) keep their MySQL errno for the caller.
    const m = toMysqlError(e);
    const code = SQL_ERRNO_CODES[m.errno] ?? RpcCode.MISC_ERROR;
    return new RpcError(code, m.message, { errno: m.errno, sqlState: m.sqlState });
  }
  log(`rpc: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  // In-process callers (the CLI on a stopped node) have no node log to look at: they get the message.
  if (exposeInternal) return new RpcError(RpcCode.INTERNAL_ERROR, `internal error: ${e instanceof Error ? e.message : String(e)}`);
  return new RpcError(RpcCode.INTERNAL_ERROR, 'internal error (details are in the node log)');
}
