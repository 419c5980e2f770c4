// `oursql sql`: statements signed with a node-held key, as the original's `sql` command.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { oursql } from '../helpers/cli.ts';
import { tempNodeDir } from '../helpers/node.ts';

describe('oursql sql', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  after(async () => env?.cleanup());

  test('updates become pooled txs signed by the wallet key; reads return rows; errors exit 1', async () => {
    env = await tempNodeDir('clisql');
    const common = ['--datadir', env.datadir, '--json'];
    const ok = async (...args: string[]) => {
      const r = await oursql([...args, ...common]);
      assert.equal(r.code, 0, `oursql ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim());
    };
    const init = await ok('init', '--mysql', env.db.url, '--consensus', env.consensusFile);
    const created = await ok('sql', 'CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)');
    assert.match(created.txid, /^[0-9a-f]{64}$/);
    assert.equal(created.from, init.minter);
    const ins = await ok('sql', "INSERT INTO notes (body) VALUES ('hello')");
    assert.equal(ins.affectedRows, 1);
    assert.equal(ins.insertId, '1');
    const pool = await ok('pool');
    const ids = JSON.stringify(pool);
    assert.ok(ids.includes(created.txid) && ids.includes(ins.txid), 'both txs are pooled');
    // the text form: an SQL-only tx shows its SQL, no "0 coins → " with nobody after the arrow
    const text = await oursql(['pool', '--datadir', env.datadir]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes(`${ins.txid} from ${init.minter}: sql: INSERT INTO \`notes\``), text.stdout);
    assert.doesNotMatch(text.stdout, /coins →/);
    const read = await ok('sql', 'SELECT id, body FROM notes');
    assert.deepEqual(read, { columns: ['id', 'body'], rows: [['1', 'hello']] });
    const bad = await oursql(['sql', 'INSERT INTO nope VALUES (1)', ...common]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /nope/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
