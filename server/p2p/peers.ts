/**
 * The node's peers: who they are (config, consensus `InitNodesAddreses`, `--peer`, the stored
 * list, peer exchange), saying hello, catching up with the one whose tip beats ours, relaying txs
 * and blocks, pulling what a node behind NAT cannot be told, and scoring misbehaviour.
 *
 * Every peer is polled on its own schedule: an unreachable one waits with exponential backoff and
 * never stalls the others; one that sends invalid data collects points and is dropped (banned for
 * a while) at 100.
 */
import { randomBytes } from 'node:crypto';
import { beats, blockFromParts, blockToWire, ConsensusError, txFromWire, txToWire, type Block, type Tx } from '../../consensus/index.ts';
import type { Chain } from '../chain/engine.ts';
import { askPeer, PeerRequestError } from './client.ts';
import { MAX_HELLO_DIGESTS, PROTOCOL_VERSION, type CompactBlock, type Hello, type Request } from './protocol.ts';
import type { PeerEvents } from './service.ts';
import { addPeerBlock, decodeBlock, PeerMisbehaved, syncFrom, type SyncProgress } from './sync.ts';

export const BAN_SCORE = 100;
const BAN_MS = 10 * 60_000;
const MAX_BACKOFF_MS = 60_000;
const KNOWN_LIMIT = 20_000;
/** Peers kept per tx being fetched, to ask in turn if the first answer does not bring it. */
const TX_ASK_BACKUPS = 4;
/** Own blocks kept for getcompact after being announced (a few: peers ask within seconds). */
const FOUND_KEPT = 8;
/** Consensus errors that an honest peer can cause (races between pools): no blame. */
const HONEST = new Set(['duplicate-tx', 'double-spend', 'missing-input', 'stale-base', 'insufficient-funds', 'bad-time', 'bad-block' /* its SQL failed here: may be ordering */]);
/**
 * Refusals another copy of the tx, asked of the next announcer, may not meet (see submitAll): a bad
 * signature (the one part a txid does not bind) and the races between pools (an input, a row or a
 * table that may come yet), but not a double spend of a pooled tx or an invalid tx.
 */
const ANY_COPY_MAY_PASS = new Set(['bad-signature', ...[...HONEST].filter((c) => c !== 'duplicate-tx' && c !== 'double-spend')]);

export interface PeerView {
  addr: string;
  connected: boolean;
  height: number;
  work: string;
  score: number;
  failures: number;
  lastSeen: number | null;
  banned: boolean;
  inbound: boolean;
  /** The last block at which this peer's state digest differed from this node's (SPEC 9), if any. */
  diverged: Divergence | null;
}

/** Both nodes connected `block`, and the rows its SQL left differ (their digests do). */
export interface Divergence { height: number; block: string; ours: string; theirs: string; at: number }

interface Peer {
  addr: string;
  connected: boolean;
  inbound: boolean;
  height: number;
  work: bigint;
  score: number;
  failures: number;
  retryAt: number;
  bannedUntil: number;
  lastSeen: number | null;
  busy: boolean;
  /** txids this peer has (told us or we told it): not announced to it again */
  known: Set<string>;
  nextPull: number;
  diverged: Divergence | null;
}

export interface PeerManagerOptions {
  /** Where this node accepts peers (null: not reachable). */
  listen: string | null;
  seeds: string[];
  log: (msg: string) => void;
  /** Poll period. */
  tickMs?: number;
  /** How often connected peers' pools are pulled (what a node behind NAT is never told). */
  pullMs?: number;
  timeoutMs?: number;
  /** Called while a long catch-up runs (the console progress bar). */
  onSyncProgress?: (addr: string, p: SyncProgress) => void;
  /** Learn peers (default true): from getpeers and from nodes that connect here; off: only the seeds and added ones. */
  discovery?: boolean;
  /** A peer was reached (once per connection), or dropped for misbehaving: kept for the next start. */
  remember?: { seen(addr: string): Promise<void>; forget(addr: string): Promise<void> };
}

