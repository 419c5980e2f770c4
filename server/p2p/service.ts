/**
 * Answers peers' requests from the node's chain (the server side of `POST /p2p`). Requests are
 * already checked against protocol.ts; what they name is looked up, never trusted.
 */
import { blockToWire, txToWire, type Tx } from '../../consensus/index.ts';
import type { Chain } from '../chain/engine.ts';
import { MAX_HEADERS, MAX_PEERS_ANSWER, PROTOCOL_VERSION, type Answer, type CompactBlock, type Hello, type Request } from './protocol.ts';

/** An answer already written as JSON text (the HTTP layer sends it as it is). */
export class JsonText {
  constructor(readonly text: string) {}
}

export class P2pRefusal extends Error {
  override name = 'P2pRefusal';
  constructor(readonly code: 'wrong-chain' | 'not-found' | 'bad-request' | 'busy', message: string) {
    super(message);
  }
}

/** What the service needs from the peer manager. */
export interface PeerEvents {
  /** A peer said hello (its answer is ours). */
  onHello(hello: Hello): void;
  /** A peer announced txs or blocks. */
  onInv(inv: Extract<Request, { type: 'inv' }>): void;
  /** Addresses worth telling other peers about. */
  knownPeers(): string[];
  /** Txs or a block pushed by a node no one can reach. */
  onPush(push: Extract<Request, { type: 'pushtxs' | 'pushblock' }>): void;
  /** A block this node announced lately (mined here, before it is stored, or connected), in compact form. */
  compactBlock(hash: string): CompactBlock | undefined;
}

export class P2pService {
  constructor(
    private readonly chain: Chain,
    private readonly self: () => Omit<Hello, 'type'>,
    private readonly consensusText: string,
    private readonly events: PeerEvents,
  ) {}

  async handle(req: Request): Promise<unknown> {
    switch (req.type) {
      case 'hello':
        return this.onHello(req);
      case 'getheaders':
        return this.headers(req.locator, req.limit);
      case 'getblocks':
        return this.blocks(req.hashes);
      case 'getcompact': {
        // A new block's form is in memory (every peer asks for it at once); else only the coinbase is read.
        const kept = this.events.compactBlock(req.hash);
        if (kept) return kept satisfies Answer<'getcompact'>;
        const h = this.chain.headers.get(req.hash);
        const coinbase = h && (await this.chain.store.getTx(h.txids[0]));
        if (!h || !coinbase) throw new P2pRefusal('not-found', `no block ${req.hash}`);
        return { header: h.header, coinbase: txToWire(coinbase), txids: h.txids.slice(1) } satisfies Answer<'getcompact'>;
      }
      case 'gettxs':
        return { txs: (await this.txs(req.ids)).map(txToWire) } satisfies Answer<'gettxs'>;
      case 'getmempool':
        return { txids: this.chain.pool.list().filter((e) => !e.inflight).map((e) => e.tx.id) } satisfies Answer<'getmempool'>;
      case 'inv':
        this.events.onInv(req);
        return { ok: true } satisfies Answer<'inv'>;
      case 'pushtxs':
      case 'pushblock':
        this.events.onPush(req);
        return { ok: true } satisfies Answer<'pushtxs'>;
      case 'getpeers':
        return { peers: this.events.knownPeers().slice(0, MAX_PEERS_ANSWER) } satisfies Answer<'getpeers'>;
      case 'getconsensus': {
        const genesis = await this.chain.getBlock(this.chain.genesis);
        return { consensus: this.consensusText, genesis: blockToWire(genesis!) } satisfies Answer<'getconsensus'>;
      }
    }
  }

  private onHello(h: Extract<Request, { type: 'hello' }>): Answer<'hello'> {
    const me = this.self();
    if (h.genesis !== me.genesis || h.consensus !== me.consensus) {
      throw new P2pRefusal('wrong-chain', `this node runs chain ${me.genesis} with consensus ${me.consensus}; you run ${h.genesis} with ${h.consensus}`);
    }
    if (h.version !== PROTOCOL_VERSION) throw new P2pRefusal('bad-request', `protocol version ${h.version} is not supported (this node speaks ${PROTOCOL_VERSION})`);
    this.events.onHello(h);
    return me;
  }

  /** Active-chain headers after the first locator hash this node has on its active chain. */
  private headers(locator: string[], limit: number): Answer<'getheaders'> {
    const fork = locator.find((h) => this.chain.isActive(h)) ?? this.chain.genesis;
    const from = this.chain.headers.get(fork)!.header.height + 1;
    const to = Math.min(this.chain.height, from + Math.min(limit, MAX_HEADERS) - 1);
    const headers: Answer<'getheaders'>['headers'] = [];
    for (let h = from; h <= to; h++) {
      const hash = this.chain.blockHashAt(h)!;
      headers.push({ hash, header: this.chain.headers.get(hash)!.header });
    }
    return { headers };
  }

  /** `{blocks}` as JSON text, each block spliced from its stored bodies (see ChainStore.getBlocksJson). */
  private async blocks(hashes: string[]): Promise<JsonText> {
    const stored = hashes.map((h) => {
      const header = this.chain.headers.get(h);
      if (!header) throw new P2pRefusal('not-found', `no block ${h}`);
      return header;
    });
    return new JsonText(`{"blocks":[${(await this.chain.store.getBlocksJson(stored)).join(',')}]}`);
  }

  /** From the pool (committed entries) or the chain; unknown ids are left out. */
  private async txs(ids: string[]): Promise<Tx[]> {
    const out = new Map<string, Tx>();
    const rest: string[] = [];
    for (const id of ids) {
      const e = this.chain.pool.get(id);
      if (e && !e.inflight) out.set(id, e.tx);
      else rest.push(id);
    }
    if (rest.length) for (const [id, tx] of await this.chain.getChainTxs(rest)) out.set(id, tx);
    return ids.flatMap((id) => (out.has(id) ? [out.get(id)!] : []));
  }
}
