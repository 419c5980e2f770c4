/**
 * Headers-first catch-up from one peer: send a block locator, get the headers after the fork
 * point, fetch the blocks this node lacks in batches and add them in order. The chain decides
 * (most work wins, fork switches included); a block it refuses ends the sync and blames the peer.
 */
import { blockFromWire, ConsensusError, type Block, type Tx } from '../../consensus/index.ts';
import { runLength, type Chain } from '../chain/engine.ts';
import { askPeer } from './client.ts';
import { MAX_BLOCKS_PER_REQUEST, MAX_HEADERS, MAX_HELLO_DIGESTS, type Answer } from './protocol.ts';

/** Blocks in the first request of a sync: small, so that applying starts early. */
const FIRST_BATCH = 4;
/** Blocks in the second: decoded while the first blocks connect, so not many either. */
const SECOND_BATCH = 16;
/** Blocks asked for in the request that starts at wanted block `from`. */
const batchSize = (from: number) => (from === 0 ? FIRST_BATCH : from === FIRST_BATCH ? SECOND_BATCH : MAX_BLOCKS_PER_REQUEST);
/** Txs of the next run decoded at one turn of the event loop, at least (see syncFrom). */
const DECODE_TXS_PER_TURN = 400;
/** Batches of at most this many txs are asked for two ahead (see syncFrom). */
const TWO_AHEAD_TXS = 5_000;

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
 * A fresh node's first questions, asked before its chain is open (import asks them while MySQL
 * is set up): the headers after the genesis block and the blocks of the first two requests, by
 * where they start among the wanted blocks, decoded there too (`blocks`; absent if one does not
 * decode: the sync decodes them again and says why).
 */
export interface SyncAhead {
  genesis: string;
  headers: Promise<Answer<'getheaders'>>;
  batches: ReadonlyMap<number, Promise<AheadBatch>>;
}

interface AheadBatch { hashes: string[]; wires: unknown[]; blocks?: Block[] }

/** `checkTxs`: has the signatures of those blocks' txs checked meanwhile (the helpers are idle then). */
export function askAhead(addr: string, genesis: string, opts: { timeoutMs?: number; checkTxs?: (txs: Tx[]) => void } = {}): SyncAhead {
  const headers = quiet(askPeer(addr, { type: 'getheaders', locator: [genesis], limit: MAX_HEADERS }, opts.timeoutMs));
  const batch = (from: number) => quiet(headers.then(async ({ headers: hs }): Promise<AheadBatch> => {
    const hashes = hs.slice(from, from + batchSize(from)).map((h) => h.hash);
    const wires = hashes.length ? await fetchWires(addr, hashes, opts.timeoutMs) : [];
    let blocks: Block[];
    try {
      blocks = wires.map((w) => decodeBlock(addr, w));
    } catch {
      return { hashes, wires };
    }
    opts.checkTxs?.(blocks.flatMap((b) => b.txs));
    return { hashes, wires, blocks };
  }));
  return { genesis, headers, batches: new Map([0, FIRST_BATCH].map((from) => [from, batch(from)])) };
}

/**
 * Pulls every block `addr` has beyond this node's chain. Returns the blocks added. Throws
 * PeerRequestError (network) or PeerMisbehaved (invalid data: bad block, broken header chain).
 */
