/**
 * Helpers that check many transaction signatures at once: a sync's next blocks are checked on
 * the other cores while the event loop applies the previous ones (import and catch-up). Results
 * only ever mark a tx as checked; a tx they do not vouch for is checked again on the main thread
 * when its block is applied.
 * - 'process': child processes with native libsecp256k1 (where its addon loads; see
 *   verify-worker.js for why not threads). One message per block and helper.
 * - 'thread': worker threads with its WebAssembly build, where the addon does not load.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { isCoinbase, signatureToCompact, type Tx } from '../../consensus/index.ts';
import { compressedKey, keyCache } from './verify.ts';

interface Waiting { resolve: (ok: Uint8Array) => void; reject: (e: Error) => void }
type Reply = { id: number; ok?: Uint8Array; error?: string; ready?: true; native?: boolean };
type Job = { id: number; n: number; digests: Uint8Array<ArrayBuffer>; sigs: Uint8Array<ArrayBuffer>; pubs: Uint8Array<ArrayBuffer> };

/** A worker thread or a child process, behind what the pool needs of either. */
interface Helper {
  post(job: Job): void;
  on(event: 'message', f: (m: Reply) => void): void;
  on(event: 'error' | 'exit', f: (e?: unknown) => void): void;
  ref(): void;
  unref(): void;
  stop(): Promise<unknown>;
}

const WORKER_FILE = new URL('./verify-worker.js', import.meta.url);

function threadHelper(): Helper {
  const w = new Worker(WORKER_FILE);
  return {
    post: (job) => w.postMessage(job, [job.digests.buffer, job.sigs.buffer, job.pubs.buffer]),
    on: (event: string, f: (m: never) => void) => void w.on(event, f as (...args: unknown[]) => void),
    ref: () => w.ref(),
    unref: () => w.unref(),
    stop: () => w.terminate(),
  };
}

