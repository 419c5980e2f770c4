/** printchain, pool, mine, cancel. */
import { addressOf, unitsToCoins, type BlockHeader, type TxBody } from '../../../consensus/index.ts';
import type { CommonOptions } from '../options.ts';
import { emit, isoTime } from '../output.ts';
import { withNode } from '../session.ts';

interface BlockSummary {
  hash: string;
  height: number;
  confirmations: number;
  header: BlockHeader;
  work: string;
  ntx: number;
  txs?: { txid: string; body: TxBody; sig?: string }[];
}
interface PoolTx { txid: string; from: string; amount: string; out: { to: string | null; amount: string }[]; sql?: string[] }

/** listblocks answers at most this many per call. */
const PAGE = 1000;

function describeTx(t: { txid: string; body: TxBody }): string {
  const outs = t.body.out.map((o) => `${o.to ?? 'burn'} ${unitsToCoins(BigInt(o.amount))}`).join(', ');
  const from = 'coinbase' in t.body ? 'coinbase' : `from ${addressOf(t.body.from)}`;
  const sql = 'sql' in t.body && t.body.sql ? `sql: ${t.body.sql.stmts.join('; ')}` : '';
  return `  tx ${t.txid} ${from}${outs ? ` → ${outs}` : ''}${sql ? (outs ? '; ' : ': ') + sql : ''}`;
}

function describeBlock(b: BlockSummary, short: boolean): string {
  const h = b.header;
  if (short) return `#${b.height} ${b.hash} ${isoTime(h.time)} ${b.ntx - 1} tx`;
  return [
    `block ${b.height} ${b.hash}`,
    `  prev ${h.prev}  time ${isoTime(h.time)}  bits ${h.bits}  nonce ${h.nonce}  work ${b.work}  confirmations ${b.confirmations}`,
    ...(b.txs ?? []).map(describeTx),
  ].join('\n');
}

export async function printchainCommand(opts: CommonOptions & { short?: boolean }): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const blocks: BlockSummary[] = [];
    let height = 0;
    for (let from = 0; ; from += PAGE) {
      const r = await call<{ height: number; blocks: BlockSummary[] }>('listblocks', { from, count: PAGE, verbose: !opts.short });
      blocks.push(...r.blocks);
      height = r.height;
      if (r.blocks.length < PAGE) break;
    }
    emit(opts, { height, blocks }, () => blocks.map((b) => describeBlock(b, !!opts.short)).join('\n'));
  });
}

export async function poolCommand(opts: CommonOptions): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const r = await call<{ size: number; txs: PoolTx[]; dropped: { txid: string; reason: string; at: number; rebase?: string }[] }>('getpool');
    emit(opts, r, () =>
      [
        `${r.size} pending transaction(s)`,
        ...r.txs.map(poolLine),
        ...(r.dropped.length ? ['recently dropped (a fork switch or rebuild; see the log):', ...r.dropped.map((d) => `${d.txid} at ${new Date(d.at).toISOString()}: ${d.reason}${d.rebase ? `; ${d.rebase}` : ''}`)] : []),
      ].join('\n'),
    );
  });
}

/** One pool tx: its payments, if any, then its SQL (an SQL-only tx pays nothing: no "0 coins → "). */
function poolLine(t: PoolTx): string {
  const paid = t.out.length ? `${t.amount} coins → ${t.out.map((o) => `${o.to ?? 'burn'} ${o.amount}`).join(', ')}` : '';
  const sql = t.sql ? `sql: ${t.sql.join('; ')}` : '';
  return `${t.txid} from ${t.from}: ${[paid, sql].filter(Boolean).join('; ') || 'no outputs'}`;
}

export async function mineCommand(opts: CommonOptions): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const r = await call<{ hash: string; height: number; txs: number; active: boolean }>('mine');
    emit(opts, r, `mined block ${r.height} ${r.hash} with ${r.txs} transaction(s)${r.active ? '' : ' (not on the active chain)'}`);
  });
}

export async function cancelCommand(txid: string, opts: CommonOptions): Promise<void> {
  await withNode(opts, async ({ call }) => {
    const r = await call<{ removed: string[] }>('canceltx', { txid });
    const others = r.removed.length - 1;
    emit(opts, r, `cancelled ${txid}${others ? ` and ${others} pending transaction(s) that spent its outputs` : ''}`);
  });
}
