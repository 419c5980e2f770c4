import { Worker } from 'node:worker_threads';
import { canonicalize, type BlockHeader } from '../../consensus/index.ts';

export type PowResult = { nonce: number; hashes: number } | { cancelled: true; hashes: number };

/**
 * One worker thread that searches nonces; a new job cancels the running one through a shared flag,
 * so the main thread (proxy, RPC) never waits on mining.
 */
export class PowWorker {
  private worker?: Worker;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private job = 0;
  private pending?: (r: PowResult) => void;

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./pow-worker.js', import.meta.url));
    w.unref();
    w.on('message', (m: { job: number; nonce?: number; hashes: number; cancelled?: boolean; exhausted?: boolean }) => {
      if (m.job !== this.job || !this.pending) return;
      const done = this.pending;
      this.pending = undefined;
      done(m.nonce !== undefined ? { nonce: m.nonce, hashes: m.hashes } : { cancelled: true, hashes: m.hashes });
    });
    w.on('error', () => {
      this.worker = undefined;
      this.pending?.({ cancelled: true, hashes: 0 });
      this.pending = undefined;
    });
    this.worker = w;
    return w;
  }

  /** Finds a nonce for `header`; resolves `cancelled` when cancel() or another search() comes first. */
  search(header: Omit<BlockHeader, 'nonce'>, start = 0): Promise<PowResult> {
    this.cancel();
    const job = ++this.job;
    Atomics.store(this.flag, 0, job);
    const text = canonicalize({ ...header, nonce: 0 });
    const at = text.indexOf('"nonce":0') + '"nonce":'.length;
    const prefix = text.slice(0, at);
    const suffix = text.slice(at + 1);
    return new Promise((resolve) => {
      this.pending = resolve;
      this.ensure().postMessage({ job, prefix, suffix, bits: header.bits, start, cancel: this.flag.buffer });
    });
  }

  cancel(): void {
    this.job++;
    Atomics.store(this.flag, 0, this.job);
    const p = this.pending;
    this.pending = undefined;
    p?.({ cancelled: true, hashes: 0 });
  }

  async close(): Promise<void> {
    this.cancel();
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
