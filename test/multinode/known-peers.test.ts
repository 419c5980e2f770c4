// A node remembers the peers it reached: restarted while its only configured peer is down, it
// finds the network again through a peer it learnt by peer exchange.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { OursqlNode } from '../../server/node/node.ts';
import { Cluster, until } from '../helpers/cluster.ts';

describe('remembered peers', () => {
  const cluster = new Cluster();
  after(() => cluster.close());

  test('a restart reaches a peer learnt before, with the configured one gone', async () => {
    const a = await cluster.seed();
    const b = await cluster.join(a);
    const c = await cluster.join(a); // c's config names only a
    await until('c to reach b (learnt from a)', () => c.node.peers!.list().some((p) => p.addr === b.addr && p.connected));
    await until('b remembered by c', async () => (await cluster.rows(c, `SELECT addr FROM \`${c.db}_chain\`.known_peers`)).some((r) => r.addr === b.addr));

    await a.node.stop();
    await c.node.stop();
    // new ports: b cannot reach the restarted c by the address it knew, so c must find b itself
    const again = await OursqlNode.start({ datadir: c.env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    try {
      await until('the restarted c to reach b', () => again.peers!.list().some((p) => p.addr === b.addr && p.connected));
      // and replication runs over it: a table made through b's proxy reaches c
      const sb = await b.sql();
      await sb.query('CREATE TABLE after_restart (id INT PRIMARY KEY)');
      await until('the tx in c\'s pool', () => again.chain.pool.size === 1);
      assert.equal((await cluster.rows(c, "SHOW TABLES LIKE 'after_restart'")).length, 1);
    } finally {
      await again.stop();
    }
  });
});
