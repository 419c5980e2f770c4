/** wallet new, wallet list, balance, send: the node-held keys and coins. */
import type { CommonOptions } from '../options.ts';
import { emit } from '../output.ts';
import { withNode } from '../session.ts';

interface BalanceView { address: string; approved: string; pending: string; total: string }
interface WalletAddress { address: string; pubkey: string }

const balanceLine = (b: BalanceView): string => `${b.address}: approved ${b.approved}, pending ${b.pending}, total ${b.total}`;

export async function walletNewCommand(opts: CommonOptions): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const r = await call<WalletAddress>('getnewaddress');
    emit(opts, r, `${r.address}\npubkey ${r.pubkey}`);
  });
}

export async function walletListCommand(opts: CommonOptions): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const addresses = await call<WalletAddress[]>('listaddresses');
    emit(opts, { addresses }, () => (addresses.length ? addresses.map((a) => a.address).join('\n') : 'the wallet holds no address (oursql wallet new)'));
  });
}

/** One address → its balance; none → every wallet address (`{balances: [...]}` with --json). */
export async function balanceCommand(address: string | undefined, opts: CommonOptions): Promise<void> {
  await withNode(opts, async ({ call }) => {
    if (address !== undefined) {
      const b = await call<BalanceView>('getbalance', { address });
      emit(opts, b, balanceLine(b));
      return;
    }
    const balances: BalanceView[] = [];
    for (const a of await call<WalletAddress[]>('listaddresses')) balances.push(await call<BalanceView>('getbalance', { address: a.address }));
    emit(opts, { balances }, () => (balances.length ? balances.map(balanceLine).join('\n') : 'the wallet holds no address (oursql wallet new)'));
  });
}

export async function sendCommand(opts: CommonOptions & { from: string; to: string; amount: string }): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const r = await call<{ txid: string; from: string; to: string; amount: string }>('sendtoaddress', { from: opts.from, to: opts.to, amount: opts.amount });
    emit(opts, r, `sent ${r.amount} coins from ${r.from} to ${r.to}\ntxid ${r.txid}`);
  });
}
