// A peer's statement runs at most `peerStatementSeconds` when this node pools it (MariaDB's
// max_statement_time). Past it the tx is not pooled here, and not run again for a while; the peer
// is not blamed (how long SQL runs depends on the machine); a block holding the tx runs it whole.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { ConsensusError, signTx, txToWire, type Tx } from '../../consensus/index.ts';
import { SlowSqlError } from '../../server/chain/errors.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { until } from '../helpers/cluster.ts';
import { mineOn, newKey, openSqlTestChain } from '../helpers/chain.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('a peer\'s statement time at pool admission', () => {
  const minter = newKey();
  const author = newKey();
  let opened: Awaited<ReturnType<typeof openSqlTestChain>>;
  let slowSeconds = 0;
  const LIMIT = 0.1;
  const db = () => opened.t.db.name;
  const signed = (stmt: string, id: number, undo: string): Tx => signTx({
    v: 1, chain: opened.t.chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
    sql: { stmts: [stmt], undo: [undo], refs: [`t:${id}`], base: { [`t:${id}`]: null } },
  } as Parameters<typeof signTx>[0], author.priv);
  const note = async (id: number) => ((await opened.app.query(`SELECT note FROM \`${db()}\`.t WHERE id = ${id}`))[0] as { note: string }[])[0]?.note;
  /** Deterministic, and as slow as the size of the cross join of `big` with itself three times. */
  const SLOW = (id: number) => `UPDATE t SET note = (SELECT COUNT(*) FROM big a, big b, big c WHERE a.n + b.n + c.n >= 0) WHERE id = ${id}`;

  before(async () => {
    opened = await openSqlTestChain(minter, { peerStatementSeconds: LIMIT });
    const { app } = opened;
    await app.query(`CREATE TABLE \`${db()}\`.big (n INT PRIMARY KEY)`);
    await app.query(`INSERT INTO \`${db()}\`.big SELECT seq FROM \`${db()}\`.seq_1_to_160`);
    await app.query(`INSERT INTO \`${db()}\`.t VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3'), (4, 'row 4'), (5, 'row 5')`);
    await app.query(`CREATE TABLE \`${db()}\`.wide (n INT PRIMARY KEY, pad CHAR(100) NOT NULL)`);
    await app.query(`INSERT INTO \`${db()}\`.wide SELECT seq, MD5(seq) FROM \`${db()}\`.seq_1_to_300000`);
    // the limit must be well below what the statement takes here, whatever the machine
    const t0 = performance.now();
    await app.query(`SELECT COUNT(*) FROM \`${db()}\`.big a, \`${db()}\`.big b, \`${db()}\`.big c WHERE a.n + b.n + c.n >= 0`);
    slowSeconds = (performance.now() - t0) / 1000;
  });
  after(() => opened?.close());

  test('too slow at admission: not pooled, the rest of the batch is; not run again; no consensus error; a block runs it', async () => {
    assert.ok(slowSeconds > 3 * LIMIT, `the slow statement took ${slowSeconds} s here: too fast for this test`);
    const chain = opened.t.chain;
    const slow = signed(SLOW(1), 1, "UPDATE t SET note = 'row 1' WHERE id = 1");
    const good = [signed("UPDATE t SET note = 'two' WHERE id = 2", 2, "UPDATE t SET note = 'row 2' WHERE id = 2"),
      signed("UPDATE t SET note = 'three' WHERE id = 3", 3, "UPDATE t SET note = 'row 3' WHERE id = 3")];
    const pooled = chain.pool.size;
    const out = await chain.submitTxs([good[0], slow, good[1]]);
    assert.equal(out[0], undefined);
    assert.ok(out[1] instanceof SlowSqlError, String(out[1]));
    assert.ok(!(out[1] instanceof ConsensusError), 'not invalid: the peer is not blamed');
    assert.match(out[1]!.message, /ran longer than/);
    assert.equal(out[2], undefined);
    assert.equal(chain.pool.size, pooled + 2);
    assert.equal(chain.pool.has(slow.id), false);
    assert.deepEqual([await note(1), await note(2), await note(3)], ['row 1', 'two', 'three']);

    // sent again (another peer announced it): refused without running
    const t0 = performance.now();
    const [again] = await chain.submitTxs([slow]);
    assert.ok(again instanceof SlowSqlError && /a short while ago/.test(again.message), String(again));
    assert.ok((performance.now() - t0) / 1000 < slowSeconds, 'it did not run again');

    // a schema change of a peer is held to the limit too, and leaves the table as it was
    const ddl = signTx({
      v: 1, chain: chain.genesis, time: Date.now(), from: author.pub, in: [], out: [],
      sql: { stmts: ['ALTER TABLE wide ADD INDEX by_pad (pad)'], undo: ['ALTER TABLE wide DROP INDEX by_pad'], refs: ['wide:*'], base: { 'wide:*': null } },
    } as Parameters<typeof signTx>[0], author.priv);
    const [ddlOut] = await chain.submitTxs([ddl]);
    assert.ok(ddlOut instanceof SlowSqlError, String(ddlOut));
    const [indexes] = await opened.app.query(`SHOW INDEX FROM \`${db()}\`.wide WHERE Key_name = 'by_pad'`);
    assert.equal((indexes as unknown[]).length, 0);
    assert.equal(await chain.store.getMeta('sql_unsafe').then((v) => v ?? '0'), '0', 'no rebuild of the database is pending');

    // in a block there is no limit: the statement runs whole, on the connections admission used
    const b = mineOn(chain, chain.tip.hash, [...good, slow], minter.address);
    assert.equal(await chain.addBlock(b), 'connected');
    assert.equal(await note(1), String(160 ** 3));
    assert.equal(chain.pool.size, pooled);
  });

  test('a block\'s statement killed from outside (KILL QUERY) makes the block wait and connect again, not count as bad', async () => {
    const chain = opened.t.chain;
    const tx = signed(SLOW(5), 5, "UPDATE t SET note = 'row 5' WHERE id = 5");
    const b = mineOn(chain, chain.tip.hash, [tx], minter.address);
    const killed = (async () => {
      for (let i = 0; i < 500; i++) {
        const [rows] = await opened.app.query(
          "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE '%FROM big a, big b, big c%' AND ID <> CONNECTION_ID()",
        );
        const id = (rows as { id: number }[])[0]?.id;
        if (id !== undefined) {
          await opened.app.query(`KILL QUERY ${Number(id)}`);
          return true;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      return false;
    })();
    const result = await chain.addBlock(b);
    assert.equal(await killed, true, 'the statement was seen running and killed');
    assert.equal(result, 'side', 'stored, to be connected again');
    const end = Date.now() + 20_000;
    while (chain.tip.hash !== b.hash) {
      assert.ok(Date.now() < end, 'the block connected on a later try');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await note(5), String(160 ** 3));
  });

  test('this node\'s own txs (submitTx: RPC, CLI) run without the limit', async () => {
    const chain = opened.t.chain;
    const tx = signed(SLOW(4), 4, "UPDATE t SET note = 'row 4' WHERE id = 4");
    await chain.submitTx(tx);
    assert.equal(await note(4), String(160 ** 3));
    await chain.cancel(tx.id);
    assert.equal(await note(4), 'row 4');
  });
});

describe('a running node\'s peerStatementSeconds', () => {
  test('a slow tx pushed by a peer is logged as not pooled, the peer not blamed; the good one beside it pooled', { timeout: 60_000 }, async () => {
    const env = await tempNodeDir('peerslow');
    const logs: string[] = [];
    let node: OursqlNode | undefined;
    try {
      await initNode({ datadir: env.datadir, mysql: env.db.url });
      node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false, peerStatementSeconds: 0.1 }, log: (l) => logs.push(l) });
      const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
      await c.query('CREATE TABLE big (n INT PRIMARY KEY)');
      await c.query(`INSERT INTO big VALUES ${Array.from({ length: 200 }, (_, i) => `(${i + 1})`).join(',')}`);
      await c.query('CREATE TABLE t (id INT PRIMARY KEY, v BIGINT)');
      await c.query('INSERT INTO t VALUES (1, 0), (2, 0)');
      await c.end();
      const chain = node.chain;
      const key = node.wallet.key(node.wallet.list()[0].address);
      const tx = (stmt: string, id: number): Tx => signTx({
        v: 1, chain: chain.genesis, time: Date.now(), from: key.pubkey, in: [], out: [],
        sql: { stmts: [stmt], undo: [`UPDATE t SET v = 0 WHERE id = ${id}`], refs: [`t:${id}`], base: { [`t:${id}`]: chain.pool.view.latestOnRef(`t:${id}`) } },
      } as never, key.privateKey);
      const slow = tx('UPDATE t SET v = (SELECT COUNT(*) FROM big a, big b, big c WHERE a.n + b.n + c.n >= 0) WHERE id = 1', 1);
      const good = tx('UPDATE t SET v = 5 WHERE id = 2', 2);
      const r = await fetch(`http://127.0.0.1:${node.rpcPort}/p2p`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'pushtxs', txs: [txToWire(slow), txToWire(good)] }),
      });
      assert.equal(r.status, 200);
      await until('the good tx pooled', () => chain.pool.has(good.id));
      await until('the slow one logged', () => logs.some((l) => l.includes(`${slow.id} not pooled`) && l.includes('ran longer than')));
      assert.equal(chain.pool.has(slow.id), false);
      assert.ok(!logs.some((l) => l.includes('misbehaved')), 'no peer blamed');
    } finally {
      await node?.stop();
      await env.cleanup();
    }
  });
});
