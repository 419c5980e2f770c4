/** Read-only chain methods (open, no auth). */
import { z } from 'zod';
import { bitsForHeight, parseConsensusConfig } from '../../../consensus/index.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { EX, exampleTransfer, exampleTransferSig, exampleTxid } from '../examples.ts';
import { heightParam, hex64, method, type MethodTable } from '../method.ts';
import type { CallContext } from '../method.ts';
import { BlockList, BlockView1, BlockView2, BlockWire, ChainInfo, Hash, Uint } from '../shapes.ts';
import { blockView, headerView, type Verbosity } from '../views.ts';

const exampleHeader = { v: 1, height: 1, prev: EX.genesis, merkle: EX.merkle, time: EX.time, bits: 8, nonce: 41 } as const;
const exampleHeaderView = {
  hash: EX.block1, height: 1, confirmations: 1, header: exampleHeader, work: '512', next: null, ntx: 2,
  stateDigest: '5d1f0c6f9a2b7e3d8c4a1f6e0b9d2c7a3e8f1b4d6c9a0e2f5b8d1c4a7e0f3b6d',
};
const defaultConsensus = parseConsensusConfig({});

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
    returns: '`{chain, genesis, consensus, blocks, height, bestblockhash, time, mediantime, work, nextbits, pool}`',
    result: ChainInfo,
    example: {
      result: {
        chain: 'OurSQL', genesis: EX.genesis, consensus: EX.consensus, blocks: 1, height: 1, bestblockhash: EX.block1, time: EX.time,
        mediantime: EX.time, work: '512', nextbits: 8, pool: 0,
      },
    },
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
    returns: 'tip height',
    result: Uint,
    example: { result: 1 },
    run: (_p, { node }) => node.chain.height,
  }),

  getbestblockhash: method({
    summary: 'Hash of the tip.',
    params: [],
    schema: z.object({}),
    auth: false,
    returns: 'tip hash',
    result: Hash,
    example: { result: EX.block1 },
    run: (_p, { node }) => node.chain.tip.hash,
  }),

  getblockhash: method({
    summary: 'Hash of the active-chain block at a height.',
    params: ['height'],
    schema: z.object({ height: heightParam }),
    auth: false,
    returns: 'hash of the active-chain block at `height`',
    result: Hash,
    errors: { [RpcCode.INVALID_PARAMETER]: 'height out of range' },
    example: { params: [0], result: EX.genesis },
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
    returns: '0: `{header, txs:[{body, sig}]}` (wire form); 1: `{hash, height, confirmations, header, work, next, ntx, stateDigest, txs:[txid]}`; 2: as 1 with `txs:[{txid, body, sig}]`. `confirmations` is -1 off the active chain; `stateDigest` hashes the row images the block\'s SQL left on this node (null until it connected the block, and for the older blocks a sync connected: see docs/protocol.md): peers at the same block should show the same',
    result: z.union([BlockWire, BlockView1, BlockView2]),
    errors: { [RpcCode.INVALID_ADDRESS_OR_KEY]: 'unknown block' },
    example: {
      params: { blockhash: EX.block1, verbosity: 2 },
      result: {
        ...exampleHeaderView,
        txs: [
          { txid: EX.coinbaseTx, body: { v: 1, chain: EX.genesis, coinbase: 1, out: [{ to: EX.alice, amount: '1000000000' }] } },
          { txid: exampleTxid, body: exampleTransfer, sig: exampleTransferSig },
        ],
      },
    },
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
    returns: '`{height, blocks}`: active-chain blocks from `from` upwards, as `getblock` 1 (or 2 when `verbose`), without `txs` when not verbose',
    result: BlockList,
    example: {
      params: { from: 1, count: 1 },
      result: { height: 1, blocks: [exampleHeaderView] },
    },
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

  getconsensus: method({
    summary: 'The consensus config every node of this chain runs, with its hash (the genesis block commits to it).',
    params: [],
    schema: z.object({}),
    auth: false,
    returns: '`{hash, genesis, config}`: `config` in the original\'s key names with every default filled in; `hash` = sha256 of its canonical JSON without `InitNodesAddreses`',
    result: z.strictObject({ hash: Hash, genesis: Hash, config: z.record(z.string(), z.unknown()) }),
    example: { result: { hash: defaultConsensus.hash, genesis: EX.genesis, config: defaultConsensus.normalized } },
    run: (_p, { node }) => ({ hash: node.consensus.hash, genesis: node.chain.genesis, config: node.consensus.normalized }),
  }),
};
