/** import, peers list|add|remove: other nodes. */
import cliProgress from 'cli-progress';
import { resolveDatadir } from '../../node/datadir.ts';
import { isPeerAddr, normalizePeerAddr } from '../../chain/peers.ts';
import type { SyncProgress } from '../../p2p/sync.ts';
import { CliError } from '../errors.ts';
import type { CommonOptions } from '../options.ts';
import { emit, progress } from '../output.ts';
import { cliLog, withNode } from '../session.ts';

export interface PeerInfo {
  addr: string; source: string; connected: boolean; height: number | null; score: number; lastSeen: number | null;
  diverged: { height: number; block: string } | null;
}

export async function importCommand(opts: CommonOptions & { peer: string }): Promise<void> {
  const peer = checkPeer(opts.peer, '--peer');
  const datadir = resolveDatadir(opts.datadir);
  const bar = !opts.json && process.stderr.isTTY ? syncBar() : undefined;
  try {
    const { importNode } = await import('../../node/import.ts');
    const r = await importNode({
      datadir, peer, mysql: opts.mysql,
      log: opts.json ? cliLog(opts) : bar ? () => {} : progress,
      onProgress: bar?.update,
    });
    bar?.stop();
    const { checkedHere: _, ...shown } = r; // a figure for the bench, not for users
    emit(opts, { datadir, ...shown }, [
      `imported chain ${r.genesis} from ${peer}: height ${r.height}, ${r.blocks} block(s), ${r.txs} transaction(s) replayed in ${r.seconds.toFixed(1)} s`,
      `this node's address: ${r.minter}; start it with: oursql start`,
    ].join('\n'));
  } finally {
    bar?.stop();
  }
}

/** The console progress bar of a long catch-up: blocks, tx/s and ETA. */
export function syncBar(): { update: (p: SyncProgress) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    { format: 'sync [{bar}] {value}/{total} blocks | {txs} txs, {rate} tx/s | ETA {eta_formatted}', hideCursor: true, stream: process.stderr, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  let stopped = false;
  return {
    update(p) {
      if (stopped) return;
      const rate = Math.round(p.txs / Math.max(0.001, (Date.now() - started) / 1000));
      if (!running) {
        bar.start(Math.max(p.target, p.blocks), p.blocks, { txs: p.txs, rate });
        running = true;
      } else {
        bar.setTotal(Math.max(p.target, p.blocks));
        bar.update(p.blocks, { txs: p.txs, rate });
      }
    },
    stop() {
      if (running && !stopped) bar.stop();
      stopped = true;
    },
  };
}

/** One line of `oursql peers list`. */
export function peerLine(p: PeerInfo): string {
  const state = p.connected ? `connected, height ${p.height}` : 'not connected';
  const diverged = p.diverged ? `  DATA DIVERGED at block ${p.diverged.height} (${p.diverged.block})` : '';
  return `${p.addr}  ${state}  (${p.source}${p.score ? `, score ${p.score}` : ''})${diverged}`;
}

export async function peersListCommand(opts: CommonOptions): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const peers = await call<PeerInfo[]>('getpeerinfo');
    emit(opts, { peers }, () =>
      peers.length === 0
        ? 'no peers'
        : peers.map(peerLine).join('\n'),
    );
  });
}

export async function peersAddCommand(addr: string, opts: CommonOptions): Promise<void> {
  const peer = checkPeer(addr, 'peer');
  await withNode(opts, async ({ call }) => {
    const r = await call<{ addr: string }>('addnode', [peer]);
    emit(opts, r, `added peer ${r.addr}`);
  });
}

export async function peersRemoveCommand(addr: string, opts: CommonOptions): Promise<void> {
  const peer = checkPeer(addr, 'peer');
  await withNode(opts, async ({ call }) => {
    const r = await call<{ removed: string }>('removenode', [peer]);
    emit(opts, r, `removed peer ${r.removed}`);
  });
}

function checkPeer(addr: string, what: string): string {
  if (!isPeerAddr(addr)) throw new CliError(`${what} must be HOST:PORT (the peer's HTTP port), got "${addr}"`);
  return normalizePeerAddr(addr);
}
