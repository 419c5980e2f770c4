import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { rm, writeFile, chmod } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { parseConsensusConfig, txSigner, type ConsensusConfig, type Tx } from '../../consensus/index.ts';
import { Chain } from '../chain/engine.ts';
import { Miner } from '../chain/miner.ts';
import { ChainStore } from '../chain/store.ts';
import { hasNativeVerifier, makeFastVerifier } from '../chain/verify.ts';
import { resolveBackend } from '../mysql/backend.ts';
import { consensusClassifier } from '../sql/classify.ts';
import type { ManagedMariaDB } from '../mysql/managed.ts';
import { chainDatabase, type MysqlTarget } from '../mysql/url.ts';
import { ProxyServer } from '../proxy/server.ts';
import { relayProcessCount } from '../proxy/relay/pool.ts';
import { createRpcApp } from '../rpc/server.ts';
import { SqlClassifier } from '../sql/classify.ts';
import { chainDdlUndo } from '../sql/ddl-undo.ts';
import { loadPrimaryKeys, stateDigest } from '../sql/digest.ts';
import { ReplayCheck } from '../sql/replay-check.ts';
import { mysql2Executor } from '../sql/mysql-executor.ts';
import { ReplicatedWrites, type NodeSigner } from '../sql/replicate.ts';
import { SignerThread } from '../wallet/signer-thread.ts';
import { nativeSigner } from '../wallet/native-signer.ts';
import { VerifyPool } from '../chain/verify-pool.ts';
import { KnownPeers, PeerList } from '../chain/peers.ts';
import { isP2pRequest, p2pHandler } from '../p2p/http.ts';
import { PeerManager } from '../p2p/peers.ts';
import { rebaseOwnTxs } from './rebase.ts';
import { P2pService } from '../p2p/service.ts';
import { Wallet } from '../wallet/wallet.ts';
import { datadirPaths, readConsensusText, requireNodeConfig, DatadirError, type NodeConfig } from './datadir.ts';

export interface NodeOverrides {
  mysql?: string;
  host?: string;
  rpcPort?: number;
  proxyPort?: number;
  peers?: string[];
  proxyKey?: string | null;
  mining?: boolean;
  peerDiscovery?: boolean;
  proxyRelayProcesses?: NodeConfig['proxyRelayProcesses'];
  peerStatementSeconds?: number;
}

export interface NodeStartOptions {
  datadir: string;
  overrides?: NodeOverrides;
  log?: (msg: string) => void;
  /** Write the pid file (the CLI's `start`); in-process test nodes leave it out. */
  pidFile?: boolean;
  /** Test hook for crash tests, passed to the chain. */
  beforeCommit?: () => Promise<void>;
  /** false: open the chain without HTTP server or miner (CLI commands on a stopped node). */
  serve?: boolean;
  /** Signature helpers the caller made (and warmed) ahead of the start; a started node closes them, a failed start does not. */
  verifyPool?: VerifyPool;
  /** The MySQL server the caller found answering (not asked again), with the private MariaDB it started, which the node then owns. */
  backend?: { target: MysqlTarget; managed?: ManagedMariaDB };
}

/** The signature helpers a node uses: processes with native libsecp256k1 where it loads, else threads. */
export function newVerifyPool(): VerifyPool {
  return new VerifyPool(hasNativeVerifier() ? 'process' : 'thread');
}

const ENGINE_LOCK_WAIT_S = 5;

