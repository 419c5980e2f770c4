/** The node itself: info (open), mining and stopping (auth: they change the node). */
import { z } from 'zod';
import { VERSION } from '../../version.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { method, type MethodTable } from '../method.ts';

/** A background miner or a new tip may cancel a `mine` search; it then retries on the new tip. */

export const nodeMethods: MethodTable = {
  getnodeinfo: method({
    summary: 'Version, datadir, ports, height, pool size, peers, uptime, minter and mining state.',
    params: [],
    schema: z.object({}),
    auth: false,
    run: (_p, { node, local }) => ({
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
      peers: [] as string[],
      uptime: Math.floor((Date.now() - node.startedAt) / 1000),
      minter: node.config.minter ?? null,
      proxyKey: node.config.proxyKey ?? null,
      // In-process (CLI on a stopped node) nothing mines in the background.
      mining: !local && node.config.mining && !!node.miner,
    }),
  }),

  mine: method({
    summary: 'Mines one block from the pool now; error -1 says why when the block rule does not allow one yet.',
    params: [],
    schema: z.object({}),
    auth: true,
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
    run: (_p, { node, afterResponse }) => {
      afterResponse(() => void node.stop());
      return 'OurSQL node stopping';
    },
  }),
};
