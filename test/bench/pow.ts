// Proof-of-work hashing: the node's worker thread against plain loops on the main thread.
import { createHash, randomBytes } from 'node:crypto';
import { blockHash, canonicalize, meetsTarget, sha256, type BlockHeader } from '../../consensus/index.ts';
import { PowWorker } from '../../server/chain/pow.ts';
import { now, progress, rate } from './measure.ts';
import type { Row } from './table.ts';

const GROUP = 'PoW hashing (header → SHA-256)';

/** Same test as server/chain/pow-worker.js. */
function zeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** The canonical header text split around the nonce, as PowWorker.search does. */
function split(header: Omit<BlockHeader, 'nonce'>): { prefix: string; suffix: string } {
  const text = canonicalize({ ...header, nonce: 0 });
  const at = text.indexOf('"nonce":0') + '"nonce":'.length;
  return { prefix: text.slice(0, at), suffix: text.slice(at + 1) };
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const template: Omit<BlockHeader, 'nonce'> = {
    v: 1, height: 12_345, prev: randomBytes(32).toString('hex'), merkle: randomBytes(32).toString('hex'), time: Date.now(), bits: 40,
  };
  const { prefix, suffix } = split(template);
  const headerBytes = Buffer.byteLength(prefix + '123456' + suffix);

  // Main-thread loops, each ~1 s in total, interleaved with the worker rounds below.
  const head = createHash('sha256').update(prefix);
  const hit = () => {
    throw new Error('unexpected 40-bit hit');
  };
  const cases = {
    // (b) mineSync's loop: a header object per nonce, canonicalize, noble SHA-256, hex, meetsTarget.
    noble: (nonce: number) => void (meetsTarget(blockHash({ ...template, nonce }), template.bits) && hit()),
    // (e) noble SHA-256 of the ready text (no canonicalize): splits (b) into JSON work and hashing.
    nobleText: (nonce: number) => void (zeroBits(sha256(prefix + nonce + suffix)) >= template.bits && hit()),
    // (c) node:crypto, a fresh createHash per nonce over the whole text (no midstate).
    fresh: (nonce: number) => void (zeroBits(createHash('sha256').update(prefix + nonce + suffix).digest()) >= template.bits && hit()),
    // (d) the worker's exact inner loop (midstate copy), on the main thread: thread vs loop cost.
    midstate: (nonce: number) => void (zeroBits(head.copy().update(nonce + suffix).digest()) >= template.bits && hit()),
  };
  const ROUNDS = 5;
  const loops = new Map<keyof typeof cases, number>();
  const nonces = new Map<keyof typeof cases, number>();

  // (a) The worker. PowWorker.cancel() resolves the pending search at once with hashes: 0 (the
  // worker's own count arrives later and is dropped), so a cancelled search cannot be measured.
  // Instead: back-to-back searches at 18 bits (~262k hashes each) for ≥ 0.4 s per round, summing
  // the `hashes` each found nonce reports over the wall time (thread messaging included).
  progress(`pow: PowWorker.search rounds (18-bit searches) interleaved with 4 main-thread loops, ${ROUNDS} rounds`);
  const pow = new PowWorker();
  let workerRate = 0;
  let searches = 0;
  let cancelledHashes: number;
  try {
    await pow.search({ ...template, bits: 8 }); // start the thread (tsx-loaded worker) outside the clock
    for (const fn of Object.values(cases)) rate(fn, 0.05, 64, 0.1); // JIT warm-up
    const BITS = 18;
    let time = template.time;
    for (let round = 0; round < ROUNDS; round++) {
      let hashes = 0;
      const start = now();
      while (now() - start < 400) {
        const header = { ...template, time: ++time, bits: BITS };
        const r = await pow.search(header);
        if ('cancelled' in r) throw new Error('PoW search was cancelled unexpectedly');
        // The worker must hash exactly what the consensus code hashes.
        if (!meetsTarget(blockHash({ ...header, nonce: r.nonce }), BITS)) throw new Error(`worker nonce ${r.nonce} does not meet ${BITS} bits`);
        hashes += r.hashes;
        searches++;
      }
      workerRate = Math.max(workerRate, hashes / ((now() - start) / 1000));
      for (const [name, fn] of Object.entries(cases) as [keyof typeof cases, (n: number) => void][]) {
        const from = nonces.get(name) ?? 0;
        const r = rate((i) => fn(from + i), 1 / ROUNDS, 64, 0);
        nonces.set(name, from + r.ops);
        loops.set(name, Math.max(loops.get(name) ?? 0, r.perSec));
      }
    }

    // What a cancelled search reports (the miner adds this to its hash counter).
    const pending = pow.search({ ...template, time: ++time, bits: 60 });
    await new Promise((r) => setTimeout(r, 200));
    pow.cancel();
    cancelledHashes = (await pending).hashes;
  } finally {
    await pow.close();
  }
  const best = (name: keyof typeof cases): number => loops.get(name)!;

  const base = 'pow.noble_blockhash';
  rows.push(
    { key: base, group: GROUP, name: 'noble blockHash loop, main thread (mineSync)', value: best('noble'), unit: 'hash/s' },
    {
      key: 'pow.worker', group: GROUP, name: 'PowWorker.search (worker, node:crypto midstate)', value: workerRate, unit: 'hash/s', base,
      note: `best of ${ROUNDS} rounds, ${searches} searches at 18 bits; a cancelled search reports hashes=${cancelledHashes}`,
      extra: { searches, cancelledSearchReportsHashes: cancelledHashes },
    },
    { key: 'pow.node_fresh', group: GROUP, name: 'node:crypto createHash per nonce, main thread', value: best('fresh'), unit: 'hash/s', base },
    { key: 'pow.node_midstate_main', group: GROUP, name: 'node:crypto midstate copy, main thread', value: best('midstate'), unit: 'hash/s', base },
    {
      key: 'pow.noble_sha_text', group: GROUP, name: 'noble sha256 of ready text (no canonicalize)', value: best('nobleText'), unit: 'hash/s', base,
      note: `header text ${headerBytes} B, nonce at byte ${prefix.length}`,
      extra: { headerBytes, midstatePrefixBytes: prefix.length },
    },
  );
  return rows;
}
