// `oursql import` for the replay bench, in a process of its own (forked by p2p.ts): the seed node
// serves the chain from the bench's process, as a remote peer would, instead of sharing this
// event loop. Modules are loaded before the clock starts; the parent sends the job by IPC and
// gets the timings back.
import { performance } from 'node:perf_hooks';
import { importNode } from '../../server/node/import.ts';

type Job = { datadir: string; peer: string; mysql: string };

process.once('message', (job: Job) => {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  let first = { at: t0, txs: 0 };
  importNode({ ...job, onProgress: (p) => void (p.blocks === 1 && (first = { at: performance.now(), txs: p.txs })) }).then(
    (r) => {
      const end = performance.now();
      const cpu = process.cpuUsage(cpu0);
      process.send!({
        blocks: r.blocks, txs: r.txs, ms: end - t0, firstMs: first.at - t0, firstTxs: first.txs, restMs: end - first.at,
        cpuMs: (cpu.user + cpu.system) / 1000, elu: performance.eventLoopUtilization(elu0).utilization, checkedHere: r.checkedHere,
      }, () => process.exit(0));
    },
    (e: Error) => process.send!({ error: e.stack ?? e.message }, () => process.exit(1)),
  );
});
process.send!({ ready: true });
