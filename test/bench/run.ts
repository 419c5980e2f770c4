// `npm run bench`: runs each bench file in order and prints a table plus one `BENCH_JSON {...}` line.
// Figures are for this machine; each ratio compares with a baseline measured in the same run.
// Env: BENCH_TXS (block size for the chain benches, default 2000), BENCH_ONLY=pow,crypto,apply,proxy,p2p,
// BENCH_IMPORT_RUNS (imports of the p2p bench, median reported; default 3), BENCH_PROP_ROUNDS (blocks
// per propagation figure; default 6; 0 skips propagation), BENCH_READ_ROUNDS (interleaved rounds of
// 0.5 s per path of the proxy's read figures; default 6), BENCH_PROF_DIR=dir (the
// import and receiver processes of the p2p bench write V8 CPU profiles there, and the proxy bench
// ones of its node during the 8-connection INSERTs and an extra, uncounted round of proxied reads
// with 1 and 8 connections), BENCH_NODE_FLAGS="--flag ..."
// (more Node/V8 flags for those processes, e.g. --trace-deopt). Runs with a node's V8 flags
// (NODE_PROCESS_FLAGS in server/cli/daemon.ts, given in package.json), as its node processes do.
import { cpus } from 'node:os';
import * as apply from './apply.ts';
import * as crypto from './crypto.ts';
import * as pow from './pow.ts';
import * as p2p from './p2p.ts';
import * as proxy from './proxy.ts';
import { interrupt, now, progress } from './measure.ts';
import { jsonLine, printTable, withRatios, type Row } from './table.ts';

const benches: [string, () => Promise<Row[]>][] = [
  ['pow', pow.run],
  ['crypto', crypto.run],
  ['apply', apply.run],
  ['proxy', proxy.run],
  ['p2p', p2p.run],
];

const cleanupAll = () => Promise.all([apply.cleanup(), proxy.cleanup(), p2p.cleanup()]);

// Ctrl-C: stop at the bench's next check so its `finally` drops its databases; a second one exits now.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (!interrupt.requested) {
      interrupt.requested = true;
      progress(`${sig}: stopping after the current step and dropping test databases (again to quit at once)`);
      return;
    }
    void cleanupAll().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const rows: Row[] = [];
  const errors: string[] = [];
  const start = now();
  for (const [name, run] of benches) {
    if (only && !only.includes(name)) continue;
    if (interrupt.requested) break;
    try {
      rows.push(...(await run()));
    } catch (e) {
      const msg = `${name}: ${(e as Error).stack ?? String(e)}`;
      errors.push(`${name}: ${(e as Error).message}`);
      progress(`FAILED ${msg}`);
    }
  }
  const seconds = (now() - start) / 1000;
  const cpu = cpus();
  const meta = {
    machine: { cpu: cpu[0]?.model.trim() ?? 'unknown', cores: cpu.length, node: process.version, platform: `${process.platform}-${process.arch}` },
    seconds: Number(seconds.toFixed(1)),
  };
  const final = withRatios(rows);
  console.log('');
  console.log(`OurSQL bench — ${meta.machine.cpu}, ${meta.machine.cores} cores, Node ${process.version}; ${meta.seconds} s`);
  console.log('ratio = value ÷ the baseline of its group, measured in this run (figures vary between runs on shared machines)');
  console.log('');
  printTable(final);
  if (errors.length) {
    console.log('');
    for (const e of errors) console.log(`ERROR ${e}`);
  }
  console.log('');
  console.log(jsonLine(meta, final, errors));
  return interrupt.requested ? 130 : errors.length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (e) => {
    progress(`FAILED ${(e as Error).stack ?? String(e)}`);
    await cleanupAll();
    process.exitCode = 1;
  },
);
