// A node whose --mysql points where nothing listens: it comes up on a private mariadbd it starts
// itself, keeps its data across a restart, and stops that server on `oursql stop`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isAlive } from '../../server/cli/daemon.ts';
import { ManagedMariaDB } from '../../server/mysql/managed.ts';
import { oursql, pidOf } from '../helpers/cli.ts';
import { freePort, tempNodeDir } from '../helpers/node.ts';

describe('managed MariaDB through the CLI', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  after(async () => {
    if (env) {
      await oursql(['stop', '--datadir', env.datadir]);
      await new ManagedMariaDB({ dir: join(env.datadir, 'mysql') }).stop();
      await env.cleanup();
    }
  });

  test('init, start, send, mine, stop, restart: data kept, private server stopped with the node', async () => {
    env = await tempNodeDir('managed');
    const deadPort = await freePort();
    const rpcPort = await freePort();
    const proxyPort = await freePort();
    const url = `mysql://root@127.0.0.1:${deadPort}/oursql_test_managed`;
    const common = ['--datadir', env.datadir, '--json'];
    const ok = async (...args: string[]) => {
      const r = await oursql([...args, ...common]);
      assert.equal(r.code, 0, `oursql ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!);
    };
    const managed = new ManagedMariaDB({ dir: join(env.datadir, 'mysql') });

    const init = await ok('init', '--mysql', url, '--consensus', env.consensusFile);
    assert.ok(existsSync(join(env.datadir, 'mysql', 'data')), 'the private server keeps its data under the datadir');
    assert.equal(await managed.isRunning(), false, 'init stops the server it started');

    await ok('start', '--rpc-port', String(rpcPort), '--proxy-port', String(proxyPort));
    assert.equal(await managed.isRunning(), true, 'start brought up the private server');
    const to = (await ok('wallet', 'new')).address;
    await ok('send', '--from', init.minter, '--to', to, '--amount', '2.5');
    // The node mines block 1 (one tx) by itself.
    for (let i = 0; (await ok('status')).height < 1; i++) {
      assert.ok(i < 100, 'block 1 was not mined');
      await new Promise((r) => setTimeout(r, 100));
    }

    const pid = await pidOf(env.datadir);
    assert.ok(pid && isAlive(pid));
    await ok('stop');
    assert.equal(isAlive(pid), false, 'the node process is gone');
    assert.equal(await managed.isRunning(), false, 'oursql stop stopped the private server');

    await ok('start', '--rpc-port', String(rpcPort), '--proxy-port', String(proxyPort));
    const status = await ok('status');
    assert.equal(status.height, 1, 'the chain survived the restart');
    const bal = await ok('balance', to);
    assert.equal(bal.approved, '2.5');

    // An import whose MySQL does not answer either replays into a private server of its own, which
    // runs from the set-up through the replay and is stopped when the import ends.
    const imported = await tempNodeDir('managedimp');
    const importedServer = new ManagedMariaDB({ dir: join(imported.datadir, 'mysql') });
    try {
      const url2 = `mysql://root@127.0.0.1:${await freePort()}/oursql_test_managedimp`;
      const r = await oursql(['import', '--peer', `127.0.0.1:${rpcPort}`, '--mysql', url2, '--datadir', imported.datadir, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const done = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.deepEqual([done.height, done.blocks, done.genesis], [1, 1, status.genesis]);
      assert.equal(await importedServer.isRunning(), false, 'the import stopped its private server');
      const again = await oursql(['balance', to, '--datadir', imported.datadir, '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout.trim().split('\n').pop()!).approved, '2.5', 'the imported node holds the chain');
    } finally {
      await importedServer.stop();
      await imported.cleanup();
    }
    await ok('stop');
    assert.equal(await managed.isRunning(), false);
  });
});
