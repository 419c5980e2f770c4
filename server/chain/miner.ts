import { EventEmitter } from 'node:events';
import { makeBlock, type Block } from '../../consensus/index.ts';
import type { Chain } from './engine.ts';
import { PowWorker } from './pow.ts';

export interface MinerOptions {
  minter: string;
  log?: (msg: string) => void;
  /** Wait this long after a tx arrives before building a block, so busy pools make fuller blocks. */
  batchMs?: number;
}

export type MineOutcome = { block: Block } | { wait: string; retryAt?: number } | { cancelled: true };

/**
 * Makes blocks from the pool whenever the block rule allows one (SPEC 3). It reacts to pool and tip
 * events; a new tip abandons the current search. Emits 'found' (the block) as soon as its proof of
 * work is found, before the chain stores it, so peers can start fetching it meanwhile.
 */
export class Miner extends EventEmitter<{ found: [Block] }> {
  private readonly pow = new PowWorker();
  private running = false;
  private busy = false;
  private current?: Promise<MineOutcome>;
  private again = false;
  private timer?: NodeJS.Timeout;
  private batchTimer?: NodeJS.Timeout;
  /** Every trigger waits batchMs, so a busy pool is mined in fuller blocks, not one tx each. */
  private kick(): void {
    if (this.batchTimer || !this.running) return;
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      this.schedule();
    }, this.opts.batchMs ?? 100);
    this.batchTimer.unref();
  }
  private readonly onPool = () => this.kick();
  private readonly onTip = () => {
    this.pow.cancel();
    this.kick();
  };
  hashes = 0;

  constructor(private readonly chain: Chain, private readonly opts: MinerOptions) {
    super();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.chain.on('pool', this.onPool);
    this.chain.on('tip', this.onTip);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.chain.off('pool', this.onPool);
    this.chain.off('tip', this.onTip);
    clearTimeout(this.timer);
    clearTimeout(this.batchTimer);
    await this.pow.close();
    // A block already found may be connecting: once stop returns, the miner changes nothing.
    await this.current?.catch(() => {});
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.attempt()
      .then((r) => {
        if ('wait' in r && r.retryAt !== undefined) {
          clearTimeout(this.timer);
          this.timer = setTimeout(() => this.schedule(), Math.max(0, r.retryAt - Date.now()) + 5);
          this.timer.unref();
        }
        if ('block' in r) this.again = true;
      })
      .catch((e) => this.opts.log?.(`miner: ${(e as Error).message}`))
      .finally(() => {
        this.busy = false;
        if (this.again && this.running) {
          this.again = false;
          this.kick();
        }
      });
  }

  /**
   * Makes a block now if the rules allow one (`oursql mine`): joins the background search when one
   * runs, so the two never cancel each other.
   */
  async mineNow(): Promise<MineOutcome> {
    for (let i = 0; i < 5; i++) {
      const r = await (this.current ?? this.attempt());
      if (!('cancelled' in r)) return r;
    }
    return { cancelled: true };
  }

  private attempt(): Promise<MineOutcome> {
    const p = this.mineOnce().finally(() => {
      if (this.current === p) this.current = undefined;
    });
    this.current = p;
    return p;
  }

  /** One attempt: build a template, search its nonce, hand the block to the chain like any other. */
  async mineOnce(): Promise<MineOutcome> {
    const t = this.chain.blockTemplate(this.opts.minter);
    if ('wait' in t) return t;
    const r = await this.pow.search(t.header);
    this.hashes += r.hashes;
    if ('cancelled' in r) return r;
    const block = makeBlock({ ...t.header, nonce: r.nonce }, t.txs);
    this.emit('found', block);
    const result = await this.chain.addBlock(block);
    if (result === 'connected') this.opts.log?.(`mined block ${block.header.height} ${block.hash} with ${block.txs.length - 1} tx`);
    return { block };
  }
}
