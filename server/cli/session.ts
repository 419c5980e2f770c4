/**
 * Where a command runs (SPEC 0): through the running node's RPC, or, when it is stopped, on the
 * datadir and database directly through the same RPC methods in-process. Commands are written once
 * against `call` and print the same either way.
 */
import { requireNodeConfig, resolveDatadir } from '../node/datadir.ts';
import { runningNode, type PidInfo } from './daemon.ts';
import type { CommonOptions } from './options.ts';
import { readCookie, rpcClient, type Call } from './rpc-client.ts';

export interface Session {
  call: Call;
  datadir: string;
  /** Set when the node runs and the calls go through its RPC. */
  running?: PidInfo;
}

/** Node log lines: hidden for one-shot commands unless --verbose (they go to stderr then). */
export function cliLog(opts: CommonOptions): (msg: string) => void {
  return opts.verbose ? (msg) => process.stderr.write(`[oursql] ${msg}\n`) : () => {};
}

export async function withNode<T>(opts: CommonOptions, fn: (s: Session) => Promise<T>): Promise<T> {
  const datadir = resolveDatadir(opts.datadir);
  const running = await runningNode(datadir);
  if (running) return fn({ call: rpcClient(running, await readCookie(datadir)), datadir, running });
  await requireNodeConfig(datadir); // before loading the node's code, which takes a while
  // loaded only here: a command to a running node needs none of the node's code
  const [{ OursqlNode }, { createDispatcher }] = await Promise.all([import('../node/node.ts'), import('../rpc/dispatch.ts')]);
  const node = await OursqlNode.start({ datadir, overrides: opts.mysql ? { mysql: opts.mysql } : {}, serve: false, log: cliLog(opts) });
  try {
    return await fn({ call: createDispatcher(node), datadir });
  } finally {
    await node.stop();
  }
}
