/**
 * Headers-first catch-up from one peer: send a block locator, get the headers after the fork
 * point, fetch the blocks this node lacks in batches and add them in order. The chain decides
 * (most work wins, fork switches included); a block it refuses ends the sync and blames the peer.
 */
import { blockFromWire, ConsensusError, type Block } from '../../consensus/index.ts';
import type { Chain } from '../chain/engine.ts';
import { askPeer } from './client.ts';
import { MAX_BLOCKS_PER_REQUEST, MAX_HEADERS } from './protocol.ts';

/** Hashes of the active chain at tip, tip-1, tip-2, tip-4, … and genesis (bitcoin's locator). */
export function blockLocator(chain: Chain): string[] {
  const out: string[] = [];
  let step = 1;
  for (let h = chain.height; h > 0 && out.length < 63; h -= step) {
    out.push(chain.blockHashAt(h)!);
    if (out.length >= 10) step *= 2;
  }
  out.push(chain.genesis);
  return out;
}

export interface SyncProgress {
  /** Blocks added so far, and how many the peer announced beyond our tip when the sync began. */
  blocks: number;
  target: number;
  txs: number;
}

export class PeerMisbehaved extends Error {
  override name = 'PeerMisbehaved';
  constructor(readonly addr: string, message: string) {
    super(message);
  }
}

/**
 * Pulls every block `addr` has beyond this node's chain. Returns the blocks added. Throws
 * PeerRequestError (network) or PeerMisbehaved (invalid data: bad block, broken header chain).
 */
export async function syncFrom(
  chain: Chain,
  addr: string,
  opts: { peerHeight?: number; onProgress?: (p: SyncProgress) => void; timeoutMs?: number } = {},
): Promise<number> {
  const progress: SyncProgress = { blocks: 0, target: Math.max(0, (opts.peerHeight ?? chain.height) - chain.height), txs: 0 };
  let locator = blockLocator(chain);
  for (;;) {
    const { headers } = await askPeer(addr, { type: 'getheaders', locator, limit: MAX_HEADERS }, opts.timeoutMs);
    if (headers.length === 0) return progress.blocks;
    // the answer must be one linked run of headers
    for (let i = 1; i < headers.length; i++) {
      const prev = (headers[i].header as { prev?: unknown }).prev;
      if (prev !== headers[i - 1].hash) throw new PeerMisbehaved(addr, `headers answer is not a chain (at ${headers[i].hash})`);
    }
    const wanted = headers.filter((h) => !chain.headers.has(h.hash)).map((h) => h.hash);
    if (wanted.length === 0 && headers.length < MAX_HEADERS) return progress.blocks;
    for (let i = 0; i < wanted.length; i += MAX_BLOCKS_PER_REQUEST) {
      const batch = wanted.slice(i, i + MAX_BLOCKS_PER_REQUEST);
      const { blocks } = await askPeer(addr, { type: 'getblocks', hashes: batch }, opts.timeoutMs);
      if (blocks.length !== batch.length) throw new PeerMisbehaved(addr, `asked for ${batch.length} blocks, got ${blocks.length}`);
      const decoded = blocks.map((wire, k) => {
        const block = decodeBlock(addr, wire);
        if (block.hash !== batch[k]) throw new PeerMisbehaved(addr, `sent block ${block.hash} for ${batch[k]}`);
        return block;
      });
      // signatures are checked on worker threads ahead of the block being applied
      const checked = decoded.map((b) => chain.precheck(b));
      for (const [k, block] of decoded.entries()) {
        await checked[k];
        await addPeerBlock(chain, addr, block);
        progress.blocks++;
        progress.txs += block.txs.length - 1;
        progress.target = Math.max(progress.target, progress.blocks);
        opts.onProgress?.(progress);
      }
    }
    locator = [headers[headers.length - 1].hash, ...blockLocator(chain)].slice(0, 64);
    if (headers.length < MAX_HEADERS) return progress.blocks;
  }
}

export function decodeBlock(addr: string, wire: unknown): Block {
  try {
    return blockFromWire(wire);
  } catch (e) {
    throw new PeerMisbehaved(addr, `undecodable block: ${(e as Error).message}`);
  }
}

/** Adds a block a peer sent; an invalid one is the peer's fault. */
export async function addPeerBlock(chain: Chain, addr: string, block: Block): Promise<'connected' | 'side' | 'known' | 'orphan'> {
  try {
    return await chain.addBlock(block);
  } catch (e) {
    if (e instanceof ConsensusError) throw new PeerMisbehaved(addr, `invalid block ${block.hash}: ${e.message}`);
    throw e;
  }
}

