/**
 * Zod shapes of what the RPC answers. Each method's `result` is built from these: docs/rpc.md is
 * generated from them, and the tests check real answers against them.
 */
import { z } from 'zod';

export const Hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'lowercase hex');
export const Hash = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters');
export const Address = z.string().regex(/^1[1-9A-HJ-NP-Za-km-z]{25,34}$/, 'a base58check address');
export const Pubkey = z.string().regex(/^0[23][0-9a-f]{64}$/, 'a compressed public key in hex');
/** Coins as people read them ("1.5"); negative only for pending balances and history nets. */
export const Coins = z.string().regex(/^-?(0|[1-9][0-9]*)(\.[0-9]{1,8})?$/, 'coins as a decimal string');
/** Base units as bodies carry them ("150000000"). */
export const Units = z.string().regex(/^(0|[1-9][0-9]*)$/, 'base units as a decimal string');
export const Uint = z.number().int().min(0);

export const Header = z.strictObject({ v: z.literal(1), height: Uint, prev: Hash, merkle: Hash, time: Uint, bits: Uint, nonce: Uint });
/** A transaction body exactly as hashed (SPEC 2): amounts in base units. */
export const Body = z.record(z.string(), z.unknown());
export const TxWire = z.strictObject({ txid: Hash, body: Body, sig: Hex.optional() });

export const Balance = z.strictObject({ address: Address, approved: Coins, pending: Coins, total: Coins });
export const WalletAddress = z.strictObject({ address: Address, pubkey: Pubkey });
export const OutputCoins = z.strictObject({ to: Address.nullable(), amount: Coins });

/** Step one of the two-step flow (SPEC 5 and 7). */
export const Prepared = z.strictObject({
  transaction: Hex.describe('hex of the canonical body'),
  stringToSign: Hex.describe('hex of M = prefix ‖ body: what the key holder signs'),
  txid: Hash,
  text: z.string().describe('M as readable text'),
});

export const HeaderView = z.strictObject({
  hash: Hash, height: Uint, confirmations: z.number().int(), header: Header, work: Units, next: Hash.nullable(), ntx: Uint,
  stateDigest: Hash.nullable(),
});
export const BlockView1 = HeaderView.extend({ txs: z.array(Hash) });
export const BlockView2 = HeaderView.extend({ txs: z.array(TxWire) });
export const BlockWire = z.strictObject({ header: Header, txs: z.array(z.strictObject({ body: Body, sig: Hex.optional() })) });

export const PoolEntryView = z.strictObject({
  txid: Hash,
  from: Address,
  amount: Coins,
  out: z.array(OutputCoins),
  spends: Coins,
  cost: Coins,
  time: Uint.nullable(),
  added: Uint,
  sql: z.array(z.string()).optional(),
});

// Results of the read methods the web signer also calls (web-signer/src/node-api.ts checks its
// answers with these same schemas).

export const ChainInfo = z.strictObject({
  chain: z.string(), genesis: Hash, consensus: Hash, blocks: Uint, height: Uint, bestblockhash: Hash, time: Uint, mediantime: Uint,
  work: Units, nextbits: Uint, pool: Uint,
});
export const AddressInfo = Balance.extend({ outputs: Uint, pooledTxs: Uint });
export const HistoryEntry = z.strictObject({
  txid: Hash,
  status: z.enum(['confirmed', 'pool']),
  height: Uint.nullable(),
  blockhash: Hash.nullable(),
  confirmations: Uint,
  time: Uint,
  from: Address.nullable(),
  received: Coins,
  sent: Coins,
  net: Coins,
  sql: z.array(z.string()).optional(),
});
export const History = z.strictObject({ address: Address, total: Uint, txs: z.array(HistoryEntry) });
export const BlockList = z.strictObject({ height: Uint, blocks: z.array(z.union([HeaderView, BlockView2])) });
export const DroppedView = z.strictObject({ txid: z.string(), reason: z.string(), at: Uint, rebase: z.string().optional() });
export const PoolView = z.strictObject({ size: Uint, txs: z.array(PoolEntryView), dropped: z.array(DroppedView) });