export async function syncFrom(
  chain: Chain,
  addr: string,
  opts: { peerHeight?: number; onProgress?: (p: SyncProgress) => void; timeoutMs?: number; ahead?: SyncAhead } = {},
): Promise<number> {
  const progress: SyncProgress = { blocks: 0, target: Math.max(0, (opts.peerHeight ?? chain.height) - chain.height), txs: 0 };
  let locator = blockLocator(chain);
  if (progress.target > 0) chain.prepareChecks(); // the signature threads start while headers come
  // answers asked ahead stand for the first round's questions when this chain is where they began
  let ahead = opts.ahead && chain.height === 0 && chain.genesis === opts.ahead.genesis ? opts.ahead : undefined;
  for (;;) {
    const { headers } = ahead ? await ahead.headers : await askPeer(addr, { type: 'getheaders', locator, limit: MAX_HEADERS }, opts.timeoutMs);
    const early = ahead?.batches;
    ahead = undefined;
    if (headers.length === 0) return progress.blocks;
    // the answer must be one linked run of headers
    for (let i = 1; i < headers.length; i++) {
      const prev = (headers[i].header as { prev?: unknown }).prev;
      if (prev !== headers[i - 1].hash) throw new PeerMisbehaved(addr, `headers answer is not a chain (at ${headers[i].hash})`);
    }
    const wanted = headers.filter((h) => !chain.headers.has(h.hash)).map((h) => h.hash);
    // State digests are read for the blocks near the peer's tip only: hello compares a node's
    // latest 8 (the peer's tip is at least this answer's last header, or what its hello said).
    const last = (headers[headers.length - 1].header as { height?: unknown }).height;
    const tip = Math.max(opts.peerHeight ?? 0, Number.isSafeInteger(last) ? (last as number) : 0);
    const digestsFrom = tip - MAX_HELLO_DIGESTS + 1;
    if (wanted.length === 0 && headers.length < MAX_HEADERS) return progress.blocks;
    if (wanted.length) chain.prepareChecks();
    // A run of blocks connects at once. Meanwhile the next run is decoded and its signatures are
    // checked by the helpers (docs/consensus.md). Decoding goes a few hundred txs at a turn of the
    // event loop, so the run being connected sends its SQL in between: a batch decoded at once
    // (~40 ms for 50 blocks of 30 txs) held it up.
    const prepare = async (run: WireRun) => {
      const blocks: Block[] = [];
      const checks: Promise<void>[] = [];
      for (let k = 0; k < run.wires.length;) {
        await nextTurn();
        for (let txs = 0; k < run.wires.length && txs < DECODE_TXS_PER_TURN; k++) {
          const block = run.blocks?.[k] ?? decodeBlock(addr, run.wires[k]);
          if (block.hash !== run.hashes[k]) throw new PeerMisbehaved(addr, `sent block ${block.hash} for ${run.hashes[k]}`);
          blocks.push(block);
          checks.push(chain.precheck(block));
          txs += block.txs.length;
        }
      }
      await Promise.all(checks);
      return blocks;
    };
    // A request for the blocks from `from` on, cut into runs; the first run is prepared as it arrives.
    const fetch = (from: number) => {
      const hashes = wanted.slice(from, from + batchSize(from));
      const askedEarly = early?.get(from);
      const asked: Promise<{ wires: unknown[]; blocks?: Block[] }> = askedEarly
        ? askedEarly.then((e) => (e.hashes.join() === hashes.join() ? e : fetchWires(addr, hashes, opts.timeoutMs).then((wires) => ({ wires }))))
        : fetchWires(addr, hashes, opts.timeoutMs).then((wires) => ({ wires }));
      const p = asked.then(({ wires, blocks }) => {
        const runs = splitRuns(wires, hashes, blocks);
        return { count: wires.length, txs: runs.reduce((n, r) => n + r.txs, 0), runs, first: quiet(prepare(runs[0])) };
      });
      return quiet(p);
    };
    // The next batches are on their way while one is applied: one until the first batch is
    // applied (the set-up and the first blocks share the cores with it), then two while batches
    // are small, so the peer's answer time hides behind the apply (with one ahead, a sync of small
    // blocks waited for it at each batch); one for big blocks, whose batches are large in memory.
    const fetching: ReturnType<typeof fetch>[] = [];
    let nextFrom = 0;
    let depth = 1;
    const askMore = () => {
      for (; fetching.length < depth && nextFrom < wanted.length; nextFrom += batchSize(nextFrom)) fetching.push(fetch(nextFrom));
    };
    askMore();
    for (let i = 0; i < wanted.length;) {
      const { count, txs, runs, first } = await fetching.shift()!;
      const applied = i > 0;
      i += count;
      depth = applied && txs <= TWO_AHEAD_TXS ? 2 : 1;
      askMore();
      let ready = first;
      for (let r = 0; r < runs.length; r++) {
        const blocks = await ready;
        if (r + 1 < runs.length) ready = quiet(prepare(runs[r + 1]));
        await addPeerBlocks(chain, addr, blocks, (block) => {
          progress.blocks++;
          progress.txs += block.txs.length - 1;
          progress.target = Math.max(progress.target, progress.blocks);
          opts.onProgress?.(progress);
        }, digestsFrom);
      }
    }
    locator = [headers[headers.length - 1].hash, ...blockLocator(chain)].slice(0, 64);
    if (headers.length < MAX_HEADERS) return progress.blocks;
  }
}

/** A run's blocks in wire form (and decoded, if they were ahead), with the hashes they were asked for, and how many txs they hold. */
interface WireRun { wires: unknown[]; hashes: string[]; txs: number; blocks?: Block[] }

/** A batch in runs as the chain connects them (runLength): each is decoded and checked ahead as a whole. */
export function splitRuns(wires: readonly unknown[], hashes: readonly string[], decoded?: readonly Block[]): WireRun[] {
  // (a malformed block counts no txs here and fails its decoding)
  const counts = wires.map((w) => {
    const txs = (w as { txs?: unknown }).txs;
    return Array.isArray(txs) ? txs.length : 0;
  });
  const runs: WireRun[] = [];
  for (let k = 0; k < wires.length;) {
    const n = runLength(counts.slice(k));
    runs.push({
      wires: wires.slice(k, k + n), hashes: hashes.slice(k, k + n), txs: counts.slice(k, k + n).reduce((a, c) => a + c, 0), blocks: decoded?.slice(k, k + n),
    });
    k += n;
  }
  return runs;
}

/** The blocks `hashes` from `addr` in wire form, one for each hash asked (decoded run by run). */
async function fetchWires(addr: string, hashes: string[], timeoutMs?: number): Promise<unknown[]> {
  const { blocks } = await askPeer(addr, { type: 'getblocks', hashes }, timeoutMs);
  if (blocks.length !== hashes.length) throw new PeerMisbehaved(addr, `asked for ${hashes.length} blocks, got ${blocks.length}`);
  return blocks;
}

/** Resolves at the next turn of the event loop (after what is queued now, I/O included). */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Awaited later; a sync that ends first (an error) leaves no unhandled rejection behind. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export function decodeBlock(addr: string, wire: unknown): Block {
  try {
    return blockFromWire(wire);
  } catch (e) {
    throw new PeerMisbehaved(addr, `undecodable block: ${(e as Error).message}`);
  }
}

/** Adds blocks a peer sent, in order; an invalid one is the peer's fault. `digestsFrom`: see Chain.addBlocks. */
export async function addPeerBlocks(chain: Chain, addr: string, blocks: readonly Block[], onAdded: (b: Block) => void, digestsFrom?: number): Promise<void> {
  let done = 0;
  try {
    await chain.addBlocks(blocks, (b) => {
      done++;
      onAdded(b);
    }, { digestsFrom });
  } catch (e) {
    if (e instanceof ConsensusError) throw new PeerMisbehaved(addr, `invalid block ${blocks[done]?.hash}: ${e.message}`);
    throw e;
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

