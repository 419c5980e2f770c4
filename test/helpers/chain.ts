import mysql, { type Pool } from 'mysql2/promise';
import {
  bitsForHeight, blockHash, makeBlock, makeCoinbase, merkleRoot, mineSync, newPrivateKey, parseConsensusConfig, publicKeyOf, addressOf,
  genesisTemplate, type Block, type ConsensusConfig, type Tx,
} from '../../consensus/index.ts';
import { Chain, type ChainOptions } from '../../server/chain/engine.ts';
import { ChainStore } from '../../server/chain/store.ts';
import { makeOpensslVerifier } from '../../server/chain/verify.ts';
import { consensusClassifier, SqlClassifier } from '../../server/sql/classify.ts';
import { ReplayCheck } from '../../server/sql/replay-check.ts';
import { chainDdlUndo } from '../../server/sql/ddl-undo.ts';
import { rootConnection, TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from './mysql.ts';

export interface TestKey { priv: string; pub: string; address: string }
export function newKey(): TestKey {
  const priv = newPrivateKey();
  const pub = publicKeyOf(priv);
  return { priv, pub, address: addressOf(pub) };
}

export function testConfig(extra: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): ConsensusConfig {
  return parseConsensusConfig({ Settings: { Complexity: 6, ComplexityStep2: 8, ...settings }, ...extra });
}

/** A chain engine on its own pair of test databases, with a genesis paying `minter`. */
export async function openTestChain(config: ConsensusConfig, minter: TestKey, opts: Partial<ChainOptions> = {}) {
  const db = testDatabase('chain');
  const pool: Pool = mysql.createPool({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', supportBigNumbers: true, bigNumberStrings: true, connectionLimit: 5 });
  const store = new ChainStore(pool, `${db.name}_chain`, db.name);
  const g = genesisTemplate(config, minter.address, Date.now() - 60_000);
  const genesis = makeBlock(mineSync(g.header), g.txs);
  await Chain.initialize(store, config, genesis);
  const open = () => Chain.open({ store, config, verify: makeOpensslVerifier(), ...opts });
  const chain = await open();
  return {
    chain, store, pool, genesis, db, reopen: open,
    async close() {
      await pool.end();
      await db.drop();
    },
  };
}

/**
 * A chain engine that runs SQL (one tx per block is enough), with the table
 * `t (id INT PRIMARY KEY, note TEXT)` in its application database and a root connection to read it.
 */
export async function openSqlTestChain(minter: TestKey, opts: Partial<ChainOptions> = {}) {
  const t = await openTestChain(testConfig({}, { MaxMinNumberTransactionInBlock: 1 }), minter, {
    classify: consensusClassifier(), ddlUndo: chainDdlUndo(), replayCheck: new ReplayCheck(new SqlClassifier()), ...opts,
  });
  const app = await rootConnection();
  await app.query(`CREATE DATABASE IF NOT EXISTS \`${t.db.name}\``);
  await app.query(`CREATE TABLE \`${t.db.name}\`.t (id INT PRIMARY KEY, note TEXT)`);
  return {
    t, app,
    async close() {
      await app.end();
      await t.close();
    },
  };
}

/** A block on `parentHash` whose hash is above `rival`'s: at equal work it stays aside (the lower hash wins). */
export function mineAbove(chain: Chain, parentHash: string, txs: Tx[], minter: string, rival: Block): Block {
  for (let k = 0; ; k++) {
    const b = mineOn(chain, parentHash, txs, minter, Math.max(rival.header.time, chain.headers.get(parentHash)!.header.time + 1) + k);
    if (b.hash > rival.hash) return b;
  }
}

/** Mines a block on `parentHash` holding `txs` (tests build side branches with it). */
export function mineOn(chain: Chain, parentHash: string, txs: Tx[], minter: string, time?: number): Block {
  const parent = chain.headers.get(parentHash)!;
  const height = parent.header.height + 1;
  const all = [makeCoinbase(chain.genesis, height, minter, chain.config.coinsForBlockMade), ...txs];
  const header = mineSync({
    v: 1, height, prev: parentHash, merkle: merkleRoot(all.map((t) => t.id)),
    time: time ?? Math.max(Date.now(), parent.header.time + 1), bits: bitsForHeight(chain.config, height),
  });
  return { hash: blockHash(header), header, txs: all };
}
