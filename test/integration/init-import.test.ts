// `oursql init` on a database that already holds tables: the tables and rows become SQL txs of
// the genesis block, exempt from rules and costs; their refs are in the chain state; replaying the
// genesis SQL on an empty database gives the same tables and rows; later writes base on them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import {
  checkGenesis, coinsToUnits, genesisTemplate, makeBlock, mineSync, parseConsensusConfig, signTx, sqlOf,
  type Block, type ConsensusConfig, type Tx,
} from '../../consensus/index.ts';
import { Chain } from '../../server/chain/engine.ts';
import { ChainStore } from '../../server/chain/store.ts';
import { initNode, type InitResult } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { withoutAutoIncrementOption } from '../../server/sql/plan.ts';
import { newKey } from '../helpers/chain.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT, testDatabase } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

const CONSENSUS = {
  CoinsForBlockMade: 10,
  Settings: { Complexity: 8, ComplexityStep2: 8, MaxMinNumberTransactionInBlock: 1 },
  // After the genesis: no new tables, and every inserted row costs a coin (burned).
  AllowTableCreate: false,
  TransactionCost: { RowInsert: 1 },
  UnmanagedTables: ['scratch'],
};
const IMPORTED = ['z_parent', 'a_child', 'kinds', 'events', 'employees', 'log_lines'];
const EVENTS = 6500;

function connectTo(database: string): Promise<Connection> {
  return mysql.createConnection({
    host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', database, charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: true,
  });
}

async function createAppTables(c: Connection): Promise<number> {
  // Named so that alphabetical order would create the child before its parent.
  await c.query('CREATE TABLE z_parent (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE) ENGINE=InnoDB');
  await c.query(`CREATE TABLE a_child (
    id INT PRIMARY KEY, parent_id INT NOT NULL, note VARCHAR(20) NULL,
    CONSTRAINT a_child_parent FOREIGN KEY (parent_id) REFERENCES z_parent (id)) ENGINE=InnoDB`);
  await c.query(`CREATE TABLE kinds (
    id BIGINT UNSIGNED PRIMARY KEY, s VARCHAR(100) NULL, t TEXT NULL, b VARBINARY(32) NULL, bl BLOB NULL,
    d DECIMAL(20,6) NULL, f FLOAT NULL, dbl DOUBLE NULL, dt DATETIME(6) NULL, ts TIMESTAMP(3) NULL DEFAULT NULL,
    dte DATE NULL, tm TIME NULL, y YEAR NULL, e ENUM('b','a') NULL, st SET('x','y','z') NULL, j JSON NULL,
    bits BIT(5) NULL, inv INT NULL INVISIBLE, gen BIGINT AS (id * 2) VIRTUAL,
    lat VARCHAR(20) CHARACTER SET latin1 NULL, g GEOMETRY NULL) ENGINE=InnoDB`);
  await c.query('CREATE TABLE events (id INT PRIMARY KEY, payload VARCHAR(200) NOT NULL, at DATETIME NOT NULL) ENGINE=InnoDB');
  await c.query(`CREATE TABLE employees (id INT PRIMARY KEY, name VARCHAR(20), boss_id INT NULL,
    CONSTRAINT emp_boss FOREIGN KEY (boss_id) REFERENCES employees (id)) ENGINE=InnoDB`);
  await c.query('CREATE TABLE log_lines (msg TEXT, n INT) ENGINE=InnoDB');
  await c.query('CREATE TABLE scratch (a INT)');
  await c.query('CREATE VIEW v_parents AS SELECT id, name FROM z_parent');

  await c.query("INSERT INTO z_parent (name) VALUES ('ann'), ('bo'), ('o''hara')");
  await c.query("INSERT INTO a_child VALUES (1, 1, 'x'), (2, 3, NULL), (3, 3, 'z')");
  const blob = randomBytes(300);
  await c.query('INSERT INTO kinds (id) VALUES (1)'); // all NULL
  await c.query(
    `INSERT INTO kinds (id, s, t, b, bl, d, f, dbl, dt, ts, dte, tm, y, e, st, j, bits, inv, lat, g) VALUES
     (2, ?, ?, X'00FF275C22', ?, '-12345678901234.123456', 0.1234567, 0.1e0 + 0.2e0, '2024-02-29 23:59:59.123456',
      '2038-01-19 03:14:07.999', '1000-01-01', '-838:59:59', 2155, 'b', 'x,z', '{"a": [1, "é"], "b": null}', b'10101', 42, 'café',
      ST_GeomFromText('POINT(1 2)')),
     (18446744073709551615, '', '', X'', X'', 0, -3.4e38, 1e308, '0001-01-01 00:00:00', '1970-01-01 00:00:01', '9999-12-31', '00:00:00', 1901,
      'a', '', '[]', b'0', -1, '', ST_GeomFromText('LINESTRING(0 0, 1 1)'))`,
    [`it's "quoted" \\ back\\slash\n new line \0 nul 😀 emoji`, '%_ \'\' -- /* not a comment */ ; DROP TABLE x;', blob],
  );
  for (let start = 1; start <= EVENTS; start += 1000) {
    const rows = [];
    for (let i = start; i < Math.min(start + 1000, EVENTS + 1); i++) rows.push([i, `event ${i} ${'·'.repeat(i % 50)}`, `2024-01-01 00:00:${String(i % 60).padStart(2, '0')}`]);
    await c.query('INSERT INTO events VALUES ?', [rows]);
  }
  // Bosses have larger ids than their reports: key order is not an insertable order.
  await c.query("INSERT INTO employees VALUES (10, 'ceo', NULL), (5, 'vp', 10), (7, 'vp2', 10), (1, 'dev', 5), (2, 'dev2', 7)");
  await c.query("INSERT INTO log_lines VALUES ('same', 1), ('same', 1), (NULL, NULL), ('other', 2)");
  await c.query('INSERT INTO scratch VALUES (1), (2)');
  return 3 + 3 + 3 + EVENTS + 5 + 4;
}

