/** init, start, stop, status: the node's life cycle. */
import { checkAddress } from '../../../consensus/index.ts';
import { datadirPaths, readNodeConfig, resolveDatadir } from '../../node/datadir.ts';
import type { NodeOverrides } from '../../node/node.ts';
import { looksLikeOursql, rpcUrl, runningNode, spawnDaemon, waitGone } from '../daemon.ts';
import { CliError } from '../errors.ts';
import type { CommonOptions } from '../options.ts';
import { emit, progress } from '../output.ts';
import { readCookie, rpcClient } from '../rpc-client.ts';
import { cliLog, withNode } from '../session.ts';

export interface InitOptions extends CommonOptions {
  consensus?: string;
  minter?: string;
}

export interface StartOptions extends CommonOptions {
  rpcPort?: number;
  proxyPort?: number;
  host?: string;
  peer?: string[];
  /** An address, or false for --no-proxy-key. */
  proxyKey?: string | false;
  foreground?: boolean;
}

/** What `getnodeinfo` returns (the fields the CLI shows). */
interface NodeInfo {
  version: string;
  pid: number;
  datadir: string;
  rpcPort: number;
  proxyPort: number;
  genesis: string;
  consensus: string;
  height: number;
  tip: string;
  pool: number;
  rebasesPending: number;
  peers: string[];
  uptime: number;
  minter: string | null;
  mining: boolean;
}

// The node's code is loaded by the commands that run it, not by `status` or `stop`.
const initNode: typeof import('../../node/init.ts').initNode = async (o) => (await import('../../node/init.ts')).initNode(o);

export async function initCommand(opts: InitOptions): Promise<void> {
  const datadir = resolveDatadir(opts.datadir);
  const log = opts.json ? cliLog(opts) : progress;
  const r = await initNode({ datadir, mysql: opts.mysql, consensusFile: opts.consensus, minter: opts.minter, log });
  emit(opts, { datadir, ...r }, () =>
    [
      `initialised ${datadir}`,
      `genesis ${r.genesis} (height 0) pays the first reward to ${r.minter}`,
      ...(r.createdAddress ? [`new wallet address: ${r.createdAddress}`] : []),
      'start the node with: oursql start',
    ].join('\n'),
  );
}

function overridesOf(opts: StartOptions): NodeOverrides {
  return {
    ...(opts.mysql !== undefined && { mysql: opts.mysql }),
    ...(opts.host !== undefined && { host: opts.host }),
    ...(opts.rpcPort !== undefined && { rpcPort: opts.rpcPort }),
    ...(opts.proxyPort !== undefined && { proxyPort: opts.proxyPort }),
    ...(opts.peer?.length && { peers: opts.peer }),
    ...(opts.proxyKey === false && { proxyKey: null }),
    ...(typeof opts.proxyKey === 'string' && { proxyKey: checkAddress(opts.proxyKey, '--proxy-key') }),
  };
}

async function refuseIfRunning(datadir: string): Promise<void> {
  const running = await runningNode(datadir);
  if (running && running.pid !== process.pid) {
    throw new CliError(`the node of ${datadir} is already running (pid ${running.pid}, RPC ${rpcUrl(running)})`);
  }
}

/** `start`: on a datadir without a node, initialise it first (so `npm start` works on a fresh machine). */
export async function startCommand(opts: StartOptions, argv: string[]): Promise<void> {
  const datadir = resolveDatadir(opts.datadir);
  overridesOf(opts); // flag errors show here, not in the log of a dying child
  await refuseIfRunning(datadir);
  if (opts.foreground) return runForeground(datadir, opts);

  if (!(await readNodeConfig(datadir))) {
    progress(`no node in ${datadir} yet: initialising it`);
    await initNode({ datadir, mysql: opts.mysql, log: opts.json ? cliLog(opts) : progress });
  }
  let info: NodeInfo | undefined;
  const pid = await spawnDaemon(datadir, argv, async (p) => {
    try {
      info = await rpcClient(p, await readCookie(datadir), 2000)<NodeInfo>('getnodeinfo');
      return true;
    } catch {
      return false;
    }
  });
  const log = datadirPaths(datadir).log;
  emit(opts, { running: true, pid: pid.pid, rpc: rpcUrl(pid), rpcPort: pid.port, height: info!.height, tip: info!.tip, datadir, log }, () =>
    `OurSQL node started (pid ${pid.pid}): RPC ${rpcUrl(pid)}, height ${info!.height}, log ${log}`,
  );
}

async function runForeground(datadir: string, opts: StartOptions): Promise<void> {
  const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
  if (!(await readNodeConfig(datadir))) {
    log(`no node in ${datadir} yet: initialising it`);
    await initNode({ datadir, mysql: opts.mysql, log });
  }
  const { OursqlNode } = await import('../../node/node.ts');
  const node = await OursqlNode.start({ datadir, overrides: overridesOf(opts), pidFile: true, log });
  const onSignal = (signal: string) => {
    log(`${signal} received`);
    node.stop().catch((e: unknown) => {
      log(`stop failed: ${(e as Error).message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whoever stops it (a signal, `oursql stop` through the RPC), the process ends with it.
  await node.stopped;
  process.exit(0);
}

export async function stopCommand(opts: CommonOptions): Promise<void> {
  const datadir = resolveDatadir(opts.datadir);
  const info = await runningNode(datadir);
  if (!info) {
    emit(opts, { running: false, stopped: false }, 'the node is not running');
    return;
  }
  try {
    await rpcClient(info, await readCookie(datadir), 10_000)('stop');
  } catch (e) {
    // A node whose RPC is stuck still gets a clean stop through its SIGTERM handler.
    if (!(await looksLikeOursql(info.pid))) throw e;
    process.kill(info.pid, 'SIGTERM');
  }
  if (!(await waitGone(info.pid))) throw new CliError(`the node (pid ${info.pid}) did not stop within 60 s`);
  emit(opts, { running: false, stopped: true, pid: info.pid }, `node stopped (pid ${info.pid})`);
}

export async function statusCommand(opts: CommonOptions): Promise<void> {
  await withNode(opts, async (s) => {
    const i = await s.call<NodeInfo>('getnodeinfo');
    const out = {
      running: !!s.running,
      pid: s.running?.pid ?? null,
      rpc: s.running ? rpcUrl(s.running) : null,
      height: i.height,
      tip: i.tip,
      pool: i.pool,
      rebasesPending: i.rebasesPending,
      peers: i.peers.length,
      genesis: i.genesis,
      consensus: i.consensus,
      minter: i.minter,
      mining: i.mining,
      uptime: s.running ? i.uptime : null,
      version: i.version,
      datadir: s.datadir,
    };
    emit(opts, out, () =>
      [
        s.running ? `node: running (pid ${out.pid}), RPC ${out.rpc}, up ${out.uptime} s` : 'node: not running (chain read from the datadir)',
        `chain: height ${out.height}, tip ${out.tip}`,
        `pool: ${out.pool} pending transaction(s); peers: ${out.peers}` +
          (out.rebasesPending ? `; ${out.rebasesPending} own write(s) dropped by a fork switch still to run again` : ''),
        `minter: ${out.minter ?? 'none'}; mining: ${out.mining ? 'on' : 'off'}`,
        `datadir: ${out.datadir}`,
      ].join('\n'),
    );
  });
}
