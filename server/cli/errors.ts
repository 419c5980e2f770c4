/** What the CLI prints for a failure: errors are mapped here once, to one line on stderr. */
import { ConsensusError } from '../../consensus/index.ts';
import { ChainError } from '../chain/errors.ts';
import { MysqlBackendError } from '../mysql/errors.ts';
import { MysqlUrlError } from '../mysql/url.ts';
import { DatadirError } from '../node/datadir.ts';
import { RpcError } from '../rpc/errors.ts';
import { WalletError } from '../wallet/wallet.ts';

/** A failure the CLI itself detected; `detail` (e.g. a log tail) is printed before the message. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

const EXPECTED = [CliError, RpcError, ConsensusError, ChainError, DatadirError, WalletError, MysqlBackendError, MysqlUrlError];

export interface ErrorReport {
  /** One line for stderr. */
  message: string;
  /** Printed before the message (log tails); never a stack trace unless asked for. */
  detail?: string;
  /** False for bugs and surprises: their stack is worth printing with --verbose. */
  expected: boolean;
}

export function describeError(e: unknown): ErrorReport {
  if (EXPECTED.some((c) => e instanceof c)) {
    const err = e as Error;
    return { message: oneLine(err.message), detail: e instanceof CliError ? e.detail : undefined, expected: true };
  }
  // mysql2 errors carry a code like ER_ACCESS_DENIED_ERROR: the server's message is what the user needs.
  const code = (e as { code?: unknown })?.code;
  if (e instanceof Error && typeof code === 'string' && code.startsWith('ER_')) return { message: `MySQL: ${oneLine(e.message)}`, expected: true };
  return { message: oneLine(e instanceof Error ? e.message : String(e)), expected: false };
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
