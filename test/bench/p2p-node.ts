// One receiving node of the propagation bench, in a process of its own (forked by p2p.ts), so
// that five receivers do their work side by side as real nodes would, not on one event loop.
// Tells the bench by IPC when its tip changes (with the time) and answers questions about its state.
import { performance } from 'node:perf_hooks';
import { OursqlNode } from '../../server/node/node.ts';

type Ask = { id: number; ask: 'state' } | { id: number; ask: 'stop' };
const clock = () => performance.timeOrigin + performance.now();

const node = await OursqlNode.start({
  datadir: process.env.OURSQL_BENCH_DATADIR!,
  overrides: { rpcPort: 0, proxyPort: 0, mining: false },
  log: (m) => {
    const fetched = / (\d+) fetched\)/.exec(m);
    if (fetched) process.send!({ fetched: Number(fetched[1]) });
  },
});
node.chain.on('tip', (tip: { hash: string }) => process.send!({ tip: tip.hash, at: clock() }));
process.on('disconnect', () => void node.stop().finally(() => process.exit(0)));
process.on('message', (m: Ask) => {
  if (m.ask === 'state') process.send!({ id: m.id, tip: node.chain.tip.hash, pool: node.chain.pool.size, received: node.peers?.txsReceived ?? 0 });
  else void node.stop().finally(() => process.send!({ id: m.id }, () => process.exit(0)));
});
process.send!({ ready: true, addr: `127.0.0.1:${node.rpcPort}` });
