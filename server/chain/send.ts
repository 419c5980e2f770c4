import { addressOf, checkAddress, ConsensusError, unitsToCoins, type TransferBody } from '../../consensus/index.ts';
import type { Chain } from './engine.ts';

/**
 * Builds an unsigned coin transfer from `fromPubkey`: spends its oldest spendable outputs
 * (unconfirmed ones too) and returns the change to itself.
 */
export async function buildTransfer(chain: Chain, fromPubkey: string, to: string, amount: bigint, time = Date.now()): Promise<TransferBody> {
  checkAddress(to, 'recipient');
  if (amount <= 0n) throw new ConsensusError('bad-amount', 'amount must be more than 0');
  const from = addressOf(fromPubkey);
  const coins = await chain.spendable(from);
  const picked = [];
  let sum = 0n;
  for (const c of coins) {
    if (sum >= amount) break;
    picked.push(c);
    sum += c.amount;
  }
  if (sum < amount) {
    const have = coins.reduce((s, c) => s + c.amount, 0n);
    throw new ConsensusError('insufficient-funds', `insufficient funds: ${from} has ${unitsToCoins(have)} coins, ${unitsToCoins(amount)} needed`, {
      address: from, available: have.toString(), needed: amount.toString(),
    });
  }
  const out = [{ to, amount: amount.toString() }];
  if (sum > amount) out.push({ to: from, amount: (sum - amount).toString() });
  return { v: 1, chain: chain.genesis, time, from: fromPubkey, in: picked.map((c) => ({ tx: c.txid, n: c.n })), out };
}
