// The web signer in real headless Chromium against a real in-process node on the real MariaDB:
// a wallet made in the page, coins received, sent and seen pending then confirmed; an INSERT signed
// in two steps by the browser key and found in MySQL; a body the page did not ask for refused; the
// wallet surviving a reload locked; keys imported (hex and oursql-remote's export file); a narrow
// screen; the keyboard. Throughout: no console error, and no private key or passphrase in any request.
// Screenshots of each screen go to test-output/screenshots/.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  addressOf, hexToBytes, newPrivateKey, parseCanonical, prepareTx, publicKeyOf, utf8Decode, type TransferBody,
} from '../../consensus/index.ts';
import { SealedKeystore } from '../../remoteclient/keystore-core.ts';
import { initNode } from '../../server/node/init.ts';
import { OursqlNode } from '../../server/node/node.ts';
import { rootConnection } from '../helpers/mysql.ts';
import { tempNodeDir } from '../helpers/node.ts';
import { oursqlRemote, rpcCaller } from '../helpers/remote.ts';
import { byTest, ensureWebSignerBuilt, launchChromium, screenshot, waitForText, watch, type SeenRequest } from './support.ts';

/** One block per transaction from height 1: each step can be mined on its own. */
const CONSENSUS = { CoinsForBlockMade: 10, Settings: { Complexity: 8, ComplexityStep2: 8, MaxMinNumberTransactionInBlock: 1 } };
const PASSPHRASE = 'correct horse battery staple';

