/** Balances (open) and the node-held wallet (auth: it uses the node's keys). */
import { z } from 'zod';
import { checkAddress, coinsToUnits, signTx, unitsToCoins } from '../../../consensus/index.ts';
import type { Chain } from '../../chain/engine.ts';
import { buildTransfer } from '../../chain/send.ts';
import type { Wallet } from '../../wallet/wallet.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { EX, exampleTxid } from '../examples.ts';
import { coinsParam, method, type MethodTable } from '../method.ts';
import { Address, Balance, Coins, Hash, WalletAddress } from '../shapes.ts';

/**
 * approved: confirmed unspent outputs on the active chain; pending: the pool's net effect (received
 * minus spent, change included, so it may be negative); total = approved + pending, i.e. what the
 * address holds once the pool is mined. All in coins as decimal strings (SPEC 0).
 */
export async function balanceView(chain: Chain, address: string) {
  const b = await chain.balance(checkAddress(address));
  return { address, approved: unitsToCoins(b.approved), pending: unitsToCoins(b.pending), total: unitsToCoins(b.total) };
}

/** The wallet address to pay from when the caller names none: the first one that can cover `units`. */
async function pickSender(chain: Chain, wallet: Wallet, units: bigint): Promise<string> {
  const addresses = wallet.list();
  if (addresses.length === 0) throw new RpcError(RpcCode.WALLET_ERROR, 'the node wallet holds no address (getnewaddress makes one)');
  for (const { address } of addresses) {
    const coins = await chain.spendable(address);
    if (coins.reduce((s, c) => s + c.amount, 0n) >= units) return address;
  }
  throw new RpcError(RpcCode.INSUFFICIENT_FUNDS, `insufficient funds: no address of the node wallet can pay ${unitsToCoins(units)} coins`, {
    needed: units.toString(),
  });
}

export const walletMethods: MethodTable = {
  getbalance: method({
    summary: 'Balance of any address: approved, pending and total coins.',
    params: ['address'],
    schema: z.object({ address: z.string() }),
    auth: false,
    returns: '`{address, approved, pending, total}` in coins (see docs/cli.md for what each means)',
    result: Balance,
    errors: { [RpcCode.INVALID_ADDRESS_OR_KEY]: '`bad-address`' },
    example: { params: [EX.alice], result: { address: EX.alice, approved: '10', pending: '-1.5', total: '8.5' } },
    run: (p, { node }) => balanceView(node.chain, p.address),
  }),

  getnewaddress: method({
    summary: 'Makes a key in the node wallet; returns its address and public key.',
    params: [],
    schema: z.object({}),
    auth: true,
    returns: '`{address, pubkey}` of a new node-held key',
    result: WalletAddress,
    example: { result: { address: EX.bob, pubkey: EX.bobPubkey } },
    run: (_p, { node }) => node.wallet.create(),
  }),

  listaddresses: method({
    summary: 'Addresses (and public keys) of the node wallet.',
    params: [],
    schema: z.object({}),
    auth: true,
    returns: '`[{address, pubkey}]` of the node wallet',
    result: z.array(WalletAddress),
    example: { result: [{ address: EX.alice, pubkey: EX.alicePubkey }, { address: EX.bob, pubkey: EX.bobPubkey }] },
    run: (_p, { node }) => node.wallet.list(),
  }),

  sendtoaddress: method({
    summary: 'Sends coins from a node-wallet address (default: the first that can pay); returns the txid.',
    params: ['to', 'amount', 'from'],
    schema: z.object({ to: z.string(), amount: coinsParam, from: z.string().optional() }),
    auth: true,
    returns: '`{txid, from, to, amount}`; `amount` in coins (string or number); without `from`, the first wallet address that can pay',
    result: z.strictObject({ txid: Hash, from: Address, to: Address, amount: Coins }),
    errors: {
      [RpcCode.INVALID_ADDRESS_OR_KEY]: '`bad-address`',
      [RpcCode.TYPE_ERROR]: '`bad-amount`',
      [RpcCode.WALLET_ERROR]: '`from` is not in the node wallet, or the wallet is empty',
      [RpcCode.INSUFFICIENT_FUNDS]: '`insufficient-funds`',
    },
    example: { params: { from: EX.alice, to: EX.bob, amount: '1.5' }, result: { txid: exampleTxid, from: EX.alice, to: EX.bob, amount: '1.5' } },
    run: async (p, { node }) => {
      const { chain, wallet } = node;
      const to = checkAddress(p.to, 'recipient');
      const units = coinsToUnits(p.amount);
      if (units <= 0n) throw new RpcError(RpcCode.TYPE_ERROR, 'amount must be more than 0', { code: 'bad-amount' });
      const from = p.from === undefined ? await pickSender(chain, wallet, units) : checkAddress(p.from, 'sender');
      const key = wallet.key(from);
      const { tx } = await chain.submitWith(async () => signTx(await buildTransfer(chain, key.pubkey, to, units), key.privateKey));
      return { txid: tx.id, from, to, amount: unitsToCoins(units) };
    },
  }),
};
