import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { checkAddress, parseConsensusConfig, txSigner, type Tx } from '../../consensus/index.ts';
import { Chain } from '../chain/engine.ts';
import { mineGenesis } from '../chain/genesis.ts';
import { ChainStore } from '../chain/store.ts';
import { resolveBackend } from '../mysql/backend.ts';
import { chainDatabase, DEFAULT_MYSQL_URL, parseMysqlUrl } from '../mysql/url.ts';
import { buildImport, databaseHasTables, ImportError } from '../sql/import.ts';
import { mysql2Executor } from '../sql/mysql-executor.ts';
import { Wallet } from '../wallet/wallet.ts';
import { datadirPaths, DatadirError, NodeConfigSchema, readNodeConfig, writeNodeConfig } from './datadir.ts';
import { openMysqlPool } from './node.ts';

/** The consensus a chain gets when `init` is given none: the original's defaults. */
export const DEFAULT_CONSENSUS = {
  Application: { Name: 'OurSQL', WebSite: '', Team: '' },
  Kind: 'proofofwork',
  CoinsForBlockMade: 10,
  Settings: { Complexity: 16, ComplexityStep2: 24, MaxMinNumberTransactionInBlock: 1000, MaxNumberTransactionInBlock: 10000 },
  AllowTableCreate: true, AllowTableDrop: true, AllowRowDelete: true,
  UnmanagedTables: [], TableRules: [], InitNodesAddreses: [],
};

export interface InitOptions {
  datadir: string;
  mysql?: string;
  consensusFile?: string;
  minter?: string;
  log?: (msg: string) => void;
}

export interface InitResult {
  genesis: string;
  minter: string;
  createdAddress?: string;
  height: 0;
  /** What the genesis imported from tables the database already held (zeros for an empty database). */
  imported: { tables: number; rows: number; txs: number };
}

/** `oursql init`: datadir, consensus, wallet, databases and a mined genesis paying the minter. */
export async function initNode(opts: InitOptions): Promise<InitResult> {
  const log = opts.log ?? (() => {});
  const paths = datadirPaths(opts.datadir);
  if (await readNodeConfig(opts.datadir)) throw new DatadirError(`${opts.datadir} already holds a node (config.json exists)`);
  await mkdir(opts.datadir, { recursive: true, mode: 0o700 });

  const consensusText = opts.consensusFile ? await readFile(opts.consensusFile, 'utf8') : JSON.stringify(DEFAULT_CONSENSUS, null, 2) + '\n';
  const consensus = parseConsensusConfig(consensusText);
  const mysqlUrl = opts.mysql ?? DEFAULT_MYSQL_URL;
  parseMysqlUrl(mysqlUrl);

  const wallet = await Wallet.open(paths.wallet);
  let createdAddress: string | undefined;
  if (wallet.list().length === 0) createdAddress = (await wallet.create()).address;
  const minter = opts.minter ? checkAddress(opts.minter, '--minter') : wallet.list()[0].address;

  const { target, managed } = await resolveBackend(mysqlUrl, { datadir: opts.datadir, log });
  const pool = openMysqlPool(target, 'information_schema');
  try {
    const store = new ChainStore(pool, chainDatabase(target), target.database);
    await store.createSchema();
    if (await store.getMeta('genesis')) {
      throw new DatadirError(`database ${chainDatabase(target)} already holds a chain; use another --mysql database or drop it`);
    }
    const time = Date.now();
    // Tables the application database already holds become the genesis's SQL txs (docs/consensus.md).
    let importTxs: Tx[] = [];
    const imported = { tables: 0, rows: 0, txs: 0 };
    const conn = await pool.getConnection();
    try {
      await conn.query(`USE \`${target.database.replace(/`/g, '``')}\``);
      const exec = mysql2Executor(conn);
      if (await databaseHasTables(exec)) {
        // Signed by the minter's key if this wallet holds it, else by the wallet's first key.
        const key = wallet.has(minter) ? wallet.key(minter) : wallet.key(wallet.list()[0].address);
        log(`importing the tables of database ${target.database} into the genesis block (signed by ${key.address})…`);
        const r = await buildImport(exec, consensus, txSigner(key.privateKey), time, { log }).catch((e: unknown) => {
          // a database init cannot import: the user's to fix (one line, no stack, in the CLI)
          throw e instanceof ImportError ? new DatadirError(e.message) : e;
        });
        importTxs = r.txs;
        Object.assign(imported, { tables: r.tables.length, rows: r.rows, txs: r.txs.length });
        log(`import: ${imported.tables} table(s), ${imported.rows} row(s) in ${imported.txs} transaction(s)`);
      }
    } finally {
      conn.release();
    }
    log(`mining the genesis block (${consensus.complexity} bits)…`);
    const genesis = await mineGenesis(consensus, minter, time, importTxs);
    await Chain.initialize(store, consensus, genesis);
    await writeFile(paths.consensus, consensusText);
    await writeNodeConfig(opts.datadir, NodeConfigSchema.parse({ mysql: mysqlUrl, minter, proxyKey: minter }));
    log(`chain initialised: genesis ${genesis.hash}, reward to ${minter}`);
    return { genesis: genesis.hash, minter, createdAddress, height: 0, imported };
  } finally {
    await pool.end().catch(() => {});
    await managed?.stop();
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
