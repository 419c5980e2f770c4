/**
 * `oursql import --peer HOST:PORT`: a new node for an existing chain. Fetches the peer's consensus
 * config and genesis block (checked: the genesis commits to the config's hash), sets up the
 * datadir and databases as `init` does (the genesis's SQL, tables a chain began with, runs on
 * this node's MySQL), then pulls and replays the whole chain from the peer.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { blockFromWire, blockWork, parseConsensusConfig, sqlOf, type Block } from '../../consensus/index.ts';
import { Chain } from '../chain/engine.ts';
import { ChainStore } from '../chain/store.ts';
import { resolveBackend } from '../mysql/backend.ts';
import { chainDatabase, DEFAULT_MYSQL_URL, parseMysqlUrl } from '../mysql/url.ts';
import { askPeer } from '../p2p/client.ts';
import { PROTOCOL_VERSION, type Answer } from '../p2p/protocol.ts';
import { askAhead, syncFrom, type SyncAhead, type SyncProgress } from '../p2p/sync.ts';
import { databaseHasTables } from '../sql/import.ts';
import { mysql2Executor } from '../sql/mysql-executor.ts';
import { Wallet } from '../wallet/wallet.ts';
import { datadirPaths, DatadirError, NodeConfigSchema, readNodeConfig, writeNodeConfig } from './datadir.ts';
import { newVerifyPool, OursqlNode, openMysqlPool } from './node.ts';
import type { VerifyPool } from '../chain/verify-pool.ts';

export interface ImportOptions {
  datadir: string;
  peer: string;
  mysql?: string;
  log?: (msg: string) => void;
  onProgress?: (p: SyncProgress) => void;
}

export interface ImportResult {
  genesis: string; height: number; blocks: number; txs: number; minter: string; seconds: number;
  /** Of `txs`, the signatures the event loop checked itself (the helpers were not ready, or died). */
  checkedHere: number;
}

export async function importNode(opts: ImportOptions): Promise<ImportResult> {
  const started = Date.now();
  if (await readNodeConfig(opts.datadir)) throw new DatadirError(`${opts.datadir} already holds a node (config.json exists)`);
  // The signature helpers start during the set-up, while it waits for the peer and MySQL: started
  // with the sync, they were not ready for its first ~1,000 txs, which the event loop then checked.
  let verifyPool: VerifyPool | undefined;
  const startHelpers = () => {
    verifyPool = newVerifyPool();
    verifyPool.warm();
    return verifyPool;
  };
  const { node, ahead, hello: helloAnswer } = await setUp(opts, startHelpers).catch(async (e) => {
    await verifyPool?.close();
    throw e;
  });
  let txs = 0;
  let blocks: number;
  try {
    const hello = await helloAnswer;
    blocks = await syncFrom(node.chain, opts.peer, {
      peerHeight: hello.height,
      ahead,
      onProgress: (p) => {
        txs = p.txs;
        opts.onProgress?.(p);
      },
    });
  } finally {
    await node.stop();
  }
  return { genesis: node.chain.genesis, height: node.chain.height, blocks, txs, minter: node.config.minter!, seconds: (Date.now() - started) / 1000, checkedHere: node.chain.signaturesCheckedHere };
}