export function openMysqlPool(target: MysqlTarget, database: string): Pool {
  const pool = mysql.createPool({
    host: target.host, port: target.port, socketPath: target.socketPath, user: target.user, password: target.password,
    database, connectionLimit: 20, supportBigNumbers: true, bigNumberStrings: true, multipleStatements: false,
    // mysql2 captures a stack trace per query by default: measurable on hot paths (a block connect
    // sends dozens), and our errors are mapped by errno, not by where the query was sent from.
    charset: 'utf8mb4', trace: false,
    // mysql2 sets up a cache of 16,000 prepared statements per connection (four arrays that size);
    // the node prepares none on these connections (the proxy's clients prepare on their own).
    maxPreparedStatements: 16,
    // mysql2 scans every query's text for placeholders even when no values come with it: for a
    // block's SQL (tens of kB a query) that scan was a measurable share of a replay.
    queryFormat: (sql: string, values?: unknown, timezone?: string) =>
      values === undefined || values === null || (Array.isArray(values) && values.length === 0)
        ? sql
        : mysql.format(sql, values as Parameters<typeof mysql.format>[1], false, timezone ?? 'local'),
  });
  // Replayed SQL carries TIMESTAMP literals written at UTC (server/sql/replicate.ts): read them so.
  // The chain's SQL runs under its lock: it waits for a client's row locks 5 s at most, then the
  // block is tried again shortly (MySQL's default is 50 s).
  pool.pool.on('connection', (conn) => conn.query(`SET time_zone = '+00:00', innodb_lock_wait_timeout = ${ENGINE_LOCK_WAIT_S}`));
  return pool;
}

