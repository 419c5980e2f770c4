/** Read-only chain methods (open, no auth). */
import { z } from 'zod';
import { bitsForHeight } from '../../../consensus/index.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { heightParam, hex64, method, type MethodTable } from '../method.ts';
import type { CallContext } from '../method.ts';
import { blockView, headerView, type Verbosity } from '../views.ts';

const MAX_LIST = 1000;

function storedHeader(ctx: CallContext, hash: string) {
  const h = ctx.node.chain.headers.get(hash);
  if (!h) throw new RpcError(RpcCode.INVALID_ADDRESS_OR_KEY, `block ${hash} not found`);
  return h;
}

function hashAt(ctx: CallContext, height: number): string {
  const hash = ctx.node.chain.blockHashAt(height);
  if (!hash) throw new RpcError(RpcCode.INVALID_PARAMETER, `block height ${height} out of range (tip is ${ctx.node.chain.height})`);
  return hash;
}

export const chainMethods: MethodTable = {
  getblockchaininfo: method({
    summary: 'Chain name, height, tip, work, genesis and consensus hash.',
    params: [],
    schema: z.object({}),
    auth: false,
    run: (_p, { node }) => {
      const { chain, consensus } = node;
      const tip = chain.tip;
      return {
        chain: consensus.application.name || 'OurSQL',
        genesis: chain.genesis,
        consensus: consensus.hash,
        blocks: chain.height,
        height: chain.height,
        bestblockhash: tip.hash,
        time: tip.header.time,
        mediantime: chain.medianTimePast(tip.hash),
        work: tip.work.toString(),
        /** Difficulty (leading zero bits) the next block needs. */
        nextbits: bitsForHeight(consensus, chain.height + 1),
        pool: chain.pool.size,
      };
    },
  }),

  getblockcount: method({
    summary: 'Height of the tip.',
    params: [],
    schema: z.object({}),
    auth: false,
    run: (_p, { node }) => node.chain.height,
  }),

  getbestblockhash: method({
    summary: 'Hash of the tip.',
    params: [],
    schema: z.object({}),
    auth: false,
    run: (_p, { node }) => node.chain.tip.hash,
  }),

  getblockhash: method({
    summary: 'Hash of the active-chain block at a height.',
    params: ['height'],
    schema: z.object({ height: heightParam }),
    auth: false,
    run: (p, ctx) => hashAt(ctx, p.height),
  }),

  getblock: method({
    summary: 'A block: 0 = wire form, 1 = header and txids (default), 2 = header and full txs.',
    params: ['blockhash', 'verbosity'],
    schema: z.object({
      blockhash: hex64,
      // bitcoind also takes true/false here.
      verbosity: z.union([z.literal(0), z.literal(1), z.literal(2), z.boolean()]).default(1),
    }),
    auth: false,
    run: async (p, ctx) => {
      const h = storedHeader(ctx, p.blockhash);
      const block = await ctx.node.chain.getBlock(h.hash);
      if (!block) throw new RpcError(RpcCode.INVALID_ADDRESS_OR_KEY, `block ${p.blockhash} not found`);
      const verbosity: Verbosity = p.verbosity === true ? 1 : p.verbosity === false ? 0 : p.verbosity;
      return blockView(ctx.node.chain, h, block, verbosity);
    },
  }),

  listblocks: method({
    summary: `Active-chain blocks from a height upwards (for printchain); at most ${MAX_LIST} per call.`,
    params: ['from', 'count', 'verbose'],
    schema: z.object({
      from: heightParam.default(0),
      count: z.number().int().min(1).max(MAX_LIST).default(100),
      verbose: z.boolean().default(false),
    }),
    auth: false,
    run: async (p, { node }) => {
      const { chain } = node;
      const blocks = [];
      for (let height = p.from; height <= chain.height && blocks.length < p.count; height++) {
        const h = chain.headers.get(chain.blockHashAt(height)!)!;
        if (!p.verbose) {
          blocks.push(headerView(chain, h));
          continue;
        }
        const block = (await chain.getBlock(h.hash))!;
        blocks.push(blockView(chain, h, block, 2));
      }
      return { height: chain.height, blocks };
    },
  }),
};
