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
import { tempNodeDir } from '../helpers/node.ts';

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

    // the real binary, as a user runs it
    const env = await tempNodeDir('imported');
    cleanups.push(() => env.cleanup());
    const started = Date.now();
    const run = await oursql(['import', '--peer', seed.addr, '--datadir', env.datadir, '--mysql', env.db.url, '--json']);
    assert.equal(run.code, 0, run.stderr);
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
});
