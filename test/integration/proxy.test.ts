// Real MySQL clients through a real node's proxy on the real MariaDB: every update becomes a
// signed transaction in the pool (then a block); reads and client start-up queries just work.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import {
  addressOf, bytesToHex, hexToBytes, newPrivateKey, prepareTx, publicKeyOf, signStringToSign, sqlOf, txFromPrepared,
} from '../../consensus/index.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { initNode } from '../../server/node/init.ts';
import { tempNodeDir } from '../helpers/node.ts';

const run = promisify(execFile);

describe('MySQL proxy', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let db: string;
  const conns: Connection[] = [];

  const connect = async (extra: mysql.ConnectionOptions = {}) => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: db, ...extra });
    conns.push(c);
    return c;
  };
  const poolTxs = () => node.chain.pool.txs().filter((t) => sqlOf(t));

  before(async () => {
    env = await tempNodeDir('proxy');
    await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile });
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    db = env.db.name;
  });
  after(async () => {
    for (const c of conns) await c.end().catch(() => {});
    await node?.stop();
    await env?.cleanup();
  });

  test('client start-up queries and reads pass through', async () => {
    const c = await connect();
    const [[v]] = (await c.query('SELECT @@version_comment AS v')) as any;
    assert.ok(typeof v.v === 'string');
    await c.query('SET NAMES utf8mb4');
    const [dbs] = (await c.query('SHOW DATABASES')) as any;
    assert.ok(dbs.some((r: any) => r.Database === db));
    await c.query(`USE \`${db}\``);
    const [[one]] = (await c.query('SELECT 1 + 1 AS two')) as any;
    assert.equal(one.two, 2);
    assert.equal(poolTxs().length, 0, 'reads make no transaction');
  });

  test('a large result set read by a slow client arrives byte for byte', async () => {
    // ~8 MB: more than the kernel's socket buffers hold, so the proxy's writes to the paused
    // client queue up while it keeps reading the server (its read buffer must not be reused then).
    const sql = 'SELECT seq, REPEAT(SHA2(seq, 256), 16) AS v FROM seq_1_to_8000';
    const digest = (rows: any[]) => createHash('sha256').update(rows.map((r) => `${r.seq}:${r.v}`).join('\n')).digest('hex');
    const direct = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: db });
    const [want] = (await direct.query(sql)) as any;
    await direct.end();
    const c = await connect();
    const stream = (c as any).connection.stream;
    const reading = c.query(sql);
    stream.pause();
    await new Promise((r) => setTimeout(r, 300));
    stream.resume();
    const [got] = (await reading) as any;
    assert.equal(got.length, 8000);
    assert.equal(digest(got), digest(want));
    const [[again]] = (await c.query('SELECT 41 + 1 AS n')) as any;
    assert.equal(again.n, 42, 'the connection goes on after the large response');
  });

  test('CREATE, INSERT (SET, VALUES, multi-row, no PK), UPDATE and DELETE each become a tx', async () => {
    const c = await connect();
    const before = poolTxs().length;
    await c.query('CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), age INT NULL)');
    const [ins] = (await c.query("INSERT INTO people SET name = 'ann', age = 30")) as any;
    assert.equal(ins.affectedRows, 1);
    assert.ok(ins.insertId > 0);
    assert.match(ins.info ?? '', /txid [0-9a-f]{64}/);
    await c.query("INSERT INTO people (name, age) VALUES ('bob', 40), ('cy', NULL)");
    await c.query("UPDATE people SET age = age + 1 WHERE name = 'ann'");
    await c.query('UPDATE people SET age = 99 WHERE age IS NULL');
    await c.query("DELETE FROM people WHERE name = 'bob'");
    const txs = poolTxs().slice(before);
    assert.equal(txs.length, 6);
    const [rows] = (await c.query('SELECT name, age FROM people ORDER BY id')) as any;
    assert.deepEqual(rows, [{ name: 'ann', age: 31 }, { name: 'cy', age: 99 }]);
    const ids = rows.length;
    assert.equal(ids, 2);
    // The insert's stmt names the id MySQL assigned: peers replay the same row.
    assert.match(sqlOf(txs[1])!.stmts[0], new RegExp(`${ins.insertId}`));
    assert.deepEqual(sqlOf(txs[5])!.refs.length, 1);
  });

  test('a write sent as a prepared statement is replicated, not leaked', async () => {
    const c = await connect();
    const before = poolTxs().length;
    await c.execute('INSERT INTO people (name, age) VALUES (?, ?)', ['dee', 22]);
    await c.execute('UPDATE people SET age = ? WHERE name = ?', [23, 'dee']);
    const [rows] = (await c.execute('SELECT age FROM people WHERE name = ?', ['dee'])) as any;
    assert.equal(rows[0].age, 23);
    assert.equal(poolTxs().length, before + 2);
    assert.match(sqlOf(poolTxs().at(-1)!)!.stmts[0], /23/);
  });

  test('BEGIN; two INSERTs and an UPDATE; COMMIT is one tx; ROLLBACK leaves nothing', async () => {
    const c = await connect();
    const before = poolTxs().length;
    await c.query('BEGIN');
    await c.query("INSERT INTO people (name) VALUES ('t1')");
    await c.query("INSERT INTO people (name) VALUES ('t2')");
    const [seen] = (await c.query("SELECT COUNT(*) AS n FROM people WHERE name IN ('t1','t2')")) as any;
    assert.equal(Number(seen[0].n), 2, 'the client sees its own uncommitted writes');
    await c.query("UPDATE people SET age = 5 WHERE name = 't1'");
    await c.query('COMMIT');
    assert.equal(poolTxs().length, before + 1);
    assert.equal(sqlOf(poolTxs().at(-1)!)!.stmts.length, 3);

    await c.query('BEGIN');
    await c.query("INSERT INTO people (name) VALUES ('gone')");
    await c.query('ROLLBACK');
    assert.equal(poolTxs().length, before + 1);
    const [g] = (await c.query("SELECT COUNT(*) AS n FROM people WHERE name = 'gone'")) as any;
    assert.equal(Number(g[0].n), 0);
  });

  test('ORM-style session: mysql2 beginTransaction/commit', async () => {
    const c = await connect();
    const before = poolTxs().length;
    await c.beginTransaction();
    await c.execute('INSERT INTO people (name, age) VALUES (?, ?)', ['orm', 1]);
    await c.execute('UPDATE people SET age = ? WHERE name = ?', [2, 'orm']);
    await c.commit();
    assert.equal(poolTxs().length, before + 1);
  });

  test('errors keep the connection usable; multi-statement packets mixing writes are refused', async () => {
    const c = await connect({ multipleStatements: true });
    await assert.rejects(c.query("INSERT INTO people (id, name) VALUES (1, 'dup')"), (e: any) => e.errno === 1062);
    await assert.rejects(c.query("SELECT 1; DELETE FROM people"), (e: any) => e.errno === 4103 && /several statements/.test(e.message));
    await assert.rejects(c.query("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE people"), (e: any) => e.errno === 4103);
    const [r] = (await c.query('SELECT COUNT(*) AS n FROM people')) as any;
    assert.ok(Number(r[0].n) > 0);
    const [two] = (await c.query('SELECT 1 AS a; SELECT 2 AS b')) as any;
    assert.equal(two.length, 2);
  });

  test('client-signed two steps, signed with noble and with OpenSSL; bad step 2s refused', async () => {
    const c = await connect();
    const priv = newPrivateKey();
    const pub = publicKeyOf(priv);
    const sql = "INSERT INTO people (name, age) VALUES ('signed', 7)";
    const step1 = async (q: string, key = pub) => {
      const [rows] = (await c.query(`${q} /* PUBKEY:${key}; */`)) as any;
      return Object.fromEntries(rows.map((r: any) => [r.Key, r.Value])) as Record<string, string>;
    };
    const before = poolTxs().length;
    const p = await step1(sql);
    assert.ok(p.Text.startsWith('OurSQL signed transaction v1\n'));
    assert.equal(poolTxs().length, before, 'step 1 executes nothing');
    const [none] = (await c.query("SELECT COUNT(*) AS n FROM people WHERE name = 'signed'")) as any;
    assert.equal(Number(none[0].n), 0);

    // Wrong signature, wrong key, changed SQL: refused, nothing executed.
    const sig = signStringToSign(p.StringToSign, priv);
    const bad = sig.slice(0, -2) + (sig.endsWith('00') ? '01' : '00');
    await assert.rejects(c.query(`${sql} /* DATA:${p.Transaction}; SIGN:${bad}; */`), (e: any) => e.errno === 4104);
    await assert.rejects(c.query(`${sql} /* DATA:${p.Transaction}; SIGN:${signStringToSign(p.StringToSign, newPrivateKey())}; */`), (e: any) => e.errno === 4104);
    await assert.rejects(c.query(`INSERT INTO people (name, age) VALUES ('other', 7) /* DATA:${p.Transaction}; SIGN:${sig}; */`), (e: any) => e.errno === 4105);
    assert.equal(poolTxs().length, before);

    const [ok] = (await c.query(`${sql} /* DATA:${p.Transaction}; SIGN:${sig}; */`)) as any;
    assert.equal(ok.affectedRows, 1);
    assert.match(ok.info, new RegExp(`txid ${p.TxID}`));
    const tx = poolTxs().at(-1)!;
    assert.equal(tx.id, p.TxID);
    assert.equal((tx.body as { from: string }).from, pub, 'signed by the client key');

    // OpenSSL (node:crypto) signs the same way any PHP/Python client would.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const jwk = privateKey.export({ format: 'jwk' });
    const opensslPub = publicKeyOf(bytesToHex(Buffer.from(jwk.d!, 'base64url')));
    const sql2 = "UPDATE people SET age = 8 WHERE name = 'signed'";
    const p2 = await step1(sql2, opensslPub);
    const der = createSign('sha256').update(hexToBytes(p2.StringToSign)).sign(privateKey).toString('hex');
    await c.query(`${sql2} /* DATA:${p2.Transaction}; SIGN:${der}; */`);
    assert.equal(poolTxs().at(-1)!.id, p2.TxID);
    // what peers replay is the client's WHERE limited to the row it touched
    assert.match((poolTxs().at(-1)!.body as any).sql.stmts[0], /^UPDATE `people` SET `age` = 8 WHERE \(`name` = 'signed'\) AND `id` IN \(\d+\)$/);
    assert.equal(addressOf(opensslPub).startsWith('1'), true);
    // Stale: the body no longer matches the rows (another update moved the row's base).
    const p3 = await step1("UPDATE people SET age = 9 WHERE name = 'signed'");
    await c.query("UPDATE people SET age = 10 WHERE name = 'signed'");
    await assert.rejects(
      c.query(`UPDATE people SET age = 9 WHERE name = 'signed' /* DATA:${p3.Transaction}; SIGN:${signStringToSign(p3.StringToSign, priv)}; */`),
      (e: any) => e.errno === 4106,
    );
    assert.ok(txFromPrepared(p3.Transaction, signStringToSign(p3.StringToSign, priv)));
    // Stale: a body older than 10 minutes (re-signed after moving its time back) is refused.
    const p4 = await step1("UPDATE people SET age = 11 WHERE name = 'signed'");
    const body = JSON.parse(Buffer.from(p4.Transaction, 'hex').toString('utf8'));
    body.time -= 11 * 60_000;
    const old = prepareTx(body);
    await assert.rejects(
      c.query(`UPDATE people SET age = 11 WHERE name = 'signed' /* DATA:${old.transaction}; SIGN:${signStringToSign(old.stringToSign, priv)}; */`),
      (e: any) => e.errno === 4106 && /older than 10 minutes/.test(e.message),
    );
    const [[row]] = (await c.query("SELECT age FROM people WHERE name = 'signed'")) as any;
    assert.equal(row.age, 10, 'refused step 2s executed nothing');
  });

  test('the mariadb command-line client works through the proxy', async () => {
    const args = ['-h127.0.0.1', `-P${node.proxyPort}`, '-uroot', db, '-e'];
    const r = await run('mariadb', [...args, "SELECT @@version_comment; INSERT INTO people (name) VALUES ('cli'); SELECT name FROM people WHERE name = 'cli'"]);
    assert.match(r.stdout, /cli/);
    assert.ok(poolTxs().some((t) => sqlOf(t)!.stmts[0].includes("'cli'")));
  });

  test('mining puts the SQL transactions in a block; the rows stay as they are', async () => {
    const c = await connect();
    const [before] = (await c.query('CHECKSUM TABLE people')) as any;
    const pooled = poolTxs().length;
    assert.ok(pooled > 5);
    const r = await node.miner!.mineNow();
    assert.ok('block' in r, JSON.stringify(r));
    assert.equal(r.block.txs.length - 1, pooled);
    assert.equal(poolTxs().length, 0);
    const [after] = (await c.query('CHECKSUM TABLE people')) as any;
    assert.deepEqual(after, before);
    // The next write bases on the mined tx that last touched its row.
    await c.query("UPDATE people SET age = 50 WHERE name = 'ann'");
    const base = Object.values(sqlOf(poolTxs().at(-1)!)!.base);
    assert.equal(base.length, 1);
    assert.ok(base[0] && node.chain.state.hasTx(base[0]), 'base is a confirmed tx');
  });

  test('DROP TABLE is replicated with an undo that restores the table', async () => {
    const c = await connect();
    await c.query('CREATE TABLE scratch (id INT PRIMARY KEY, s VARCHAR(10))');
    await c.query("INSERT INTO scratch VALUES (1, 'a'), (2, NULL)");
    await c.query('DROP TABLE scratch');
    const tx = poolTxs().at(-1)!;
    assert.match(sqlOf(tx)!.stmts[0], /^DROP TABLE/);
    assert.deepEqual(sqlOf(tx)!.refs, ['scratch:*']);
    assert.ok(sqlOf(tx)!.undo.some((u) => /CREATE TABLE/.test(u)) && sqlOf(tx)!.undo.some((u) => /INSERT INTO/.test(u)));
  });

  test('a malformed packet closes only its own connection', async () => {
    const { connect: tcp } = await import('node:net');
    const sock = tcp(node.proxyPort, '127.0.0.1');
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.once('data', () => {
      // A "handshake response" that is garbage: 3-byte length 5, sequence 1.
      sock.write(Buffer.from([5, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0x00]));
    });
    sock.on('error', () => {});
    await closed;
    const c = await connect();
    const [[r]] = (await c.query('SELECT 41 + 1 AS n')) as any;
    assert.equal(r.n, 42, 'the proxy still serves others');
  });
});
