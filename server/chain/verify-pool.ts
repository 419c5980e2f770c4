/**
 * Worker threads that check many transaction signatures at once: a block's signatures are split
 * across the cores while the event loop goes on with the previous block's SQL (import and
 * catch-up). Results only ever mark a tx as checked; a tx they do not vouch for is checked again
 * on the main thread when its block is applied.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Tx } from '../../consensus/index.ts';

interface Waiting { resolve: (ok: boolean[]) => void; reject: (e: Error) => void }

export class VerifyPool {
  private workers: Worker[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;
  private closed = false;
  /** Workers that said they are ready (loaded their sources). */
  private ready = 0;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  /** For each tx, whether its signature is valid (what consensus hasValidSignature says). */
  async check(txs: readonly Tx[]): Promise<boolean[]> {
    if (txs.length === 0) return [];
    if (this.closed) throw new Error('the verify pool is closed');
    this.start();
    const per = Math.ceil(txs.length / this.workers.length);
    const parts = await Promise.all(this.workers.map((w, k) => {
      const slice = txs.slice(k * per, (k + 1) * per);
      // only what the check reads: the body's from, the canonical text and the signature
      return slice.length ? this.ask(w, slice.map((t) => ({ body: { from: (t.body as { from?: string }).from }, raw: t.raw, sig: t.sig }))) : [];
    }));
    return parts.flat();
  }

  /** Starts the threads now (a check is coming): starting takes ~0.3 s (tsx, the sources, wasm). */
  warm(): void {
    if (!this.closed) this.start();
  }

  /**
   * Like `check`, but while the threads are still starting it vouches for nothing (all false):
   * the caller checks those itself rather than wait ~0.3 s for them.
   */
  async checkIfReady(txs: readonly Tx[]): Promise<boolean[]> {
    if (txs.length === 0) return [];
    this.warm();
    if (this.ready < this.workers.length) return txs.map(() => false);
    return this.check(txs);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reset(new Error('the verify pool is closed'));
  }

  private start(): void {
    if (this.workers.length) return;
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./verify-worker.js', import.meta.url));
      w.on('message', (m: { id: number; ok?: boolean[]; error?: string; ready?: true }) => {
        if (m.ready) {
          if (this.workers.includes(w)) this.ready++;
          return;
        }
        const waiting = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) for (const x of this.workers) x.unref();
        if (m.ok) waiting?.resolve(m.ok);
        else waiting?.reject(new Error(`signature check failed: ${m.error}`));
      });
      // a worker that dies takes the others with it; the next check starts new ones
      w.on('error', (e) => this.workers.includes(w) && void this.reset(e));
      w.on('exit', () => this.workers.includes(w) && void this.reset(new Error('a signature worker stopped')));
      w.unref(); // idle workers do not keep the process alive
      this.workers.push(w);
    }
  }

  private ask(w: Worker, txs: unknown[]): Promise<boolean[]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) for (const x of this.workers) x.ref();
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, txs });
    });
  }

  private reset(e: Error): Promise<unknown> {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    const workers = this.workers;
    this.workers = [];
    this.ready = 0;
    return Promise.all(workers.map((w) => w.terminate()));
  }
}