async function tableSnapshot(c: Connection, table: string): Promise<{ checksum: string; create: string; count: number }> {
  const [[sum]] = (await c.query(`CHECKSUM TABLE \`${table}\``)) as any;
  const [[show]] = (await c.query(`SHOW CREATE TABLE \`${table}\``)) as any;
  const [[n]] = (await c.query(`SELECT COUNT(*) AS n FROM \`${table}\``)) as any;
  return { checksum: String(sum.Checksum), create: withoutAutoIncrementOption(show['Create Table']), count: Number(n.n) };
}

describe('init imports existing tables into the genesis block', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let replayDb: ReturnType<typeof testDatabase>;
  let node: OursqlNode;
  let result: InitResult;
  let genesis: Block;
  let rowCount: number;
  let cfg: ConsensusConfig;
  const logs: string[] = [];
  const conns: Connection[] = [];

  before(async () => {
    env = await tempNodeDir('import');
    replayDb = testDatabase('replay');
    await writeFile(env.consensusFile, JSON.stringify(CONSENSUS));
    cfg = parseConsensusConfig(JSON.stringify(CONSENSUS));
    const setup = await connectTo('');
    await setup.query(`CREATE DATABASE \`${env.db.name}\``);
    await setup.query(`USE \`${env.db.name}\``);
    rowCount = await createAppTables(setup);
    await setup.end();
    result = await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile, log: (m) => logs.push(m) });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    genesis = (await node.chain.getBlock(node.chain.blockHashAt(0)!))!;
  });
  after(async () => {
    for (const c of conns) await c.end().catch(() => {});
    await node?.stop();
    await replayDb?.drop();
    await env?.cleanup();
  });

  test('the genesis holds the coinbase and one signed SQL tx per table plus its row chunks', () => {
    assert.equal(node.chain.height, 0, 'OursqlNode.start loaded the chain');
    assert.equal(genesis.hash, result.genesis);
    assert.deepEqual(result.imported, { tables: IMPORTED.length, rows: rowCount, txs: genesis.txs.length - 1 });
    assert.ok('coinbase' in genesis.txs[0].body);
    checkGenesis(genesis, cfg); // coinbase, chain, no coins moved, signatures, bases
    const imports = genesis.txs.slice(1);
    const key = node.wallet.key(result.minter);
    const creates = imports.filter((t) => sqlOf(t)!.refs.length === 1 && /^CREATE TABLE/.test(sqlOf(t)!.stmts[0]));
    assert.deepEqual(creates.map((t) => sqlOf(t)!.refs[0]), ['employees:*', 'events:*', 'kinds:*', 'log_lines:*', 'z_parent:*', 'a_child:*'], 'parents first, else by name');
    for (const tx of imports) {
      assert.equal(tx.body.chain, cfg.hash);
      assert.equal((tx.body as any).from, key.pubkey, 'signed by the minter key');
      assert.equal((tx.body as any).time, genesis.header.time);
      assert.ok(tx.raw.length <= 900 * 1024);
    }
    assert.ok(!creates.some((t) => /AUTO_INCREMENT=/.test(sqlOf(t)!.stmts[0])), 'no AUTO_INCREMENT=N table option');
    const eventTxs = imports.filter((t) => sqlOf(t)!.refs.some((r) => r.startsWith('events:')) && !/^CREATE/.test(sqlOf(t)!.stmts[0]));
    assert.ok(eventTxs.length >= 7, `${EVENTS} rows span ${eventTxs.length} txs`);
    assert.equal(eventTxs.flatMap((t) => sqlOf(t)!.refs).length, EVENTS);
    for (const t of eventTxs) {
      const sql = sqlOf(t)!;
      assert.equal(sql.stmts.length, 1);
      assert.match(sql.stmts[0], /^INSERT INTO `events` \(`id`, `payload`, `at`\) VALUES \(/);
      assert.match(sql.undo[0], /^DELETE FROM `events` WHERE `id` IN \(/);
      assert.ok(Object.values(sql.base).every((b) => b === null), 'new rows base on nothing');
    }
    // a table without a primary key: its rows ref the table, chained on its CREATE
    const logTxs = imports.filter((t) => sqlOf(t)!.refs[0] === 'log_lines:*');
    assert.equal(logTxs.length, 2);
    assert.deepEqual(sqlOf(logTxs[1])!.base, { 'log_lines:*': logTxs[0].id });
    assert.equal(sqlOf(logTxs[1])!.undo.length, 4);
    assert.ok(logs.some((l) => /skipping `scratch`: in UnmanagedTables/.test(l)));
    assert.ok(logs.some((l) => /skipping `v_parents`: view/.test(l)));
    assert.ok(!imports.some((t) => sqlOf(t)!.refs.some((r) => r.startsWith('scratch') || r.startsWith('v_parents'))));
  });

  test('the chain state has the refs and txids of the import', async () => {
    const holder = (ref: string) => [...genesis.txs].reverse().find((t) => sqlOf(t)?.refs.includes(ref))!.id;
    for (const ref of ['z_parent:*', 'z_parent:3', 'a_child:2', 'kinds:2', 'kinds:18446744073709551615', 'events:1', `events:${EVENTS}`, 'employees:10', 'log_lines:*']) {
      assert.equal(node.chain.state.latestOnRef(ref), holder(ref), ref);
    }
    for (const t of genesis.txs) assert.ok(node.chain.state.hasTx(t.id));
    const store = node.chain.store;
    for (const t of genesis.txs.slice(1)) assert.deepEqual(await store.txLocation(t.id), { height: 0, pos: genesis.txs.indexOf(t) });
  });

  test('nothing was paid: the minter has exactly CoinsForBlockMade', async () => {
    const b = await node.chain.balance(result.minter);
    assert.equal(b.total, coinsToUnits('10'));
    assert.equal(b.approved, coinsToUnits('10'));
  });

  test('replaying the genesis SQL on an empty database gives the same tables and rows', async () => {
    const setup = await connectTo('');
    await setup.query(`CREATE DATABASE \`${replayDb.name}\``);
    await setup.end();
    const replay = await connectTo(replayDb.name);
    conns.push(replay);
    await replay.query("SET time_zone = '+00:00'"); // as the engine's connections replay
    for (const tx of genesis.txs.slice(1)) for (const stmt of sqlOf(tx)!.stmts) await replay.query(stmt);
    const origin = await connectTo(env.db.name);
    conns.push(origin);
    const [tables] = (await replay.query('SHOW FULL TABLES')) as any;
    assert.deepEqual(tables.map((r: any) => Object.values(r)[0]).sort(), [...IMPORTED].sort());
    for (const t of IMPORTED) {
      const a = await tableSnapshot(origin, t);
      const b = await tableSnapshot(replay, t);
      assert.deepEqual(b, a, t);
    }
    // values, visible and invisible, compared as the server prints them
    const cols = 'id, s, t, HEX(b), HEX(bl), d, CAST(f AS DOUBLE), dbl, dt, ts, dte, tm, y, e, st, j, HEX(bits), inv, gen, lat, HEX(g)';
    const [x] = await origin.query(`SELECT ${cols} FROM kinds ORDER BY id`);
    const [y] = await replay.query(`SELECT ${cols} FROM kinds ORDER BY id`);
    assert.deepEqual(y, x);
    // the undo of every import tx runs cleanly, last first, and leaves nothing
    for (const tx of genesis.txs.slice(1).reverse()) for (const stmt of sqlOf(tx)!.undo) await replay.query(stmt);
    const [left] = (await replay.query('SHOW TABLES')) as any;
    assert.deepEqual(left, []);
  });

  test('after the genesis, rules and costs apply, and writes base on the import txs', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
    conns.push(c);
    await assert.rejects(c.query('CREATE TABLE later (a INT PRIMARY KEY)'), (e: any) => e.errno === 4101 && /do not allow creating/.test(e.message));
    const holder = (ref: string) => [...genesis.txs].reverse().find((t) => sqlOf(t)?.refs.includes(ref))!.id;
    const last = () => node.chain.pool.txs().at(-1)!;

    await c.query("REPLACE INTO events (id, payload, at) VALUES (5, 'replaced', '2025-01-01 00:00:00')");
    const replaced = last();
    assert.deepEqual(sqlOf(replaced)!.base, { 'events:5': holder('events:5') });
    assert.deepEqual(replaced.body.out.find((o) => o.to === null), { to: null, amount: coinsToUnits('1').toString() }, 'an insert costs 1 coin');

    await c.query("INSERT INTO a_child (id, parent_id, note) VALUES (4, 2, 'new')");
    assert.deepEqual(sqlOf(last())!.base, { 'a_child:4': null });

    await c.query("UPDATE kinds SET s = 'changed' WHERE id = 2");
    assert.deepEqual(sqlOf(last())!.base, { 'kinds:2': holder('kinds:2') });
    await c.query("UPDATE employees SET name = 'cto' WHERE id = 10");
    assert.deepEqual(sqlOf(last())!.base, { 'employees:10': holder('employees:10') });

    const b = await node.chain.balance(result.minter);
    assert.equal(b.total, coinsToUnits('8'), 'two inserts paid 1 coin each');

    const r = await node.miner!.mineNow();
    assert.ok('block' in r, JSON.stringify(r));
    assert.equal(node.chain.height, 1);
    assert.equal(node.chain.state.latestOnRef('events:5'), replaced.id);
    assert.equal(node.chain.pool.size, 0);
  });
});

