/** Options every command takes, and the parsers of typed flags. */
import { InvalidArgumentError, type Command } from 'commander';

export interface CommonOptions {
  datadir?: string;
  mysql?: string;
  json?: boolean;
  verbose?: boolean;
}

/** Adds --datadir, --mysql, --json and --verbose to a command (SPEC 0: every command takes them). */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--datadir <dir>', 'node data directory (default: $OURSQL_DATADIR or ~/.oursql)')
    .option('--mysql <url>', 'MySQL backend, mysql://user:pass@host:port/db (used when the node is not running)')
    .option('--json', 'print one JSON object')
    .option('--verbose', 'show node log lines and stack traces of unexpected errors');
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535');
  return n;
}

/** `--peer HOST:PORT`, repeatable. */
export function collectPeer(value: string, previous: string[] = []): string[] {
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(value) || Number(value.slice(value.lastIndexOf(':') + 1)) > 65535) {
    throw new InvalidArgumentError('must be HOST:PORT');
  }
  return [...previous, value];
}

/** A repeatable string option (`--set a=1 --set b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
