/** getbalance, listbalances, send, history, unspent: coins, read from the node, sent by signing here. */
import { z } from 'zod';
import { checkAddress, coinsToUnits, unitsToCoins } from '../../consensus/index.ts';
import { Address, Balance, Coins, Hash, Prepared, Uint } from '../../server/rpc/shapes.ts';
import { pinnedChain } from '../chain.ts';
import { RemoteError } from '../errors.ts';
import { emit } from '../output.ts';
import { openSession, senderAddress, unlock, type RemoteOptions, type Session } from '../session.ts';
import { signAndSubmit } from '../twostep.ts';
import { checkTransfer } from '../verify.ts';

type BalanceView = z.infer<typeof Balance>;
const balanceLine = (b: BalanceView): string => `${b.address}: approved ${b.approved}, pending ${b.pending}, total ${b.total}`;

const balanceOf = (s: Session, address: string): Promise<BalanceView> => s.call('getbalance', { address }, Balance);

export async function getBalanceCommand(address: string | undefined, opts: RemoteOptions): Promise<void> {
  const s = await openSession(opts);
  const target = address === undefined ? senderAddress(s).address : checkAddress(address);
  const b = await balanceOf(s, target);
  if (b.address !== target) throw new RemoteError(`the node answered the balance of ${b.address}, not of ${target}`);
  emit(opts, b, balanceLine(b));
}

export async function listBalancesCommand(opts: RemoteOptions): Promise<void> {
  const s = await openSession(opts);
  const balances: BalanceView[] = [];
  for (const k of s.keystore.list()) balances.push(await balanceOf(s, k.address));
  emit(opts, { balances }, () => (balances.length ? balances.map(balanceLine).join('\n') : 'the keystore holds no key (createwallet makes one)'));
}

/** Without --from: the first keystore address whose total covers the amount (else the first one). */
async function payer(s: Session, from: string | undefined, units: bigint) {
  if (from !== undefined) return senderAddress(s, checkAddress(from, 'sender'));
  for (const k of s.keystore.list()) {
    if (coinsToUnits((await balanceOf(s, k.address)).total) >= units) return k;
  }
  return senderAddress(s);
}

export async function sendCommand(opts: RemoteOptions & { to: string; amount: string; from?: string }): Promise<void> {
  const to = checkAddress(opts.to, 'recipient');
  const units = coinsToUnits(opts.amount);
  if (units <= 0n) throw new RemoteError('amount must be more than 0');
  const s = await openSession(opts);
  const key = await payer(s, opts.from, units);
  const chain = await pinnedChain(s.call, s.settings, s.paths.settings);
  const prepared = await s.call('preparesend', { from: key.pubkey, to, amount: unitsToCoins(units) }, Prepared);
  const r = await signAndSubmit(
    s.call,
    prepared,
    (d) => {
      checkTransfer(d, { pubkey: key.pubkey, chain: chain.genesis, now: Date.now(), to, units });
      return `Checked: ${unitsToCoins(units)} coins from ${key.address} to ${to}, change back to ${key.address}.`;
    },
    { address: key.address, privateKey: async () => (await unlock(s)).privateKey(key.address) },
    !!opts.yes,
  );
  const out = { txid: r.txid, from: key.address, to, amount: unitsToCoins(units) };
  emit(opts, out, `sent ${out.amount} coins from ${out.from} to ${out.to}\ntxid ${out.txid}`);
}

const HistoryShape = z.object({
  address: Address,
  total: Uint,
  txs: z.array(z.object({
    txid: Hash, status: z.enum(['confirmed', 'pool']), height: Uint.nullable(), confirmations: Uint, time: Uint, from: Address.nullable(),
    received: Coins, sent: Coins, net: Coins, sql: z.array(z.string()).optional(),
  }).loose()),
});

export async function historyCommand(address: string, opts: RemoteOptions & { skip?: number; count?: number }): Promise<void> {
  const s = await openSession(opts);
  const h = await s.call('getaddresshistory', { address: checkAddress(address), skip: opts.skip ?? 0, count: opts.count ?? 100 }, HistoryShape);
  emit(opts, h, () =>
    [
      `${h.total} transaction(s) of ${h.address}`,
      ...h.txs.map((t) => {
        const where = t.height === null ? 'pending' : `block ${t.height}`;
        const who = t.from === null ? 'coinbase' : t.from === h.address ? 'sent by this address' : `from ${t.from}`;
        return `${t.txid} ${where} ${new Date(t.time).toISOString()} ${t.net.startsWith('-') ? '' : '+'}${t.net} (${who})${t.sql ? `; sql: ${t.sql.join('; ')}` : ''}`;
      }),
    ].join('\n'),
  );
}

const UnspentShape = z.array(z.object({ txid: Hash, n: Uint, address: Address, amount: Coins, height: Uint.nullable(), confirmations: Uint }));

export async function unspentCommand(address: string, opts: RemoteOptions): Promise<void> {
  const s = await openSession(opts);
  const target = checkAddress(address);
  const unspent = await s.call('listunspent', { address: target }, UnspentShape);
  emit(opts, { address: target, unspent }, () =>
    unspent.length
      ? unspent.map((u) => `${u.txid}:${u.n} ${u.amount} ${u.height === null ? 'pending' : `block ${u.height}, ${u.confirmations} confirmation(s)`}`).join('\n')
      : `${target} has no spendable output`,
  );
}