describe('init on an empty database, and what the genesis refuses', () => {
  test('an empty database gives a genesis with only the coinbase', async () => {
    const env = await tempNodeDir('import0');
    try {
      const r = await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile });
      assert.deepEqual(r.imported, { tables: 0, rows: 0, txs: 0 });
      const pool = mysql.createPool({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root' });
      try {
        const [rows] = (await pool.query(`SELECT txids FROM \`${env.db.name}_chain\`.blocks WHERE hash = ?`, [r.genesis])) as any;
        assert.equal(JSON.parse(rows[0].txids).length, 1);
      } finally {
        await pool.end();
      }
    } finally {
      await env.cleanup();
    }
  });

  test('tables whose foreign keys form a cycle are refused with a clear error', async () => {
    const env = await tempNodeDir('importcyc');
    try {
      const c = await connectTo('');
      await c.query(`CREATE DATABASE \`${env.db.name}\``);
      await c.query(`USE \`${env.db.name}\``);
      await c.query('CREATE TABLE p (id INT PRIMARY KEY, q_id INT NULL)');
      await c.query('CREATE TABLE q (id INT PRIMARY KEY, p_id INT NULL, FOREIGN KEY (p_id) REFERENCES p (id))');
      await c.query('ALTER TABLE p ADD FOREIGN KEY (q_id) REFERENCES q (id)');
      await c.end();
      await assert.rejects(
        initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile }),
        /foreign keys of `p` → `q` → `p` form a cycle|foreign keys of `q` → `p` → `q` form a cycle/,
      );
    } finally {
      await env.cleanup();
    }
  });

  test('Chain.initialize refuses import txs that move coins, name another chain or are badly signed', async () => {
    const cfg = parseConsensusConfig({ Settings: { Complexity: 4 } });
    const k = newKey();
    const time = Date.now();
    const sql = { stmts: ['CREATE TABLE t (a INT)'], undo: ['DROP TABLE `t`'], refs: ['t:*'], base: { 't:*': null } };
    const good = signTx({ v: 1, chain: cfg.hash, time, from: k.pub, in: [], out: [], sql }, k.priv);
    const mined = (txs: Tx[]) => {
      const g = genesisTemplate(cfg, k.address, time, txs);
      return makeBlock(mineSync(g.header), g.txs);
    };
    checkGenesis(mined([good]), cfg);
    const bad: [Tx[], RegExp][] = [
      [[signTx({ v: 1, chain: '00'.repeat(32), time, from: k.pub, in: [], out: [], sql }, k.priv)], /config hash/],
      [[signTx({ v: 1, chain: cfg.hash, time, from: k.pub, in: [{ tx: '11'.repeat(32), n: 0 }], out: [{ to: k.address, amount: '1' }], sql }, k.priv)], /moves coins/],
      [[{ ...good, sig: signTx({ v: 1, chain: cfg.hash, time: time + 1, from: k.pub, in: [], out: [], sql }, k.priv).sig }], /signature/],
      [[good, signTx({ v: 1, chain: cfg.hash, time, from: k.pub, in: [], out: [], sql: { ...sql, stmts: ['DROP TABLE t'] } }, k.priv)], /base of t:\*/],
    ];
    const db = testDatabase('importbad');
    const pool = mysql.createPool({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', connectionLimit: 2 });
    try {
      const store = new ChainStore(pool, `${db.name}_chain`, db.name);
      for (const [txs, why] of bad) await assert.rejects(Chain.initialize(store, cfg, mined(txs)), why);
      await assert.rejects(Chain.initialize(store, parseConsensusConfig({ Settings: { Complexity: 5 } }), mined([good])), /config/);
      await Chain.initialize(store, cfg, mined([good]));
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});