describe('the web signer in Chromium against a running node', () => {
  let env: Awaited<ReturnType<typeof tempNodeDir>>;
  let node: OursqlNode;
  let base = '';
  let rpc: ReturnType<typeof rpcCaller>;
  let minter = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let seen: ReturnType<typeof watch>;
  const pages: ReturnType<typeof watch>[] = [];
  const known = { first: '', second: '', firstPubkey: '' };
  /** Private keys given to the page from outside (imports): they must not travel either. */
  const givenKeys: string[] = [];
  let remoteDir = '';

  const open = async (ctx: BrowserContext, width = 1100, height = 900): Promise<Page> => {
    const p = await ctx.newPage();
    await p.setViewportSize({ width, height });
    pages.push(watch(p));
    return p;
  };
  const go = async (p: Page, route: string): Promise<void> => {
    await byTest(p, `nav-${route}`).click();
    await p.waitForFunction((r) => location.hash === `#/${r}`, route);
  };
  const row = (p: Page, address: string) => p.locator(`tr[data-address="${address}"]`);
  const balanceOf = async (p: Page, address: string) => ({
    approved: (await byTest(row(p, address), 'approved').textContent())?.trim(),
    pending: (await byTest(row(p, address), 'pending').textContent())?.trim(),
    total: (await byTest(row(p, address), 'total').textContent())?.trim(),
  });
  /** Refresh the wallet screen until `address` shows `want` (approved/pending/total). */
  const waitBalance = async (p: Page, address: string, want: { approved: string; pending: string; total: string }): Promise<void> => {
    const end = Date.now() + 20_000;
    for (;;) {
      await byTest(p, 'refresh').click();
      await p.waitForTimeout(300);
      const got = await balanceOf(p, address);
      if (JSON.stringify(got) === JSON.stringify(want)) return;
      if (Date.now() > end) assert.deepEqual(got, want, `balance of ${address}`);
    }
  };

  before(async () => {
    await ensureWebSignerBuilt();
    env = await tempNodeDir('websigner');
    await writeFile(env.consensusFile, JSON.stringify(CONSENSUS));
    minter = (await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: env.consensusFile })).minter;
    node = await OursqlNode.start({ datadir: env.datadir, overrides: { rpcPort: 0, proxyPort: 0, mining: false }, log: () => {} });
    base = `http://127.0.0.1:${node.rpcPort}`;
    rpc = rpcCaller(`${base}/rpc`, node.cookie);
    browser = await launchChromium();
    context = await browser.newContext();
    page = await open(context);
    seen = pages[0];
    remoteDir = await mkdtemp(join(tmpdir(), 'oursql-websigner-remote-'));
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    await env?.cleanup();
    if (remoteDir) await rm(remoteDir, { recursive: true, force: true });
  });

  test('the node serves the page at / with a strict CSP; /rpc and /p2p still answer', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/);
    assert.match(await res.text(), /<oursql-app>/);
    assert.equal(await rpc('getblockcount'), 0);
    const p2p = await fetch(`${base}/p2p`, { method: 'POST', body: '{}' });
    assert.equal(p2p.status, 400, 'the peer protocol still answers (a bad request here)');
    assert.equal(((await p2p.json()) as { error: { code: string } }).error.code, 'bad-request');
    assert.equal((await fetch(`${base}/no-such-file.js`)).status, 404);
  });

  test('create a wallet: a passphrase typed twice, an address shown', async () => {
    await page.goto(`${base}/`);
    await byTest(page, 'create-form').waitFor();
    await screenshot(page, '01-setup');
    await byTest(page, 'new-passphrase').first().fill(PASSPHRASE);
    await byTest(page, 'repeat-passphrase').first().fill('not the same');
    await byTest(page, 'create').click();
    await waitForText(byTest(page, 'create-form'), /the two passphrases differ/);
    await byTest(page, 'repeat-passphrase').first().fill(PASSPHRASE);
    await byTest(page, 'create').click();
    await page.locator('tr[data-address]').first().waitFor();
    known.first = (await page.locator('tr[data-address]').first().getAttribute('data-address'))!;
    known.firstPubkey = (await page.locator('tr[data-address] td[title]').first().getAttribute('title'))!;
    assert.match(known.first, /^1[1-9A-HJ-NP-Za-km-z]{25,34}$/);
    assert.equal(addressOf(known.firstPubkey), known.first);
    await waitForText(byTest(page, 'lock-state'), /Unlocked/);
    await byTest(page, 'new-address').click();
    await page.locator('tr[data-address]').nth(1).waitFor();
    known.second = (await page.locator('tr[data-address]').nth(1).getAttribute('data-address'))!;
    assert.notEqual(known.second, known.first);
    await waitForText(row(page, known.first).locator('[data-test="total"]'), /^0$/);
    await screenshot(page, '02-wallet-new');
  });

  test('receive coins from the node wallet, send 1 coin to another address: pending, then confirmed', async () => {
    await rpc('sendtoaddress', { from: minter, to: known.first, amount: '5' });
    await rpc('mine');
    await waitBalance(page, known.first, { approved: '5', pending: '0', total: '5' });

    await go(page, 'send');
    await byTest(page, 'send-from').selectOption(known.first);
    await byTest(page, 'send-to').fill(known.second);
    await byTest(page, 'send-amount').fill('1');
    await byTest(page, 'prepare').click();
    const text = await waitForText(byTest(page, 'review-text'), /OurSQL signed transaction v1/);
    // The full message is shown before signing: recipient and amount in base units, from this key.
    assert.ok(text.startsWith('OurSQL signed transaction v1\n{"chain":'), text);
    assert.match(text, new RegExp(`"amount":"100000000","to":"${known.second}"`));
    assert.match(text, new RegExp(`"from":"${known.firstPubkey}"`));
    assert.match(await byTest(page, 'review').textContent() ?? '', /Checked: 1 coins from .* to .*, change back to/);
    assert.equal(seen.requests.filter((r) => r.body.includes('submitsigned')).length, 0, 'nothing is submitted before the person confirms');
    await screenshot(page, '03-send-review');
    await byTest(page, 'sign').click();
    await waitForText(byTest(page, 'sent'), /Sent 1 coin to/);
    const txid = (await byTest(page, 'txid').textContent())!.trim();
    await screenshot(page, '04-send-done');

    const tx = await rpc('gettransaction', [txid]);
    assert.equal(tx.status, 'pool');
    assert.equal(tx.body.from, known.firstPubkey, 'signed by the browser key');
    assert.deepEqual(await rpc('getrawmempool'), [txid]);

    await go(page, 'wallet');
    await waitBalance(page, known.first, { approved: '5', pending: '-1', total: '4' });
    await waitBalance(page, known.second, { approved: '0', pending: '1', total: '1' });
    await page.locator(`[data-test="history"] tr[data-txid="${txid}"][data-status="pool"]`).waitFor();
    await screenshot(page, '05-wallet-pending');

    await rpc('mine');
    await waitBalance(page, known.first, { approved: '4', pending: '0', total: '4' });
    await waitBalance(page, known.second, { approved: '1', pending: '0', total: '1' });
    await page.locator(`[data-test="history"] tr[data-txid="${txid}"][data-status="confirmed"]`).waitFor();
    await screenshot(page, '06-wallet-confirmed');
  });

  test('errors from the node and from the checks are shown in place', async () => {
    await go(page, 'send');
    await byTest(page, 'send-from').selectOption(known.first);
    await byTest(page, 'send-to').fill(known.second);
    await byTest(page, 'send-amount').fill('1000');
    await byTest(page, 'prepare').click();
    await waitForText(byTest(page, 'send-form').locator('.error'), /the node refused: insufficient funds: .* \(code -6\)/);
    await screenshot(page, '07-send-node-error');

    const bad = known.second.slice(0, -3) + (known.second.at(-3) === 'a' ? 'b' : 'a') + known.second.slice(-2);
    await byTest(page, 'send-to').fill(bad);
    await byTest(page, 'send-amount').fill('1');
    await byTest(page, 'prepare').click();
    await waitForText(byTest(page, 'send-form').locator('.error'), /recipient/);
  });

  test('a prepared body that is not what was asked for is refused before anything is signed', async () => {
    // A node that swaps the recipient and re-encodes everything consistently (txid, StringToSign, Text).
    const eve = addressOf(publicKeyOf(newPrivateKey()));
    await page.route(`${base}/rpc`, async (route) => {
      const req = JSON.parse(route.request().postData() ?? '{}');
      if (req.method !== 'preparesend') return route.continue();
      const res = await route.fetch();
      const body = await res.json();
      const tx = parseCanonical(utf8Decode(hexToBytes(body.result.transaction))) as TransferBody;
      const evil = prepareTx({ ...tx, out: tx.out.map((o) => (o.to === known.second ? { ...o, to: eve } : o)) });
      await route.fulfill({ response: res, json: { ...body, result: evil } });
    });
    try {
      const before = seen.requests.filter((r) => r.body.includes('submitsigned')).length;
      await byTest(page, 'send-to').fill(known.second);
      await byTest(page, 'send-amount').fill('1');
      await byTest(page, 'prepare').click();
      await waitForText(byTest(page, 'send-form').locator('.error'), new RegExp(`refused to sign: the body pays 1 coins to ${eve}, which was not asked for`));
      assert.equal(await byTest(page, 'review').count(), 0, 'no signing screen');
      assert.equal(seen.requests.filter((r) => r.body.includes('submitsigned')).length, before, 'nothing submitted');
      await screenshot(page, '08-send-tampered-refused');
    } finally {
      await page.unroute(`${base}/rpc`);
    }
  });

  test('an INSERT signed in two steps by the browser key: the row is in MySQL, the tx is from the browser key', async () => {
    await go(page, 'sql');
    const run = async (sql: string, shot?: string): Promise<string> => {
      await byTest(page, 'sql-from').selectOption(known.first);
      await byTest(page, 'sql-text').fill(sql);
      await byTest(page, 'prepare').click();
      await waitForText(byTest(page, 'review-text'), /OurSQL signed transaction v1/);
      if (shot) await screenshot(page, shot);
      await byTest(page, 'sign').click();
      await waitForText(byTest(page, 'sql-done'), /Done: \d+ row\(s\) affected/);
      return (await byTest(page, 'txid').textContent())!.trim();
    };
    await run('CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(100) NOT NULL)');

    await byTest(page, 'sql-text').fill("INSERT INTO notes (body) VALUES ('hello from the browser')");
    await byTest(page, 'prepare').click();
    const sqlShown = await waitForText(byTest(page, 'review-sql'), /INSERT INTO `notes`/);
    assert.match(sqlShown, /'hello from the browser'/);
    assert.match(await byTest(page, 'review-cost').textContent() ?? '', /none \(0 coins\)/);
    assert.match(await byTest(page, 'review-text').textContent() ?? '', /"stmts":\["INSERT INTO `notes`/);
    await screenshot(page, '09-sql-review');
    await byTest(page, 'sign').click();
    await waitForText(byTest(page, 'sql-done'), /1 row\(s\) affected, insert id 1/);
    const txid = (await byTest(page, 'txid').textContent())!.trim();
    await screenshot(page, '10-sql-done');

    const c = await rootConnection();
    try {
      const [rows] = await c.query(`SELECT id, body FROM \`${env.db.name}\`.notes`);
      assert.deepEqual(rows, [{ id: 1, body: 'hello from the browser' }]);
    } finally {
      await c.end();
    }
    await rpc('mine');
    const tx = await rpc('gettransaction', [txid]);
    assert.equal(tx.status, 'confirmed');
    assert.equal(tx.body.from, known.firstPubkey, 'the INSERT is signed by the browser key');
    assert.equal(tx.body.sql.stmts.length, 1);
    assert.match(tx.body.sql.stmts[0], /^INSERT INTO `notes` \(`body`, `id`\) VALUES \('hello from the browser', ?1\)$/);
  });

  test('chain view: latest blocks, a block\'s transactions, the pool', async () => {
    await rpc('sendtoaddress', { from: minter, to: known.second, amount: '2' });
    await go(page, 'chain');
    const height = Number(await waitForText(byTest(page, 'height'), /^\d+$/));
    assert.equal(height, await rpc('getblockcount'));
    await waitForText(byTest(page, 'pool'), /Pool \(1 pending\)/);
    await byTest(page, `block-${height}`).click();
    await waitForText(byTest(page, 'block'), /INSERT INTO `notes`/);
    await screenshot(page, '11-chain');
    await rpc('mine');
  });

  test('reload: the wallet is still there, locked; a wrong passphrase is refused; the right one unlocks', async () => {
    await go(page, 'wallet');
    await page.reload();
    await waitForText(byTest(page, 'lock-state'), /Locked/);
    await row(page, known.first).waitFor();
    assert.equal(await page.locator('tr[data-address]').count(), 2);
    // By keyboard: type the passphrase, press Enter.
    await byTest(page, 'unlock-passphrase').focus();
    await page.keyboard.type('not the passphrase');
    await page.keyboard.press('Enter');
    await waitForText(page.locator('unlock-form .error'), /wrong passphrase for the keystore in this browser/);
    await screenshot(page, '12-unlock-wrong');
    await waitForText(byTest(page, 'lock-state'), /Locked/);
    await byTest(page, 'unlock-passphrase').fill(PASSPHRASE);
    await page.keyboard.press('Enter');
    await waitForText(byTest(page, 'lock-state'), /Unlocked/);
    await byTest(page, 'lock').click();
    await waitForText(byTest(page, 'lock-state'), /Locked/);
  });

  test('signing while locked asks for the passphrase in the review', async () => {
    await go(page, 'send');
    await byTest(page, 'send-from').selectOption(known.second);
    await byTest(page, 'send-to').fill(known.first);
    await byTest(page, 'send-amount').fill('0.5');
    await byTest(page, 'prepare').click();
    await byTest(page, 'sign-passphrase').fill('wrong wrong');
    await byTest(page, 'sign').click();
    await waitForText(byTest(page, 'review').locator('.error'), /wrong passphrase/);
    await byTest(page, 'sign-passphrase').fill(PASSPHRASE);
    await byTest(page, 'sign').click();
    await waitForText(byTest(page, 'sent'), /Sent 0.5 coins to/);
    await waitForText(byTest(page, 'lock-state'), /Unlocked/);
    await rpc('mine');
  });

  test('import keys: pasted hex, and the file oursql-remote exportwallet writes (into a new browser too)', async () => {
    const hexKey = newPrivateKey();
    givenKeys.push(hexKey);
    await go(page, 'wallet');
    await page.locator('details summary', { hasText: 'Import keys' }).click();
    await byTest(page, 'import-keys').fill(hexKey);
    await byTest(page, 'import').click();
    await waitForText(byTest(page, 'import-form').locator('.ok'), new RegExp(`imported ${addressOf(publicKeyOf(hexKey))}`));
    await row(page, addressOf(publicKeyOf(hexKey))).waitFor();

    // The backup: every key in clear, in exportwallet's format, after the passphrase again.
    await page.locator('details summary', { hasText: 'Export keys' }).click();
    await byTest(page, 'export-passphrase').fill('wrong passphrase');
    await byTest(page, 'export').click();
    await waitForText(byTest(page, 'export-form').locator('.error'), /wrong passphrase/);
    await byTest(page, 'export-passphrase').fill(PASSPHRASE);
    await byTest(page, 'export').click();
    await byTest(page, 'export-text').waitFor();
    const backup = JSON.parse(await byTest(page, 'export-text').inputValue());
    assert.deepEqual(backup.keys.map((k: { address: string }) => k.address), [known.first, known.second, addressOf(publicKeyOf(hexKey))]);
    assert.equal(backup.keys[2].privateKey, hexKey);
    await screenshot(page, '13-export');
    await byTest(page, 'export-hide').click();
    assert.equal(await byTest(page, 'export-text').count(), 0);

    // A real export from oursql-remote, imported into a browser that has no wallet yet.
    const env2 = { OURSQL_PASSPHRASE: 'remote passphrase' };
    const made = await oursqlRemote(['createwallet', '--dir', remoteDir, '--json'], env2);
    assert.equal(made.code, 0, made.stderr);
    const remote = JSON.parse(made.stdout);
    const file = join(remoteDir, 'export.json');
    const exported = await oursqlRemote(['exportwallet', file, '--dir', remoteDir, '--json'], env2);
    assert.equal(exported.code, 0, exported.stderr);
    givenKeys.push(...JSON.parse(await readFile(file, 'utf8')).keys.map((k: { privateKey: string }) => k.privateKey));

    const fresh = await browser.newContext();
    try {
      const p = await open(fresh);
      await p.goto(`${base}/`);
      const form = byTest(p, 'import-form');
      await form.waitFor();
      await byTest(form, 'import-file').setInputFiles(file);
      await byTest(form, 'new-passphrase').fill('another passphrase');
      await byTest(form, 'repeat-passphrase').fill('another passphrase');
      await screenshot(p, '14-import-file');
      await byTest(form, 'import').click();
      await row(p, remote.address).waitFor();
      assert.equal(await p.locator('tr[data-address]').count(), 1);
      await waitForText(byTest(p, 'lock-state'), /Unlocked/);
    } finally {
      await fresh.close();
    }
  });

  test('two tabs: a tab that is behind refuses to add keys instead of losing the other tab\'s', async () => {
    const other = await open(context);
    await other.goto(`${base}/#/wallet`);
    await row(other, known.first).waitFor();
    await byTest(other, 'unlock-passphrase').fill(PASSPHRASE);
    await other.keyboard.press('Enter');
    await waitForText(byTest(other, 'lock-state'), /Unlocked/);
    const before = await page.locator('tr[data-address]').count();
    await byTest(page, 'new-address').click();
    await page.locator('tr[data-address]').nth(before).waitFor();
    await byTest(other, 'new-address').click();
    await waitForText(other.locator('wallet-view .error'), /the wallet was changed in another tab or window: reload this page first/);
    await other.reload();
    await other.locator('tr[data-address]').nth(before).waitFor();
    assert.equal(await other.locator('tr[data-address]').count(), before + 1);
    await other.close();
  });

  test('a narrow screen: every screen fits 360 px without sideways scrolling', async () => {
    const narrow = await open(context, 360, 760);
    await narrow.goto(`${base}/#/wallet`);
    await row(narrow, known.first).waitFor();
    for (const route of ['wallet', 'send', 'sql', 'chain']) {
      if (route !== 'wallet') await go(narrow, route);
      await narrow.waitForTimeout(300);
      const { scroll, width } = await narrow.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
      assert.ok(scroll <= width, `${route}: the page is ${scroll}px wide in a ${width}px window`);
      await screenshot(narrow, `15-narrow-${route}`);
    }
    await narrow.close();
  });

  test('keyboard: every control is reachable by Tab and named; the nav works with Enter', async () => {
    await page.goto(`${base}/#/wallet`);
    await row(page, known.first).waitFor();
    // Unnamed controls would be unusable with a screen reader.
    // (A string: the test runner's transpiler would add helpers the page does not have to a function.)
    const unnamed = await page.evaluate<string[]>(`(() => {
      const out = [];
      const visit = (root) => {
        for (const el of root.querySelectorAll('*')) {
          if (el.shadowRoot) visit(el.shadowRoot);
          const field = el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement;
          if (field && el.labels.length === 0 && !el.getAttribute('aria-label')) out.push(el.outerHTML);
          if (el instanceof HTMLButtonElement && !el.textContent.trim() && !el.getAttribute('aria-label')) out.push(el.outerHTML);
        }
      };
      visit(document);
      return out;
    })()`);
    assert.deepEqual(unnamed, []);
    // Tab from the top reaches the "Send" link; Enter opens it and focus lands on its heading.
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => {
        let el = document.activeElement;
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
        return el?.getAttribute('data-test') === 'nav-send';
      });
    }
    assert.ok(reached, 'Tab reaches the Send link');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/send');
    await page.waitForFunction(() => {
      let el = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      return el?.tagName === 'H2' && el.textContent === 'Send coins';
    });
  });

  test('no private key and no passphrase in any request; every request went to the node; no console error', async () => {
    // The page's own keys: read the sealed keystore from IndexedDB and open it here with the passphrase.
    const text = await page.evaluate(
      () => new Promise<string>((resolve, reject) => {
        const req = indexedDB.open('oursql-web-signer');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const get = req.result.transaction('kv').objectStore('kv').get('keystore');
          get.onsuccess = () => resolve(get.result as string);
          get.onerror = () => reject(get.error);
        };
      }),
    );
    const keystore = await SealedKeystore.load({ name: 'the page', read: async () => text, write: async () => {} });
    const ring = keystore.unlock(PASSPHRASE);
    const keys = [...ring.list().map((k) => ring.privateKey(k.address)), ...givenKeys];
    assert.ok(keys.length >= 4, `keys: ${keys.length}`);
    assert.ok(!text.includes(keys[0]), 'IndexedDB holds the key sealed, not in clear');

    const all: SeenRequest[] = pages.flatMap((p) => p.requests);
    assert.ok(all.filter((r) => r.url === `${base}/rpc`).length > 20, 'the page talked to the node');
    const secrets = [
      ...keys.flatMap((k) => [k, k.toUpperCase(), Buffer.from(k, 'hex').toString('base64'), k.slice(8, 40)]),
      PASSPHRASE, 'another passphrase', 'remote passphrase',
    ];
    for (const r of all) {
      assert.ok(r.url.startsWith(`${base}/`) || r.url.startsWith('data:'), `request to ${r.url}`);
      for (const s of secrets) {
        assert.ok(!r.url.includes(s) && !r.body.includes(s), `a secret (${s.slice(0, 6)}…) in ${r.method} ${r.url}`);
      }
    }
    for (const r of all.filter((x) => x.method === 'POST')) assert.equal(r.url, `${base}/rpc`, 'the page posts only JSON-RPC');
    assert.deepEqual(pages.flatMap((p) => p.problems), []);
  });
});
