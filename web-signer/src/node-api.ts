/**
 * The node's JSON-RPC methods the web signer uses (all open: no credentials), each answer checked
 * against the shape the node's own method declares (server/rpc/shapes.ts; remoteclient/rpc.ts does
 * the calls). Only POST /rpc on this page's origin.
 */
import { z } from 'zod';
import { nodeClient, type Call } from '../../remoteclient/rpc.ts';
import { AddressInfo, BlockList, BlockView2, ChainInfo, HeaderView, History, HistoryEntry, PoolView, Prepared } from '../../server/rpc/shapes.ts';

export type ChainInfo = z.infer<typeof ChainInfo>;
export type AddressInfo = z.infer<typeof AddressInfo>;
export type HistoryEntry = z.infer<typeof HistoryEntry>;
export type History = z.infer<typeof History>;
export type BlockSummary = z.infer<typeof HeaderView>;
export type BlockDetail = z.infer<typeof BlockView2>;
export type Pool = z.infer<typeof PoolView>;
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
    return this.call('getpool', [], PoolView);
  }

  prepareSend(fromPubkey: string, to: string, amount: string): Promise<PreparedTx> {
    return this.call('preparesend', { from: fromPubkey, to, amount }, Prepared);
  }

  prepareSql(pubkey: string, sql: string): Promise<PreparedTx> {
    return this.call('preparesql', { pubkey, sql }, Prepared);
  }
}
