/** The node itself: info (open), mining and stopping (auth: they change the node). */
import { z } from 'zod';
import { VERSION } from '../../version.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { EX } from '../examples.ts';
import { method, type MethodTable } from '../method.ts';
import { Address, Hash, Uint } from '../shapes.ts';
import { PeerList } from '../../chain/peers.ts';

/** A background miner or a new tip may cancel a `mine` search; it then retries on the new tip. */

export const nodeMethods: MethodTable = {
  getnodeinfo: method({
    summary: 'Version, datadir, ports, height, pool size, peers, uptime, minter, mining state and own writes still to re-base.',
    params: [],
    schema: z.object({}),
    auth: false,
    returns: '`{version, pid, datadir, host, rpcPort, proxyPort, genesis, consensus, height, tip, pool, peers:[addr], uptime, minter, proxyKey, mining, rebasesPending}`; `rebasesPending`: this node\'s own writes a fork switch dropped that it has still to run again on the new chain (SPEC 8)',
    result: z.strictObject({
      version: z.string(), pid: Uint, datadir: z.string(), host: z.string(), rpcPort: Uint, proxyPort: Uint, genesis: Hash, consensus: Hash,
      height: Uint, tip: Hash, pool: Uint, peers: z.array(z.string()), uptime: Uint, minter: Address.nullable(), proxyKey: Address.nullable(),
      mining: z.boolean(), rebasesPending: Uint,
    }),
    example: {
      result: {
        version: '0.1.0', pid: 21674, datadir: '/home/me/.oursql', host: '127.0.0.1', rpcPort: 8765, proxyPort: 8766, genesis: EX.genesis,
        consensus: EX.consensus, height: 1, tip: EX.block1, pool: 0, peers: ['peer1.example.org:8765'], uptime: 3600, minter: EX.alice,
        proxyKey: null, mining: true, rebasesPending: 0,
      },
    },
    run: async (_p, { node, local }) => ({
      version: VERSION,
      pid: process.pid,
      datadir: node.datadir,
      host: node.config.host,
      rpcPort: node.rpcPort,
      proxyPort: node.config.proxyPort,
      genesis: node.chain.genesis,
      consensus: node.consensus.hash,
      height: node.chain.height,
      tip: node.chain.tip.hash,
      pool: node.chain.pool.size,
      // connected peers while the node runs; the stored list on a stopped node
      peers: node.peers ? node.peers.list().filter((p) => p.connected).map((p) => p.addr) : (await new PeerList(node.chain.store).list()).map((p) => p.addr),
      uptime: Math.floor((Date.now() - node.startedAt) / 1000),
      minter: node.config.minter ?? null,
      proxyKey: node.config.proxyKey ?? null,
      // In-process (CLI on a stopped node) nothing mines in the background.
      mining: !local && node.config.mining && !!node.miner,
      rebasesPending: node.rebasesPending,
    }),
  }),

  mine: method({
    summary: 'Mines one block from the pool now; error -1 says why when the block rule does not allow one yet.',
    params: [],
    schema: z.object({}),
    auth: true,
    returns: '`{hash, height, txs, active}` of the block mined from the pool',
    result: z.strictObject({ hash: Hash, height: Uint, txs: Uint, active: z.boolean() }),
    errors: { [RpcCode.MISC_ERROR]: 'the block rule does not allow a block yet (`data.reason`), or the node has no minter' },
    example: { result: { hash: EX.block1, height: 1, txs: 1, active: true } },
    run: async (_p, { node }) => {
      if (!node.miner) throw new RpcError(RpcCode.MISC_ERROR, 'this node has no minter address: set one with `oursql config --set minter=ADDR`');
      const r = await node.miner.mineNow();
      if ('block' in r) {
        const { block } = r;
        return { hash: block.hash, height: block.header.height, txs: block.txs.length - 1, active: node.chain.isActive(block.hash) };
      }
      if ('wait' in r) throw new RpcError(RpcCode.MISC_ERROR, `cannot mine yet: ${r.wait}`, { reason: r.wait, retryAt: r.retryAt });
      throw new RpcError(RpcCode.MISC_ERROR, 'mining was cancelled repeatedly by new blocks; try again');
    },
  }),

  stop: method({
    summary: 'Stops the node (after answering).',
    params: [],
    schema: z.object({}),
    auth: true,
    returns: '`"OurSQL node stopping"`; the node stops after answering',
    result: z.literal('OurSQL node stopping'),
    example: { result: 'OurSQL node stopping' },
    run: (_p, { node, afterResponse }) => {
      afterResponse(() => void node.stop());
      return 'OurSQL node stopping';
    },
  }),
};
