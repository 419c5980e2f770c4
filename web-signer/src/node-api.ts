/**
 * The node's JSON-RPC methods the web signer uses (all open: no credentials), each answer checked
 * against its shape (remoteclient/rpc.ts does the calls). Only POST /rpc on this page's origin.
 */
import { z } from 'zod';
import { nodeClient, type Call } from '../../remoteclient/rpc.ts';
import { Address, Balance, BlockView2, Coins, Hash, HeaderView, PoolEntryView, Prepared, Uint, Units } from '../../server/rpc/shapes.ts';

export const ChainInfo = z.object({
  chain: z.string(), genesis: Hash, consensus: Hash, height: Uint, bestblockhash: Hash, time: Uint, work: Units, nextbits: Uint, pool: Uint,
});
export const AddressInfo = Balance.extend({ outputs: Uint, pooledTxs: Uint });
export const HistoryEntry = z.object({
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
export const History = z.object({ address: Address, total: Uint, txs: z.array(HistoryEntry) });
export const BlockList = z.object({ height: Uint, blocks: z.array(HeaderView) });
export const Pool = z.object({ size: Uint, txs: z.array(PoolEntryView) });

export type ChainInfo = z.infer<typeof ChainInfo>;
export type AddressInfo = z.infer<typeof AddressInfo>;
export type HistoryEntry = z.infer<typeof HistoryEntry>;
export type History = z.infer<typeof History>;
export type BlockSummary = z.infer<typeof HeaderView>;
export type BlockDetail = z.infer<typeof BlockView2>;
export type Pool = z.infer<typeof Pool>;
export type PreparedTx = z.infer<typeof Prepared>;

/** The RPC endpoint next to this page (`<page>/rpc`; the dev server proxies it to a node). */
export function pageRpcUrl(baseUri: string): string {
  return new URL('rpc', baseUri).toString();
}

export class NodeApi {
  constructor(readonly call: Call) {}

  static at(url: string): NodeApi {
    return new NodeApi(nodeClient(url, { unreachableHint: ' Reload the page once it runs.' }));
  }

  chainInfo(): Promise<ChainInfo> {
    return this.call('getblockchaininfo', [], ChainInfo);
  }

  addressInfo(address: string): Promise<AddressInfo> {
    return this.call('getaddressinfo', { address }, AddressInfo);
  }

  history(address: string, count = 50): Promise<History> {
    return this.call('getaddresshistory', { address, skip: 0, count }, History);
  }

  /** The `count` newest blocks of the active chain, newest first. */
  async latestBlocks(count = 10): Promise<BlockSummary[]> {
    const info = await this.chainInfo();
    const from = Math.max(0, info.height - count + 1);
    const list = await this.call('listblocks', { from, count }, BlockList);
    return [...list.blocks].reverse();
  }

  block(hash: string): Promise<BlockDetail> {
    return this.call('getblock', { blockhash: hash, verbosity: 2 }, BlockView2);
  }

  pool(): Promise<Pool> {
    return this.call('getpool', [], Pool);
  }

  prepareSend(fromPubkey: string, to: string, amount: string): Promise<PreparedTx> {
    return this.call('preparesend', { from: fromPubkey, to, amount }, Prepared);
  }

  prepareSql(pubkey: string, sql: string): Promise<PreparedTx> {
    return this.call('preparesql', { pubkey, sql }, Prepared);
  }
}
