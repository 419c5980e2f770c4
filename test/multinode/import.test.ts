// Import of a long chain into a fresh node with the real `oursql import` binary: 200+ blocks holding
// 5,000+ SQL txs written through the seed's proxy; afterwards the new node's tables are identical
// (CHECKSUM TABLE) and it follows new blocks as a peer.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sqlOf } from '../../consensus/index.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { Cluster, until } from '../helpers/cluster.ts';
import { oursql } from '../helpers/cli.ts';
import { freePort, tempNodeDir } from '../helpers/node.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const BLOCKS = Number(process.env.IMPORT_BLOCKS ?? 200);
const PER_BLOCK = Number(process.env.IMPORT_TXS_PER_BLOCK ?? 30);
const CONNS = 4;

describe('import a long chain', () => {
  const cluster = new Cluster();
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await cluster.close();
  });

  test(`${BLOCKS} blocks, ${BLOCKS * PER_BLOCK} SQL txs: identical tables after import`, async () => {
    const seed = await cluster.seed();
    const conns = await Promise.all(Array.from({ length: CONNS }, () => seed.sql()));
    await conns[0].query('CREATE TABLE items (id INT PRIMARY KEY, owner VARCHAR(20) NOT NULL, qty INT NOT NULL, note TEXT)');
    await conns[0].query('CREATE TABLE log (id BIGINT AUTO_INCREMENT PRIMARY KEY, at DATETIME(3) NOT NULL, what VARCHAR(40))');
    let id = 0;
    for (let b = 0; b < BLOCKS; b++) {
      await Promise.all(conns.map(async (c, k) => {
        for (let i = k; i < PER_BLOCK - (b === 0 ? 2 : 0); i += CONNS) {
          const n = ++id;
          const pick = n % 10;
          if (pick < 6 || n < 50) await c.query('INSERT INTO items VALUES (?, ?, ?, ?)', [n, `o${n % 7}`, n % 100, n % 3 ? `note ${n} 'quoted' \\ ü` : null]);
          else if (pick < 8) await c.query('UPDATE items SET qty = qty + 1, note = CONCAT(COALESCE(note, ""), "+") WHERE id = ?', [n - 40 - (n % 3)]);
          else if (pick < 9) await c.query('DELETE FROM items WHERE id = ?', [n - 45]);
          else await c.query("INSERT INTO log (at, what) VALUES (NOW(3), 'tick')");
        }
      }));
      const r = await seed.node.miner!.mineNow();
      assert.ok('block' in r, JSON.stringify(r));
    }
    assert.equal(seed.node.chain.height, BLOCKS);
    const sqlTxs = (await Promise.all(Array.from({ length: BLOCKS }, (_, h) => seed.node.chain.getBlock(seed.node.chain.blockHashAt(h + 1)!))))
      .reduce((n, b) => n + b!.txs.filter((t) => sqlOf(t)).length, 0);
    assert.ok(sqlTxs >= 5000, `only ${sqlTxs} SQL txs`);

    // the real binary, as a user runs it; the seed notes the getblocks requests it serves
    const store = seed.node.chain.store;
    const served = store.getBlocksJson.bind(store);
    const asked: number[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    store.getBlocksJson = async (stored, conn) => {
      asked.push(stored.length);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await served(stored, conn);
      } finally {
        inFlight--;
      }
    };
    const env = await tempNodeDir('imported');
    cleanups.push(() => env.cleanup());
    const started = Date.now();
    const run = await oursql(['import', '--peer', seed.addr, '--datadir', env.datadir, '--mysql', env.db.url, '--json']);
    store.getBlocksJson = served;
    assert.equal(run.code, 0, run.stderr);
    // 4 blocks first, then 16, then 50 a request; small blocks are asked for two batches ahead, never more
    const batches: number[] = [];
    for (let from = 0; from < BLOCKS; from += batches[batches.length - 1]) batches.push(Math.min(from === 0 ? 4 : from === 4 ? 16 : 50, BLOCKS - from));
    assert.deepEqual(asked, batches);
    assert.ok(mostInFlight <= 2, `${mostInFlight} getblocks at once`);
    const out = JSON.parse(run.stdout);
    assert.equal(out.height, BLOCKS);
    assert.equal(out.txs, sqlTxs);
    const seconds = (Date.now() - started) / 1000;
    console.log(`imported ${BLOCKS} blocks, ${sqlTxs} SQL txs in ${seconds.toFixed(1)} s (${Math.round(sqlTxs / out.seconds)} tx/s replay)`);

    const root = await rootConnection();
    cleanups.push(() => root.end());
    for (const t of ['items', 'log']) {
      const [[a]] = await root.query<any[]>(`CHECKSUM TABLE \`${seed.db}\`.\`${t}\``);
      const [[b]] = await root.query<any[]>(`CHECKSUM TABLE \`${env.db.name}\`.\`${t}\``);
      assert.equal(String(b.Checksum), String(a.Checksum), `table ${t} differs`);
    }

    // the imported node starts as a peer of the seed and follows it
    const node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    cleanups.push(() => node.stop());
    await conns[0].query("INSERT INTO items VALUES (999999, 'late', 1, NULL)");
    await until('the new write on the imported node', () => node.chain.pool.size === 1);
    assert.ok('block' in (await seed.node.miner!.mineNow()));
    await until('the imported node at the new tip', () => node.chain.tip.hash === seed.node.chain.tip.hash);
  });

  test('an unreachable peer or a database that holds tables: exit 1, a clear message, nothing set up', async () => {
    const root = await rootConnection();
    cleanups.push(() => root.end());
    const schemas = async (name: string) => (await root.query<any[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)', [name, `${name}_chain`]))[0].length;

    const lost = await tempNodeDir('importnopeer');
    cleanups.push(() => lost.cleanup());
    const nobody = `127.0.0.1:${await freePort()}`;
    const r1 = await oursql(['import', '--peer', nobody, '--datadir', lost.datadir, '--mysql', lost.db.url]);
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, new RegExp(nobody.replace(/\./g, '\\.')));
    assert.equal(existsSync(join(lost.datadir, 'config.json')), false);
    assert.equal(existsSync(join(lost.datadir, 'wallet.json')), false);
    assert.equal(await schemas(lost.db.name), 0, 'no database made for a chain that never came');

    const seed = await cluster.seed();
    const full = await tempNodeDir('importfull');
    cleanups.push(() => full.cleanup());
    await root.query(`CREATE DATABASE \`${full.db.name}\``);
    await root.query(`CREATE TABLE \`${full.db.name}\`.keep (id INT PRIMARY KEY)`);
    await root.query(`INSERT INTO \`${full.db.name}\`.keep VALUES (1), (2)`);
    const r2 = await oursql(['import', '--peer', seed.addr, '--datadir', full.datadir, '--mysql', full.db.url]);
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /already holds tables/);
    assert.equal(existsSync(join(full.datadir, 'config.json')), false);
    const [[kept]] = await root.query<any[]>(`SELECT COUNT(*) AS n FROM \`${full.db.name}\`.keep`);
    assert.equal(Number(kept.n), 2, 'the tables that were there are left as they were');
  });
});
