// A node killed with SIGKILL in the middle of a long catch-up: the real `oursql import` process is
// killed while it replays blocks; the node then starts on what it had committed and catches up by
// itself from its peer, ending with the seed's tip and identical tables.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { OursqlNode } from '../../server/node/node.ts';
import { BIN } from '../helpers/cli.ts';
import { Cluster, until } from '../helpers/cluster.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';

const BLOCKS = 80;
const PER_BLOCK = 25;

describe('SIGKILL mid-sync', () => {
  const cluster = new Cluster();
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await cluster.close();
  });

  test('killed while importing, restarted: converges on the seed', async () => {
    const seed = await cluster.seed();
    const c = await seed.sql();
    await c.query('CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(30) NOT NULL)');
    await seed.node.miner!.mineNow();
    let id = 0;
    for (let b = 0; b < BLOCKS; b++) {
      for (let i = 0; i < PER_BLOCK; i++) await c.query('INSERT INTO items VALUES (?, ?)', [++id, `row ${id}`]);
      assert.ok('block' in (await seed.node.miner!.mineNow()));
    }

    const env = await tempNodeDir('killsync');
    cleanups.push(() => env.cleanup());
    const root = await rootConnection();
    cleanups.push(() => root.end());
    const height = async () => {
      try {
        const [[r]] = await root.query<any[]>(`SELECT COALESCE(MAX(height), 0) AS h FROM \`${env.db.name}_chain\`.chain`);
        return Number(r.h);
      } catch {
        return 0;
      }
    };
    const child = spawn(process.execPath, [BIN, 'import', '--peer', seed.addr, '--datadir', env.datadir, '--mysql', env.db.url], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await until('the import to be part way', async () => (await height()) >= 10, 60_000);
    child.kill('SIGKILL');
    await exited;
    const at = await height();
    assert.ok(at < BLOCKS + 1, `killed before the end (at ${at})`);

    const node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    cleanups.push(() => node.stop());
    assert.ok(node.chain.height >= at - 1 && node.chain.height <= BLOCKS + 1, `restarted at ${node.chain.height}`);
    await until('the restarted node at the seed\'s tip', () => node.chain.tip.hash === seed.node.chain.tip.hash, 120_000);
    const [[a]] = await root.query<any[]>(`CHECKSUM TABLE \`${seed.db}\`.items`);
    const [[b]] = await root.query<any[]>(`CHECKSUM TABLE \`${env.db.name}\`.items`);
    assert.equal(String(b.Checksum), String(a.Checksum));
  });
});
