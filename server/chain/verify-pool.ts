/**
 * Worker threads that check many transaction signatures at once, for nodes where the native
 * libsecp256k1 addon does not load (server/node/node.ts): a block's signatures are split across
 * the cores while the event loop goes on with the previous block's SQL (import and catch-up). Results only ever mark a tx as checked; a tx they do not vouch for is checked again
 * on the main thread when its block is applied.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { isCoinbase, signatureToCompact, signedMessage, type Tx } from '../../consensus/index.ts';
import { compressedKey } from './verify.ts';

interface Waiting { resolve: (ok: Uint8Array) => void; reject: (e: Error) => void }

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
    // Prepared here with the consensus code (message, DER, key shape); the threads only verify.
    const out: boolean[] = new Array(txs.length).fill(false);
    const toCheck: { i: number; digest: Uint8Array; sig: Uint8Array; pub: Uint8Array }[] = [];
    txs.forEach((tx, i) => {
      if (isCoinbase(tx.body)) {
        out[i] = tx.sig === undefined;
        return;
      }
      if (tx.sig === undefined) return;
      try {
        const sig = signatureToCompact(tx.sig);
        const pub = compressedKey(tx.body.from);
        toCheck.push({ i, digest: createHash('sha256').update(signedMessage(tx.raw)).digest(), sig, pub });
      } catch {
        // a malformed signature or key: not valid
      }
    });
    const per = Math.ceil(toCheck.length / this.workers.length);
    await Promise.all(this.workers.map(async (w, k) => {
      const part = toCheck.slice(k * per, (k + 1) * per);
      if (part.length === 0) return;
      const ok = await this.ask(w, part);
      part.forEach((t, j) => (out[t.i] = ok[j] === 1));
    }));
    return out;
  }

  /** Starts the threads now (a check is coming): a thread takes ~50 ms to load. */
  warm(): void {
    if (!this.closed) this.start();
  }

  /**
   * Like `check`, but while the threads are still starting it vouches for nothing (all false):
   * the caller checks those itself rather than wait for them.
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
      w.on('message', (m: { id: number; ok?: Uint8Array; error?: string; ready?: true }) => {
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

  private ask(w: Worker, part: readonly { digest: Uint8Array; sig: Uint8Array; pub: Uint8Array }[]): Promise<Uint8Array> {
    const id = this.next++;
    const n = part.length;
    const digests = new Uint8Array(n * 32);
    const sigs = new Uint8Array(n * 64);
    const pubs = new Uint8Array(n * 33);
    part.forEach((t, j) => {
      digests.set(t.digest, j * 32);
      sigs.set(t.sig, j * 64);
      pubs.set(t.pub, j * 33);
    });
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) for (const x of this.workers) x.ref();
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, n, digests, sigs, pubs }, [digests.buffer, sigs.buffer, pubs.buffer]);
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