export class PeerManager implements PeerEvents {
  readonly nonce = randomBytes(16).toString('hex');
  private readonly peers = new Map<string, Peer>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private outbox = new Set<string>();
  private blockOutbox = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  private readonly onPool = (tx: Tx | null) => {
    if (!tx) return;
    this.outbox.add(tx.id);
    this.scheduleFlush();
  };
  private readonly onTip = (tip: { hash: string }) => {
    if (!this.found.has(tip.hash)) this.announceBlock(tip.hash); // else announced when it was found
  };

  /** A block is announced at once (with the txs waiting for the next flush): it is what peers wait for. */
  private announceBlock(hash: string): void {
    this.blockOutbox.add(hash);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flush();
  }

  private readonly opts: PeerManagerOptions;
  /** Blocks this node mined lately, announced when found, before being stored. */
  private readonly found = new Set<string>();
  /** Blocks being fetched from some peer (others announcing them meanwhile are not asked too). */
  private readonly fetching = new Set<string>();
  /**
   * Txs asked of one peer, not yet pooled or refused → peers that announced them meanwhile, asked
   * in turn only if that answer does not bring them. Without it a node in a mesh fetched and
   * admitted each tx from every peer that relayed it while the first copy waited to be admitted:
   * up to 5 times over in a mesh of 6.
   */
  private readonly txAsks = new Map<string, Peer[]>();
  /** Txs that came in `gettxs` answers to announcements and pulls (the bench compares it with the txs pooled). */
  txsReceived = 0;
  private remembering: Promise<void> = Promise.resolve();

  constructor(private readonly chain: Chain, opts: PeerManagerOptions) {
    this.opts = { ...opts };
    for (const s of opts.seeds) this.add(s);
  }

  /** Where this node accepts peers, once its port is bound. */
  setListen(addr: string | null): void {
    this.opts.listen = addr;
    if (addr) this.peers.delete(addr.toLowerCase());
  }

