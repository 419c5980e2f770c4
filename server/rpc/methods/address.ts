/** What any address holds and did (open: read-only). */
import { z } from 'zod';
import { addressOfCheckedKey, checkAddress, isCoinbase, isValidAddress, unitsToCoins } from '../../../consensus/index.ts';
import type { Chain } from '../../chain/engine.ts';
import { confirmedTxsOf, pooledTxsOf, spendableCoinsOf, type AddressTx } from '../../chain/queries.ts';
import { RpcCode } from '../errors.ts';
import { EX, exampleTxid } from '../examples.ts';
import { addressParam, method, type MethodTable } from '../method.ts';
import { Address, AddressInfo, Coins, Hash, History, HistoryEntry, Uint } from '../shapes.ts';
import { balanceView } from './wallet.ts';

const MAX_HISTORY = 1000;
const badAddress = { [RpcCode.INVALID_ADDRESS_OR_KEY]: '`bad-address`' };

function historyEntry(chain: Chain, t: AddressTx): z.infer<typeof HistoryEntry> {
  const blockhash = t.height === null ? null : (chain.blockHashAt(t.height) ?? null);
  const body = t.body;
  const time = isCoinbase(body) ? (blockhash ? chain.headers.get(blockhash)!.header.time : 0) : body.time;
  return {
    txid: t.txid,
    status: t.height === null ? 'pool' : 'confirmed',
    height: t.height,
    blockhash,
    confirmations: t.height === null ? 0 : chain.height - t.height + 1,
    time,
    from: isCoinbase(body) ? null : addressOfCheckedKey(body.from),
    received: unitsToCoins(t.received),
    sent: unitsToCoins(t.sent),
    net: unitsToCoins(t.received - t.sent),
    ...(!isCoinbase(body) && body.sql && { sql: body.sql.stmts }),
  };
}

export const addressMethods: MethodTable = {
  getaddressinfo: method({
    summary: 'Balance of any address (approved, pending, total coins) and how many outputs it can spend now.',
    params: ['address'],
    schema: z.object({ address: addressParam }),
    auth: false,
    returns: '`{address, approved, pending, total, outputs, pooledTxs}`: coins as in `getbalance`; `outputs`: spendable outputs (as `listunspent`); `pooledTxs`: pending txs that touch it',
    result: AddressInfo,
    errors: badAddress,
    example: { params: [EX.bob], result: { address: EX.bob, approved: '0', pending: '1.5', total: '1.5', outputs: 1, pooledTxs: 1 } },
    run: async (p, { node }) => {
      const address = checkAddress(p.address);
      return {
        ...(await balanceView(node.chain, address)),
        outputs: spendableCoinsOf(node.chain, address).length,
        pooledTxs: pooledTxsOf(node.chain, address).length,
      };
    },
  }),

  listunspent: method({
    summary: 'Outputs an address can spend now: confirmed ones not spent by the pool, and pooled ones (confirmations 0).',
    params: ['address', 'minconf'],
    schema: z.object({ address: addressParam, minconf: Uint.default(0).describe('only outputs with at least this many confirmations') }),
    auth: false,
    returns: '`[{txid, n, address, amount, height, confirmations}]` oldest first; `amount` in coins; `height` null while pooled',
    result: z.array(z.strictObject({ txid: Hash, n: Uint, address: Address, amount: Coins, height: Uint.nullable(), confirmations: Uint })),
    errors: badAddress,
    example: {
      params: { address: EX.bob },
      result: [{ txid: exampleTxid, n: 0, address: EX.bob, amount: '1.5', height: 1, confirmations: 1 }],
    },
    run: (p, { node }) => {
      const address = checkAddress(p.address);
      const { chain } = node;
      return spendableCoinsOf(chain, address)
        .map((c) => ({
          txid: c.txid, n: c.n, address, amount: unitsToCoins(c.amount), height: c.height,
          confirmations: c.height === null ? 0 : chain.height - c.height + 1,
        }))
        .filter((c) => c.confirmations >= p.minconf);
    },
  }),

  getaddresshistory: method({
    summary: `Transactions that pay or are signed by an address: pending first, then the active chain newest first; at most ${MAX_HISTORY} per call.`,
    params: ['address', 'skip', 'count'],
    schema: z.object({
      address: addressParam,
      skip: Uint.default(0).describe('skip the newest n'),
      count: z.number().int().min(1).max(MAX_HISTORY).default(100).describe('at most n'),
    }),
    auth: false,
    returns: '`{address, total, txs:[{txid, status, height, blockhash, confirmations, time, from, received, sent, net, sql?}]}`: coins; `sent` is every input of a tx the address signed (its change counts in `received`), `net` = received − sent',
    result: History,
    errors: badAddress,
    example: {
      params: { address: EX.bob, count: 10 },
      result: {
        address: EX.bob,
        total: 1,
        txs: [{
          txid: exampleTxid, status: 'confirmed', height: 1, blockhash: EX.block1, confirmations: 1, time: EX.time, from: EX.alice,
          received: '1.5', sent: '0', net: '1.5',
        }],
      },
    },
    run: async (p, { node }) => {
      const address = checkAddress(p.address);
      const { chain } = node;
      const all = [...pooledTxsOf(chain, address).reverse(), ...(await confirmedTxsOf(chain, address)).reverse()];
      return { address, total: all.length, txs: all.slice(p.skip, p.skip + p.count).map((t) => historyEntry(chain, t)) };
    },
  }),

  validateaddress: method({
    summary: 'Whether a string is a valid OurSQL address (base58check, version 0); never an error.',
    params: ['address'],
    schema: z.object({ address: z.string().describe('any string') }),
    auth: false,
    returns: '`{isvalid, address}`, plus `error` saying why when it is not valid',
    result: z.strictObject({ isvalid: z.boolean(), address: z.string(), error: z.string().optional() }),
    example: { params: [EX.alice], result: { isvalid: true, address: EX.alice } },
    run: (p) =>
      isValidAddress(p.address)
        ? { isvalid: true, address: p.address }
        : { isvalid: false, address: p.address, error: 'not a base58check address with a valid checksum (an OurSQL address starts with 1)' },
  }),
};