/** One OurSQL node: owns its MySQL, chain, miner and HTTP server, and starts/stops them together. */
export class OursqlNode {
  private http?: Server;
  private stopping?: Promise<void>;
  private markStopped!: () => void;
  /** Resolves once stop() has finished, whoever called it (a signal handler, the RPC `stop`). */
  readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));
  readonly startedAt = Date.now();

  private constructor(
    readonly datadir: string,
    readonly config: NodeConfig,
    readonly consensus: ConsensusConfig,
    readonly wallet: Wallet,
    readonly mysql: Pool,
    readonly chain: Chain,
    readonly miner: Miner | undefined,
    readonly managed: ManagedMariaDB | undefined,
    readonly cookie: string,
    readonly log: (msg: string) => void,
    private readonly pidFile: boolean,
    readonly backend: MysqlTarget,
    readonly writes: ReplicatedWrites,
    private readonly signerThread: SignerThread | undefined,
    private readonly consensusText: string,
    private readonly verifyPool: VerifyPool,
  ) {}

  /** The peer manager (set while the node serves). */
  peers?: PeerManager;
  private rebasing?: ReturnType<typeof rebaseOwnTxs>;

  private proxy?: ProxyServer;

  /**
   * This node's own txs a fork switch dropped that are still to be run again on the new chain
   * (SPEC 8): until they are, its data holds less than its clients were told.
   */
  get rebasesPending(): number {
    return this.rebasing?.pending() ?? 0;
  }

  get proxyPort(): number {
    return this.proxy?.port ?? this.config.proxyPort;
  }

  /** Proxy client connections open now, and how many of them read-relay processes relay. */
  get proxyConnections(): { open: number; relayedElsewhere: number } {
    return { open: this.proxy?.connectionCount ?? 0, relayedElsewhere: this.proxy?.relayedCount ?? 0 };
  }

  static async start(opts: NodeStartOptions): Promise<OursqlNode> {
    const log = opts.log ?? ((m: string) => console.log(`[oursql] ${m}`));
    const saved = await requireNodeConfig(opts.datadir);
    const o = opts.overrides ?? {};
    const config: NodeConfig = {
      ...saved,
      ...(o.mysql !== undefined && { mysql: o.mysql }),
      ...(o.host !== undefined && { host: o.host }),
      ...(o.rpcPort !== undefined && { rpcPort: o.rpcPort }),
      ...(o.proxyPort !== undefined && { proxyPort: o.proxyPort }),
      ...(o.peers !== undefined && { peers: [...saved.peers, ...o.peers] }),
      ...(o.proxyKey !== undefined && { proxyKey: o.proxyKey }),
      ...(o.mining !== undefined && { mining: o.mining }),
      ...(o.peerDiscovery !== undefined && { peerDiscovery: o.peerDiscovery }),
      ...(o.proxyRelayProcesses !== undefined && { proxyRelayProcesses: o.proxyRelayProcesses }),
      ...(o.peerStatementSeconds !== undefined && { peerStatementSeconds: o.peerStatementSeconds }),
    };
    const consensusText = await readConsensusText(opts.datadir);
    const consensus = parseConsensusConfig(consensusText);
    const wallet = await Wallet.open(datadirPaths(opts.datadir).wallet);
    const { target, managed } = opts.backend ?? await resolveBackend(config.mysql, { datadir: opts.datadir, log });
    if (managed) log(`MySQL at ${config.mysql} does not answer: using a private MariaDB (socket ${target.socketPath})`);
    const pool = openMysqlPool(target, target.database);
    let cleanupOnError: (() => Promise<void> | undefined) | undefined;
    try {
      const store = new ChainStore(pool, chainDatabase(target), target.database);
      // A sync's signatures are checked ahead on the other cores: by child processes with native
      // libsecp256k1, or by threads with its ~4x slower WebAssembly build where the addon does not
      // load. They start at the first block to check (a sync), not for CLI commands.
      const verifyPool = opts.verifyPool ?? newVerifyPool();
      cleanupOnError = async () => verifyPool.close();
      const replayCheck = new ReplayCheck(new SqlClassifier());
      const mariadb = await isMariaDb101(pool);
      const chain = await Chain.open({
        store, config: consensus, verify: makeFastVerifier(), checkSignatures: (txs: readonly Tx[]) => verifyPool.checkIfReady(txs), prepareChecks: () => verifyPool.warm(),
        classify: consensusClassifier(), log, beforeCommit: opts.beforeCommit,
        stateDigest: (conn, refs, keys) => stateDigest(mysql2Executor(conn), refs, keys),
        primaryKeys: (conn, tables, keys) => loadPrimaryKeys(mysql2Executor(conn), tables, keys),
        ddlUndo: chainDdlUndo(),
        replayCheck,
        // MySQL has no max_statement_time (its max_execution_time limits SELECTs only): no limit there
        peerStatementSeconds: mariadb ? config.peerStatementSeconds : undefined,
      });
      replayCheck.watch(chain);
      const minter = config.minter;
      const serve = opts.serve ?? true;
      // Proxy updates are signed by native libsecp256k1 on the event loop; where it does not load, a
      // serving node signs them on a thread of their own (CLI commands on a stopped node do not).
      const signerThread = serve && config.proxyKey && !hasNativeVerifier() ? new SignerThread() : undefined;
      cleanupOnError = () => Promise.all([signerThread?.close(), verifyPool.close()]).then(() => {});
      const miner = minter ? new Miner(chain, { minter, log }) : undefined;
      const cookie = `__cookie__:${randomBytes(32).toString('hex')}`;
      const writes = new ReplicatedWrites(chain, new SqlClassifier(), {
        appDb: target.database, chainDb: chainDatabase(target), signer: proxySigner(config, wallet, signerThread), log,
        compoundStatements: mariadb,
        asNode: async (sql) => void (await pool.query(sql)),
      });
      const node = new OursqlNode(
        opts.datadir, config, consensus, wallet, pool, chain, miner, managed, cookie, log, serve && !!opts.pidFile, target, writes, signerThread,
        consensusText, verifyPool,
      );
      if (!serve) return node;
      await node.listen();
      if (config.mining) miner?.start();
      log(`node started: ${chain.describe()}; RPC on http://${config.host}:${node.rpcPort}/rpc, MySQL proxy on ${config.host}:${node.proxyPort}`);
      return node;
    } catch (e) {
      await cleanupOnError?.();
      await pool.end().catch(() => {});
      await managed?.stop();
      throw e;
    }
  }

  get rpcPort(): number {
    return (this.http?.address() as AddressInfo | null)?.port ?? this.config.rpcPort;
  }

  private async listen(): Promise<void> {
    const paths = datadirPaths(this.datadir);
    const app = createRpcApp(this);
    const known = new KnownPeers(this.chain.store);
    const peers = new PeerManager(this.chain, {
      listen: null, // known once the port is bound (below)
      seeds: [
        ...this.config.peers, ...this.consensus.initNodes, ...(await new PeerList(this.chain.store).list()).map((p) => p.addr),
        // with discovery off, only configured and added peers are talked to
        ...(this.config.peerDiscovery ? await known.recent() : []),
      ],
      log: this.log,
      discovery: this.config.peerDiscovery,
      remember: known,
    });
    const service = new P2pService(this.chain, () => peers.hello(), this.consensusText, peers);
    const p2p = p2pHandler(service, { log: this.log, misbehaved: (from, why) => peers.misbehavedRequest(from, why) });
    // peers' requests skip express (http.ts says why); everything else is the RPC app's
    const server = createServer((req, res) => (isP2pRequest(req) ? p2p(req, res) : app(req, res)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new DatadirError(`port ${this.config.rpcPort} on ${this.config.host} is in use (another node? use --rpc-port)`) : e),
      );
      server.listen(this.config.rpcPort, this.config.host, () => resolve());
    });
    this.http = server;
    const proxy = new ProxyServer({
      backend: this.backend, writes: this.writes, log: this.log,
      maxConnections: this.config.proxyMaxConnections, idleTimeoutMs: this.config.proxyIdleTimeoutSeconds * 1000,
      relayProcesses: relayProcessCount(this.config.proxyRelayProcesses),
    });
    try {
      await proxy.listen(this.config.proxyPort, this.config.host);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw code === 'EADDRINUSE' ? new DatadirError(`port ${this.config.proxyPort} on ${this.config.host} is in use (another node? use --proxy-port)`) : e;
    }
    this.proxy = proxy;
    // Blocks and peer txs need rows clients' open transactions may hold (docs/protocol.md).
    this.chain.openTransactions = proxy;
    this.rebasing = rebaseOwnTxs(this.chain, this.writes, this.mysql, this.log);
    peers.setListen(this.advertisedAddress());
    this.peers = peers;
    this.miner?.on('found', (block) => peers.announceFound(block));
    peers.start();
    await writeFile(paths.cookie, this.cookie, { mode: 0o600 });
    await chmod(paths.cookie, 0o600);
    // Line 3 (the RPC host) lets the CLI reach a node started with --host.
    if (this.pidFile) await writeFile(paths.pid, `${process.pid}\n${this.rpcPort}\n${this.config.host}\n`);
  }

  /** Where peers reach this node: `publicAddress`, else the bound host and port (none for a wildcard host). */
  advertisedAddress(): string | null {
    if (this.config.publicAddress) return this.config.publicAddress;
    if (['0.0.0.0', '::', ''].includes(this.config.host)) return null;
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `${host}:${this.rpcPort}`;
  }

  /** Stops the parts in reverse order; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log('node stopping');
      this.peers?.stop();
      this.rebasing?.stop();
      await this.miner?.stop();
      await this.proxy?.close();
      this.chain.openTransactions = undefined;
      await this.signerThread?.close();
      await this.verifyPool.close();
      await this.chain.close();
      if (this.http) {
        this.http.closeAllConnections();
        await new Promise<void>((r) => this.http!.close(() => r()));
      }
      await this.mysql.end().catch(() => {});
      await this.managed?.stop();
      const paths = datadirPaths(this.datadir);
      if (this.http) await rm(paths.cookie, { force: true });
      if (this.pidFile) await rm(paths.pid, { force: true });
      this.log('node stopped');
      this.markStopped();
    })();
    return this.stopping;
  }
}

/** The node-held key that signs plain updates from the proxy, if the config names one. */
function proxySigner(config: NodeConfig, wallet: Wallet, thread: SignerThread | undefined): NodeSigner | null {
  if (!config.proxyKey) return null;
  if (!wallet.has(config.proxyKey)) throw new DatadirError(`proxy key ${config.proxyKey} is not in this node's wallet (oursql wallet list; or start with --no-proxy-key)`);
  const key = wallet.key(config.proxyKey).privateKey;
  return nativeSigner(key) ?? (thread ? thread.signerFor(key) : txSigner(key));
}

/**
 * MariaDB 10.1 or later: it runs anonymous compound statements (`BEGIN NOT ATOMIC … END`) and
 * stops a statement at `max_statement_time`; MySQL does neither.
 */
async function isMariaDb101(pool: Pool): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT VERSION() AS v');
  const m = /^(\d+)\.(\d+)\..*mariadb/i.exec(String(rows[0].v));
  return !!m && (Number(m[1]) > 10 || (Number(m[1]) === 10 && Number(m[2]) >= 1));
}
