/** The errors oursql-remote reports: each a class, turned into one line on stderr in one place. */
import { ConsensusError } from '../consensus/index.ts';

/** A failure the user can act on; `exit 1` with its message. */
export class RemoteError extends Error {
  override name = 'RemoteError';
}

/** The keystore cannot be read or opened (wrong passphrase, damaged file, no passphrase given). */
export class KeystoreError extends RemoteError {
  override name = 'KeystoreError';
}

/** The node answered with an error object: its JSON-RPC code, message and data. */
export class NodeError extends RemoteError {
  override name = 'NodeError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The node answered something that is not what was asked: nothing is signed. */
export class TamperError extends RemoteError {
  override name = 'TamperError';
}

export interface ErrorReport {
  message: string;
  /** False for bugs: their stack is printed with OURSQL_DEBUG=1. */
  expected: boolean;
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

export function describeError(e: unknown): ErrorReport {
  if (e instanceof NodeError) return { message: `the node refused: ${oneLine(e.message)} (code ${e.code})`, expected: true };
  if (e instanceof TamperError) return { message: `refused to sign: ${oneLine(e.message)}`, expected: true };
  if (e instanceof RemoteError || e instanceof ConsensusError) return { message: oneLine(e.message), expected: true };
  return { message: oneLine(e instanceof Error ? e.message : String(e)), expected: false };
}
