// Timing helpers shared by the bench files.
import { performance } from 'node:perf_hooks';

export const now = (): number => performance.now();

/** Progress on stderr, so stdout stays the table plus the JSON line. */
export const progress = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};

/** Set on Ctrl-C: the running bench stops at its next check, and its `finally` drops its databases. */
export const interrupt = { requested: false };
export function checkInterrupt(): void {
  if (interrupt.requested) throw new Error('interrupted');
}

export interface Rate { ops: number; seconds: number; perSec: number }

/**
 * Calls `fn(i)` (i = 0, 1, 2, …) for about `seconds`, after a short warm-up, and reports calls per
 * second. The clock is read every `batch` calls so that reading it costs nothing measurable.
 */
export function rate(fn: (i: number) => void, seconds: number, batch = 64, warmupSeconds = 0.15): Rate {
  let i = 0;
  const warmEnd = now() + warmupSeconds * 1000;
  while (now() < warmEnd) for (let k = 0; k < batch; k++) fn(i++);
  const start = now();
  const end = start + seconds * 1000;
  let ops = 0;
  let t = start;
  while (t < end) {
    checkInterrupt();
    for (let k = 0; k < batch; k++) fn(i++);
    ops += batch;
    t = now();
  }
  const s = (t - start) / 1000;
  return { ops, seconds: s, perSec: ops / s };
}

export type Case = (i: number) => void;

/**
 * Measures several cases in interleaved rounds (A B C, A B C, …) so that load from other processes
 * on a shared machine hits them alike, and reports each case's best round: the figure least
 * disturbed by that load. `seconds` is the total per case.
 */
export function compare<K extends string>(cases: Record<K, Case>, seconds: number, opts: { rounds?: number; batch?: number } = {}): Record<K, Rate> {
  const rounds = opts.rounds ?? 5;
  const batch = opts.batch ?? 16;
  const names = Object.keys(cases) as K[];
  const counters = new Map<K, number>(names.map((n) => [n, 0]));
  const best = new Map<K, Rate>();
  for (const n of names) rate(cases[n], 0.05, batch, 0.1); // warm-up (JIT) for every case first
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const offset = counters.get(n)!;
      const res = rate((i) => cases[n](offset + i), seconds / rounds, batch, 0);
      counters.set(n, offset + res.ops);
      if (!best.has(n) || res.perSec > best.get(n)!.perSec) best.set(n, res);
    }
  }
  return Object.fromEntries(names.map((n) => [n, best.get(n)!])) as Record<K, Rate>;
}

/** Wall time and this process's CPU time (all threads) of one async call. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const result = await fn();
  const ms = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { result, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Undo steps run last-in first-out, each even when another fails (databases, processes). */
export class Cleanups {
  private readonly steps: (() => Promise<void>)[] = [];
  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    while (this.steps.length) {
      const c = this.steps.pop()!;
      try {
        await c();
      } catch (e) {
        process.stderr.write(`[bench] cleanup failed: ${(e as Error).message}\n`);
      }
    }
  }
}
