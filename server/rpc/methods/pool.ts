/** Transactions and the pool: lookups are open, cancelling needs auth. */
import { z } from 'zod';
import { isCoinbase } from '../../../consensus/index.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { hex64, method, type MethodTable } from '../method.ts';
import { confirmations, poolEntryView, senderOf, txWire } from '../views.ts';

export const poolMethods: MethodTable = {
  getrawmempool: method({
    summary: 'Pending txids in pool order; verbose: an object of details by txid.',
    params: ['verbose'],
    schema: z.object({ verbose: z.boolean().default(false) }),
    auth: false,
    run: (p, { node }) => {
      const entries = node.chain.pool.list();
      if (!p.verbose) return entries.map((e) => e.tx.id);
      const pending = new Set(entries.map((e) => e.tx.id));
      return Object.fromEntries(
        entries.map((e) => {
          const { txid: _txid, ...details } = poolEntryView(e);
          // Pending txs this one spends from: they must be mined first (or with it).
          const depends = isCoinbase(e.tx.body) ? [] : [...new Set(e.tx.body.in.map((i) => i.tx).filter((t) => pending.has(t)))];
          return [e.tx.id, { ...details, depends }];
        }),
      );
    },
  }),

  getpool: method({
    summary: 'The pool for people: each pending tx with sender, amount and outputs in coins.',
    params: [],
    schema: z.object({}),
    auth: false,
    run: (_p, { node }) => {
      const txs = node.chain.pool.list().map(poolEntryView);
      return { size: txs.length, txs };
    },
  }),

  gettransaction: method({
    summary: 'A transaction in the active chain (with its block) or in the pool.',
    params: ['txid'],
    schema: z.object({ txid: hex64 }),
    auth: false,
    run: async (p, { node }) => {
      const { chain } = node;
      const pooled = chain.pool.get(p.txid);
      if (pooled) return { ...txWire(pooled.tx), from: pooled.from, status: 'pool', confirmations: 0 };
      const at = await chain.store.txLocation(p.txid);
      const tx = at && (await chain.store.getTx(p.txid));
      if (!at || !tx) throw new RpcError(RpcCode.INVALID_ADDRESS_OR_KEY, `transaction ${p.txid} is neither in the chain nor in the pool`);
      return {
        ...txWire(tx),
        from: senderOf(tx),
        status: 'confirmed',
        blockhash: chain.blockHashAt(at.height),
        height: at.height,
        position: at.pos,
        confirmations: confirmations(chain, at.height, true),
      };
    },
  }),

  canceltx: method({
    summary: 'Drops a pending tx and the pending txs that spend its outputs.',
    params: ['txid'],
    schema: z.object({ txid: hex64 }),
    auth: true,
    run: async (p, { node }) => {
      const removed = await node.chain.cancel(p.txid);
      return { removed };
    },
  }),
};