function processHelper(): Helper {
  const c: ChildProcess = fork(WORKER_FILE, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  // an idle helper must not keep the node's process alive: neither the child nor its channel
  const channel = c.channel as { ref(): void; unref(): void } | undefined;
  return {
    post: (job) => c.send(job),
    on: (event: string, f: (m: never) => void) => void c.on(event, f as (...args: unknown[]) => void),
    ref: () => (c.ref(), channel?.ref()),
    unref: () => (c.unref(), channel?.unref()),
    stop: () => {
      if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
      const exited = new Promise((r) => c.once('exit', r));
      c.ref(); // an unref'd child's exit would not keep the event loop waiting for it
      c.kill();
      return exited;
    },
  };
}

export type VerifyHelpers = 'thread' | 'process';

/** Helpers that died this many times in a row are not started again: the event loop checks all. */
const MAX_FAILURES = 3;

export class VerifyPool {
  private workers: Helper[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;
  private closed = false;
  /** Workers that said they are ready (loaded their sources). */
  private ready = 0;
  /** Ready workers that check with native libsecp256k1. */
  private nativeReady = 0;
  /** Times the helpers died since one last answered. */
  private failures = 0;

  /** Stops idle helpers (a caught-up node checks no sync for hours): started again by the next sync. */
  private idleTimer?: NodeJS.Timeout;

  /** `size`: default, one per core, but for processes one core is left to the event loop. */
  constructor(
    private readonly kind: VerifyHelpers = 'thread',
    private readonly size = Math.max(1, Math.min(4, availableParallelism() - (kind === 'process' ? 1 : 0))),
    private readonly idleMs = 60_000,
  ) {}

  /** For each tx, whether its signature is valid (what consensus hasValidSignature says). */
  async check(txs: readonly Tx[]): Promise<boolean[]> {
    if (txs.length === 0) return [];
    if (this.closed) throw new Error('the verify pool is closed');
    this.start();
    // Prepared here with the consensus code (message, DER, key shape); the helpers only verify.
    // Written straight into one job's arrays (a sync prepares ~6,000 a second on the event loop).
    const out: boolean[] = new Array(txs.length).fill(false);
    const at: number[] = []; // which tx each job entry is
    const digests = Buffer.allocUnsafeSlow(txs.length * 32);
    const sigs = new Uint8Array(txs.length * 64);
    const pubs = new Uint8Array(txs.length * 33);
    txs.forEach((tx, i) => {
      if (isCoinbase(tx.body)) {
        out[i] = tx.sig === undefined;
        return;
      }
      if (tx.sig === undefined) return;
      try {
        const j = at.length;
        sigs.set(signatureToCompact(tx.sig), j * 64);
        pubs.set(this.keyOf(tx.body.from), j * 33);
        // the signed digest is the txid, SHA-256 of M (consensus txidOf; every Tx is made with its id)
        digests.write(tx.id, j * 32, 32, 'hex');
        at.push(i);
      } catch {
        // a malformed signature or key: not valid
      }
    });
    const per = Math.ceil(at.length / this.workers.length);
    await Promise.all(this.workers.map(async (w, k) => {
      const from = k * per;
      const n = Math.max(0, Math.min(per, at.length - from));
      if (n === 0) return;
      // copies: a thread's job is transferred, a process's serialized
      const ok = await this.ask(w, {
        n,
        digests: new Uint8Array(digests.subarray(from * 32, (from + n) * 32)),
        sigs: sigs.slice(from * 64, (from + n) * 64),
        pubs: pubs.slice(from * 33, (from + n) * 33),
      });
      for (let j = 0; j < n; j++) out[at[from + j]] = ok[j] === 1;
    }));
    return out;
  }

  /** Compressed keys by hex: a sync's txs come from few signers. */
  private readonly keyOf = keyCache(compressedKey);

  /** Starts the threads now (a check is coming): a thread takes ~50 ms to load. */
  warm(): void {
    if (!this.closed) this.start();
  }

  /**
   * Has `txs` checked now, while the helpers have nothing else to do (an import's first blocks,
   * during its set-up): `checkIfReady` then gives these results (waiting for them if need be).
   */
  checkAhead(txs: readonly Tx[]): void {
    if (this.closed || txs.length === 0) return;
    const checked = this.check(txs).catch(() => txs.map(() => false));
    const answer = { checked, ok: undefined as boolean[] | undefined };
    void checked.then((ok) => (answer.ok = ok));
    txs.forEach((t, i) => this.ahead.set(t, { answer, i }));
  }

  /** `checkAhead`'s answers, by tx (the same object): `ok` once the helpers gave them. */
  private readonly ahead = new WeakMap<Tx, { answer: { checked: Promise<boolean[]>; ok?: boolean[] }; i: number }>();

  /**
   * Like `check`, but while the threads are still starting it vouches for nothing (all false):
   * the caller checks those itself rather than wait for them. Txs checked ahead get those results,
   * unless they would still wait for a helper that is starting.
   */
  async checkIfReady(txs: readonly Tx[]): Promise<boolean[]> {
    if (txs.length === 0) return [];
    const ahead = txs.map((t) => this.ahead.get(t));
    const ready = this.ready === this.workers.length && this.workers.length > 0;
    if (ahead.every((a) => a && (a.answer.ok || ready))) return Promise.all(ahead.map(async (a) => (await a!.answer.checked)[a!.i]));
    this.warm();
    if (this.ready < this.workers.length) return txs.map(() => false);
    return this.check(txs);
  }

  /** Every helper is ready and checks with native libsecp256k1. */
  get native(): boolean {
    return this.workers.length > 0 && this.nativeReady === this.workers.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    await this.reset(new Error('the verify pool is closed'));
  }

  private start(): void {
    this.armIdle();
    if (this.workers.length || this.failures >= MAX_FAILURES) return;
    for (let i = 0; i < this.size; i++) {
      const w = this.kind === 'process' ? processHelper() : threadHelper();
      w.on('message', (m: Reply) => {
        if (m.ready) {
          if (this.workers.includes(w)) (this.ready++, m.native && this.nativeReady++);
          return;
        }
        const waiting = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) for (const x of this.workers) x.unref();
        if (m.ok) (this.failures = 0, waiting?.resolve(m.ok));
        else waiting?.reject(new Error(`signature check failed: ${m.error}`));
      });
      // a worker that dies takes the others with it; the next check starts new ones (MAX_FAILURES)
      const died = (e: Error) => this.workers.includes(w) && (this.failures++, void this.reset(e));
      w.on('error', (e) => died(e as Error));
      w.on('exit', () => died(new Error('a signature worker stopped')));
      w.unref(); // idle workers do not keep the process alive
      this.workers.push(w);
    }
  }

  private ask(w: Helper, job: Omit<Job, 'id'>): Promise<Uint8Array> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) for (const x of this.workers) x.ref();
      this.waiting.set(id, { resolve, reject });
      w.post({ id, ...job });
    });
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.waiting.size) return this.armIdle();
      void this.reset(new Error('the signature helpers were idle'));
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private reset(e: Error): Promise<unknown> {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    const workers = this.workers;
    this.workers = [];
    this.ready = 0;
    this.nativeReady = 0;
    return Promise.all(workers.map((w) => w.stop()));
  }
}