/** The datadir, databases and chain of the new node, set up as `init` does; the node opened on them. */
async function setUp(opts: ImportOptions, startHelpers: () => VerifyPool): Promise<{ node: OursqlNode; ahead: SyncAhead; hello: Promise<Answer<'hello'>> }> {
  const log = opts.log ?? (() => {});
  const mysqlUrl = opts.mysql ?? DEFAULT_MYSQL_URL;
  parseMysqlUrl(mysqlUrl);

  log(`asking ${opts.peer} for its consensus config and genesis block…`);
  await mkdir(opts.datadir, { recursive: true, mode: 0o700 }); // before a private MariaDB's folder in it
  // The peer's answer and MySQL's are waited for together (each is mostly a wait).
  const asked = askPeer(opts.peer, { type: 'getconsensus' }).then(({ consensus: text, genesis: wire }) => {
    const consensus = parseConsensusConfig(text);
    return { consensusText: text, consensus, genesis: blockFromWire(wire) };
  });
  const backend = resolveBackend(mysqlUrl, { datadir: opts.datadir, log });
  // (after the two requests are out: loading the helpers' native addon blocks for a few ms)
  const verifyPool = startHelpers();
  const [peerAnswer, mysqlAnswer] = await Promise.allSettled([asked, backend]);
  if (peerAnswer.status === 'rejected') {
    if (mysqlAnswer.status === 'fulfilled') await mysqlAnswer.value.managed?.stop();
    throw peerAnswer.reason;
  }
  if (mysqlAnswer.status === 'rejected') throw mysqlAnswer.reason;
  const { consensusText, consensus, genesis } = peerAnswer.value;
  const { target, managed } = mysqlAnswer.value;
  // the sync's first answers come while MySQL is set up (its first blocks decoded and their
  // signatures checked by the idle helpers meanwhile), and so does the peer's height (hello)
  const ahead = askAhead(opts.peer, genesis.hash, { checkTxs: (txs) => verifyPool.checkAhead(txs) });
  const hello = askPeer(opts.peer, { type: 'hello', ...helloAtGenesis(genesis, consensus.hash) });
  hello.catch(() => {}); // awaited once the node is set up

  // (a failed import leaves no wallet behind: it is made once the peer and MySQL answered, while
  // MySQL makes the chain's tables)
  const paths = datadirPaths(opts.datadir);
  const minter = Wallet.open(paths.wallet).then(async (wallet) => {
    if (wallet.list().length === 0) await wallet.create();
    return wallet.list()[0].address;
  });
  minter.catch(() => {});

  const pool = openMysqlPool(target, 'information_schema');
  try {
    const conn = await pool.getConnection();
    try {
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${target.database.replace(/`/g, '``')}\``);
      await conn.query(`USE \`${target.database.replace(/`/g, '``')}\``);
      if (await databaseHasTables(mysql2Executor(conn))) {
        throw new DatadirError(`database ${target.database} already holds tables: an imported node replays the chain into an empty database`);
      }
    } finally {
      conn.release();
    }
    const store = new ChainStore(pool, chainDatabase(target), target.database);
    await Chain.initialize(store, consensus, genesis); // checks the genesis against the config
    // the tables the chain began with
    const conn2 = await pool.getConnection();
    try {
      await conn2.query(`USE \`${target.database.replace(/`/g, '``')}\``);
      for (const tx of genesis.txs) for (const stmt of sqlOf(tx)?.stmts ?? []) await conn2.query(stmt);
    } finally {
      conn2.release();
    }
    await writeFile(paths.consensus, consensusText);
    const key = await minter;
    await writeNodeConfig(opts.datadir, NodeConfigSchema.parse({ mysql: mysqlUrl, minter: key, proxyKey: key, peers: [opts.peer] }));
  } catch (e) {
    await managed?.stop();
    throw e;
  } finally {
    await pool.end().catch(() => {});
  }
  log(`chain ${genesis.hash} set up; replaying it from ${opts.peer}…`);
  // MySQL as found above (a private MariaDB goes on running for the node)
  return { node: await OursqlNode.start({ datadir: opts.datadir, serve: false, log, verifyPool, backend: { target, managed } }), ahead, hello };
}

/** The hello of a node whose chain is the genesis block alone (what the node set up here holds). */
function helloAtGenesis(genesis: Block, consensusHash: string) {
  return {
    version: PROTOCOL_VERSION, genesis: genesis.hash, consensus: consensusHash, height: 0,
    work: blockWork(genesis.header.bits).toString(), listen: null, nonce: randomBytes(16).toString('hex'),
  };
}