  start(): void {
    this.chain.on('pool', this.onPool);
    this.chain.on('tip', this.onTip);
    const tick = () => {
      if (this.stopped) return;
      this.tick();
      this.timer = setTimeout(tick, this.opts.tickMs ?? 500);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    this.chain.off('pool', this.onPool);
    this.chain.off('tip', this.onTip);
  }

  /**
   * Announces a block this node just mined, before the chain has stored it: peers start fetching
   * it while this node writes it (as BIP 152 relays before full validation; this node built it from
   * its own valid pool, so it is valid). A node no one can reach pushes it once stored (onTip).
   */
  announceFound(block: Block): void {
    if (!this.opts.listen) return;
    this.found.add(block.hash);
    if (this.found.size > FOUND_KEPT) this.found.delete(this.found.values().next().value!);
    this.keepCompact(block.hash, { header: block.header, coinbase: txToWire(block.txs[0]), txids: block.txs.slice(1).map((t) => t.id) });
    this.announceBlock(block.hash);
  }

  /**
   * Compact forms of the blocks this node announces (mined here or connected from a peer's): sent
   * with the announcement, since every peer that lacks the block asks for it next, and asking a
   * node that is busy storing the block can take longer than the block's whole connect.
   */
  private readonly compacts = new Map<string, CompactBlock>();

  private keepCompact(hash: string, c: CompactBlock): void {
    this.compacts.set(hash, c);
    if (this.compacts.size > FOUND_KEPT) this.compacts.delete(this.compacts.keys().next().value!);
  }

  compactBlock(hash: string): CompactBlock | undefined {
    // a relayed block's form is kept before it connects: given only once it has
    return this.found.has(hash) || this.chain.isActive(hash) ? this.compacts.get(hash) : undefined;
  }

  /** Adds an address to try (returns false for this node's own address or a malformed one). */
  add(addr: string, inbound = false): boolean {
    const a = addr.toLowerCase();
    if (a === this.opts.listen?.toLowerCase()) return false;
    if (!this.peers.has(a)) {
      this.peers.set(a, {
        addr: a, connected: false, inbound, height: 0, work: 0n, score: 0, failures: 0, retryAt: 0, bannedUntil: 0, lastSeen: null,
        busy: false, known: new Set(), nextPull: 0, diverged: null,
      });
    }
    return true;
  }

  remove(addr: string): void {
    this.peers.delete(addr.toLowerCase());
  }

  list(): PeerView[] {
    const now = Date.now();
    return [...this.peers.values()].map((p) => ({
      addr: p.addr, connected: p.connected, height: p.height, work: p.work.toString(), score: p.score, failures: p.failures,
      lastSeen: p.lastSeen, banned: p.bannedUntil > now, inbound: p.inbound, diverged: p.diverged,
    }));
  }

  // ---- PeerEvents (requests from peers) ----

  onHello(h: Hello): void {
    if (h.nonce === this.nonce || !h.listen) return;
    if (this.opts.discovery === false && !this.peers.has(h.listen.toLowerCase())) return;
    this.add(h.listen, true);
    const p = this.peers.get(h.listen.toLowerCase());
    if (p && p.bannedUntil <= Date.now()) this.note(p, h);
  }

  /**
   * Different state digests for a block both nodes connected mean the two databases hold different
   * rows where that block wrote (SPEC 9). Nothing says which node is right: it is logged and shown
   * (`oursql peers`, RPC `getpeerinfo`) for an operator to look at.
   */
  private compareDigest(p: Peer, h: Omit<Hello, 'type'>): void {
    for (const { hash, digest } of h.digests ?? []) {
      const ours = this.chain.headers.get(hash);
      if (!ours?.digest || ours.digest === digest || !this.chain.isActive(hash)) continue;
      if (p.diverged && p.diverged.height >= ours.header.height) continue;
      p.diverged = { height: ours.header.height, block: hash, ours: ours.digest, theirs: digest, at: Date.now() };
      this.opts.log(
        `peer ${p.addr}: DATA DIVERGED at block ${ours.header.height} (${hash}): the rows its SQL left differ ` +
        `(state digest here ${ours.digest}, there ${digest}); compare the tables on both nodes`,
      );
    }
  }

  /** The state digests of the latest active blocks that have one (a few blocks back at most). */
  private recentDigests(): { hash: string; digest: string }[] {
    const out: { hash: string; digest: string }[] = [];
    for (let h = this.chain.height; h > 0 && h > this.chain.height - 4 * MAX_HELLO_DIGESTS && out.length < MAX_HELLO_DIGESTS; h--) {
      const hdr = this.chain.headers.get(this.chain.blockHashAt(h)!);
      if (hdr?.digest) out.push({ hash: hdr.hash, digest: hdr.digest });
    }
    return out;
  }

  onInv(inv: Extract<Request, { type: 'inv' }>): void {
    const p = inv.from ? this.peers.get(inv.from.toLowerCase()) : undefined;
    if (!p || !p.connected || p.bannedUntil > Date.now()) return; // we pull from it on our own schedule
    for (const id of [...inv.txs, ...inv.blocks]) p.known.add(id); // (its compact form is not sent back to it)
    void this.fetchAnnounced(p, inv.txs, inv.blocks, inv.compact).catch((e) => this.failed(p, e));
  }

  onPush(push: Extract<Request, { type: 'pushtxs' | 'pushblock' }>): void {
    // the sender cannot be reached, so it cannot be asked for more nor scored: take what is valid
    const from: Peer = { addr: 'an unreachable peer', known: new Set() } as Peer;
    const work = push.type === 'pushtxs'
      ? this.submitAll(from, push.txs.map((w) => this.decodeTx(from, w)))
      : addPeerBlock(this.chain, from.addr, decodeBlock(from.addr, push.block)).then((r) => {
        if (r === 'connected') this.opts.log(`pushed block ${this.chain.height} ${this.chain.tip.hash.slice(0, 16)}… from an unreachable peer`);
      });
    void work.catch((e) => this.opts.log(`push from an unreachable peer refused: ${(e as Error).message}`));
  }

  knownPeers(): string[] {
    const now = Date.now();
    return [...this.peers.values()].filter((p) => p.connected && p.bannedUntil <= now).map((p) => p.addr);
  }

  // ---- the schedule ----

  private tick(): void {
    const now = Date.now();
    for (const p of this.peers.values()) {
      if (p.busy || p.bannedUntil > now || p.retryAt > now) continue;
      p.busy = true;
      void this.visit(p).catch((e) => this.failed(p, e)).finally(() => (p.busy = false));
    }
  }

  /** One round with a peer: hello; catch up if it has more work; pull its pool now and then. */
  private async visit(p: Peer): Promise<void> {
    const h = await askPeer(p.addr, { type: 'hello', ...this.hello() }, this.opts.timeoutMs);
    if (h.nonce === this.nonce) {
      // it is this node under another name
      this.peers.delete(p.addr);
      return;
    }
    if (h.genesis !== this.chain.genesis || h.consensus !== this.chain.config.hash) {
      this.opts.log(`peer ${p.addr}: runs another chain (genesis ${h.genesis}, consensus ${h.consensus})`);
      return this.ban(p);
    }
    if (!p.connected) {
      this.opts.log(`peer ${p.addr}: connected (height ${h.height})`);
      if (this.opts.discovery !== false) void this.askPeers(p).catch(() => {});
      this.remember((r) => r.seen(p.addr));
    }
    this.note(p, h);
    // One block ahead while a new block is being fetched (compact): that fetch brings this node there,
    // so the whole block is not downloaded a second time; the next visit checks again.
    const fetchingIt = this.fetching.size > 0 && h.height <= this.chain.height + 1;
    // (a peer that does not say its tip: only more work)
    const ahead = h.tip === undefined ? BigInt(h.work) > this.chain.tip.work : beats({ work: BigInt(h.work), hash: h.tip }, this.chain.tip);
    if (ahead && !fetchingIt) {
      const added = await syncFrom(this.chain, p.addr, {
        peerHeight: h.height, timeoutMs: this.opts.timeoutMs, onProgress: (pr) => this.opts.onSyncProgress?.(p.addr, pr),
      });
      if (added) this.opts.log(`peer ${p.addr}: caught up ${added} block(s), height ${this.chain.height}`);
    }
    const now = Date.now();
    if (now >= p.nextPull) {
      p.nextPull = now + (this.opts.pullMs ?? 2000);
      const { txids } = await askPeer(p.addr, { type: 'getmempool' }, this.opts.timeoutMs);
      await this.fetchTxs(p, txids);
    }
    p.retryAt = Date.now() + (this.opts.tickMs ?? 500);
  }

  private note(p: Peer, h: Omit<Hello, 'type'>): void {
    this.compareDigest(p, h);
    p.connected = true;
    p.height = h.height;
    p.work = BigInt(h.work);
    p.failures = 0;
    p.lastSeen = Date.now();
  }

  private async askPeers(p: Peer): Promise<void> {
    const { peers } = await askPeer(p.addr, { type: 'getpeers' }, this.opts.timeoutMs);
    for (const a of peers) this.add(a);
  }

  hello(): Omit<Hello, 'type'> {
    return {
      version: PROTOCOL_VERSION, genesis: this.chain.genesis, consensus: this.chain.config.hash, height: this.chain.height,
      work: this.chain.tip.work.toString(), tip: this.chain.tip.hash, listen: this.opts.listen, nonce: this.nonce,
      digests: this.recentDigests(),
    };
  }

  // ---- fetching what peers have ----

  private async fetchAnnounced(p: Peer, txids: string[], blocks: string[], compact: (CompactBlock & { hash: string })[] = []): Promise<void> {
    for (const hash of blocks) {
      if (this.chain.headers.has(hash) || this.fetching.has(hash)) continue;
      this.fetching.add(hash);
      try {
        await this.fetchCompact(p, hash, compact.find((c) => c.hash === hash));
      } finally {
        this.fetching.delete(hash);
      }
    }
    await this.fetchTxs(p, txids);
  }

  /** A new block as header + txids (`given` with its announcement, else asked): the txs this node pooled already are not sent again. */
  private async fetchCompact(p: Peer, hash: string, given?: CompactBlock): Promise<void> {
    const c = given ?? await askPeer(p.addr, { type: 'getcompact', hash }, this.opts.timeoutMs);
    const prev = (c.header as { prev?: unknown }).prev;
    if (typeof prev !== 'string' || !this.chain.headers.has(prev)) {
      // more than one block behind: the next visit catches up headers-first
      p.retryAt = 0;
      return;
    }
    const have = new Map<string, Tx>();
    const missing: string[] = [];
    for (const id of c.txids) {
      const e = this.chain.pool.get(id);
      if (e && !e.inflight) have.set(id, e.tx);
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 2000) {
      const { txs } = await askPeer(p.addr, { type: 'gettxs', ids: missing.slice(i, i + 2000) }, this.opts.timeoutMs);
      for (const w of txs) {
        const tx = this.decodeTx(p, w);
        have.set(tx.id, tx);
      }
    }
    let block: Block;
    if (c.txids.some((id) => !have.has(id))) {
      // An honest peer can lack them: a fork switch there since it announced the block dropped
      // some from its pool. The stored block, whole, is asked for instead.
      const whole = await this.wholeBlock(p, hash);
      if (!whole) {
        this.opts.log(`peer ${p.addr}: could not send the txs of block ${hash.slice(0, 16)}… it announced: left to the next sync`);
        p.retryAt = 0;
        return;
      }
      block = whole;
    } else {
      try {
        // pooled txs were parsed and checked when pooled: only the coinbase is decoded here
        block = blockFromParts(c.header, [txFromWire(c.coinbase), ...c.txids.map((id) => have.get(id)!)]);
      } catch (e) {
        throw new PeerMisbehaved(p.addr, `undecodable compact block: ${(e as Error).message}`);
      }
    }
    if (block.hash !== hash) throw new PeerMisbehaved(p.addr, `block ${hash} does not hash to its name`);
    // announced as soon as it connects (the tip event): its compact form goes with that
    this.keepCompact(hash, { header: c.header, coinbase: c.coinbase, txids: c.txids });
    const r = await addPeerBlock(this.chain, p.addr, block);
    if (r === 'connected') {
      this.opts.log(`peer ${p.addr}: block ${block.header.height} ${hash.slice(0, 16)}… (${c.txids.length} txs, ${missing.length} fetched${given ? ', sent with its announcement' : ''})`);
    }
  }

  /** Block `hash` as the peer stores it; undefined when it does not have it (any more). */
  private async wholeBlock(p: Peer, hash: string): Promise<Block | undefined> {
    let blocks: unknown[];
    try {
      ({ blocks } = await askPeer(p.addr, { type: 'getblocks', hashes: [hash] }, this.opts.timeoutMs));
    } catch (e) {
      if (e instanceof PeerRequestError && e.failure === 'refused') return undefined;
      throw e;
    }
    return blocks.length === 1 ? decodeBlock(p.addr, blocks[0]) : undefined;
  }

  private async fetchTxs(p: Peer, txids: string[]): Promise<void> {
    for (const id of txids) p.known.add(id);
    this.trimKnown(p);
    const wanted: string[] = [];
    for (const id of txids) {
      if (this.chain.pool.has(id) || this.chain.state.hasTx(id)) continue;
      const backups = this.txAsks.get(id);
      if (!backups) {
        this.txAsks.set(id, []);
        wanted.push(id);
      } else if (backups.length < TX_ASK_BACKUPS && !backups.includes(p)) backups.push(p);
    }
    await this.askTxs(p, wanted);
  }

  /** Asks `p` for `ids` (registered in txAsks) and pools them; what that does not bring is asked elsewhere. */
  private async askTxs(p: Peer, ids: string[]): Promise<void> {
    const refused = new Set<string>();
    try {
      for (let i = 0; i < ids.length; i += 2000) {
        const { txs } = await askPeer(p.addr, { type: 'gettxs', ids: ids.slice(i, i + 2000) }, this.opts.timeoutMs);
        this.txsReceived += txs.length;
        for (const id of await this.submitAll(p, txs.map((w) => this.decodeTx(p, w)))) refused.add(id);
      }
    } finally {
      this.askElsewhere(ids.filter((id) => !refused.has(id)));
    }
  }

  /**
   * `ids` were asked of a peer and its answer is pooled (or it failed): each one still missing is
   * asked of the next peer that announced it meanwhile (a peer that does not have it, sent it
   * with a bad signature or went away must not stop it).
   */
  private askElsewhere(ids: string[]): void {
    const next = new Map<Peer, string[]>();
    for (const id of ids) {
      const backups = this.txAsks.get(id) ?? [];
      this.txAsks.delete(id);
      if (this.chain.pool.has(id) || this.chain.state.hasTx(id)) continue;
      const q = backups.shift();
      if (!q || this.stopped || this.peers.get(q.addr) !== q) continue;
      this.txAsks.set(id, backups);
      const list = next.get(q);
      if (list) list.push(id);
      else next.set(q, [id]);
    }
    for (const [q, list] of next) void this.askTxs(q, list).catch((e) => this.failed(q, e));
  }

  /**
   * Pools txs a peer sent, in its order (a tx spending another's output comes after it). Returns
   * the txids refused for what any copy would be refused for (not ANY_COPY_MAY_PASS).
   */
  private async submitAll(p: Peer, txs: Tx[]): Promise<string[]> {
    const fresh = txs.filter((tx) => !this.chain.pool.has(tx.id) && !this.chain.state.hasTx(tx.id));
    const errors = await this.chain.submitTxs(fresh);
    const refused: string[] = [];
    fresh.forEach((tx, i) => {
      const e = errors[i];
      if (!e) return;
      if (e instanceof ConsensusError && !ANY_COPY_MAY_PASS.has(e.code)) refused.push(tx.id);
      if (e instanceof ConsensusError && e.code === 'duplicate-tx') return; // fetched twice at once (push and pull)
      if (e instanceof ConsensusError && !HONEST.has(e.code) && this.peers.has(p.addr)) {
        this.blame(p, 20, `sent tx ${tx.id} that is invalid: ${e.message}`);
      } else this.opts.log(`peer ${p.addr}: tx ${tx.id} not pooled: ${e.message}`);
    });
    return refused;
  }

  private decodeTx(p: Peer, wire: unknown): Tx {
    try {
      return txFromWire(wire);
    } catch (e) {
      throw new PeerMisbehaved(p.addr, `undecodable tx: ${(e as Error).message}`);
    }
  }

  // ---- announcing ----

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 20);
    this.flushTimer.unref();
  }

  private flush(): void {
    const txs = [...this.outbox];
    const blocks = [...this.blockOutbox];
    this.outbox.clear();
    this.blockOutbox.clear();
    const now = Date.now();
    for (const p of this.peers.values()) {
      if (!p.connected || p.bannedUntil > now) continue;
      const news = txs.filter((id) => !p.known.has(id));
      if (news.length === 0 && blocks.length === 0) continue;
      for (const id of news) p.known.add(id);
      this.trimKnown(p);
      if (!this.opts.listen) {
        void this.push(p, news, blocks).catch((e) => this.failed(p, e));
        continue;
      }
      for (let i = 0; i < Math.max(news.length, 1); i += 5000) {
        const announced = i === 0 ? blocks.slice(-16) : [];
        const last = announced.at(-1);
        const newest = last !== undefined && !p.known.has(last) ? this.compacts.get(last) : undefined;
        const inv = {
          type: 'inv' as const, txs: news.slice(i, i + 5000), blocks: announced, from: this.opts.listen,
          compact: newest ? [{ hash: last!, ...newest }] : [],
        };
        askPeer(p.addr, inv, this.opts.timeoutMs).catch((e) => this.failed(p, e));
      }
    }
  }

  /** A node no one can reach cannot be asked: it sends its news whole. */
  private async push(p: Peer, txids: string[], blocks: string[]): Promise<void> {
    const txs = txids.flatMap((id) => {
      const e = this.chain.pool.get(id);
      return e && !e.inflight ? [txToWire(e.tx)] : [];
    });
    for (let i = 0; i < txs.length; i += 2000) await askPeer(p.addr, { type: 'pushtxs', txs: txs.slice(i, i + 2000) }, this.opts.timeoutMs);
    for (const hash of blocks) {
      const b = await this.chain.getBlock(hash);
      if (b) await askPeer(p.addr, { type: 'pushblock', block: blockToWire(b) }, this.opts.timeoutMs);
    }
  }

  private trimKnown(p: Peer): void {
    if (p.known.size > KNOWN_LIMIT) p.known = new Set([...p.known].slice(-KNOWN_LIMIT / 2));
  }

  // ---- failures ----

  private failed(p: Peer, e: unknown): void {
    if (this.stopped) return;
    if (e instanceof PeerMisbehaved) return this.blame(p, BAN_SCORE, e.message);
    if (e instanceof PeerRequestError && e.failure === 'invalid') return this.blame(p, 50, e.message);
    if (e instanceof PeerRequestError && e.failure === 'refused' && e.code === 'wrong-chain') {
      this.opts.log(`peer ${p.addr}: runs another chain: ${e.message}`);
      return this.ban(p);
    }
    p.connected = false;
    p.failures++;
    const backoff = Math.min(MAX_BACKOFF_MS, (this.opts.tickMs ?? 500) * 2 ** Math.min(p.failures, 10));
    p.retryAt = Date.now() + backoff;
    if (p.failures === 1 || p.failures % 10 === 0) this.opts.log(`peer ${p.addr}: ${(e as Error).message} (retry in ${Math.round(backoff / 1000)} s)`);
  }

  private blame(p: Peer, points: number, why: string): void {
    p.score += points;
    this.opts.log(`peer ${p.addr}: misbehaved (+${points}, score ${p.score}): ${why}`);
    if (p.score >= BAN_SCORE) this.ban(p);
  }

  /** Runs remembered-peer writes in order (a peer seen, then dropped, ends up forgotten). */
  private remember(op: (r: NonNullable<PeerManagerOptions['remember']>) => Promise<void>): void {
    const r = this.opts.remember;
    if (!r) return;
    this.remembering = this.remembering.then(() => op(r)).catch((e: Error) => this.opts.log(`peer list not saved: ${e.message}`));
  }

  private ban(p: Peer): void {
    this.remember((r) => r.forget(p.addr));
    p.connected = false;
    p.bannedUntil = Date.now() + BAN_MS;
    p.score = 0;
    this.opts.log(`peer ${p.addr}: dropped for ${BAN_MS / 60_000} minutes`);
  }

  /** Blame for a peer that sent an invalid request (the HTTP side). */
  misbehavedRequest(addr: string | null, why: string): void {
    const p = addr ? this.peers.get(addr.toLowerCase()) : undefined;
    if (p) this.blame(p, 20, why);
  }
}
