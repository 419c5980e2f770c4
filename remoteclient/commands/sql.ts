/** sql "STATEMENT": an update signed here, in two steps over RPC (preparesql, submitsigned). */
import { checkAddress, unitsToCoins } from '../../consensus/index.ts';
import { Prepared } from '../../server/rpc/shapes.ts';
import { SqlClassifier } from '../../server/sql/classify.ts';
import { pinnedChain } from '../chain.ts';
import { emit } from '../output.ts';
import { openSession, senderAddress, unlock, type RemoteOptions } from '../session.ts';
import { signAndSubmit } from '../twostep.ts';
import { checkSqlUpdate } from '../verify-sql.ts';

export async function sqlCommand(statement: string, opts: RemoteOptions & { from?: string }): Promise<void> {
  const s = await openSession(opts);
  const key = senderAddress(s, opts.from === undefined ? undefined : checkAddress(opts.from, 'signer'));
  const chain = await pinnedChain(s.call, s.settings, s.paths.settings);
  const prepared = await s.call('preparesql', { pubkey: key.pubkey, sql: statement }, Prepared);
  const classifier = new SqlClassifier();
  const r = await signAndSubmit(
    s.call,
    prepared,
    (d) => {
      const { cost, table } = checkSqlUpdate(d, {
        pubkey: key.pubkey, chain: chain.genesis, now: Date.now(), sql: statement, consensus: chain.consensus, height: chain.height, classifier,
      });
      return `Checked: your statement on table ${table}, signed by ${key.address}${cost > 0n ? `, paying its cost of ${unitsToCoins(cost)} coins` : ''}.`;
    },
    { address: key.address, privateKey: async () => (await unlock(s)).privateKey(key.address) },
    !!opts.yes,
  );
  const out = { txid: r.txid, from: key.address, pubkey: key.pubkey, affectedRows: r.affectedRows ?? 0, insertId: r.insertId ?? '0' };
  emit(opts, out, `${out.affectedRows} row(s) affected, txid ${out.txid} (signed by ${out.from})`);
}
