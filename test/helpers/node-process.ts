// A node in a child process for crash tests: `node --import tsx test/helpers/node-process.ts DATADIR`.
// OURSQL_TEST_SENDS=N[,M…]: after start, send N small payments from the minter (so the miner has
// work), wait for the next block, send M more, …
// OURSQL_TEST_HANG_FILE=F: inside the first block's MySQL transaction, write F and hang (then get killed).
import { writeFileSync } from 'node:fs';
import { coinsToUnits, signTx } from '../../consensus/index.ts';
import { buildTransfer } from '../../server/chain/send.ts';
import { OursqlNode } from '../../server/node/node.ts';

const datadir = process.argv[2];
const hangFile = process.env.OURSQL_TEST_HANG_FILE;
const node = await OursqlNode.start({
  datadir,
  overrides: { rpcPort: 0, proxyPort: 0 },
  log: (m) => process.stderr.write(`${m}\n`),
  beforeCommit: hangFile
    ? async () => {
        writeFileSync(hangFile, 'in block transaction');
        await new Promise(() => {});
      }
    : undefined,
});
const batches = (process.env.OURSQL_TEST_SENDS ?? '0').split(',').map(Number);
const minter = node.wallet.key(node.config.minter!);
const to = (await node.wallet.create()).address;
for (const [i, count] of batches.entries()) {
  if (i > 0) await new Promise((r) => node.chain.once('tip', r));
  for (let k = 0; k < count; k++) {
    const body = await buildTransfer(node.chain, minter.pubkey, to, coinsToUnits('0.1'));
    await node.chain.submitTx(signTx(body, minter.privateKey));
  }
}
process.stdout.write(`SENT ${batches.join(',')} at height ${node.chain.height}\n`);
